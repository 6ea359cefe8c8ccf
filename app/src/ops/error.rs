//! The one place a backend failure or a policy refusal becomes an [`ApiError`]: words a
//! person can act on, and nothing of the server's internals (those go to the log).

use crate::backend::BackendError;
use crate::domain::policy::Denied;
use crate::domain::{FieldError, Said, messages};
use crate::wire::ApiError;

impl From<BackendError> for ApiError {
    fn from(e: BackendError) -> Self {
        match e {
            BackendError::Invalid(f) => ApiError::Invalid(f),
            BackendError::BadToken => ApiError::BadToken,
            BackendError::TokenExpired { name, at } => ApiError::ExpiredToken(Said::coded(
                messages::TOKEN_EXPIRED,
                &[
                    ("name", &name),
                    ("at", &crate::domain::time::utc_minute(at)),
                ],
            )),
            BackendError::GroupsExpired { user, .. } => {
                ApiError::Forbidden(Said::coded(messages::GROUPS_EXPIRED, &[("user", &user)]))
            }
            BackendError::Disabled { user } => {
                ApiError::Forbidden(Said::coded(messages::ACCOUNT_DISABLED, &[("user", &user)]))
            }
            BackendError::BadRequest(message) => ApiError::BadRequest {
                message,
                field: None,
            },
            BackendError::NotFound { what, name } => ApiError::NotFound(Said::coded(
                messages::not_found(what),
                &[("what", what), ("name", &name)],
            )),
            BackendError::AlreadyExists { what, name } => ApiError::Conflict(Said::coded(
                messages::already_exists(what),
                &[("what", what), ("name", &name)],
            )),
            BackendError::Stale => ApiError::Conflict(Said::coded(messages::STALE, &[])),
            BackendError::Database(_) | BackendError::Migration(_) | BackendError::Internal(_) => {
                tracing::error!(error = %e, "request failed");
                ApiError::Internal
            }
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        BackendError::Database(e).into()
    }
}

/// What a refused action was about, for the refusal's words.
#[derive(Clone, Copy, Debug)]
pub enum Subject<'a> {
    /// A group, by name.
    Group(&'a str),
    /// A build's group, not named: its id alone tells the caller nothing more.
    BuildGroup,
    /// Kiln itself (accounts, tokens, the audit log, the global images).
    System,
}

/// A policy refusal as the caller hears it.
pub fn refusal(denied: Denied, what: Subject) -> ApiError {
    let forbidden =
        |message, params: &[(&str, &str)]| ApiError::Forbidden(Said::coded(message, params));
    match (denied, what) {
        (Denied::NotSignedIn, _) => ApiError::Unauthenticated,
        (Denied::NotInGroup, Subject::Group(group)) => {
            forbidden(messages::NOT_IN_GROUP, &[("group", group)])
        }
        (Denied::NotInGroup, Subject::BuildGroup) => forbidden(messages::NOT_IN_BUILD_GROUP, &[]),
        (Denied::NeedsGroupAdmin, Subject::Group(group)) => {
            forbidden(messages::NEEDS_GROUP_ADMIN, &[("group", group)])
        }
        (Denied::NeedsGroupAdmin, Subject::BuildGroup) => {
            forbidden(messages::NEEDS_BUILD_GROUP_ADMIN, &[])
        }
        // Kiln itself has no members or group admins: only system admins.
        (Denied::NeedsSystemAdmin, _)
        | (Denied::NotInGroup | Denied::NeedsGroupAdmin, Subject::System) => {
            forbidden(messages::NEEDS_SYSTEM_ADMIN, &[])
        }
        (Denied::ReadOnlyToken, _) => forbidden(messages::READ_ONLY_TOKEN, &[]),
        (Denied::ServiceTokenOnlyLaunchable, _) => forbidden(messages::TOKEN_ONLY_LAUNCHABLE, &[]),
    }
}

/// The first broken rule of a form.
pub fn first(errors: Vec<FieldError>) -> ApiError {
    errors
        .into_iter()
        .next()
        .map_or(ApiError::Internal, ApiError::Invalid)
}
