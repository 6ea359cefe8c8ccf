//! Creating users, groups and memberships: validated, audited, used by the CLI and the
//! demo seed (and the admin pages to come).

use super::{BackendError, Db, Result, audit, groups, passwords, users};
use crate::domain::{GroupName, Role, UserName};

/// Creates a local account with this password; returns its id.
pub async fn add_user(
    db: &Db,
    by: &str,
    name: &str,
    password: &str,
    system_admin: bool,
) -> Result<i64> {
    let name = UserName::parse("user", name)?;
    if password.chars().count() < 8 {
        return Err(
            crate::domain::FieldError::new("password", "must be at least 8 characters").into(),
        );
    }
    let id = users::create(
        db,
        &name,
        &passwords::hash(password.to_owned()).await?,
        system_admin,
    )
    .await?;
    let detail = if system_admin { "system admin" } else { "" };
    audit::record(db, by, "user.create", &format!("user:{name}"), detail).await?;
    Ok(id)
}

pub async fn add_group(db: &Db, by: &str, name: &str) -> Result<i64> {
    let name = GroupName::parse("group", name)?;
    let id = groups::create(db, &name).await?;
    audit::record(db, by, "group.create", &format!("group:{name}"), "").await?;
    Ok(id)
}

/// Makes `user` a member (or admin) of `group`; both must exist.
pub async fn add_member(db: &Db, by: &str, group: &str, user: &str, role: Role) -> Result<()> {
    let g = groups::require(db, group).await?;
    let u = users::find(db, user)
        .await?
        .ok_or_else(|| BackendError::NotFound {
            what: "user",
            name: user.to_owned(),
        })?;
    groups::set_member(db, g.id, u.id, role).await?;
    audit::record(
        db,
        by,
        "membership.set",
        &format!("group:{}", g.name),
        &format!("{} as {role}", u.name),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::db::testing::fresh_db;

    #[tokio::test]
    async fn bad_input_names_the_problem_and_writes_nothing() {
        let db = fresh_db().await;
        let err = add_user(&db, "cli", "bad name", "long enough", false)
            .await
            .unwrap_err();
        assert!(
            err.to_string().starts_with("user: may contain only"),
            "{err}"
        );
        let err = add_user(&db, "cli", "ann", "short", false)
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "password: must be at least 8 characters");
        assert!(users::find(&db, "ann").await.unwrap().is_none());

        add_user(&db, "cli", "ann", "long enough", false)
            .await
            .unwrap();
        let err = add_member(&db, "cli", "ml", "ann", Role::Admin)
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "group \"ml\" does not exist");
        add_group(&db, "cli", "ml").await.unwrap();
        let err = add_member(&db, "cli", "ml", "nobody", Role::Admin)
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "user \"nobody\" does not exist");
        add_member(&db, "cli", "ml", "ann", Role::Admin)
            .await
            .unwrap();

        let actions: Vec<_> = audit::recent(&db, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert_eq!(actions, ["membership.set", "group.create", "user.create"]);
    }
}
