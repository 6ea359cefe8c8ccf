//! What every server function starts with: the app state, the actor, the policy check.

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
    identity::resolve_request(&state.db, &state.auth, &parts)
        .await
        .map(|(actor, _)| actor)
        .map_err(|e| respond(e.into()))
}

/// The state and the actor of the current server-function call.
pub async fn caller() -> Result<(AppState, Actor), ApiError> {
    let state = state();
    let actor = actor(&state).await?;
    Ok((state, actor))
}

/// Checks the policy; `what` names the target in the refusal ("group ml").
pub fn check(actor: &Actor, action: Action, target: Target, what: &str) -> Result<(), ApiError> {
    policy::decide(actor, action, target).map_err(|d| refusal(d, what))
}

/// [`check`], setting the response status of a refusal.
pub fn authorize(
    actor: &Actor,
    action: Action,
    target: Target,
    what: &str,
) -> Result<(), ApiError> {
    check(actor, action, target, what).map_err(respond)
}

fn refusal(denied: Denied, what: &str) -> ApiError {
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

/// Maps a backend error to the browser's error, setting the response status.
pub fn fail(e: crate::backend::BackendError) -> ApiError {
    respond(e.into())
}

/// Resolves a catalog scope from the group named in the request (or global images when
/// none), checks `action` against the *stored* group, and returns the scope and the actor's
/// name for the audit log. Global images need a system admin.
pub async fn scope_of(
    state: &AppState,
    actor: &Actor,
    group: Option<&str>,
    action: Action,
) -> Result<(Scope, String), ApiError> {
    let name = match actor {
        Actor::User(user) => user.name.clone(),
        // A token bound to no user reads launch lists only; it has no catalog.
        Actor::Service(_) => return Err(refusal(Denied::ServiceTokenOnlyLaunchable, "")),
        Actor::Anonymous => return Err(ApiError::Unauthenticated),
    };
    let Some(group) = group else {
        let global = match action.changes() {
            true => Action::ManageGlobalImages,
            false => Action::ViewGlobalImages,
        };
        check(actor, global, Target::System, "global images")?;
        return Ok((Scope::Global, name));
    };
    let what = format!("group {group}");
    let stored = crate::backend::groups::find(&state.db, group)
        .await
        .map_err(ApiError::from)?;
    let Some(stored) = stored else {
        // Only system admins learn that a group does not exist.
        return Err(match check(actor, action, Target::System, &what) {
            Ok(()) => ApiError::NotFound(format!("There is no group {group}.")),
            Err(_) => ApiError::Forbidden(format!("You are not a member of {what}.")),
        });
    };
    check(actor, action, Target::Group(stored.id), &what)?;
    Ok((Scope::Group(stored.id), name))
}

/// How the audit log names an image: `group:ml/image:torch`, or `global/image:torch`.
pub fn image_audit_target(group: Option<&str>, name: &str) -> String {
    let scope = group.map_or_else(|| "global".to_owned(), |g| format!("group:{g}"));
    format!("{scope}/image:{name}")
}
