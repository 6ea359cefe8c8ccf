//! Slowing down repeated failed sign-ins for an account name, across replicas.
//!
//! The first few failures cost nothing extra; after that the name is locked for a time
//! that doubles with each further failure, up to five minutes. A success clears it.

use super::db::Conn;
use super::{Db, Result, now_ms};

const FREE_FAILURES: i64 = 5;
const MAX_LOCK_MS: i64 = 5 * 60 * 1000;

/// Milliseconds until this name may try again, or `None` when it may try now.
pub async fn locked_for(db: &Db, user_name: &str) -> Result<Option<i64>> {
    let until: Option<i64> =
        sqlx::query_scalar("SELECT locked_until FROM login_throttle WHERE user_name = $1")
            .bind(user_name)
            .fetch_optional(&db.pool)
            .await?;
    let now = now_ms();
    Ok(until.filter(|u| *u > now).map(|u| u - now))
}

pub async fn record_failure(conn: &mut Conn, user_name: &str) -> Result<()> {
    let failures: i64 = sqlx::query_scalar(
        "INSERT INTO login_throttle (user_name, failures, locked_until) VALUES ($1, 1, 0)
         ON CONFLICT (user_name) DO UPDATE SET failures = login_throttle.failures + 1
         RETURNING failures",
    )
    .bind(user_name)
    .fetch_one(&mut *conn)
    .await?;
    if let Some(lock) = lock_ms(failures) {
        sqlx::query("UPDATE login_throttle SET locked_until = $1 WHERE user_name = $2")
            .bind(now_ms() + lock)
            .bind(user_name)
            .execute(conn)
            .await?;
    }
    Ok(())
}

pub async fn clear(conn: &mut Conn, user_name: &str) -> Result<()> {
    sqlx::query("DELETE FROM login_throttle WHERE user_name = $1")
        .bind(user_name)
        .execute(conn)
        .await?;
    Ok(())
}

fn lock_ms(failures: i64) -> Option<i64> {
    let over = failures - FREE_FAILURES;
    (over >= 0).then(|| (1000i64 << over.min(20)).min(MAX_LOCK_MS))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::db::testing::{conn, fresh_db};

    #[test]
    fn locks_double_and_are_capped() {
        assert_eq!(lock_ms(4), None);
        assert_eq!(lock_ms(5), Some(1000));
        assert_eq!(lock_ms(6), Some(2000));
        assert_eq!(lock_ms(100), Some(MAX_LOCK_MS));
    }

    #[tokio::test]
    async fn the_sixth_failure_locks_the_name_and_success_clears_it() {
        let db = fresh_db().await;
        for _ in 0..4 {
            record_failure(&mut *conn(&db).await, "ann").await.unwrap();
        }
        assert_eq!(locked_for(&db, "ann").await.unwrap(), None);
        record_failure(&mut *conn(&db).await, "ann").await.unwrap();
        record_failure(&mut *conn(&db).await, "ann").await.unwrap();
        let wait = locked_for(&db, "ann").await.unwrap().expect("locked");
        assert!(wait > 1000 && wait <= 2000, "{wait}");
        assert_eq!(
            locked_for(&db, "bob").await.unwrap(),
            None,
            "other names are not affected"
        );
        clear(&mut *conn(&db).await, "ann").await.unwrap();
        assert_eq!(locked_for(&db, "ann").await.unwrap(), None);
    }
}
