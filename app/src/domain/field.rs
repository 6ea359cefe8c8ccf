//! An input that broke a rule, named by its field so a form can show it beside the field.
//!
//! A rule's refusal is a [`Message`]: a stable code (for scripts and translations) and its
//! English wording with `{placeholders}`; the error carries the code and the values, and
//! the English text rendered for callers that read only `message`. Pages render it in the
//! user's language (`i18n::field_message`); the REST API answers all three.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A refusal's code and English wording. Every one is listed in [`super::messages::ALL`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Message {
    pub code: &'static str,
    pub en: &'static str,
}

impl Message {
    pub const fn new(code: &'static str, en: &'static str) -> Self {
        Self { code, en }
    }

    /// `template` (a message's English, or a translation of any text) with its `{name}`
    /// placeholders filled: the one filler for messages and the UI's texts.
    pub fn fill<K: AsRef<str>, V: AsRef<str>>(
        template: &str,
        params: impl IntoIterator<Item = (K, V)>,
    ) -> String {
        let mut text = template.to_owned();
        for (name, value) in params {
            text = text.replace(&format!("{{{}}}", name.as_ref()), value.as_ref());
        }
        text
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// The form field or API property, e.g. `display_name`.
    pub field: String,
    /// What is wrong, in words a user can act on (English).
    pub message: String,
    /// The message's code, e.g. `display_name.charset`; empty for a message not coded yet.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub code: String,
    /// The values the message's placeholders take.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, String>,
}

impl FieldError {
    /// A refusal of the operator's settings, read at start-up (the database URL, the secret
    /// key): English words without a code, never shown in a page. Every refusal a user can
    /// meet is [`FieldError::coded`].
    pub fn setting(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
            code: String::new(),
            params: BTreeMap::new(),
        }
    }

    /// A coded refusal: `message` with `params` for its placeholders.
    pub fn coded(field: impl Into<String>, message: Message, params: &[(&str, &str)]) -> Self {
        let Said {
            message,
            code,
            params,
        } = Said::coded(message, params);
        Self {
            field: field.into(),
            message,
            code,
            params,
        }
    }
}

/// A message as said to the caller: the English text, and its code and values when it is a
/// coded one (a refusal that is not about one field: a permission, a conflict, a missing
/// thing). Displays as its English text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Said {
    pub message: String,
    /// The message's code; empty for one not coded yet.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub code: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, String>,
}

impl Said {
    /// `message` with `params` for its placeholders (a value its wording does not use is
    /// left out).
    pub fn coded(message: Message, params: &[(&str, &str)]) -> Self {
        let params: BTreeMap<String, String> = params
            .iter()
            .filter(|(k, _)| message.en.contains(&format!("{{{k}}}")))
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Self {
            message: Message::fill(message.en, &params),
            code: message.code.to_owned(),
            params,
        }
    }
}

impl std::fmt::Display for Said {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}
