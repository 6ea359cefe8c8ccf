//! What Kiln does for a caller, once. The pages' server functions, the REST API and the
//! command line are adapters around these: each resolves its caller into a [`Call`] and
//! turns the answer into its own medium. An operation checks the policy
//! (`domain/policy.rs`) against what is stored, calls the backend, writes its audit entry
//! in the same transaction as its change ([`audit::Change`]) and answers with domain and
//! wire values, or an [`ApiError`] that says what went wrong in words a person can act on.

pub mod accounts;
pub mod audit;
pub mod base_updates;
pub mod builds;
pub mod credentials;
pub mod demo;
pub mod error;
pub mod images;
pub mod launch;
pub mod retention;
pub mod sessions;
pub mod tokens;

#[cfg(test)]
mod matrix_tests;
#[cfg(test)]
pub(crate) mod testing;

use crate::backend::AppState;
use crate::backend::images::Scope;
use crate::domain::policy::{self, Action, Actor, Denied, Target};
use crate::domain::{Said, messages};
use crate::wire::ApiError;

pub use error::first;

/// An operation's answer.
pub type OpResult<T> = Result<T, ApiError>;

/// Who asks, and of which Kiln.
#[derive(Clone)]
pub struct Call {
    pub state: AppState,
    pub actor: Actor,
}

impl Call {
    pub fn new(state: AppState, actor: Actor) -> Call {
        Call { state, actor }
    }

    /// A call of the command line: the operator, whom the policy lets do everything.
    pub fn operator(state: AppState) -> Call {
        Call::new(state, Actor::Operator)
    }

    /// Checks the policy for an action on Kiln itself (accounts, tokens, the audit log).
    pub fn check(&self, action: Action, target: Target) -> OpResult<()> {
        policy::decide(&self.actor, action, target)
            .map_err(|d| error::refusal(d, error::Subject::System))
    }

    /// Checks the policy for an action on a build, whose group is not named to the caller.
    pub fn check_build(&self, action: Action, target: Target) -> OpResult<()> {
        policy::decide(&self.actor, action, target)
            .map_err(|d| error::refusal(d, error::Subject::BuildGroup))
    }

    /// Checks the policy for an action on the group named `group`.
    pub fn check_group(&self, action: Action, target: Target, group: &str) -> OpResult<()> {
        policy::decide(&self.actor, action, target)
            .map_err(|d| error::refusal(d, error::Subject::Group(group)))
    }

    /// The name the audit log gives this caller. Only users and the operator change things.
    pub fn audit_name(&self) -> OpResult<String> {
        match &self.actor {
            Actor::User(user) => Ok(user.name.clone()),
            Actor::Operator => Ok(Actor::OPERATOR.to_owned()),
            Actor::Service(_) => Err(error::refusal(
                Denied::ServiceTokenOnlyLaunchable,
                error::Subject::System,
            )),
            Actor::Anonymous => Err(ApiError::Unauthenticated),
        }
    }

    /// Begins a change made by this caller: it commits only with its audit entry.
    pub async fn change(&self) -> OpResult<audit::Change> {
        audit::Change::begin(&self.state.db, self.audit_name()?).await
    }

    /// Resolves a catalog scope from the group named in the request (or the global images
    /// when none) and checks `action` against the *stored* group. Global images need a
    /// system admin; only system admins learn that a group does not exist.
    pub async fn scope(&self, group: Option<&str>, action: Action) -> OpResult<Scope> {
        if let Actor::Service(_) = self.actor {
            // A token bound to no user reads launch lists only; it has no catalog.
            return Err(error::refusal(
                Denied::ServiceTokenOnlyLaunchable,
                error::Subject::System,
            ));
        }
        let Some(group) = group else {
            let global = match action.changes() {
                true => Action::ManageGlobalImages,
                false => Action::ViewGlobalImages,
            };
            self.check(global, Target::System)?;
            return Ok(Scope::Global);
        };
        let Some(stored) = crate::backend::groups::find(&self.state.db, group).await? else {
            return Err(match self.check(action, Target::System) {
                Ok(()) => {
                    ApiError::NotFound(Said::coded(messages::NO_SUCH_GROUP, &[("name", group)]))
                }
                Err(ApiError::Unauthenticated) => ApiError::Unauthenticated,
                Err(_) => {
                    ApiError::Forbidden(Said::coded(messages::NOT_IN_GROUP, &[("group", group)]))
                }
            });
        };
        self.check_group(action, Target::Group(stored.id), group)?;
        Ok(Scope::Group(stored.id))
    }
}
