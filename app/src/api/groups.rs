//! Server functions about groups.

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
    use super::context::scope_for;
    use crate::domain::Action;

    scope_for(Some(&group), Action::ViewGroupImages).await?;
    Ok(GroupOverview { name: group })
}
