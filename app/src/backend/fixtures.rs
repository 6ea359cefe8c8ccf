//! Accounts straight into the database, with no audit entry: for the backend's own tests,
//! below the operations that would audit them.

use super::Db;
use super::db::testing::conn;

/// A group, straight into the database (no audit entry): for the backend's own tests.
pub async fn add_group(db: &Db, name: &str) -> i64 {
    let name = crate::domain::GroupName::parse("group", name).expect("a group name");
    crate::backend::groups::create(&mut *conn(db).await, &name)
        .await
        .expect("a new group")
}

/// A local account with this password, straight into the database.
pub async fn add_user(db: &Db, name: &str, password: &str, system_admin: bool) -> i64 {
    let name = crate::domain::UserName::parse("user", name).expect("a user name");
    let hash = crate::backend::passwords::hash(password.to_owned())
        .await
        .expect("a hash");
    crate::backend::users::create(&mut *conn(db).await, &name, &hash, system_admin)
        .await
        .expect("a new user")
}

/// `user` gets `role` in `group`, straight into the database.
pub async fn add_member(db: &Db, group: i64, user: i64, role: crate::domain::Role) {
    crate::backend::groups::set_member(&mut *conn(db).await, group, user, role)
        .await
        .expect("a membership");
}
