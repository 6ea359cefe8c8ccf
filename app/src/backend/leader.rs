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
//! A leader that goes quiet without closing its socket — its process frozen (SIGSTOP, a
//! stalled node), its node gone or cut off — would keep the session, and the lock, until
//! TCP gives up (hours). So the lock's session is opened with server-side settings
//! ([`LOCK_SESSION_SETTINGS`]) that make PostgreSQL end it by itself within seconds of the
//! leader going quiet, and every build state the leader writes is fenced ([`Fence`]): the
//! write only happens while that very session still holds the lock, so a leader frozen and
//! then resumed changes nothing, even before its next session check notices the loss.
//!
//! This needs PostgreSQL 14 or newer (`idle_session_timeout`; on older servers Kiln warns and
//! only the TCP settings apply, which catch a vanished node but not a frozen process), and a
//! direct connection or a pooler that keeps a client on one server session for its whole
//! life: session-level locks don't survive transaction pooling (PgBouncer: `pool_mode =
//! session`, or leave Kiln out of the pooler).
//!
//! SQLite is a single file on a single host: one process, which always leads.

use std::time::Duration;

use sqlx::{AnyConnection, ConnectOptions, Connection};
use tokio_util::sync::CancellationToken;

use super::db::{Conn, Kind};
use super::{Db, Result};

/// The advisory lock key of the build queue ("kiln" "queue"). Advisory locks are scoped to
/// the database, so Kiln installations sharing a PostgreSQL server don't meet.
const QUEUE_LOCK: i64 = 0x6b69_6c6e_7175_6575;
/// How often a follower asks for the lock (a cheap call: this bounds the hand-over time).
const ASK_EVERY: Duration = Duration::from_millis(250);
/// How long a follower waits before it opens a new session after its own failed.
const RETRY_AFTER: Duration = Duration::from_secs(1);
/// How often the leader checks that its session, and so its lock, still stands.
const CHECK_EVERY: Duration = Duration::from_secs(1);
/// A check of the leader's session that takes longer than this counts as lost.
const CHECK_TIMEOUT: Duration = Duration::from_secs(3);
/// PostgreSQL ends the lock's session when it has been idle this long.
const IDLE_SESSION_TIMEOUT: Duration = Duration::from_secs(5);

/// The lock session's server settings, sent as startup options (`-c name=value`), in the
/// units PostgreSQL reads without one: milliseconds for the timeouts, seconds for the
/// keepalives.
///
/// - `idle_session_timeout` (5 s): a live leader runs a query on the session every
///   [`CHECK_EVERY`] (1 s) and a follower every [`ASK_EVERY`], so a live session is never
///   idle for more than about a second; 5 s leaves room for four missed checks (a busy
///   runtime) before a live leader is deposed. A frozen or vanished leader's session was
///   last busy at most a second before it went quiet; PostgreSQL ends the session, and frees
///   the lock, at most 5 s after it did — the backend exits whether or not the peer answers.
/// - `tcp_user_timeout` (5 s): a peer that vanished while the server was sending to it
///   (data left unacknowledged) is dropped after 5 s.
/// - `tcp_keepalives_idle/interval/count` (5 s, 1 s, 3): a vanished peer on a silent socket
///   is dropped after 5 + 3 × 1 = 8 s; the safety net on servers older than 14 (no
///   `idle_session_timeout`). Keepalives can't see a frozen process: its kernel answers them.
///
/// Takeover bound after the leader goes quiet: 5 s (the session ends) + 0.25 s (the next
/// follower's ask) + a round trip ≈ 5.3 s; 8.3 s for a vanished node on a server before 14.
/// sqlx doesn't expose the client side's socket (no client keepalive); the client side is
/// covered by [`CHECK_TIMEOUT`] and by the [`Fence`].
pub const LOCK_SESSION_SETTINGS: [(&str, u64); 5] = [
    (
        "idle_session_timeout",
        IDLE_SESSION_TIMEOUT.as_millis() as u64,
    ),
    ("tcp_user_timeout", 5000),
    ("tcp_keepalives_idle", 5),
    ("tcp_keepalives_interval", 1),
    ("tcp_keepalives_count", 3),
];

/// This process leads until [`Term::lost`] fires; dropping the term gives the lead up.
pub struct Term {
    lost: CancellationToken,
    release: CancellationToken,
    fence: Fence,
}

impl Term {
    /// Fires when the lead is lost (the session failed, a fenced write was refused) or
    /// given up.
    pub fn lost(&self) -> &CancellationToken {
        &self.lost
    }

    /// The condition this term's writes are made under.
    pub fn fence(&self) -> &Fence {
        &self.fence
    }
}

impl Drop for Term {
    fn drop(&mut self) {
        self.release.cancel();
        self.lost.cancel();
    }
}

/// What a leader's write of a build's state is conditioned on: that the session that took
/// the lock (by its backend pid) still holds it. The default fences nothing: SQLite, and
/// writes that are not the leader's (a cancel asked of any replica).
#[derive(Clone, Debug, Default)]
pub struct Fence {
    /// The backend pid of the lock's session, on PostgreSQL.
    pid: Option<i32>,
    /// Fired when a fenced write is refused: the lead is lost.
    lost: CancellationToken,
}

impl Fence {
    /// SQL true while the lock's session holds the lock: an advisory lock on a bigint key
    /// shows in `pg_locks` as its high 32 bits (`classid`), its low 32 bits (`objid`) and
    /// `objsubid` 1. Both numbers are ours, not a user's: written in, not bound.
    fn held(pid: i32) -> String {
        format!(
            "EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted \
             AND pid = {pid} AND objsubid = 1 \
             AND ((classid::bigint << 32) | objid::bigint) = {QUEUE_LOCK})"
        )
    }

    /// ` AND <the lock is still held>`, for the `WHERE` of a leader's `UPDATE`; empty when
    /// nothing is fenced.
    pub fn and_held(&self) -> String {
        self.pid
            .map(|pid| format!(" AND {}", Self::held(pid)))
            .unwrap_or_default()
    }

    /// After a fenced write changed nothing: whether it was refused because the lock is no
    /// longer held. Then the lead is lost: `lost` fires and this replica stops driving.
    pub async fn refused(&self, conn: &mut Conn) -> Result<bool> {
        let Some(pid) = self.pid else {
            return Ok(false);
        };
        let held: i32 = sqlx::query_scalar(&format!("SELECT CAST({} AS INTEGER)", Self::held(pid)))
            .fetch_one(conn)
            .await?;
        if held == 1 {
            return Ok(false);
        }
        tracing::error!(
            "a build state write was refused: this replica no longer holds the build queue's lock; stepping down"
        );
        self.lost.cancel();
        Ok(true)
    }
}

/// Waits until this process leads, or until `shutdown` (then `None`). A session that fails
/// while it waits (the database restarted, this process was frozen) is opened again.
pub async fn acquire(db: &Db, shutdown: &CancellationToken) -> Result<Option<Term>> {
    let lost = shutdown.child_token();
    let release = CancellationToken::new();
    if db.kind == Kind::Sqlite {
        let fence = Fence::default();
        let term = Term {
            lost,
            release,
            fence,
        };
        return Ok((!shutdown.is_cancelled()).then_some(term));
    }
    let mut session = None;
    loop {
        let wait = match try_lock(db, &mut session).await {
            Ok(Some(pid)) => {
                let conn = session.take().expect("the session that took the lock");
                tokio::spawn(keep(conn, lost.clone(), release.clone()));
                let fence = Fence {
                    pid: Some(pid),
                    lost: lost.clone(),
                };
                return Ok(Some(Term {
                    lost,
                    release,
                    fence,
                }));
            }
            Ok(None) => ASK_EVERY,
            Err(e) => {
                tracing::warn!(error = %e, "could not ask for the build queue's lock");
                session = None;
                RETRY_AFTER
            }
        };
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(None),
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// Asks for the lock on `session`, opened first when `None`: the lock session's backend
/// pid when it was granted.
async fn try_lock(db: &Db, session: &mut Option<AnyConnection>) -> Result<Option<i32>> {
    let conn = match session {
        Some(conn) => conn,
        None => session.insert(lock_session(db).await?),
    };
    let (locked, pid): (i32, i32) =
        sqlx::query_as("SELECT CAST(pg_try_advisory_lock($1) AS INTEGER), pg_backend_pid()")
            .bind(QUEUE_LOCK)
            .fetch_one(&mut *conn)
            .await?;
    Ok((locked == 1).then_some(pid))
}

/// A connection of its own for the lock, with [`LOCK_SESSION_SETTINGS`] as startup options
/// (sqlx's `Any` driver takes a URL: `options[name]=value` is how the PostgreSQL driver reads
/// one). A server before 14 refuses `idle_session_timeout`: then it goes without, with a
/// warning.
async fn lock_session(db: &Db) -> Result<AnyConnection> {
    let base = (*db.pool.connect_options()).clone();
    let with = |settings: &[(&str, u64)]| {
        let mut options = base.clone();
        options.database_url.query_pairs_mut().extend_pairs(
            settings
                .iter()
                .map(|(name, value)| (format!("options[{name}]"), value.to_string())),
        );
        options
    };
    match with(&LOCK_SESSION_SETTINGS).connect().await {
        Err(e) if e.to_string().contains("idle_session_timeout") => {
            tracing::warn!(
                error = %e,
                "PostgreSQL before 14: a frozen leader keeps the build queue until TCP gives up"
            );
            Ok(with(&LOCK_SESSION_SETTINGS[1..]).connect().await?)
        }
        connected => Ok(connected?),
    }
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
    use std::time::Instant;

    use super::*;
    use crate::backend::builds::testing::{enqueued, image};
    use crate::backend::builds::{self, Outcome};
    use crate::backend::db::testing::fresh_db;
    use crate::domain::BuildState;

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
        // Longer than the idle session timeout: a live leader's checks keep its session.
        tokio::time::sleep(IDLE_SESSION_TIMEOUT + Duration::from_secs(2)).await;
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

    /// A frozen leader: its lock session is open, its socket alive (the kernel still answers),
    /// but nothing runs on it. PostgreSQL ends the session by itself and a follower leads
    /// within the bound; without the session settings it would wait for TCP (hours).
    #[tokio::test]
    async fn a_leader_gone_quiet_loses_the_lock_within_seconds_and_a_follower_takes_over() {
        let db = fresh_db().await;
        if db.kind == Kind::Sqlite {
            return; // one process, which always leads
        }
        let mut frozen = None;
        let frozen_pid = try_lock(&db, &mut frozen)
            .await
            .unwrap()
            .expect("the lock is free");
        let quiet_since = Instant::now();
        let shutdown = CancellationToken::new();
        let bound = IDLE_SESSION_TIMEOUT + ASK_EVERY + Duration::from_secs(1);
        let follower = tokio::time::timeout(Duration::from_secs(15), acquire(&db, &shutdown))
            .await
            .expect("a follower leads within 15 s of the leader going quiet")
            .unwrap()
            .expect("leads");
        let took = quiet_since.elapsed();
        assert!(took <= bound, "took over after {took:?}, bound {bound:?}");
        assert!(
            took >= IDLE_SESSION_TIMEOUT - Duration::from_millis(100),
            "took over after {took:?}: before the quiet session had timed out"
        );
        assert_ne!(follower.fence().pid, Some(frozen_pid));
        let mut frozen = frozen.unwrap();
        assert!(
            sqlx::query("SELECT 1").execute(&mut frozen).await.is_err(),
            "the quiet session was ended by PostgreSQL"
        );
    }

    /// The leader's session ended (as when PostgreSQL times a frozen leader out) and another
    /// replica leads, but the old leader, resumed, hasn't noticed yet: its claim and its
    /// record of a build's end are refused, change nothing, and end its term. The live
    /// leader's writes go through; on SQLite nothing is fenced.
    #[tokio::test]
    async fn a_leader_whose_session_ended_changes_no_build_and_steps_down() {
        let db = fresh_db().await;
        let shutdown = CancellationToken::new();
        let (ml, tools) = image(&db, "ml").await;
        let first = enqueued(&db, ml, &tools).await;
        let second = enqueued(&db, ml, &tools).await;
        let term = acquire(&db, &shutdown).await.unwrap().expect("leads");
        let claimed = builds::claim_next_fenced(&db, term.fence(), 5, 5)
            .await
            .unwrap()
            .expect("the leader claims");
        assert_eq!(claimed.id, first.id);
        if db.kind == Kind::Sqlite {
            assert_eq!(term.fence().and_held(), "", "SQLite fences nothing");
            return;
        }
        let stale_pid = term.fence().pid.expect("the lock session's pid");
        sqlx::query("SELECT pg_terminate_backend($1, 5000)")
            .bind(stale_pid)
            .execute(&db.pool)
            .await
            .unwrap();
        let next = acquire(&db, &shutdown).await.unwrap().expect("leads next");
        // The old term's own token may also fire from its session check: watch a fresh one.
        let stale = || Fence {
            pid: Some(stale_pid),
            lost: CancellationToken::new(),
        };

        let fence = stale();
        let claim = builds::claim_next_fenced(&db, &fence, 5, 5).await.unwrap();
        assert_eq!(claim, None, "a stale leader claims nothing");
        assert_eq!(
            builds::get(&db, second.id).await.unwrap().state(),
            BuildState::Queued
        );
        assert!(fence.lost.is_cancelled(), "the refusal ends the term");

        let fence = stale();
        let outcome = Outcome::Failed {
            reason: builds::FailReason::Build,
            message: "stale",
        };
        assert!(
            !builds::finish_fenced(&db, &fence, first.id, outcome)
                .await
                .unwrap()
        );
        let after = builds::get(&db, first.id).await.unwrap();
        assert_eq!(
            (after.state(), after.message.as_str()),
            (BuildState::Running, "")
        );
        assert!(fence.lost.is_cancelled(), "the refusal ends the term");

        let claimed = builds::claim_next_fenced(&db, next.fence(), 5, 5)
            .await
            .unwrap()
            .expect("the new leader claims");
        assert_eq!(claimed.id, second.id);
        assert!(
            builds::finish_fenced(&db, next.fence(), first.id, Outcome::Cancelled)
                .await
                .unwrap()
        );
        assert!(!next.lost().is_cancelled());
    }
}
