//! An image's life after it is published: in use, deprecated (still launched, with a note
//! and perhaps a successor and a retire date), or retired (gone from launch lists, kept in
//! the catalog with its builds until restored). One rule for the catalog, the picker, the
//! selection API and the REST API.

use serde::{Deserialize, Serialize};

use super::time::{parse_utc_date, utc_minute};
use super::{FieldError, ImageName, Owner, Said, messages};

/// The image to use instead of a deprecated one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Successor {
    pub name: String,
    pub display_name: String,
    pub owner: Owner,
}

/// A deprecation as launch pages see it (`deprecated` in the selection API).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Deprecation {
    /// When it was deprecated, in milliseconds since the Unix epoch.
    pub since: i64,
    /// The image to launch instead, when one is named.
    pub successor: Option<Successor>,
    /// When it leaves launch lists (milliseconds since the epoch), when a date is set.
    pub retire_at: Option<i64>,
}

impl Deprecation {
    /// What the picker and the catalog say: "Deprecated — use torch-2 instead; it leaves
    /// the launch list on 2027-01-01 00:00 UTC."
    pub fn note(&self) -> Said {
        let successor = self.successor.as_ref().map(|s| s.display_name.as_str());
        let date = self.retire_at.map(utc_minute);
        let message = match (successor, &date) {
            (Some(_), Some(_)) => messages::DEPRECATED_USE_UNTIL,
            (Some(_), None) => messages::DEPRECATED_USE,
            (None, Some(_)) => messages::DEPRECATED_UNTIL,
            (None, None) => messages::DEPRECATED,
        };
        Said::coded(
            message,
            &[
                ("successor", successor.unwrap_or_default()),
                ("date", date.as_deref().unwrap_or_default()),
            ],
        )
    }
}

/// Where an image stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Standing {
    /// Offered to launch as it is.
    Current,
    /// Offered to launch, with a note.
    Deprecated(Deprecation),
    /// Not offered to launch since `since` (ms); kept in the catalog with its builds.
    Retired {
        since: i64,
        deprecation: Option<Deprecation>,
    },
}

impl Standing {
    /// The stored facts as of `now`: a retire date that has passed retires the image.
    pub fn of(
        deprecated_at: Option<i64>,
        successor: Option<Successor>,
        retire_at: Option<i64>,
        retired_at: Option<i64>,
        now: i64,
    ) -> Standing {
        let deprecation = deprecated_at.map(|since| Deprecation {
            since,
            successor,
            retire_at,
        });
        let retired = retired_at.or(retire_at.filter(|at| *at <= now));
        match (retired, deprecation) {
            (Some(since), deprecation) => Standing::Retired { since, deprecation },
            (None, Some(deprecation)) => Standing::Deprecated(deprecation),
            (None, None) => Standing::Current,
        }
    }

    pub fn deprecation(&self) -> Option<&Deprecation> {
        match self {
            Standing::Current => None,
            Standing::Deprecated(d) => Some(d),
            Standing::Retired { deprecation, .. } => deprecation.as_ref(),
        }
    }

    pub fn retired_since(&self) -> Option<i64> {
        match self {
            Standing::Retired { since, .. } => Some(*since),
            _ => None,
        }
    }

    /// One word for the catalog's marker: none, `deprecated` or `retired`.
    pub fn marker(&self) -> Option<&'static str> {
        match self {
            Standing::Current => None,
            Standing::Deprecated(_) => Some("deprecated"),
            Standing::Retired { .. } => Some("retired"),
        }
    }

    /// The sentence the catalog shows for it.
    pub fn summary(&self) -> Said {
        match self {
            Standing::Current => Said::coded(messages::STANDING_CURRENT, &[]),
            Standing::Deprecated(d) => d.note(),
            Standing::Retired { since, .. } => {
                Said::coded(messages::STANDING_RETIRED, &[("date", &utc_minute(*since))])
            }
        }
    }
}

/// A deprecation as a group admin enters it: an optional successor's image name and an
/// optional retire date (`YYYY-MM-DD`, UTC).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeprecationForm {
    #[serde(default)]
    pub successor: String,
    #[serde(default)]
    pub retire_on: String,
}

/// A deprecation whose fields are well formed (the successor's existence is checked
/// against the catalog by the caller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidDeprecation {
    pub successor: Option<ImageName>,
    /// The start (UTC) of the retire date.
    pub retire_at: Option<i64>,
}

impl DeprecationForm {
    /// Checks the fields as of `now` (ms): a retire date must lie after today.
    pub fn validate(&self, image: &str, now: i64) -> Result<ValidDeprecation, FieldError> {
        let successor = match self.successor.trim() {
            "" => None,
            name => Some(
                ImageName::parse("successor", name)
                    .map_err(|_| FieldError::coded("successor", messages::SUCCESSOR_NAME, &[]))?,
            ),
        };
        if successor.as_ref().is_some_and(|s| s.as_str() == image) {
            return Err(FieldError::coded(
                "successor",
                messages::SUCCESSOR_SELF,
                &[],
            ));
        }
        let retire_at = parse_utc_date("retire_on", &self.retire_on, false)?;
        if retire_at.is_some_and(|at| at <= now) {
            return Err(FieldError::coded(
                "retire_on",
                messages::RETIRE_ON_PAST,
                &[],
            ));
        }
        Ok(ValidDeprecation {
            successor,
            retire_at,
        })
    }
}

/// Why an image cannot be the successor: it is deprecated or retired itself.
pub fn successor_refusal(name: &str, standing: &Standing) -> Option<FieldError> {
    match standing {
        Standing::Current => None,
        Standing::Deprecated(_) => Some(FieldError::coded(
            "successor",
            messages::SUCCESSOR_DEPRECATED,
            &[("name", name)],
        )),
        Standing::Retired { .. } => Some(FieldError::coded(
            "successor",
            messages::SUCCESSOR_RETIRED,
            &[("name", name)],
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;
    const NOW: i64 = 20_000 * DAY + 3_600_000; // 2024-10-04 01:00 UTC

    fn torch2() -> Successor {
        Successor {
            name: "torch-2".into(),
            display_name: "torch-2".into(),
            owner: Owner::Group("ml".into()),
        }
    }

    #[test]
    fn a_retire_date_that_passed_retires_the_image() {
        let later = Standing::of(Some(NOW), None, Some(NOW + DAY), None, NOW);
        assert_eq!(later.marker(), Some("deprecated"));
        let passed = Standing::of(Some(NOW - DAY), None, Some(NOW), None, NOW);
        assert_eq!(passed.retired_since(), Some(NOW));
        assert!(passed.deprecation().is_some());
        let now = Standing::of(None, None, None, Some(NOW - 5), NOW);
        assert_eq!(now.retired_since(), Some(NOW - 5));
        assert_eq!(Standing::of(None, None, None, None, NOW), Standing::Current);
    }

    #[test]
    fn the_note_names_the_successor_and_the_date() {
        let d = Deprecation {
            since: NOW,
            successor: Some(torch2()),
            retire_at: Some(20_010 * DAY),
        };
        assert_eq!(
            d.note().message,
            "Deprecated — use torch-2 instead; it leaves the launch list on 2024-10-14 00:00 UTC."
        );
        let no_date = Deprecation {
            retire_at: None,
            ..d.clone()
        };
        assert_eq!(no_date.note().message, "Deprecated — use torch-2 instead.");
        let no_successor = Deprecation {
            successor: None,
            ..d.clone()
        };
        assert_eq!(
            no_successor.note().message,
            "Deprecated; it leaves the launch list on 2024-10-14 00:00 UTC."
        );
        let plain = Deprecation {
            successor: None,
            retire_at: None,
            ..d
        };
        assert_eq!(plain.note().message, "Deprecated.");
    }

    #[test]
    fn the_form_names_the_field_in_error() {
        let form = |successor: &str, retire_on: &str| DeprecationForm {
            successor: successor.into(),
            retire_on: retire_on.into(),
        };
        let ok = form(" torch-2 ", "2024-10-05")
            .validate("torch", NOW)
            .unwrap();
        assert_eq!(ok.successor.unwrap().as_str(), "torch-2");
        assert_eq!(ok.retire_at, Some(20_001 * DAY));
        assert_eq!(form("", "").validate("torch", NOW).unwrap().retire_at, None);

        let err = |f: DeprecationForm| f.validate("torch", NOW).unwrap_err();
        assert_eq!(err(form("torch", "")).field, "successor");
        assert_eq!(err(form("Torch 2", "")).field, "successor");
        assert_eq!(err(form("$(id)", "")).field, "successor");
        let today = err(form("", "2024-10-04"));
        assert_eq!(
            (today.field.as_str(), today.message.contains("after today")),
            ("retire_on", true)
        );
        assert_eq!(err(form("", "tomorrow")).field, "retire_on");
    }

    #[test]
    fn only_a_current_image_can_succeed() {
        assert!(successor_refusal("x", &Standing::Current).is_none());
        let deprecated = Standing::of(Some(NOW), None, None, None, NOW);
        assert!(
            successor_refusal("x", &deprecated)
                .unwrap()
                .message
                .contains("deprecated itself")
        );
        let retired = Standing::of(None, None, None, Some(NOW), NOW);
        assert!(successor_refusal("x", &retired).is_some());
    }
}
