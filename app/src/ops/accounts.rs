//! Users, groups and memberships: created by system admins and the operator, validated,
//! audited.

use super::{Call, OpResult};
use crate::backend::identity::AuthMode;
use crate::backend::{groups, passwords, users};
use crate::domain::{
    Action, FieldError, GroupName, Message, Role, Said, Target, UserName, messages,
};
use crate::wire::ApiError;
use crate::wire::accounts::{GroupView, MemberView, MembersPage, UserView, UsersPage};

/// Local passwords are at least this long.
pub const MIN_PASSWORD: usize = 8;

/// Creates a local account with this password; returns its id.
pub async fn add_user(
    call: &Call,
    name: &str,
    password: &str,
    system_admin: bool,
) -> OpResult<i64> {
    call.check(Action::ManageAccounts, Target::System)?;
    let name = UserName::parse("user", name)?;
    check_new_password(password)?;
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
    call.check(Action::ManageAccounts, Target::System)?;
    let name = GroupName::for_new_group("group", name)?;
    let mut change = call.change().await?;
    let id = groups::create(change.conn(), &name).await?;
    change
        .commit("group.create", &format!("group:{name}"), "")
        .await?;
    Ok(id)
}

/// Every group with its member and image counts (system admins).
pub async fn groups_overview(call: &Call) -> OpResult<Vec<GroupView>> {
    call.check(Action::ManageAccounts, Target::System)?;
    Ok(groups::list_with_counts(&call.state.db)
        .await?
        .into_iter()
        .map(|(name, members, images)| GroupView {
            name,
            members,
            images,
        })
        .collect())
}

/// Renames a group. Its images keep their URLs; builds from now on push under the new
/// name; an identity provider that names the group must use the new name too.
pub async fn rename_group(call: &Call, group: &str, new_name: &str) -> OpResult<()> {
    call.check(Action::ManageAccounts, Target::System)?;
    let g = groups::require(&call.state.db, group).await?;
    let name = GroupName::for_new_group("name", new_name.trim())?;
    let mut change = call.change().await?;
    groups::rename(change.conn(), g.id, &name).await?;
    change
        .commit("group.rename", &format!("group:{group}"), name.as_str())
        .await
}

/// Deletes a group with its memberships and credential grants; refused while it has
/// images (they would go with it), saying how many.
pub async fn delete_group(call: &Call, group: &str) -> OpResult<()> {
    call.check(Action::ManageAccounts, Target::System)?;
    let g = groups::require(&call.state.db, group).await?;
    let mut change = call.change().await?;
    if !groups::delete_if_empty(change.conn(), g.id).await? {
        let images = groups::list_with_counts(&call.state.db)
            .await?
            .into_iter()
            .find(|(name, _, _)| name == group)
            .map_or(0, |(_, _, images)| images);
        return Err(ApiError::Conflict(Said::coded(
            messages::GROUP_HAS_IMAGES,
            &[("group", group), ("images", &images.to_string())],
        )));
    }
    change
        .commit("group.delete", &format!("group:{group}"), "")
        .await
}

/// Makes `user` a member (or admin) of `group`; both must exist. System admins and the
/// group's admins may.
pub async fn add_member(call: &Call, group: &str, user: &str, role: Role) -> OpResult<()> {
    let db = &call.state.db;
    let g = groups::require(db, group).await?;
    call.check_group(Action::ManageGroupMembers, Target::Group(g.id), group)?;
    let u = require_user(call, user).await?;
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

async fn require_user(call: &Call, user: &str) -> OpResult<users::UserRow> {
    Ok(users::require(&call.state.db, user.trim()).await?)
}

/// Ends `user`'s membership of `group`. One the identity provider made is its to end: refused.
pub async fn remove_member(call: &Call, group: &str, user: &str) -> OpResult<()> {
    let db = &call.state.db;
    let g = groups::require(db, group).await?;
    call.check_group(Action::ManageGroupMembers, Target::Group(g.id), group)?;
    let u = require_user(call, user).await?;
    let mut change = call.change().await?;
    if !groups::remove_local_member(change.conn(), g.id, u.id).await? {
        let provider = groups::members(db, g.id)
            .await?
            .iter()
            .any(|(name, _, source)| *name == u.name && source != "local");
        return Err(match provider {
            true => ApiError::Conflict(Said::coded(
                messages::MEMBER_BY_PROVIDER,
                &[("user", &u.name), ("group", group)],
            )),
            false => ApiError::NotFound(Said::coded(
                messages::NOT_A_MEMBER,
                &[("user", &u.name), ("group", group)],
            )),
        });
    }
    change
        .commit("membership.remove", &format!("group:{group}"), &u.name)
        .await
}

/// The Users page: every account (system admins).
pub async fn users_overview(call: &Call) -> OpResult<UsersPage> {
    call.check(Action::ManageAccounts, Target::System)?;
    let users = users::list(&call.state.db).await?;
    Ok(UsersPage {
        users: users
            .into_iter()
            .map(|u| UserView {
                local: !u.is_external(),
                system_admin: u.is_system_admin(),
                disabled: u.is_disabled(),
                name: u.name,
            })
            .collect(),
        passwords_here: call.state.auth.mode == AuthMode::Local,
    })
}

/// A group's Members page (its admins and system admins).
pub async fn members_page(call: &Call, group: &str) -> OpResult<MembersPage> {
    let members = members(call, group).await?;
    Ok(MembersPage {
        group: group.to_owned(),
        members: members
            .into_iter()
            .map(|(user, role, source)| MemberView {
                user,
                role: Role::parse(&role).unwrap_or(Role::Member),
                local: source == "local",
            })
            .collect(),
        provider_owned: call.state.auth.mode != AuthMode::Local,
    })
}

/// A group's members as (name, role, source), for its admins and system admins.
pub async fn members(call: &Call, group: &str) -> OpResult<Vec<(String, String, String)>> {
    let g = groups::require(&call.state.db, group).await?;
    call.check_group(Action::ManageGroupMembers, Target::Group(g.id), group)?;
    Ok(groups::members(&call.state.db, g.id).await?)
}

/// Disables an account (its sessions and tokens stop at their next request, on every
/// replica) or enables it again. Nobody disables themselves.
pub async fn set_disabled(call: &Call, user: &str, disabled: bool) -> OpResult<()> {
    call.check(Action::ManageAccounts, Target::System)?;
    let u = require_user(call, user).await?;
    refuse_self(call, &u, messages::NOT_YOUR_OWN_DISABLE)?;
    let mut change = call.change().await?;
    users::set_disabled(change.conn(), u.id, disabled).await?;
    let action = if disabled {
        "user.disable"
    } else {
        "user.enable"
    };
    change.commit(action, &format!("user:{}", u.name), "").await
}

/// Deletes an account: its sessions, memberships and tokens go with it, at once on every
/// replica. Nobody deletes themselves.
pub async fn delete_user(call: &Call, user: &str) -> OpResult<()> {
    call.check(Action::ManageAccounts, Target::System)?;
    let u = require_user(call, user).await?;
    refuse_self(call, &u, messages::NOT_YOUR_OWN_DELETE)?;
    let mut change = call.change().await?;
    users::delete(change.conn(), u.id).await?;
    change
        .commit("user.delete", &format!("user:{}", u.name), "")
        .await
}

fn refuse_self(call: &Call, user: &users::UserRow, refusal: Message) -> OpResult<()> {
    match &call.actor {
        crate::domain::Actor::User(me) if me.id == user.id => {
            Err(ApiError::Conflict(Said::coded(refusal, &[])))
        }
        _ => Ok(()),
    }
}

fn check_new_password(password: &str) -> OpResult<()> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(FieldError::coded(
            "password",
            messages::PASSWORD_TOO_SHORT,
            &[("min", &MIN_PASSWORD.to_string())],
        )
        .into());
    }
    Ok(())
}

/// Sets a local account's password (system admins); its sessions end.
pub async fn reset_password(call: &Call, user: &str, password: &str) -> OpResult<()> {
    call.check(Action::ManageAccounts, Target::System)?;
    let u = require_user(call, user).await?;
    if u.is_external() {
        return Err(ApiError::Conflict(Said::coded(
            messages::PASSWORD_AT_PROVIDER,
            &[("user", &u.name)],
        )));
    }
    check_new_password(password)?;
    let hash = passwords::hash(password.to_owned()).await?;
    let mut change = call.change().await?;
    users::set_password(change.conn(), u.id, &hash).await?;
    change
        .commit("user.password", &format!("user:{}", u.name), "reset")
        .await
}

/// Changes the caller's own password (local accounts), given the current one. Every
/// session of theirs ends, this one too: they sign in again with the new password.
pub async fn change_own_password(call: &Call, current: &str, new: &str) -> OpResult<()> {
    let me = match &call.actor {
        crate::domain::Actor::User(me) => me,
        crate::domain::Actor::Anonymous => return Err(ApiError::Unauthenticated),
        _ => {
            return Err(ApiError::Forbidden(Said::coded(
                messages::ONLY_USERS_CHANGE_PASSWORDS,
                &[],
            )));
        }
    };
    if me.token.is_some() {
        return Err(ApiError::Forbidden(Said::coded(
            messages::PASSWORD_NOT_BY_TOKEN,
            &[],
        )));
    }
    let u = require_user(call, &me.name).await?;
    if u.is_external() || call.state.auth.mode != AuthMode::Local {
        return Err(ApiError::Conflict(Said::coded(
            messages::OWN_PASSWORD_AT_PROVIDER,
            &[],
        )));
    }
    if !super::sessions::password_matches(current, u.password_hash.clone()).await? {
        return Err(
            FieldError::coded("current_password", messages::NOT_CURRENT_PASSWORD, &[]).into(),
        );
    }
    check_new_password(new)?;
    let hash = passwords::hash(new.to_owned()).await?;
    let mut change = call.change().await?;
    users::set_password(change.conn(), u.id, &hash).await?;
    change
        .commit(
            "user.password",
            &format!("user:{}", u.name),
            "changed by the user",
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
        assert_eq!(err.to_string(), "There is no group ml.");
        let err = add_group(&call, "global").await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "group: is reserved: the global images are pushed under that name"
        );
        add_group(&call, "ml").await.unwrap();
        let err = add_member(&call, "ml", "nobody", Role::Admin)
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "There is no user nobody.");
        add_member(&call, "ml", "ann", Role::Admin).await.unwrap();

        let actions: Vec<_> = crate::backend::audit::recent(db, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert_eq!(actions, ["membership.set", "group.create", "user.create"]);
    }

    #[tokio::test]
    async fn a_membership_the_provider_made_is_not_removed_here() {
        let call = operator().await;
        let db = &call.state.db;
        let ml = add_group(&call, "ml").await.unwrap();
        let ann = add_user(&call, "ann", "long enough", false).await.unwrap();
        sqlx::query("INSERT INTO memberships (group_id, user_id, role, source) VALUES ($1, $2, 'member', 'proxy')")
            .bind(ml)
            .bind(ann)
            .execute(&db.pool)
            .await
            .unwrap();
        let refused = remove_member(&call, "ml", "ann").await.unwrap_err();
        assert_eq!(refused.status(), 409);
        assert!(
            refused.to_string().contains("identity provider"),
            "{refused}"
        );
        assert_eq!(members(&call, "ml").await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_disabled_account_is_not_signed_in_by_the_identity_provider() {
        use crate::backend::oidc::Identity;
        use crate::wire::accounts::SignInFailure;
        let call = operator().await;
        let identity = Identity {
            subject: "https://idp.example|ann".into(),
            name: "ann".into(),
            groups: None,
            system_admin: false,
        };
        crate::ops::sessions::sign_in_external(&call.state, &identity)
            .await
            .unwrap();
        set_disabled(&call, "ann", true).await.unwrap();
        let refused = crate::ops::sessions::sign_in_external(&call.state, &identity)
            .await
            .unwrap_err();
        assert_eq!(refused.0, SignInFailure::Disabled);
    }
}
