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
    /// Made a system admin in Kiln.
    pub system_admin: i64,
    /// `local`, or `proxy` for an account its identity provider (proxy or OIDC) owns.
    pub source: String,
    /// Made a system admin by the identity provider, as of its last word on the user.
    pub provider_admin: i64,
    /// When the identity provider last confirmed the user's groups.
    pub groups_confirmed_at: Option<i64>,
    /// Set while a system admin has disabled the account.
    pub disabled_at: Option<i64>,
}

const COLUMNS: &str = "id, name, password_hash, system_admin, source, provider_admin, groups_confirmed_at, disabled_at";

impl UserRow {
    /// A system admin, by Kiln's grant or the identity provider's.
    pub fn is_system_admin(&self) -> bool {
        self.system_admin != 0 || self.provider_admin != 0
    }

    pub fn is_disabled(&self) -> bool {
        self.disabled_at.is_some()
    }

    /// The identity provider owns this account (and its memberships).
    pub fn is_external(&self) -> bool {
        self.source == "proxy"
    }
}

/// Why an OIDC sign-in cannot use the account of its name.
#[derive(Debug, PartialEq, Eq)]
pub struct NameTaken;

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
    require(db, name.as_str()).await
}

/// The user named `name`; `NotFound` when there is none.
pub async fn require(db: &Db, name: &str) -> Result<UserRow> {
    find(db, name).await?.ok_or_else(|| BackendError::NotFound {
        what: "user",
        name: name.to_owned(),
    })
}

/// The account an OpenID Connect provider's `subject` (its issuer and `sub`) signs in to:
/// the one bound to it, else the unbound account named `name` (bound now; an operator may
/// have made it before turning OIDC on), else a new one. An account of that name bound to
/// another subject is someone else's: refused, so that a renamed or recycled name at the
/// provider cannot take it over.
pub async fn bind_external(
    conn: &mut Conn,
    subject: &str,
    name: &UserName,
) -> Result<std::result::Result<UserRow, NameTaken>> {
    let bound: Option<UserRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM users WHERE external_subject = $1"
    ))
    .bind(subject)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(user) = bound {
        return Ok(Ok(user));
    }
    sqlx::query(
        "INSERT INTO users (name, source, created_at) VALUES ($1, 'proxy', $2)
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(name.as_str())
    .bind(now_ms())
    .execute(&mut *conn)
    .await?;
    let claimed: Option<UserRow> = sqlx::query_as(&format!(
        "UPDATE users SET external_subject = $1, source = 'proxy'
         WHERE name = $2 AND external_subject IS NULL RETURNING {COLUMNS}"
    ))
    .bind(subject)
    .bind(name.as_str())
    .fetch_optional(conn)
    .await?;
    Ok(claimed.ok_or(NameTaken))
}

/// Records the identity provider's word on a user: system admin or not, groups confirmed
/// now. The confirmation is written only when the stored one is older than `every` (a
/// proxy speaks on every request; each write moves the launch-list version, and this
/// replica's next token check reads it afresh).
pub async fn confirm_external(
    db: &Db,
    user_id: i64,
    provider_admin: bool,
    every: std::time::Duration,
) -> Result<()> {
    let now = now_ms();
    let updated = sqlx::query(
        "UPDATE users SET provider_admin = $1, groups_confirmed_at = $2
         WHERE id = $3 AND (provider_admin <> $1 OR groups_confirmed_at IS NULL
                            OR groups_confirmed_at < $4)",
    )
    .bind(provider_admin as i64)
    .bind(now)
    .bind(user_id)
    .bind(now - every.as_millis() as i64)
    .execute(&db.pool)
    .await?;
    if updated.rows_affected() > 0 {
        db.launch_counter.written();
    }
    Ok(())
}

pub async fn find(db: &Db, name: &str) -> Result<Option<UserRow>> {
    Ok(
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE name = $1"))
            .bind(name)
            .fetch_optional(&db.pool)
            .await?,
    )
}

pub async fn find_by_id(db: &Db, id: i64) -> Result<Option<UserRow>> {
    Ok(
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(&db.pool)
            .await?,
    )
}

/// Every account, by name (at most 5,000: the users page).
pub async fn list(db: &Db) -> Result<Vec<UserRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM users ORDER BY name LIMIT 5000"
    ))
    .fetch_all(&db.pool)
    .await?)
}

/// Disables (or enables again) an account; a disabled one's sessions end.
pub async fn set_disabled(conn: &mut Conn, id: i64, disabled: bool) -> Result<()> {
    sqlx::query("UPDATE users SET disabled_at = $1 WHERE id = $2")
        .bind(disabled.then(now_ms))
        .bind(id)
        .execute(&mut *conn)
        .await?;
    if disabled {
        end_sessions(conn, id).await?;
    }
    Ok(())
}

/// Deletes an account with its sessions, memberships and tokens (the audit log keeps its
/// name).
pub async fn delete(conn: &mut Conn, id: i64) -> Result<()> {
    sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Stores a new password hash and ends the account's sessions.
pub async fn set_password(conn: &mut Conn, id: i64, password_hash: &str) -> Result<()> {
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(password_hash)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    end_sessions(conn, id).await
}

async fn end_sessions(conn: &mut Conn, id: i64) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
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
