//! Server functions for registry credentials (system admins only). Passwords go in,
//! never out.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::edge::run;
use crate::wire::ApiError;
use crate::wire::accounts::CredentialsPage;

#[server(endpoint = "credentials_overview")]
pub async fn credentials_overview() -> Result<CredentialsPage, ApiError> {
    run(|call| async move { crate::ops::credentials::overview(&call).await }).await
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
    use crate::backend::credentials::NewCredential;
    run(|call| async move {
        let new = NewCredential {
            name: name.trim(),
            registry: registry.trim(),
            username: username.trim(),
            password: &password,
        };
        crate::ops::credentials::create(&call, &new, &groups).await
    })
    .await?;
    leptos_axum::redirect("/admin/credentials");
    Ok(())
}

/// Replaces the groups allowed to use a credential.
#[server(endpoint = "set_credential_groups")]
pub async fn set_credential_groups(
    name: String,
    #[server(default)] groups: Vec<String>,
) -> Result<(), ApiError> {
    use crate::ops::credentials::set_groups;
    run(|call| async move { set_groups(&call, &name, &groups).await }).await?;
    leptos_axum::redirect("/admin/credentials");
    Ok(())
}

/// Changes a credential's username and/or password (an empty field keeps its value).
#[server(endpoint = "change_credential")]
pub async fn change_credential(
    name: String,
    #[server(default)] username: String,
    #[server(default)] password: String,
) -> Result<(), ApiError> {
    use crate::ops::credentials::change;
    run(|call| async move { change(&call, &name, &username, &password).await }).await?;
    leptos_axum::redirect("/admin/credentials");
    Ok(())
}

/// Deletes a credential no image or active build uses.
#[server(endpoint = "delete_credential")]
pub async fn delete_credential(name: String) -> Result<(), ApiError> {
    use crate::ops::credentials::delete;
    run(|call| async move { delete(&call, &name).await }).await?;
    leptos_axum::redirect("/admin/credentials");
    Ok(())
}
