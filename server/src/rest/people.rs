//! People and memberships: a group's members (its admins and system admins), accounts
//! (system admins), and one's own password.

use app::ops;
use app::ops::accounts;
use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::types::ErrorBody;
use super::{Body, Caller, Reply};

/// A member of a group.
#[derive(Debug, Serialize, ToSchema)]
pub struct Member {
    pub user: String,
    /// `member` or `admin`.
    pub role: String,
    /// `local` (made in Kiln) or `provider` (the identity provider's; it changes it there).
    pub source: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberRole {
    /// `member` or `admin`.
    pub role: String,
}

/// The properties sent change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    /// A disabled user's sessions and tokens stop at their next request.
    #[serde(default)]
    pub disabled: Option<bool>,
    /// A new password for a local account (at least 8 characters); its sessions end.
    #[serde(default)]
    pub password: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

async fn member_list(caller: &Caller, group: &str) -> Reply<Json<Vec<Member>>> {
    let members = accounts::members(&caller.call, group).await?;
    Ok(Json(
        members
            .into_iter()
            .map(|(user, role, source)| Member {
                user,
                role,
                source: if source == "local" {
                    "local"
                } else {
                    "provider"
                }
                .to_owned(),
            })
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/v1/groups/{group}/members", tag = "people",
    params(("group" = String, Path)),
    responses((status = 200, body = Vec<Member>), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn members(caller: Caller, Path(group): Path<String>) -> Reply<Json<Vec<Member>>> {
    member_list(&caller, &group).await
}

/// Adds a member, or changes their role.
#[utoipa::path(put, path = "/api/v1/groups/{group}/members/{user}", tag = "people",
    params(("group" = String, Path), ("user" = String, Path)), request_body = MemberRole,
    responses((status = 200, body = Vec<Member>), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn set_member(
    caller: Caller,
    Path((group, user)): Path<(String, String)>,
    Body(body): Body<MemberRole>,
) -> Reply<Json<Vec<Member>>> {
    let role =
        app::domain::Role::from_field("role", &body.role).map_err(app::wire::ApiError::from)?;
    accounts::add_member(&caller.call, &group, &user, role).await?;
    member_list(&caller, &group).await
}

/// Ends a membership made in Kiln (one the identity provider made: 409).
#[utoipa::path(delete, path = "/api/v1/groups/{group}/members/{user}", tag = "people",
    params(("group" = String, Path), ("user" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
pub async fn remove_member(
    caller: Caller,
    Path((group, user)): Path<(String, String)>,
) -> Reply<StatusCode> {
    accounts::remove_member(&caller.call, &group, &user).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Disables or enables an account, or sets its password (system admins).
#[utoipa::path(patch, path = "/api/v1/users/{user}", tag = "people",
    params(("user" = String, Path)), request_body = UserPatch,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn patch_user(
    caller: Caller,
    Path(user): Path<String>,
    Body(body): Body<UserPatch>,
) -> Reply<StatusCode> {
    if let Some(password) = &body.password {
        accounts::reset_password(&caller.call, &user, password).await?;
    }
    if let Some(disabled) = body.disabled {
        accounts::set_disabled(&caller.call, &user, disabled).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Changes the caller's own password (local accounts, signed in by session). Every session
/// of theirs ends: they sign in again.
#[utoipa::path(put, path = "/api/v1/me/password", tag = "people", request_body = PasswordChange,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn change_password(
    caller: Caller,
    Body(body): Body<PasswordChange>,
) -> Reply<StatusCode> {
    ops::accounts::change_own_password(&caller.call, &body.current_password, &body.new_password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A group with how many members and images it has.
#[derive(Debug, Serialize, ToSchema)]
pub struct Group {
    pub name: String,
    pub members: i64,
    pub images: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupName {
    pub name: String,
}

#[utoipa::path(get, path = "/api/v1/groups", tag = "people",
    responses((status = 200, body = Vec<Group>), (status = 403, body = ErrorBody)))]
pub async fn groups(caller: Caller) -> Reply<Json<Vec<Group>>> {
    let all = accounts::groups_overview(&caller.call).await?;
    Ok(Json(
        all.into_iter()
            .map(|g| Group {
                name: g.name,
                members: g.members,
                images: g.images,
            })
            .collect(),
    ))
}

#[utoipa::path(post, path = "/api/v1/groups", tag = "people", request_body = GroupName,
    responses((status = 201), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn create_group(caller: Caller, Body(body): Body<GroupName>) -> Reply<StatusCode> {
    accounts::add_group(&caller.call, body.name.trim()).await?;
    Ok(StatusCode::CREATED)
}

/// Renames a group (`{"name": NEW}`): its images keep their URLs.
#[utoipa::path(patch, path = "/api/v1/groups/{group}", tag = "people",
    params(("group" = String, Path)), request_body = GroupName,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn rename_group(
    caller: Caller,
    Path(group): Path<String>,
    Body(body): Body<GroupName>,
) -> Reply<StatusCode> {
    accounts::rename_group(&caller.call, &group, &body.name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes a group without images (409 saying how many it has).
#[utoipa::path(delete, path = "/api/v1/groups/{group}", tag = "people",
    params(("group" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
pub async fn delete_group(caller: Caller, Path(group): Path<String>) -> Reply<StatusCode> {
    accounts::delete_group(&caller.call, &group).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes an account with its sessions, memberships and tokens (system admins; not one's own).
#[utoipa::path(delete, path = "/api/v1/users/{user}", tag = "people",
    params(("user" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
pub async fn delete_user(caller: Caller, Path(user): Path<String>) -> Reply<StatusCode> {
    accounts::delete_user(&caller.call, &user).await?;
    Ok(StatusCode::NO_CONTENT)
}
