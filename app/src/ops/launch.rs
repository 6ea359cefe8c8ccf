//! The images a user may launch: for themselves, or (system admins and service tokens) for
//! any user, as a launch page's backend asks.

use super::{Call, OpResult};
use crate::backend::launchable::{self, Answer};
use crate::domain::{Accelerator, Action, Actor, Said, Target, messages};
use crate::wire::ApiError;

/// Whose list: the caller's own, or a named user's.
#[derive(Debug, Clone, Copy)]
pub enum Whose<'a> {
    Me,
    User(&'a str),
}

/// `version` is the `launch_version` counter if the request has read it already.
pub async fn launchable(
    call: &Call,
    whose: Whose<'_>,
    accelerator: Accelerator,
    include_not_ready: bool,
    version: Option<i64>,
) -> OpResult<Answer> {
    let user = match (whose, &call.actor) {
        (_, Actor::Anonymous) => return Err(ApiError::Unauthenticated),
        (Whose::Me, Actor::User(me)) => me.name.as_str(),
        (Whose::Me, Actor::Operator) => {
            return Err(ApiError::Forbidden(Said::coded(
                messages::CLI_LAUNCHES_NOTHING,
                &[],
            )));
        }
        (Whose::Me, Actor::Service(_)) => {
            return Err(ApiError::Forbidden(Said::coded(
                messages::TOKEN_HAS_NO_LIST,
                &[],
            )));
        }
        (Whose::User(user), Actor::User(me)) if me.name == user => user,
        (Whose::User(user), _) => {
            call.check(Action::ViewAnyUsersLaunchable, Target::System)
                .map_err(|_| ApiError::Forbidden(Said::coded(messages::OTHERS_LAUNCH_LIST, &[])))?;
            user
        }
    };
    let db = &call.state.db;
    let version = match version {
        Some(version) => version,
        None => launchable::version(db).await?,
    };
    Ok(launchable::for_user(db, version, user, accelerator, include_not_ready).await?)
}
