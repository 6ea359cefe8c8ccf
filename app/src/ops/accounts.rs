//! Users, groups and memberships: created by system admins and the operator, validated,
//! audited.

use super::{Call, OpResult};
use crate::backend::{groups, passwords, users};
use crate::domain::{Action, FieldError, GroupName, Role, Target, UserName};
use crate::wire::ApiError;

/// Local passwords are at least this long.
pub const MIN_PASSWORD: usize = 8;

/// Creates a local account with this password; returns its id.
pub async fn add_user(
    call: &Call,
    name: &str,
    password: &str,
    system_admin: bool,
) -> OpResult<i64> {
    call.check(Action::ManageAccounts, Target::System, "accounts")?;
    let name = UserName::parse("user", name)?;
    if password.chars().count() < MIN_PASSWORD {
        return Err(FieldError::new(
            "password",
            format!("must be at least {MIN_PASSWORD} characters"),
        )
        .into());
    }
    // Hashing takes a while: before the change begins, not while it holds the database.
    let hash = passwords::hash(password.to_owned()).await?;
    let mut change = call.change().await?;
    let id = users::create(change.conn(), &name, &hash, system_admin).await?;
    let detail = if system_admin { "system admin" } else { "" };
    change
        .commit("user.create", &format!("user:{name}"), detail)
        .await?;
    Ok(id)
}

pub async fn add_group(call: &Call, name: &str) -> OpResult<i64> {
    call.check(Action::ManageAccounts, Target::System, "accounts")?;
    let name = GroupName::for_new_group("group", name)?;
    let mut change = call.change().await?;
    let id = groups::create(change.conn(), &name).await?;
    change
        .commit("group.create", &format!("group:{name}"), "")
        .await?;
    Ok(id)
}

/// Makes `user` a member (or admin) of `group`; both must exist.
pub async fn add_member(call: &Call, group: &str, user: &str, role: Role) -> OpResult<()> {
    call.check(Action::ManageAccounts, Target::System, "accounts")?;
    let db = &call.state.db;
    let g = groups::require(db, group).await?;
    let u = users::find(db, user)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("User \"{user}\" does not exist")))?;
    let mut change = call.change().await?;
    groups::set_member(change.conn(), g.id, u.id, role).await?;
    change
        .commit(
            "membership.set",
            &format!("group:{}", g.name),
            &format!("{} as {role}", u.name),
        )
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::operator;

    #[tokio::test]
    async fn bad_input_names_the_problem_and_writes_nothing() {
        let call = operator().await;
        let db = &call.state.db;
        let err = add_user(&call, "bad name", "long enough", false)
            .await
            .unwrap_err();
        assert!(
            err.to_string().starts_with("user: may contain only"),
            "{err}"
        );
        let err = add_user(&call, "ann", "short", false).await.unwrap_err();
        assert_eq!(err.to_string(), "password: must be at least 8 characters");
        assert!(users::find(db, "ann").await.unwrap().is_none());

        add_user(&call, "ann", "long enough", false).await.unwrap();
        let err = add_member(&call, "ml", "ann", Role::Admin)
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "Group \"ml\" does not exist");
        let err = add_group(&call, "global").await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "group: is reserved: the global images are pushed under that name"
        );
        add_group(&call, "ml").await.unwrap();
        let err = add_member(&call, "ml", "nobody", Role::Admin)
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "User \"nobody\" does not exist");
        add_member(&call, "ml", "ann", Role::Admin).await.unwrap();

        let actions: Vec<_> = crate::backend::audit::recent(db, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert_eq!(actions, ["membership.set", "group.create", "user.create"]);
    }
}
