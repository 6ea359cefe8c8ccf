//! Service tokens: `Authorization: Bearer <token>` for scripts and launch pages. A token is
//! shown once when created; only its SHA-256 is stored. A token bound to a user acts as that
//! user within its scope; a read token bound to nobody may only read launchable images.

use sqlx::FromRow;

use super::{BackendError, Db, Result, audit, now_ms, random_hex, secret_hash, users};
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

/// Creates a token and returns its secret, which is not stored and cannot be shown again.
/// A write token must act as a user: changes are made, and audited, in someone's name.
pub async fn create(
    db: &Db,
    by: &str,
    name: &str,
    scope: &str,
    user: Option<&str>,
) -> Result<String> {
    // Token names follow the group-name rule: short, lowercase, safe in logs and URLs.
    let name = GroupName::parse("name", name)?;
    let scope = TokenScope::parse(scope)
        .ok_or_else(|| FieldError::new("scope", "must be read or write"))?;
    let user_id = match user {
        Some(user) => Some(
            users::find(db, user)
                .await?
                .ok_or_else(|| BackendError::NotFound {
                    what: "user",
                    name: user.to_owned(),
                })?
                .id,
        ),
        None if scope == TokenScope::Write => {
            return Err(FieldError::new(
                "user",
                "is required for a write token: it acts as that user",
            )
            .into());
        }
        None => None,
    };
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
    .execute(&db.pool)
    .await
    .map_err(BackendError::on_unique("token", name.as_str()))?;
    let detail = match user {
        Some(user) => format!("{} as {user}", scope.as_str()),
        None => scope.as_str().to_owned(),
    };
    audit::record(db, by, "token.create", &format!("token:{name}"), &detail).await?;
    Ok(secret)
}

/// Revokes the live token with this name; it stops working at once, on every replica.
pub async fn revoke(db: &Db, by: &str, name: &str) -> Result<()> {
    let revoked = sqlx::query(
        "UPDATE service_tokens SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL",
    )
    .bind(now_ms())
    .bind(name)
    .execute(&db.pool)
    .await?
    .rows_affected();
    if revoked == 0 {
        return Err(BackendError::NotFound {
            what: "token",
            name: name.to_owned(),
        });
    }
    audit::record(db, by, "token.revoke", &format!("token:{name}"), "").await
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
    use crate::backend::db::testing::fresh_db;

    async fn user(db: &Db, name: &str) {
        users::create(
            db,
            &crate::domain::UserName::parse("u", name).unwrap(),
            "x",
            false,
        )
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn a_token_works_until_it_is_revoked_and_only_its_hash_is_stored() {
        let db = fresh_db().await;
        user(&db, "alice").await;
        let secret = create(&db, "cli", "notebooks", "write", Some("alice"))
            .await
            .unwrap();
        assert!(secret.starts_with(PREFIX) && secret.len() == PREFIX.len() + 64);
        let stored: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM service_tokens")
            .fetch_all(&db.pool)
            .await
            .unwrap();
        assert_eq!(stored, vec![secret_hash(&secret)]);
        assert!(!stored[0].contains(&secret[PREFIX.len()..]));

        let grant = grant(&db, &secret).await.unwrap().expect("live token");
        assert_eq!(grant.scope, TokenScope::Write);
        assert!(grant.user_id.is_some());
        assert_eq!(super::grant(&db, "kiln_wrong").await.unwrap(), None);

        revoke(&db, "cli", "notebooks").await.unwrap();
        assert_eq!(super::grant(&db, &secret).await.unwrap(), None);
        // The name is free again once its token is revoked.
        create(&db, "cli", "notebooks", "read", None).await.unwrap();
        let listed = list(&db).await.unwrap();
        assert_eq!(listed.len(), 2);
        assert!(listed[0].revoked_at.is_none() && listed[1].revoked_at.is_some());
    }

    #[tokio::test]
    async fn bad_token_requests_name_the_field_and_store_nothing() {
        let db = fresh_db().await;
        let err = |e: BackendError| e.to_string();
        assert_eq!(
            err(create(&db, "cli", "Bad Name", "read", None)
                .await
                .unwrap_err()),
            "name: may contain only lowercase letters, digits, '-', '_' and '.'"
        );
        assert_eq!(
            err(create(&db, "cli", "hub", "admin", None).await.unwrap_err()),
            "scope: must be read or write"
        );
        assert_eq!(
            err(create(&db, "cli", "hub", "write", None).await.unwrap_err()),
            "user: is required for a write token: it acts as that user"
        );
        assert_eq!(
            err(create(&db, "cli", "hub", "read", Some("nobody"))
                .await
                .unwrap_err()),
            "user \"nobody\" does not exist"
        );
        create(&db, "cli", "hub", "read", None).await.unwrap();
        assert_eq!(
            err(create(&db, "cli", "hub", "read", None).await.unwrap_err()),
            "token \"hub\" already exists"
        );
        assert_eq!(
            err(revoke(&db, "cli", "other").await.unwrap_err()),
            "token \"other\" does not exist"
        );
        assert_eq!(list(&db).await.unwrap().len(), 1);
    }

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
