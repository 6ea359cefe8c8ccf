//! What Kiln does for a caller, once: the server functions (the pages) and the REST API both
//! call these with the actor they resolved. Each checks the policy against what is stored,
//! calls the backend, writes the audit entry, and answers with an [`ApiError`] that the
//! caller turns into its response. Nothing here touches the HTTP response.
//!
//! [`ApiError`]: super::ApiError

pub mod builds;
pub mod images;
pub mod launch;

use crate::backend::AppState;
use crate::domain::Actor;

/// Who asks, and with what.
#[derive(Clone, Copy)]
pub struct Call<'a> {
    pub state: &'a AppState,
    pub actor: &'a Actor,
}

impl<'a> Call<'a> {
    pub fn new(state: &'a AppState, actor: &'a Actor) -> Self {
        Call { state, actor }
    }
}

/// The first broken rule of a form.
pub(crate) fn first(errors: Vec<crate::domain::FieldError>) -> super::ApiError {
    errors
        .into_iter()
        .next()
        .map_or(super::ApiError::Internal, super::ApiError::Invalid)
}
