//! User accounts.

use sqlx::FromRow;

use super::db::Conn;
use super::{BackendError, Db, Result, now_ms};
use crate::domain::UserName;

#[derive(Debug, Clone, FromRow)]
pub struct UserRow {
    pub id: i64,
    pub name: String,
    pub password_hash: Option<String>,
    pub system_admin: i64,
}

impl UserRow {
    pub fn is_system_admin(&self) -> bool {
        self.system_admin != 0
    }
}

/// Creates a local account; the name must be free.
pub async fn create(
    conn: &mut Conn,
    name: &UserName,
    password_hash: &str,
    system_admin: bool,
) -> Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO users (name, password_hash, system_admin, source, created_at)
         VALUES ($1, $2, $3, 'local', $4) RETURNING id",
    )
    .bind(name.as_str())
    .bind(password_hash)
    .bind(system_admin as i64)
    .bind(now_ms())
    .fetch_one(conn)
    .await
    .map_err(BackendError::on_unique("user", name.as_str()))?;
    Ok(id)
}

/// The account an identity proxy vouches for, created on its first visit.
pub async fn ensure_proxy_user(db: &Db, name: &UserName) -> Result<UserRow> {
    sqlx::query(
        "INSERT INTO users (name, source, created_at) VALUES ($1, 'proxy', $2)
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(name.as_str())
    .bind(now_ms())
    .execute(&db.pool)
    .await?;
    find(db, name.as_str())
        .await?
        .ok_or_else(|| BackendError::NotFound {
            what: "user",
            name: name.to_string(),
        })
}

pub async fn find(db: &Db, name: &str) -> Result<Option<UserRow>> {
    Ok(
        sqlx::query_as("SELECT id, name, password_hash, system_admin FROM users WHERE name = $1")
            .bind(name)
            .fetch_optional(&db.pool)
            .await?,
    )
}

pub async fn find_by_id(db: &Db, id: i64) -> Result<Option<UserRow>> {
    Ok(
        sqlx::query_as("SELECT id, name, password_hash, system_admin FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&db.pool)
            .await?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::db::testing::{conn, fresh_db};

    #[tokio::test]
    async fn a_duplicate_name_is_refused_by_name() {
        let db = fresh_db().await;
        let alice = UserName::parse("user", "alice").unwrap();
        let id = create(&mut *conn(&db).await, &alice, "hash", false)
            .await
            .unwrap();
        let err = create(&mut *conn(&db).await, &alice, "other", true)
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "user \"alice\" already exists");
        let row = find(&db, "alice").await.unwrap().unwrap();
        assert_eq!(
            (row.id, row.password_hash.as_deref(), row.is_system_admin()),
            (id, Some("hash"), false)
        );
    }

    #[tokio::test]
    async fn proxy_users_are_created_once() {
        let db = fresh_db().await;
        let bob = UserName::parse("user", "bob@example.org").unwrap();
        let first = ensure_proxy_user(&db, &bob).await.unwrap();
        let again = ensure_proxy_user(&db, &bob).await.unwrap();
        assert_eq!(first.id, again.id);
        assert!(
            first.password_hash.is_none(),
            "proxy users cannot sign in with a password"
        );
    }
}
