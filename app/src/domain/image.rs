//! An image's names and type: the display name a group admin types, the image name Kiln
//! derives from it, and whether it runs on CPU, GPU or both.

use serde::{Deserialize, Serialize};

use super::{FieldError, messages};

/// What a group admin types: 1–63 lowercase letters, digits, `.` and `-`, starting and
/// ending with a letter or digit (SPEC §3).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DisplayName(String);

/// The image's key within its group, derived from the display name: a DNS label
/// (`.` becomes `-`), so it can name Kubernetes objects and URL paths as it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ImageName(String);

impl DisplayName {
    pub const MAX_LEN: usize = 63;

    pub fn parse(field: &str, input: &str) -> Result<DisplayName, FieldError> {
        let fail = |m, params: &[(&str, &str)]| Err(FieldError::coded(field, m, params));
        let s = input.trim();
        if s.is_empty() {
            return fail(messages::REQUIRED, &[]);
        }
        if s.chars().count() > Self::MAX_LEN {
            return fail(messages::TOO_LONG, &[("max", "63")]);
        }
        if let Some(c) = s
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '.' || *c == '-'))
        {
            return if c.is_ascii_uppercase() {
                fail(
                    messages::DISPLAY_NAME_UPPERCASE,
                    &[("found", &c.to_string())],
                )
            } else {
                fail(
                    messages::DISPLAY_NAME_CHARSET,
                    &[("found", &format!("{c:?}"))],
                )
            };
        }
        if !(s.starts_with(|c: char| c.is_ascii_alphanumeric())
            && s.ends_with(|c: char| c.is_ascii_alphanumeric()))
        {
            return fail(messages::NAME_EDGES, &[]);
        }
        Ok(DisplayName(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The image name this display name gives.
    pub fn image_name(&self) -> ImageName {
        ImageName(self.0.replace('.', "-"))
    }
}

impl ImageName {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// An image name read back from storage or a URL: it must follow the derived form.
    pub fn parse(field: &str, s: &str) -> Result<ImageName, FieldError> {
        let name = DisplayName::parse(field, s)?.image_name();
        if name.0 == s {
            Ok(name)
        } else {
            Err(FieldError::coded(field, messages::NOT_AN_IMAGE_NAME, &[]))
        }
    }
}

impl TryFrom<String> for DisplayName {
    type Error = FieldError;
    fn try_from(s: String) -> Result<Self, FieldError> {
        Self::parse("display_name", &s)
    }
}

impl From<DisplayName> for String {
    fn from(n: DisplayName) -> String {
        n.0
    }
}

impl std::fmt::Display for ImageName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where an image runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ImageType {
    Cpu,
    Gpu,
    /// Runs on both; may name a separate image for GPU launches.
    Universal,
}

impl ImageType {
    pub const ALL: [ImageType; 3] = [ImageType::Cpu, ImageType::Gpu, ImageType::Universal];

    pub fn as_str(self) -> &'static str {
        match self {
            ImageType::Cpu => "cpu",
            ImageType::Gpu => "gpu",
            ImageType::Universal => "universal",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<ImageType, FieldError> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| FieldError::coded(field, messages::IMAGE_TYPE, &[]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn display_names_follow_the_rule() {
        for ok in [
            "tf",
            "tf-2.3",
            "a",
            "0",
            "pytorch.2-cuda12",
            &"a".repeat(63),
        ] {
            assert!(DisplayName::parse("display_name", ok).is_ok(), "{ok}");
        }
        let msg = |s: &str| DisplayName::parse("display_name", s).unwrap_err().message;
        assert_eq!(msg(""), "is required");
        assert_eq!(msg("   "), "is required");
        assert_eq!(msg(&"a".repeat(64)), "must be at most 63 characters");
        assert_eq!(
            msg("TF"),
            "may contain only lowercase letters, digits, '.' and '-', not 'T' (use lowercase)"
        );
        assert_eq!(
            msg("tf_2"),
            "may contain only lowercase letters, digits, '.' and '-', not '_'"
        );
        assert_eq!(msg("-tf"), "must start and end with a letter or digit");
        assert_eq!(msg("tf."), "must start and end with a letter or digit");
    }

    #[test]
    fn hostile_display_names_are_refused() {
        for hostile in [
            "tf\nx",
            "tf;rm -rf /",
            "tf$(id)",
            "tf`id`",
            "tf\u{0}",
            "ｔf",
            "tf\u{200b}",
            "tｆ",
            "t\rf",
        ] {
            assert!(
                DisplayName::parse("display_name", hostile).is_err(),
                "{hostile:?}"
            );
        }
        assert!(DisplayName::parse("display_name", &"a".repeat(10_000)).is_err());
        // Surrounding whitespace (a pasted line end) is dropped, never stored.
        assert_eq!(
            DisplayName::parse("display_name", " tf\r\n")
                .unwrap()
                .as_str(),
            "tf"
        );
    }

    #[test]
    fn image_names_are_derived_dns_labels() {
        let name = DisplayName::parse("display_name", "tf-2.3")
            .unwrap()
            .image_name();
        assert_eq!(name.as_str(), "tf-2-3");
        assert!(ImageName::parse("name", "tf-2-3").is_ok());
        assert!(ImageName::parse("name", "tf-2.3").is_err());
    }

    #[test]
    fn types_parse_by_their_words() {
        assert_eq!(
            ImageType::parse("type", "universal").unwrap(),
            ImageType::Universal
        );
        assert_eq!(
            ImageType::parse("type", "both").unwrap_err().message,
            "must be cpu, gpu or universal"
        );
    }

    proptest! {
        #[test]
        fn every_valid_display_name_gives_a_dns_label(s in "[a-z0-9][a-z0-9.-]{0,61}[a-z0-9]") {
            let name = DisplayName::parse("display_name", &s).unwrap().image_name();
            prop_assert!(name.as_str().len() <= 63);
            prop_assert!(name.as_str().bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
            prop_assert!(!name.as_str().starts_with('-') && !name.as_str().ends_with('-'));
        }

        #[test]
        fn anything_accepted_is_safe(s in "\\PC{0,100}") {
            if let Ok(d) = DisplayName::parse("display_name", &s) {
                prop_assert!(d.as_str().bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-'));
            }
        }
    }
}
