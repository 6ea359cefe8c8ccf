//! Server functions for registry credentials (system admins only). Passwords go in,
//! never out.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::ApiError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialView {
    pub name: String,
    pub registry: String,
    pub username: String,
    /// Groups allowed to use it.
    pub groups: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialsPage {
    pub credentials: Vec<CredentialView>,
    /// Every group, to choose from.
    pub all_groups: Vec<String>,
}

#[cfg(feature = "ssr")]
async fn system_admin() -> Result<(crate::backend::AppState, String), ApiError> {
    use super::context::{actor, authorize, state};
    use crate::domain::{Action, Actor, Target};
    let state = state();
    let actor = actor(&state).await?;
    authorize(
        &actor,
        Action::ManageCredentials,
        Target::System,
        "registry credentials",
    )?;
    let Actor::User(user) = actor else {
        return Err(ApiError::Unauthenticated);
    };
    Ok((state, user.name))
}

#[server(endpoint = "credentials_overview")]
pub async fn credentials_overview() -> Result<CredentialsPage, ApiError> {
    use super::context::fail;
    use crate::backend::{credentials, groups};

    let (state, _) = system_admin().await?;
    let views = credentials::list_with_groups(&state.db)
        .await
        .map_err(fail)?
        .into_iter()
        .map(|(c, groups)| CredentialView {
            name: c.name,
            registry: c.registry,
            username: c.username,
            groups,
        })
        .collect();
    let all_groups = groups::list(&state.db)
        .await
        .map_err(fail)?
        .into_iter()
        .map(|g| g.name)
        .collect();
    Ok(CredentialsPage {
        credentials: views,
        all_groups,
    })
}

/// Creates a credential, sealing its password, and grants it to `groups`.
#[server(endpoint = "create_credential")]
pub async fn create_credential(
    name: String,
    registry: String,
    username: String,
    password: String,
    #[server(default)] groups: Vec<String>,
) -> Result<(), ApiError> {
    use super::context::fail;
    use crate::backend::{audit, credentials};

    let (state, actor) = system_admin().await?;
    let group_ids = group_ids(&state, &groups).await?;
    let new = credentials::NewCredential {
        name: name.trim(),
        registry: registry.trim(),
        username: username.trim(),
        password: &password,
    };
    credentials::create(&state.db, &state.secret, &new, &group_ids)
        .await
        .map_err(fail)?;
    audit::record(
        &state.db,
        &actor,
        "credential.create",
        &format!("credential:{}", new.name),
        &groups.join(","),
    )
    .await
    .map_err(fail)?;
    leptos_axum::redirect("/admin/credentials");
    Ok(())
}

/// Replaces the groups allowed to use a credential.
#[server(endpoint = "set_credential_groups")]
pub async fn set_credential_groups(
    name: String,
    #[server(default)] groups: Vec<String>,
) -> Result<(), ApiError> {
    use super::context::fail;
    use crate::backend::{BackendError, audit, credentials};

    let (state, actor) = system_admin().await?;
    let group_ids = group_ids(&state, &groups).await?;
    let credential = credentials::list(&state.db)
        .await
        .map_err(fail)?
        .into_iter()
        .find(|c| c.name == name)
        .ok_or_else(|| {
            fail(BackendError::NotFound {
                what: "credential",
                name: name.clone(),
            })
        })?;
    credentials::set_groups(&state.db, credential.id, &group_ids)
        .await
        .map_err(fail)?;
    audit::record(
        &state.db,
        &actor,
        "credential.groups",
        &format!("credential:{name}"),
        &groups.join(","),
    )
    .await
    .map_err(fail)?;
    leptos_axum::redirect("/admin/credentials");
    Ok(())
}

#[cfg(feature = "ssr")]
async fn group_ids(
    state: &crate::backend::AppState,
    names: &[String],
) -> Result<Vec<i64>, ApiError> {
    use super::context::fail;
    let mut ids = Vec::new();
    for name in names {
        let group = crate::backend::groups::find(&state.db, name)
            .await
            .map_err(fail)?;
        let group = group.ok_or_else(|| {
            super::error::respond(ApiError::invalid(
                "groups",
                format!("there is no group {name}"),
            ))
        })?;
        ids.push(group.id);
    }
    Ok(ids)
}
