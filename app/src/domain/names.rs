//! Names of groups and user accounts: valid by construction, parsed by one function each.

use serde::{Deserialize, Serialize};

use super::{FieldError, messages};

/// A group's name: 1–63 characters of lowercase letters, digits, `-`, `_` and `.`,
/// starting and ending with a letter or digit. Compared exactly: `ml` is not `ml-team`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct GroupName(String);

/// A user's account name: 1–64 characters of ASCII letters, digits and `.`, `_`, `-`, `@`,
/// `+` (so e-mail style names from an identity proxy fit), starting with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UserName(String);

impl GroupName {
    pub const MAX_LEN: usize = 63;
    /// The path segment global images are pushed under (`PREFIX/global/NAME`): no group
    /// may take it, or its builds would land among the global images.
    pub const GLOBAL: &'static str = "global";

    /// The name of a group to create: a group name, and not the one global images use.
    pub fn for_new_group(field: &str, s: &str) -> Result<Self, FieldError> {
        let name = Self::parse(field, s)?;
        if name.0 == Self::GLOBAL {
            return Err(FieldError::coded(field, messages::GROUP_NAME_RESERVED, &[]));
        }
        Ok(name)
    }

    pub fn parse(field: &str, s: &str) -> Result<Self, FieldError> {
        let fail = |m, params: &[(&str, &str)]| Err(FieldError::coded(field, m, params));
        if s.is_empty() {
            return fail(messages::REQUIRED, &[]);
        }
        if s.chars().count() > Self::MAX_LEN {
            return fail(messages::TOO_LONG, &[("max", "63")]);
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c))
        {
            return fail(messages::GROUP_NAME_CHARSET, &[]);
        }
        if !starts_and_ends_alphanumeric(s) {
            return fail(messages::NAME_EDGES, &[]);
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl UserName {
    pub const MAX_LEN: usize = 64;

    pub fn parse(field: &str, s: &str) -> Result<Self, FieldError> {
        let fail = |m, params: &[(&str, &str)]| Err(FieldError::coded(field, m, params));
        if s.is_empty() {
            return fail(messages::REQUIRED, &[]);
        }
        if s.chars().count() > Self::MAX_LEN {
            return fail(messages::TOO_LONG, &[("max", "64")]);
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-@+".contains(c))
        {
            return fail(messages::USER_NAME_CHARSET, &[]);
        }
        if !s.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return fail(messages::NAME_START, &[]);
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn starts_and_ends_alphanumeric(s: &str) -> bool {
    let alnum = |c: char| c.is_ascii_alphanumeric();
    s.starts_with(alnum) && s.ends_with(alnum)
}

macro_rules! string_newtype {
    ($name:ident, $field:literal) => {
        impl TryFrom<String> for $name {
            type Error = FieldError;
            fn try_from(s: String) -> Result<Self, FieldError> {
                Self::parse($field, &s)
            }
        }
        impl From<$name> for String {
            fn from(n: $name) -> String {
                n.0
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}
string_newtype!(GroupName, "group");
string_newtype!(UserName, "user");

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn group_names_follow_the_rule() {
        for ok in ["ml", "ml-team", "a", "team_1", "v1.2", &"a".repeat(63)] {
            assert!(
                GroupName::parse("group", ok).is_ok(),
                "{ok} should be valid"
            );
        }
        for bad in [
            "",
            "ML",
            "-ml",
            "ml-",
            "m l",
            "ml\n",
            "ml;rm",
            "ⅿl",
            &"a".repeat(64),
        ] {
            let err = GroupName::parse("group", bad).unwrap_err();
            assert_eq!(err.field, "group", "{bad:?}");
        }
    }

    #[test]
    fn user_names_allow_email_style_names_only() {
        for ok in ["alice", "Alice.Smith", "a.b+c@example.org", "u_1"] {
            assert!(UserName::parse("user", ok).is_ok(), "{ok} should be valid");
        }
        for bad in [
            "",
            "@alice",
            "al ice",
            "alice\r\n",
            "al'ice",
            "alíce",
            &"a".repeat(65),
        ] {
            assert!(
                UserName::parse("user", bad).is_err(),
                "{bad:?} should be refused"
            );
        }
    }

    #[test]
    fn no_new_group_takes_the_global_images_path() {
        assert!(GroupName::parse("group", GroupName::GLOBAL).is_ok());
        let err = GroupName::for_new_group("group", "global").unwrap_err();
        assert_eq!(err.field, "group");
        assert!(err.message.contains("reserved"), "{}", err.message);
        assert!(GroupName::for_new_group("group", "global-ml").is_ok());
    }

    #[test]
    fn deserializing_checks_the_rule() {
        assert!(serde_json::from_str::<GroupName>("\"ml\"").is_ok());
        assert!(serde_json::from_str::<GroupName>("\"M L\"").is_err());
    }

    proptest! {
        #[test]
        fn a_parsed_group_name_never_holds_a_control_or_space(s in "\\PC{0,80}") {
            if let Ok(name) = GroupName::parse("group", &s) {
                prop_assert!(name.as_str().chars().all(|c| c.is_ascii_graphic()));
                prop_assert!(name.as_str().len() <= 63);
            }
        }
    }
}
