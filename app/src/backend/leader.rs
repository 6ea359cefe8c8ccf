//! Which replica drives the build queue: exactly one at a time.
//!
//! On PostgreSQL the leader holds a session-level advisory lock on a connection of its own.
//! The lock lives exactly as long as that session: when the leader's process stops or dies,
//! PostgreSQL ends the session and frees the lock, and a follower, asking four times a second,
//! takes it over. We chose this over a Kubernetes Lease because the database is already the
//! one thing every replica must reach to do anything, so the lock cannot disagree with it:
//! a replica cut off from PostgreSQL can't write build states either, and one that
//! holds the lock reaches the database by definition. It needs no clock agreement, no
//! renewal deadline and no extra API permission, and it works the same off Kubernetes.
//! The leader checks its session every second and steps down as soon as that fails.
//!
//! SQLite is a single file on a single host: one process, which always leads.

use std::time::Duration;

use sqlx::{AnyConnection, Connection};
use tokio_util::sync::CancellationToken;

use super::db::Kind;
use super::{Db, Result};

/// The advisory lock key of the build queue ("kiln" "queue"). Advisory locks are scoped to
/// the database, so Kiln installations sharing a PostgreSQL server don't meet.
const QUEUE_LOCK: i64 = 0x6b69_6c6e_7175_6575;
/// How often a follower asks for the lock (a cheap call: this bounds the hand-over time).
const ASK_EVERY: Duration = Duration::from_millis(250);
/// How often the leader checks that its session, and so its lock, still stands.
const CHECK_EVERY: Duration = Duration::from_secs(1);
/// A check of the leader's session that takes longer than this counts as lost.
const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

/// This process leads until [`Term::lost`] fires; dropping the term gives the lead up.
pub struct Term {
    lost: CancellationToken,
    release: CancellationToken,
}

impl Term {
    /// Fires when the lead is lost (the session failed) or given up.
    pub fn lost(&self) -> &CancellationToken {
        &self.lost
    }
}

impl Drop for Term {
    fn drop(&mut self) {
        self.release.cancel();
        self.lost.cancel();
    }
}

/// Waits until this process leads, or until `shutdown` (then `None`).
pub async fn acquire(db: &Db, shutdown: &CancellationToken) -> Result<Option<Term>> {
    let term = Term {
        lost: shutdown.child_token(),
        release: CancellationToken::new(),
    };
    if db.kind == Kind::Sqlite {
        return Ok((!shutdown.is_cancelled()).then_some(term));
    }
    let mut conn = db.pool.acquire().await?.detach();
    loop {
        if try_lock(&mut conn).await? {
            tokio::spawn(keep(conn, term.lost.clone(), term.release.clone()));
            return Ok(Some(term));
        }
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(None),
            _ = tokio::time::sleep(ASK_EVERY) => {}
        }
    }
}

async fn try_lock(conn: &mut AnyConnection) -> Result<bool> {
    let locked: i32 = sqlx::query_scalar("SELECT CAST(pg_try_advisory_lock($1) AS INTEGER)")
        .bind(QUEUE_LOCK)
        .fetch_one(&mut *conn)
        .await?;
    Ok(locked == 1)
}

/// Holds the lock's session: checks it every second, fires `lost` when it fails, and unlocks
/// and closes it when the term is given up, so that a follower takes over at once.
async fn keep(mut conn: AnyConnection, lost: CancellationToken, release: CancellationToken) {
    loop {
        tokio::select! {
            _ = release.cancelled() => {
                let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
                    .bind(QUEUE_LOCK)
                    .execute(&mut conn)
                    .await;
                let _ = conn.close().await;
                return;
            }
            _ = tokio::time::sleep(CHECK_EVERY) => {}
        }
        let alive = tokio::time::timeout(CHECK_TIMEOUT, sqlx::query("SELECT 1").execute(&mut conn))
            .await
            .is_ok_and(|r| r.is_ok());
        if !alive {
            tracing::error!(
                "the database session holding the build queue's lock failed; stepping down"
            );
            lost.cancel();
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::db::testing::fresh_db;

    #[tokio::test]
    async fn one_process_leads_at_a_time_and_a_follower_takes_over_when_the_lead_is_given_up() {
        let db = fresh_db().await;
        let shutdown = CancellationToken::new();
        let first = acquire(&db, &shutdown).await.unwrap().expect("leads");
        if db.kind == Kind::Sqlite {
            return; // one process, which always leads
        }
        let (db2, shutdown2) = (db.clone(), shutdown.clone());
        let second = tokio::spawn(async move { acquire(&db2, &shutdown2).await });
        tokio::time::sleep(Duration::from_millis(2500)).await;
        assert!(
            !second.is_finished(),
            "a second leader while the first leads"
        );
        assert!(!first.lost().is_cancelled());
        let given_up = std::time::Instant::now();
        drop(first);
        let second = tokio::time::timeout(Duration::from_secs(5), second)
            .await
            .expect("takes over within seconds")
            .unwrap()
            .unwrap()
            .expect("leads");
        assert!(given_up.elapsed() < Duration::from_secs(3));
        assert!(!second.lost().is_cancelled());
        shutdown.cancel();
        assert!(second.lost().is_cancelled(), "shutdown ends the term");
    }
}
