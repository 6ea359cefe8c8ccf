//! What every server function starts with: the app state, the actor, the policy check.

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use leptos::prelude::{expect_context, use_context};

use super::ApiError;
use super::error::respond;
use crate::backend::images::Scope;
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

/// The first broken rule of a form, as the server's answer.
pub fn first_error(errors: Vec<crate::domain::FieldError>) -> ApiError {
    respond(
        errors
            .into_iter()
            .next()
            .map_or(ApiError::Internal, ApiError::Invalid),
    )
}

/// Resolves a catalog scope from the group named in the request (or global images when
/// none), checks `action` against the *stored* group, and returns the state, the scope
/// and the actor's name for the audit log. Global images need a system admin.
pub async fn scope_for(
    group: Option<&str>,
    action: Action,
) -> Result<(AppState, Scope, String), ApiError> {
    let state = state();
    let actor = actor(&state).await?;
    let Actor::User(user) = &actor else {
        return Err(respond(ApiError::Unauthenticated));
    };
    let name = user.name.clone();
    let Some(group) = group else {
        authorize(
            &actor,
            Action::ManageGlobalImages,
            Target::System,
            "global images",
        )?;
        return Ok((state, Scope::Global, name));
    };
    let what = format!("group {group}");
    let stored = crate::backend::groups::find(&state.db, group)
        .await
        .map_err(fail)?;
    let Some(stored) = stored else {
        // Only system admins learn that a group does not exist.
        return Err(match authorize(&actor, action, Target::System, &what) {
            Ok(()) => respond(ApiError::NotFound(format!("There is no group {group}."))),
            Err(_) => respond(ApiError::Forbidden(format!(
                "You are not a member of {what}."
            ))),
        });
    };
    authorize(&actor, action, Target::Group(stored.id), &what)?;
    Ok((state, Scope::Group(stored.id), name))
}

/// How the audit log names an image: `group:ml/image:torch`, or `global/image:torch`.
pub fn image_audit_target(group: Option<&str>, name: &str) -> String {
    let scope = group.map_or_else(|| "global".to_owned(), |g| format!("group:{g}"));
    format!("{scope}/image:{name}")
}
