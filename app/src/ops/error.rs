//! The one place a backend failure or a policy refusal becomes an [`ApiError`]: words a
//! person can act on, and nothing of the server's internals (those go to the log).

use crate::backend::BackendError;
use crate::domain::FieldError;
use crate::domain::policy::Denied;
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
            BackendError::GroupsExpired { user, .. } => ApiError::Forbidden(format!(
                "This token acts for {user}, whose groups come from the identity provider and \
                 have not been confirmed recently enough. It works again once {user} signs in \
                 to Kiln."
            )),
            BackendError::Disabled { user } => ApiError::Forbidden(format!(
                "The account {user} is disabled: its sessions and tokens no longer work. \
                 A system admin can enable it again."
            )),
            BackendError::BadRequest(message) => ApiError::BadRequest {
                message,
                field: None,
            },
            BackendError::NotFound { .. } => ApiError::NotFound(capitalised(&e.to_string())),
            BackendError::AlreadyExists { .. } => ApiError::Conflict(capitalised(&e.to_string())),
            BackendError::Stale => ApiError::Conflict(
                "This was changed by someone else since you opened it. Nothing was overwritten; \
                 reload to see the current version."
                    .into(),
            ),
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

/// A refusal of the policy; `what` names the target ("group ml").
pub fn refusal(denied: Denied, what: &str) -> ApiError {
    match denied {
        Denied::NotSignedIn => ApiError::Unauthenticated,
        Denied::NotInGroup => ApiError::Forbidden(format!("You are not a member of {what}.")),
        Denied::NeedsGroupAdmin => ApiError::Forbidden(format!(
            "Only the group admins of {what} can manage its images. You are a member; ask one of its admins."
        )),
        Denied::NeedsSystemAdmin => ApiError::Forbidden("Only system admins can do this.".into()),
        Denied::ReadOnlyToken => {
            ApiError::Forbidden("This token has the read scope; it cannot change anything.".into())
        }
        Denied::ServiceTokenOnlyLaunchable => ApiError::Forbidden(
            "This token acts for no user; it may only read launchable images.".into(),
        ),
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
