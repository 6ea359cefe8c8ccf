//! Service tokens: `Authorization: Bearer <token>` for scripts and launch pages. A token is
//! shown once when created; only its SHA-256 is stored. A token bound to a user acts as that
//! user within its scope; a read token bound to nobody may only read launchable images.

use sqlx::FromRow;

use super::db::Conn;
use super::{BackendError, Db, Result, now_ms, random_hex, secret_hash};
use crate::domain::{FieldError, GroupName, TokenScope};

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
}

/// What a presented token grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub name: String,
    pub scope: TokenScope,
    pub user_id: Option<i64>,
}

/// A token to create, checked: its name, its scope and the id of the user it acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    pub name: GroupName,
    pub scope: TokenScope,
    pub user_id: Option<i64>,
}

impl NewToken {
    /// Checks a token's name and scope; a write token must act as a user: changes are made,
    /// and audited, in someone's name.
    pub fn check(name: &str, scope: &str, user_id: Option<i64>) -> Result<NewToken> {
        // Token names follow the group-name rule: short, lowercase, safe in logs and URLs.
        let name = GroupName::parse("name", name)?;
        let scope = TokenScope::parse(scope)
            .ok_or_else(|| FieldError::new("scope", "must be read or write"))?;
        if user_id.is_none() && scope == TokenScope::Write {
            return Err(FieldError::new(
                "user",
                "is required for a write token: it acts as that user",
            )
            .into());
        }
        Ok(NewToken {
            name,
            scope,
            user_id,
        })
    }
}

/// Creates a token and returns its secret, which is not stored and cannot be shown again.
pub async fn create(conn: &mut Conn, by: &str, new: &NewToken) -> Result<String> {
    let NewToken {
        name,
        scope,
        user_id,
    } = new;
    let secret = format!("{PREFIX}{}", random_hex(32));
    sqlx::query(
        "INSERT INTO service_tokens (name, token_hash, scope, user_id, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(name.as_str())
    .bind(secret_hash(&secret))
    .bind(scope.as_str())
    .bind(user_id)
    .bind(by)
    .bind(now_ms())
    .execute(conn)
    .await
    .map_err(BackendError::on_unique("token", name.as_str()))?;
    Ok(secret)
}

/// Revokes the live token with this name; it stops working at once, on every replica.
pub async fn revoke(conn: &mut Conn, name: &str) -> Result<()> {
    let revoked = sqlx::query(
        "UPDATE service_tokens SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL",
    )
    .bind(now_ms())
    .bind(name)
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

/// Every token, live ones first, newest first.
pub async fn list(db: &Db) -> Result<Vec<TokenRow>> {
    Ok(sqlx::query_as(
        "SELECT t.id, t.name, t.scope, u.name AS user_name, t.created_by, t.created_at,
                t.revoked_at
         FROM service_tokens t LEFT JOIN users u ON u.id = t.user_id
         ORDER BY CASE WHEN t.revoked_at IS NULL THEN 0 ELSE 1 END, t.created_at DESC, t.id DESC",
    )
    .fetch_all(&db.pool)
    .await?)
}

/// What a presented secret grants: `None` for an unknown or revoked token.
pub async fn grant(db: &Db, secret: &str) -> Result<Option<Grant>> {
    if !secret.starts_with(PREFIX) {
        return Ok(None);
    }
    let row: Option<(String, String, Option<i64>)> = sqlx::query_as(
        "SELECT name, scope, user_id FROM service_tokens
         WHERE token_hash = $1 AND revoked_at IS NULL",
    )
    .bind(secret_hash(secret))
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.and_then(|(name, scope, user_id)| {
        Some(Grant {
            name,
            scope: TokenScope::parse(&scope)?,
            user_id,
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
