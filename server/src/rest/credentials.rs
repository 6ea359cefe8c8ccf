//! `/api/v1/credentials[/{name}]`: registry credentials (system admins). Passwords go in,
//! never out.

use app::backend::credentials::NewCredential;
use app::ops;
use app::wire::accounts::CredentialView;
use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::types::ErrorBody;
use super::{Body, Caller, Reply};

/// A credential as lists show it: never its password.
#[derive(Debug, Serialize, ToSchema)]
pub struct Credential {
    pub name: String,
    pub registry: String,
    pub username: String,
    /// The groups whose images may use it (global images may use every credential).
    pub groups: Vec<String>,
}

impl From<CredentialView> for Credential {
    fn from(c: CredentialView) -> Self {
        Credential {
            name: c.name,
            registry: c.registry,
            username: c.username,
            groups: c.groups,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCredentialBody {
    pub name: String,
    pub registry: String,
    pub username: String,
    pub password: String,
    #[serde(default)]
    pub groups: Vec<String>,
}

/// The properties sent change; the others stay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialPatch {
    #[serde(default)]
    pub username: Option<String>,
    /// Sealed anew with the server's key.
    #[serde(default)]
    pub password: Option<String>,
    /// Exactly the groups that may use it.
    #[serde(default)]
    pub groups: Option<Vec<String>>,
}

async fn one(caller: &Caller, name: &str) -> Reply<Json<Credential>> {
    let all = ops::credentials::list(&caller.call).await?;
    let found = all.into_iter().find(|c| c.name == name);
    let found = found.ok_or_else(|| {
        app::wire::ApiError::NotFound(app::domain::Said::coded(
            app::domain::messages::NO_SUCH_CREDENTIAL,
            &[("name", name)],
        ))
    })?;
    Ok(Json(found.into()))
}

#[utoipa::path(get, path = "/api/v1/credentials", tag = "credentials",
    responses((status = 200, body = Vec<Credential>), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub async fn list(caller: Caller) -> Reply<Json<Vec<Credential>>> {
    let all = ops::credentials::list(&caller.call).await?;
    Ok(Json(all.into_iter().map(Credential::from).collect()))
}

/// Stores a credential, its password sealed, for the groups named.
#[utoipa::path(post, path = "/api/v1/credentials", tag = "credentials",
    request_body = NewCredentialBody,
    responses((status = 201, body = Credential), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    caller: Caller,
    Body(body): Body<NewCredentialBody>,
) -> Reply<(StatusCode, Json<Credential>)> {
    let new = NewCredential {
        name: body.name.trim(),
        registry: body.registry.trim(),
        username: body.username.trim(),
        password: &body.password,
    };
    ops::credentials::create(&caller.call, &new, &body.groups).await?;
    Ok((StatusCode::CREATED, one(&caller, body.name.trim()).await?))
}

/// Changes the username, the password (sealed anew) and/or the groups that may use it.
#[utoipa::path(patch, path = "/api/v1/credentials/{name}", tag = "credentials",
    params(("name" = String, Path)), request_body = CredentialPatch,
    responses((status = 200, body = Credential), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn patch(
    caller: Caller,
    Path(name): Path<String>,
    Body(body): Body<CredentialPatch>,
) -> Reply<Json<Credential>> {
    let call = &caller.call;
    if body.username.is_some() || body.password.is_some() {
        let username = body.username.as_deref().unwrap_or_default();
        let password = body.password.as_deref().unwrap_or_default();
        ops::credentials::change(call, &name, username, password).await?;
    }
    if let Some(groups) = &body.groups {
        ops::credentials::set_groups(call, &name, groups).await?;
    }
    one(&caller, &name).await
}

/// Deletes a credential; 409 naming the images and builds that still use it.
#[utoipa::path(delete, path = "/api/v1/credentials/{name}", tag = "credentials",
    params(("name" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
pub async fn delete(caller: Caller, Path(name): Path<String>) -> Reply<StatusCode> {
    ops::credentials::delete(&caller.call, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}
