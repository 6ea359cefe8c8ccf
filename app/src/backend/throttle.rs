//! Slowing down repeated failed sign-ins for an account name, across replicas.
//!
//! Every attempt is counted before its password is checked, in one statement that also
//! refuses a locked name, so concurrent guesses cannot all pass a check made before any of
//! them was counted. The first few attempts cost nothing extra; after that the name is
//! locked for a time that doubles with each further one, up to five minutes. A success
//! clears it.

use super::db::Conn;
use super::{Result, now_ms};

const FREE_FAILURES: i64 = 5;
const MAX_LOCK_MS: i64 = 5 * 60 * 1000;

/// Counts one attempt for `user_name`, before its password is checked; answers the
/// milliseconds it must wait instead when the name is locked (then nothing is counted).
/// Run it in a transaction of its own and commit before checking the password.
pub async fn attempt(conn: &mut Conn, user_name: &str) -> Result<Option<i64>> {
    let now = now_ms();
    let counted: Option<i64> = sqlx::query_scalar(
        "INSERT INTO login_throttle (user_name, failures, locked_until) VALUES ($1, 1, 0)
         ON CONFLICT (user_name) DO UPDATE SET failures = login_throttle.failures + 1
         WHERE login_throttle.locked_until <= $2
         RETURNING failures",
    )
    .bind(user_name)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(failures) = counted else {
        let until: i64 =
            sqlx::query_scalar("SELECT locked_until FROM login_throttle WHERE user_name = $1")
                .bind(user_name)
                .fetch_one(&mut *conn)
                .await?;
        return Ok(Some((until - now).max(1)));
    };
    if let Some(lock) = lock_ms(failures) {
        sqlx::query("UPDATE login_throttle SET locked_until = $1 WHERE user_name = $2")
            .bind(now + lock)
            .bind(user_name)
            .execute(conn)
            .await?;
    }
    Ok(None)
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
    async fn the_sixth_attempt_is_refused_and_success_clears_the_name() {
        let db = fresh_db().await;
        for _ in 0..5 {
            assert_eq!(attempt(&mut *conn(&db).await, "ann").await.unwrap(), None);
        }
        let wait = attempt(&mut *conn(&db).await, "ann")
            .await
            .unwrap()
            .expect("locked");
        assert!(wait > 0 && wait <= 1000, "{wait}");
        assert_eq!(
            attempt(&mut *conn(&db).await, "bob").await.unwrap(),
            None,
            "other names are not affected"
        );
        clear(&mut *conn(&db).await, "ann").await.unwrap();
        assert_eq!(attempt(&mut *conn(&db).await, "ann").await.unwrap(), None);
    }
}
