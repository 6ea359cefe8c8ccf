//! The audit log as its page and the API show it.

use serde::{Deserialize, Serialize};

/// The filters of the audit log page, as typed (and carried in its address).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditFilter {
    /// Exactly this actor (a user name, or `cli` for the command line).
    #[serde(default)]
    pub actor: String,
    /// An action (`image.create`), or every one under a prefix ending in a dot (`image.`).
    #[serde(default)]
    pub action: String,
    /// Targets starting with this (`group:ml/image:torch`).
    #[serde(default)]
    pub target: String,
    /// From this day on, `YYYY-MM-DD` in UTC.
    #[serde(default)]
    pub since: String,
    /// Up to and with this day, `YYYY-MM-DD` in UTC.
    #[serde(default)]
    pub until: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AuditView {
    pub id: i64,
    /// Milliseconds since the epoch.
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
}

/// One page of the audit log, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AuditPage {
    pub entries: Vec<AuditView>,
    /// The id to ask `before` for the next (older) page; none on the last page.
    pub next: Option<i64>,
}
