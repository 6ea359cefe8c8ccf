//! Service tokens: `Authorization: Bearer <token>` for scripts and launch pages. A token is
//! shown once when created; only its SHA-256 is stored. A token bound to a user acts as that
//! user within its scope; a read token bound to nobody may only read launchable images.

use sqlx::FromRow;

use super::db::Conn;
use super::{BackendError, Db, Result, now_ms, random_hex, secret_hash};
use crate::domain::{FieldError, GroupName, TokenScope, messages};

/// Every token starts with this, so a leaked one is easy to recognise (and to scan for).
pub const PREFIX: &str = "kiln_";

/// A token as listed: never its secret.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct TokenRow {
    pub id: i64,
    pub name: String,
    pub scope: String,
    pub user_name: Option<String>,
    pub created_by: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

/// What a presented token grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub id: i64,
    pub name: String,
    pub scope: TokenScope,
    pub user_id: Option<i64>,
    /// When it stops working (ms), if ever.
    pub expires_at: Option<i64>,
}

/// A token to create, checked: its name, its scope and the id of the user it acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    pub name: GroupName,
    pub scope: TokenScope,
    pub user_id: Option<i64>,
    /// How long it works from its creation; `None`: until revoked.
    pub lifetime: Option<std::time::Duration>,
}

impl NewToken {
    /// Checks a token's name and scope; a write token must act as a user: changes are made,
    /// and audited, in someone's name.
    pub fn check(
        name: &str,
        scope: &str,
        user_id: Option<i64>,
        expires_in: &str,
    ) -> Result<NewToken> {
        // Token names follow the group-name rule: short, lowercase, safe in logs and URLs.
        let name = GroupName::parse("name", name)?;
        let scope = TokenScope::parse(scope)
            .ok_or_else(|| FieldError::coded("scope", messages::TOKEN_SCOPE, &[]))?;
        if user_id.is_none() && scope == TokenScope::Write {
            return Err(FieldError::coded("user", messages::WRITE_TOKEN_USER, &[]).into());
        }
        let lifetime = crate::domain::policy::token_lifetime("expires_in", expires_in)?;
        Ok(NewToken {
            name,
            scope,
            user_id,
            lifetime,
        })
    }
}

/// Creates a token and returns its secret, which is not stored and cannot be shown again.
pub async fn create(conn: &mut Conn, by: &str, new: &NewToken) -> Result<String> {
    let NewToken {
        name,
        scope,
        user_id,
        lifetime,
    } = new;
    let secret = format!("{PREFIX}{}", random_hex(32));
    let now = now_ms();
    sqlx::query(
        "INSERT INTO service_tokens
             (name, token_hash, scope, user_id, created_by, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(name.as_str())
    .bind(secret_hash(&secret))
    .bind(scope.as_str())
    .bind(user_id)
    .bind(by)
    .bind(now)
    .bind(lifetime.map(|l| now + l.as_millis() as i64))
    .execute(conn)
    .await
    .map_err(BackendError::on_unique("token", name.as_str()))?;
    Ok(secret)
}

/// Revokes the live token with this name (when `of_user` is given, only if it is bound to
/// that user); it stops working at once, on every replica.
pub async fn revoke(conn: &mut Conn, name: &str, of_user: Option<i64>) -> Result<()> {
    let revoked = sqlx::query(
        "UPDATE service_tokens SET revoked_at = $1
         WHERE name = $2 AND revoked_at IS NULL AND ($3 IS NULL OR user_id = $3)",
    )
    .bind(now_ms())
    .bind(name)
    .bind(of_user)
    .execute(conn)
    .await?
    .rows_affected();
    if revoked == 0 {
        return Err(BackendError::NotFound {
            what: "token",
            name: name.to_owned(),
        });
    }
    Ok(())
}

/// Every token (or, with `of_user`, those bound to that user), live ones first, newest first.
pub async fn list(db: &Db, of_user: Option<i64>) -> Result<Vec<TokenRow>> {
    Ok(sqlx::query_as(
        "SELECT t.id, t.name, t.scope, u.name AS user_name, t.created_by, t.created_at,
                t.revoked_at, t.expires_at, w.last_used_at
         FROM service_tokens t LEFT JOIN users u ON u.id = t.user_id
              LEFT JOIN token_uses w ON w.token_id = t.id
         WHERE $1 IS NULL OR t.user_id = $1
         ORDER BY CASE WHEN t.revoked_at IS NULL THEN 0 ELSE 1 END, t.created_at DESC, t.id DESC",
    )
    .bind(of_user)
    .fetch_all(&db.pool)
    .await?)
}

/// Notes that a token was used now. Callers write at most once a minute per token
/// ([`super::token_cache::Uses::due`]); the row is apart from the token's, so no launch-list version moves.
pub async fn touch(db: &Db, token_id: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO token_uses (token_id, last_used_at) VALUES ($1, $2)
         ON CONFLICT (token_id) DO UPDATE SET last_used_at = excluded.last_used_at",
    )
    .bind(token_id)
    .bind(now_ms())
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// What a presented secret grants: `None` for an unknown or revoked token.
pub async fn grant(db: &Db, secret: &str) -> Result<Option<Grant>> {
    if !secret.starts_with(PREFIX) {
        return Ok(None);
    }
    type Row = (i64, String, String, Option<i64>, Option<i64>);
    let row: Option<Row> = sqlx::query_as(
        "SELECT id, name, scope, user_id, expires_at FROM service_tokens
         WHERE token_hash = $1 AND revoked_at IS NULL",
    )
    .bind(secret_hash(secret))
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.and_then(|(id, name, scope, user_id, expires_at)| {
        Some(Grant {
            id,
            name,
            scope: TokenScope::parse(&scope)?,
            user_id,
            expires_at,
        })
    }))
}

/// The bearer token of a request, if it carries one.
pub fn bearer(headers: &http::HeaderMap) -> Option<&str> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (kind, token) = value.split_once(' ')?;
    kind.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_read_from_the_authorization_header() {
        let mut headers = http::HeaderMap::new();
        assert_eq!(bearer(&headers), None);
        headers.insert(
            http::header::AUTHORIZATION,
            "Bearer kiln_abc".parse().unwrap(),
        );
        assert_eq!(bearer(&headers), Some("kiln_abc"));
        headers.insert(
            http::header::AUTHORIZATION,
            "Basic a2lsbjp4".parse().unwrap(),
        );
        assert_eq!(bearer(&headers), None);
    }
}
