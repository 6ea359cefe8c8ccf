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
            BackendError::TokenExpired { name, at } => ApiError::ExpiredToken(format!(
                "The service token {name} expired at {}; ask for a new one.",
                crate::domain::time::utc_minute(at)
            )),
            BackendError::GroupsExpired { user, .. } => ApiError::Forbidden(
                format!(
                    "This token acts for {user}, whose groups come from the identity provider and \
                 have not been confirmed recently enough. It works again once {user} signs in \
                 to Kiln."
                )
                .into(),
            ),
            BackendError::Disabled { user } => {
                ApiError::Forbidden(Said::coded(messages::ACCOUNT_DISABLED, &[("user", &user)]))
            }
            BackendError::BadRequest(message) => ApiError::BadRequest {
                message,
                field: None,
            },
            BackendError::NotFound { .. } => ApiError::NotFound(capitalised(&e.to_string()).into()),
            BackendError::AlreadyExists { .. } => {
                ApiError::Conflict(capitalised(&e.to_string()).into())
            }
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
    /// Anything else, named in English ("accounts", "the audit log").
    Other(&'a str),
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
        (Denied::NotInGroup, Subject::Other(what)) => {
            ApiError::Forbidden(format!("You are not a member of {what}.").into())
        }
        (Denied::NeedsGroupAdmin, Subject::Group(group)) => {
            forbidden(messages::NEEDS_GROUP_ADMIN, &[("group", group)])
        }
        (Denied::NeedsGroupAdmin, Subject::Other(what)) => ApiError::Forbidden(
            format!(
                "Only the group admins of {what} can manage its images. You are a member; ask one of its admins."
            )
            .into(),
        ),
        (Denied::NeedsSystemAdmin, _) => forbidden(messages::NEEDS_SYSTEM_ADMIN, &[]),
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

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}
