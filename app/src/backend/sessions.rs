//! Sign-in sessions: a random token in the browser's cookie, only its hash in the database.

use super::db::Conn;
use super::{Db, Result, now_ms, random_hex, secret_hash};

pub const COOKIE: &str = "kiln_session";

/// Starts a session and returns the token for the cookie.
pub async fn create(conn: &mut Conn, user_id: i64, ttl: std::time::Duration) -> Result<String> {
    let token = random_hex(32);
    let now = now_ms();
    sqlx::query("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(secret_hash(&token))
        .bind(user_id)
        .bind(now)
        .bind(now + ttl.as_millis() as i64)
        .execute(&mut *conn)
        .await?;
    // Expired sessions are swept on sign-in, which is rare enough to be cheap.
    sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
        .bind(now)
        .execute(conn)
        .await?;
    Ok(token)
}

/// The user a live session belongs to.
pub async fn user_of(db: &Db, token: &str) -> Result<Option<i64>> {
    Ok(
        sqlx::query_scalar(
            "SELECT user_id FROM sessions WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(secret_hash(token))
        .bind(now_ms())
        .fetch_optional(&db.pool)
        .await?,
    )
}

pub async fn delete(db: &Db, token: &str) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(secret_hash(token))
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// The `Set-Cookie` value that carries a session, or (with `None`) ends it.
pub fn cookie(token: Option<&str>, ttl: std::time::Duration, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    match token {
        Some(t) => format!(
            "{COOKIE}={t}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
            ttl.as_secs()
        ),
        None => format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"),
    }
}

/// The session token among a request's `Cookie` headers, if any.
pub fn token_from_headers(headers: &http::HeaderMap) -> Option<&str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(token_from_cookies)
}

/// The session token in a `Cookie` header, if any.
pub fn token_from_cookies(header: &str) -> Option<&str> {
    header
        .split(';')
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::db::testing::{conn, fresh_db};
    use crate::backend::users;
    use crate::domain::UserName;
    use std::time::Duration;

    #[tokio::test]
    async fn a_session_lives_until_deleted_or_expired() {
        let db = fresh_db().await;
        let uid = users::create(
            &mut *conn(&db).await,
            &UserName::parse("user", "ann").unwrap(),
            "h",
            false,
        )
        .await
        .unwrap();
        let token = create(&mut *conn(&db).await, uid, Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(user_of(&db, &token).await.unwrap(), Some(uid));
        assert_eq!(user_of(&db, "forged").await.unwrap(), None);
        delete(&db, &token).await.unwrap();
        assert_eq!(user_of(&db, &token).await.unwrap(), None);

        let expired = create(&mut *conn(&db).await, uid, Duration::ZERO)
            .await
            .unwrap();
        assert_eq!(user_of(&db, &expired).await.unwrap(), None);
    }

    #[test]
    fn cookies_are_http_only_lax_and_secure_when_asked() {
        let c = cookie(Some("abc"), Duration::from_secs(3600), true);
        assert_eq!(
            c,
            "kiln_session=abc; Path=/; HttpOnly; SameSite=Lax; Max-Age=3600; Secure"
        );
        assert!(!cookie(None, Duration::ZERO, false).contains("Secure"));
        assert_eq!(
            token_from_cookies("a=1; kiln_session=tok; b=2"),
            Some("tok")
        );
        assert_eq!(token_from_cookies("kiln_session="), None);
    }
}
