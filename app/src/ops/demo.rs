//! The demo seed behind `make run`: a group with an admin and a member, and a second
//! group the admin can switch to. Passwords are generated and shown once. Made by the
//! operator (`kiln demo`), through the same operations as `kiln user add` and the rest.

use super::{Call, OpResult, accounts};
use crate::backend::{groups, passwords, users};
use crate::domain::Role;

pub const ADMIN: &str = "demo-admin";
pub const MEMBER: &str = "demo-member";
pub const GROUPS: [&str; 2] = ["demo", "sandbox"];

/// The accounts created by this call, with their passwords; empty when the demo exists.
pub async fn seed(call: &Call) -> OpResult<Vec<(String, String)>> {
    let db = &call.state.db;
    if users::find(db, ADMIN).await?.is_some() {
        return Ok(Vec::new());
    }
    for group in GROUPS {
        if groups::find(db, group).await?.is_none() {
            accounts::add_group(call, group).await?;
        }
    }
    let mut created = Vec::new();
    for (user, memberships) in [
        (
            ADMIN,
            &[("demo", Role::Admin), ("sandbox", Role::Admin)][..],
        ),
        (MEMBER, &[("demo", Role::Member)][..]),
    ] {
        let password = passwords::generate();
        accounts::add_user(call, user, &password, false).await?;
        for (group, role) in memberships {
            accounts::add_member(call, group, user, *role).await?;
        }
        created.push((user.to_owned(), password));
    }
    Ok(created)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::operator;

    #[tokio::test]
    async fn seeding_twice_creates_the_accounts_once() {
        let call = operator().await;
        let db = &call.state.db;
        let first = seed(&call).await.unwrap();
        assert_eq!(
            first.iter().map(|(u, _)| u.as_str()).collect::<Vec<_>>(),
            [ADMIN, MEMBER]
        );
        assert!(seed(&call).await.unwrap().is_empty());
        let admin = users::find(db, ADMIN).await.unwrap().unwrap();
        let roles = groups::memberships_of(db, admin.id).await.unwrap();
        assert!(roles.iter().all(|m| m.role == Role::Admin) && roles.len() == 2);
    }
}
