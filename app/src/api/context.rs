//! What every server function starts with: the app state, the actor, the policy check.

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use leptos::prelude::{expect_context, use_context};

use super::ApiError;
use super::error::respond;
use crate::backend::{AppState, identity};
use crate::domain::policy::{self, Action, Actor, Denied, Target};

pub fn state() -> AppState {
    expect_context::<AppState>()
}

/// The actor of the current request.
pub async fn actor(state: &AppState) -> Result<Actor, ApiError> {
    let parts = use_context::<http::request::Parts>().ok_or(ApiError::Internal)?;
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    identity::resolve_actor(&state.db, &state.auth, &parts.headers, peer)
        .await
        .map_err(|e| respond(e.into()))
}

/// Checks the policy; `what` names the target in the refusal ("group ml").
pub fn authorize(
    actor: &Actor,
    action: Action,
    target: Target,
    what: &str,
) -> Result<(), ApiError> {
    policy::decide(actor, action, target).map_err(|d| respond(refusal(d, what)))
}

fn refusal(denied: Denied, what: &str) -> ApiError {
    match denied {
        Denied::NotSignedIn => ApiError::Unauthenticated,
        Denied::NotInGroup => ApiError::Forbidden(format!("You are not a member of {what}.")),
        Denied::NeedsGroupAdmin => ApiError::Forbidden(format!(
            "Only the group admins of {what} can manage its images. You are a member; ask one of its admins."
        )),
        Denied::NeedsSystemAdmin => ApiError::Forbidden("Only system admins can do this.".into()),
    }
}

/// Maps a backend error to the browser's error, setting the response status.
pub fn fail(e: crate::backend::BackendError) -> ApiError {
    respond(e.into())
}
