//! Server functions for people: accounts (system admins), a group's members (its admins),
//! one's own password. Every call checks the policy against what is stored.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::edge::run;
use crate::wire::ApiError;
use crate::wire::accounts::{GroupView, MembersPage, UsersPage};

#[server(endpoint = "users_overview")]
pub async fn users_overview() -> Result<UsersPage, ApiError> {
    run(|call| async move { crate::ops::accounts::users_overview(&call).await }).await
}

/// Creates a local account.
#[server(endpoint = "create_user")]
pub async fn create_user(
    name: String,
    password: String,
    #[server(default)] system_admin: Option<String>,
) -> Result<(), ApiError> {
    use crate::ops::accounts::add_user;
    let admin = system_admin.is_some();
    run(|call| async move { add_user(&call, name.trim(), &password, admin).await }).await?;
    leptos_axum::redirect("/admin/users");
    Ok(())
}

/// Disables (`disabled` = "true") or enables an account.
#[server(endpoint = "set_user_disabled")]
pub async fn set_user_disabled(name: String, disabled: String) -> Result<(), ApiError> {
    use crate::ops::accounts::set_disabled;
    let disabled = disabled == "true";
    run(|call| async move { set_disabled(&call, &name, disabled).await }).await?;
    leptos_axum::redirect("/admin/users");
    Ok(())
}

/// Sets a local account's password; its sessions end.
#[server(endpoint = "reset_user_password")]
pub async fn reset_user_password(name: String, password: String) -> Result<(), ApiError> {
    use crate::ops::accounts::reset_password;
    run(|call| async move { reset_password(&call, &name, &password).await }).await?;
    leptos_axum::redirect("/admin/users");
    Ok(())
}

#[server(endpoint = "members_of")]
pub async fn members_of(group: String) -> Result<MembersPage, ApiError> {
    run(|call| async move { crate::ops::accounts::members_page(&call, &group).await }).await
}

/// Adds a member to a group, or changes their role (`role`: member or admin).
#[server(endpoint = "set_group_member")]
pub async fn set_group_member(group: String, user: String, role: String) -> Result<(), ApiError> {
    use crate::domain::Role;
    use crate::ops::accounts::add_member;
    let role = Role::from_field("role", &role)?;
    let path = format!("/groups/{group}/members");
    run(|call| async move { add_member(&call, &group, user.trim(), role).await }).await?;
    leptos_axum::redirect(&path);
    Ok(())
}

#[server(endpoint = "remove_group_member")]
pub async fn remove_group_member(group: String, user: String) -> Result<(), ApiError> {
    use crate::ops::accounts::remove_member;
    let path = format!("/groups/{group}/members");
    run(|call| async move { remove_member(&call, &group, &user).await }).await?;
    leptos_axum::redirect(&path);
    Ok(())
}

/// Changes the caller's own password; every session of theirs ends, so they sign in again.
#[server(endpoint = "change_my_password")]
pub async fn change_my_password(
    current_password: String,
    new_password: String,
) -> Result<(), ApiError> {
    use crate::ops::accounts::change_own_password;
    run(|call| async move { change_own_password(&call, &current_password, &new_password).await })
        .await?;
    leptos_axum::redirect("/login?changed=password");
    Ok(())
}

#[server(endpoint = "groups_overview")]
pub async fn groups_overview() -> Result<Vec<GroupView>, ApiError> {
    run(|call| async move { crate::ops::accounts::groups_overview(&call).await }).await
}

#[server(endpoint = "create_group")]
pub async fn create_group(name: String) -> Result<(), ApiError> {
    use crate::ops::accounts::add_group;
    run(|call| async move { add_group(&call, name.trim()).await }).await?;
    leptos_axum::redirect("/admin/groups");
    Ok(())
}

#[server(endpoint = "rename_group")]
pub async fn rename_group(group: String, name: String) -> Result<(), ApiError> {
    run(|call| async move { crate::ops::accounts::rename_group(&call, &group, &name).await })
        .await?;
    leptos_axum::redirect("/admin/groups");
    Ok(())
}

#[server(endpoint = "delete_group")]
pub async fn delete_group(group: String) -> Result<(), ApiError> {
    run(|call| async move { crate::ops::accounts::delete_group(&call, &group).await }).await?;
    leptos_axum::redirect("/admin/groups");
    Ok(())
}

/// Deletes an account with its sessions, memberships and tokens.
#[server(endpoint = "delete_user")]
pub async fn delete_user(name: String) -> Result<(), ApiError> {
    run(|call| async move { crate::ops::accounts::delete_user(&call, &name).await }).await?;
    leptos_axum::redirect("/admin/users");
    Ok(())
}
