//! The UI's languages: English and Traditional Chinese (zh-TW, the manual's language).
//!
//! A text is looked up by its English wording (`t(lang, "New Image")`); English is the text
//! itself, zh-TW comes from [`zh_tw`]'s catalog, which a test keeps complete: every literal
//! passed to `t` or `tf` anywhere in `app/src` has its entry, with the same `{placeholders}`.
//! The language is the user's choice (the `kiln_lang` cookie the switch sets), else the
//! browser's `Accept-Language`, else English; the server renders each page in it and
//! writes it to `<html lang>`, where the browser's islands read it back.

pub mod zh_tw;
pub mod zh_tw_messages;
pub mod zh_tw_pages;

use serde::{Deserialize, Serialize};

/// A language the UI speaks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Lang {
    #[default]
    En,
    ZhTw,
}

/// The cookie that remembers the user's choice.
pub const COOKIE: &str = "kiln_lang";

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::ZhTw];

    /// The BCP 47 tag, for `<html lang>` and the cookie.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::ZhTw => "zh-TW",
        }
    }

    /// The language's own name, for the switch.
    pub fn own_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::ZhTw => "繁體中文",
        }
    }

    /// A tag this UI speaks: `en`, `en-GB`, `zh-TW`, `zh-Hant`, `zh-HK`, `zh`, any case.
    /// Simplified Chinese (`zh-CN`, `zh-Hans`, `zh-SG`) is not zh-TW: `None`.
    pub fn parse(tag: &str) -> Option<Lang> {
        let tag = tag.trim().to_ascii_lowercase();
        let mut parts = tag.split(['-', '_']);
        match parts.next()? {
            "en" => Some(Lang::En),
            "zh" => match parts.next() {
                Some("cn" | "hans" | "sg" | "my") => None,
                _ => Some(Lang::ZhTw),
            },
            _ => None,
        }
    }

    /// The best language for an `Accept-Language` header, by its q-values (ties keep the
    /// header's order); English when nothing in it is spoken here.
    pub fn negotiate(accept_language: &str) -> Lang {
        let mut best: Option<(f32, Lang)> = None;
        for item in accept_language.split(',') {
            let mut pieces = item.split(';');
            let Some(lang) = pieces.next().and_then(Lang::parse) else {
                continue;
            };
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
                best = Some((q, lang));
            }
        }
        best.map_or(Lang::En, |(_, lang)| lang)
    }

    /// The page's language: the remembered choice, else the browser's, else English.
    pub fn choose(cookie: Option<&str>, accept_language: Option<&str>) -> Lang {
        cookie
            .and_then(Lang::parse)
            .or_else(|| accept_language.map(Lang::negotiate))
            .unwrap_or_default()
    }
}

/// The request's language: the `kiln_lang` cookie, else `Accept-Language`, else English.
#[cfg(feature = "ssr")]
pub fn from_headers(headers: &http::HeaderMap) -> Lang {
    let cookie = headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(COOKIE)?.strip_prefix('='));
    let accept = headers
        .get(http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    Lang::choose(cookie, accept)
}

/// `en` in `lang`.
pub fn t(lang: Lang, en: &'static str) -> &'static str {
    match lang {
        Lang::En => en,
        Lang::ZhTw => zh_tw::get(en).unwrap_or(en),
    }
}

/// `en` in `lang`, its `{name}` placeholders filled from `params`.
pub fn tf(lang: Lang, en: &'static str, params: &[(&str, &str)]) -> String {
    crate::domain::Message::fill(t(lang, en), params.iter().copied())
}

/// A rule's refusal in `lang`: a coded one from its wording's translation, filled with its
/// values; one not coded yet as the server worded it.
pub fn field_message(lang: Lang, error: &crate::domain::FieldError) -> String {
    coded_message(lang, &error.code, &error.params).unwrap_or_else(|| error.message.clone())
}

/// A refusal that is not about one field (a permission, a conflict, a missing thing), in
/// `lang` the same way.
pub fn said_message(lang: Lang, said: &crate::domain::Said) -> String {
    coded_message(lang, &said.code, &said.params).unwrap_or_else(|| said.message.clone())
}

/// Any error's words in `lang`: coded ones translated, the rest as the server said them.
pub fn error_message(lang: Lang, error: &crate::wire::ApiError) -> String {
    match error {
        crate::wire::ApiError::Invalid(f) => format!("{}: {}", f.field, field_message(lang, f)),
        other => said_message(lang, &other.said()),
    }
}

fn coded_message(
    lang: Lang,
    code: &str,
    params: &std::collections::BTreeMap<String, String>,
) -> Option<String> {
    let message = crate::domain::messages::by_code(code)?;
    Some(crate::domain::Message::fill(t(lang, message.en), params))
}

/// The language of the page being rendered: on the server the request's (see the shell),
/// in the browser the one the server wrote to `<html lang>`.
pub fn use_lang() -> Lang {
    if let Some(lang) = leptos::prelude::use_context::<Lang>() {
        return lang;
    }
    #[cfg(feature = "hydrate")]
    {
        if let Some(tag) = leptos::prelude::document()
            .document_element()
            .and_then(|html| html.get_attribute("lang"))
        {
            return Lang::parse(&tag).unwrap_or_default();
        }
    }
    Lang::En
}

#[cfg(test)]
mod tests;
