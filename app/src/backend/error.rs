//! Backend failures, in the backend's own terms; `ops` says them to people.

use crate::domain::FieldError;

pub type Result<T, E = BackendError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    Invalid(#[from] FieldError),
    #[error("{what} {name:?} does not exist")]
    NotFound { what: &'static str, name: String },
    #[error("{what} {name:?} already exists")]
    AlreadyExists { what: &'static str, name: String },
    #[error("changed by someone else since it was read")]
    Stale,
    #[error("the service token is unknown or was revoked")]
    BadToken,
    /// A token past its expiry.
    #[error("the token {name} expired at {at}")]
    TokenExpired { name: String, at: i64 },
    /// A token bound to a provider-owned user whose groups the provider has not confirmed
    /// within `KILN_EXTERNAL_GROUPS_TTL`.
    #[error(
        "the groups of {user} were last confirmed by the identity provider at {confirmed_at:?}"
    )]
    GroupsExpired {
        user: String,
        confirmed_at: Option<i64>,
    },
    /// The account was disabled by a system admin.
    #[error("the account {user} is disabled")]
    Disabled { user: String },
    /// The request is malformed in a way only the server sees (e.g. a repeated header).
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Internal(String),
}

impl BackendError {
    /// A unique-constraint violation becomes `AlreadyExists`; anything else stays a database error.
    pub fn on_unique(what: &'static str, name: &str) -> impl FnOnce(sqlx::Error) -> BackendError {
        let name = name.to_owned();
        move |e| match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => {
                BackendError::AlreadyExists { what, name }
            }
            _ => BackendError::Database(e),
        }
    }
}
