//! Server functions about groups: the header's switcher and a group's Images page.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::ApiError;

/// What a group's Images page shows about the group itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupOverview {
    pub name: String,
}

/// Opens a group's Images page: only its admins and system admins get past this.
#[server(endpoint = "group_page")]
pub async fn group_page(group: String) -> Result<GroupOverview, ApiError> {
    use super::context::{actor, authorize, fail, state};
    use crate::backend::groups;
    use crate::domain::{Action, Actor, Target};

    let state = state();
    let actor = actor(&state).await?;
    if actor == Actor::Anonymous {
        return Err(super::error::respond(ApiError::Unauthenticated));
    }
    let what = format!("group {group}");
    let Some(stored) = groups::find(&state.db, &group).await.map_err(fail)? else {
        // Only system admins learn that a group does not exist; others get the same
        // answer as for a group they are not in.
        return match authorize(&actor, Action::ViewGroupImages, Target::System, &what) {
            Ok(()) => Err(super::error::respond(ApiError::NotFound(format!(
                "There is no group {group}."
            )))),
            Err(_) => Err(super::error::respond(ApiError::Forbidden(format!(
                "You are not a member of {what}."
            )))),
        };
    };
    authorize(
        &actor,
        Action::ViewGroupImages,
        Target::Group(stored.id),
        &what,
    )?;
    Ok(GroupOverview { name: stored.name })
}
