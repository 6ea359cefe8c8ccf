//! Retention: audit entries and build logs older than the operator keeps them
//! (`KILN_AUDIT_RETENTION_DAYS`, `KILN_BUILD_LOG_RETENTION_DAYS`; unset: kept forever).
//! A build's record stays when its log goes, with a line saying so; each image's newest
//! successful build keeps its log. The audit log stays append-only for everything newer
//! than the cutoff the pass records first (a trigger refuses any other delete), and each
//! pass that removes something says so in the audit log.

use super::OpResult;
use super::audit::Change;
use crate::backend::{BackendError, Db};
use crate::domain::time::utc_minute;

/// How long things are kept, in days; `None`: forever.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retention {
    pub audit_days: Option<u32>,
    pub build_log_days: Option<u32>,
}

/// What one pass removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub audit_entries: u64,
    pub build_logs: u64,
}

/// Who the audit log says removed them.
const ACTOR: &str = "kiln:retention";
const DAY_MS: i64 = 86_400_000;
/// Build logs removed per pass at most (the next pass goes on).
const BATCH: i64 = 500;

/// One pass, as of `now` (ms).
pub async fn apply(db: &Db, retention: Retention, now: i64) -> OpResult<Pruned> {
    let mut pruned = Pruned::default();
    if let Some(days) = retention.audit_days {
        pruned.audit_entries = prune_audit(db, now - i64::from(days.max(1)) * DAY_MS).await?;
    }
    if let Some(days) = retention.build_log_days {
        pruned.build_logs =
            prune_build_logs(db, now - i64::from(days.max(1)) * DAY_MS, days).await?;
    }
    Ok(pruned)
}

async fn prune_audit(db: &Db, cutoff: i64) -> OpResult<u64> {
    let mut change = Change::begin(db, ACTOR.to_owned()).await?;
    sqlx::query("UPDATE retention SET audit_before = $1 WHERE id = 1")
        .bind(cutoff)
        .execute(&mut *change.conn())
        .await
        .map_err(BackendError::from)?;
    let removed = sqlx::query("DELETE FROM audit_log WHERE at < $1")
        .bind(cutoff)
        .execute(&mut *change.conn())
        .await
        .map_err(BackendError::from)?
        .rows_affected();
    if removed == 0 {
        return Ok(0); // dropped: rolled back, no entry
    }
    let detail = format!(
        "removed {removed} entries from before {}",
        utc_minute(cutoff)
    );
    change
        .commit("audit.retention", "audit_log", &detail)
        .await?;
    Ok(removed)
}

async fn prune_build_logs(db: &Db, cutoff: i64, days: u32) -> OpResult<u64> {
    let mut change = Change::begin(db, ACTOR.to_owned()).await?;
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM builds b
         WHERE b.log_removed_at IS NULL AND b.finished_at < $1
           AND b.state IN ('succeeded', 'failed', 'cancelled')
           AND b.id NOT IN (SELECT MAX(id) FROM builds WHERE state = 'succeeded' GROUP BY image_id)
         ORDER BY b.id LIMIT $2",
    )
    .bind(cutoff)
    .bind(BATCH)
    .fetch_all(&mut *change.conn())
    .await
    .map_err(BackendError::from)?;
    if ids.is_empty() {
        return Ok(0);
    }
    let note = format!(
        "(This build's log was removed: logs are kept {days} days, KILN_BUILD_LOG_RETENTION_DAYS.)\n"
    );
    for id in &ids {
        sqlx::query("DELETE FROM build_log_chunks WHERE build_id = $1")
            .bind(id)
            .execute(&mut *change.conn())
            .await
            .map_err(BackendError::from)?;
        sqlx::query(
            "INSERT INTO build_log_chunks (build_id, seq, lines, text) VALUES ($1, 1, 1, $2)",
        )
        .bind(id)
        .bind(&note)
        .execute(&mut *change.conn())
        .await
        .map_err(BackendError::from)?;
        sqlx::query("UPDATE builds SET log_removed_at = $1 WHERE id = $2")
            .bind(cutoff + i64::from(days) * DAY_MS)
            .bind(id)
            .execute(&mut *change.conn())
            .await
            .map_err(BackendError::from)?;
    }
    let detail = format!(
        "removed the logs of {} builds finished before {}",
        ids.len(),
        utc_minute(cutoff)
    );
    change
        .commit("build.log_retention", "builds", &detail)
        .await?;
    Ok(ids.len() as u64)
}

/// Applies retention every hour until `shutdown`. Every replica runs it: a pass is one
/// transaction per kind, and a second replica's pass finds nothing left to remove.
pub async fn run(db: Db, retention: Retention, shutdown: tokio_util::sync::CancellationToken) {
    if retention == Retention::default() {
        return;
    }
    loop {
        match apply(&db, retention, crate::backend::now_ms()).await {
            Ok(p) if p != Pruned::default() => tracing::info!(
                audit_entries = p.audit_entries,
                build_logs = p.build_logs,
                "retention removed old entries"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = ?e, "retention pass failed"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(std::time::Duration::from_secs(3600)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::builds::testing::{enqueued, image};
    use crate::backend::db::testing::{conn, fresh_db};

    async fn audit_entry(db: &Db, at: i64, action: &str) {
        sqlx::query("INSERT INTO audit_log (at, actor, action, target, detail) VALUES ($1, 'x', $2, 't', '')")
            .bind(at)
            .bind(action)
            .execute(&db.pool)
            .await
            .unwrap();
    }

    async fn actions(db: &Db) -> Vec<String> {
        sqlx::query_scalar("SELECT action FROM audit_log ORDER BY id")
            .fetch_all(&db.pool)
            .await
            .unwrap()
    }

    /// A build of `image` that ended `days` ago in `state`, with a two-line log.
    async fn finished(
        now: i64,
        db: &Db,
        scope: crate::backend::images::Scope,
        image: &crate::backend::images::ImageRow,
        state: &str,
        days: i64,
    ) -> i64 {
        let build = enqueued(db, scope, image).await;
        sqlx::query("UPDATE builds SET state = $1, finished_at = $2 WHERE id = $3")
            .bind(state)
            .bind(now - days * DAY_MS)
            .bind(build.id)
            .execute(&db.pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO build_log_chunks (build_id, seq, lines, text) VALUES ($1, 1, 2, 'step 1\nstep 2\n')")
            .bind(build.id)
            .execute(&db.pool)
            .await
            .unwrap();
        build.id
    }

    async fn log_of(db: &Db, build: i64) -> String {
        let chunks: Vec<String> = sqlx::query_scalar(
            "SELECT text FROM build_log_chunks WHERE build_id = $1 ORDER BY seq",
        )
        .bind(build)
        .fetch_all(&db.pool)
        .await
        .unwrap();
        chunks.concat()
    }

    #[tokio::test]
    async fn retention_removes_exactly_what_is_older_than_kept_and_the_audit_log_stays_append_only()
    {
        let db = fresh_db().await;
        let now = crate::backend::now_ms();
        audit_entry(&db, now - 40 * DAY_MS, "old.one").await;
        audit_entry(&db, now - 31 * DAY_MS, "old.two").await;
        audit_entry(&db, now - 29 * DAY_MS, "recent").await;
        let (scope, tools) = image(&db, "ml").await;
        let old_failed = finished(now, &db, scope, &tools, "failed", 20).await;
        let old_success = finished(now, &db, scope, &tools, "succeeded", 19).await;
        let newest_success = finished(now, &db, scope, &tools, "succeeded", 18).await;
        let recent_failed = finished(now, &db, scope, &tools, "failed", 2).await;

        let kept = Retention {
            audit_days: Some(30),
            build_log_days: Some(14),
        };
        let pruned = apply(&db, kept, now).await.unwrap();
        assert_eq!(
            pruned,
            Pruned {
                audit_entries: 2,
                build_logs: 2
            }
        );
        let left = actions(&db).await;
        assert_eq!(left[0], "recent");
        assert!(
            left.contains(&"audit.retention".to_owned())
                && left.contains(&"build.log_retention".to_owned()),
            "{left:?}"
        );
        for removed in [old_failed, old_success] {
            assert!(
                log_of(&db, removed)
                    .await
                    .contains("log was removed: logs are kept 14 days")
            );
            // The build's record stays.
            assert!(crate::backend::builds::get(&db, removed).await.is_ok());
        }
        assert_eq!(
            log_of(&db, newest_success).await,
            "step 1\nstep 2\n",
            "the image's newest success keeps its log"
        );
        assert_eq!(log_of(&db, recent_failed).await, "step 1\nstep 2\n");

        // A second pass finds nothing and writes nothing.
        let entries = actions(&db).await.len();
        assert_eq!(apply(&db, kept, now).await.unwrap(), Pruned::default());
        assert_eq!(actions(&db).await.len(), entries);

        // Newer than the recorded cutoff, an entry can't be deleted or changed.
        let refused = sqlx::query("DELETE FROM audit_log WHERE action = 'recent'")
            .execute(&mut *conn(&db).await)
            .await;
        assert!(refused.unwrap_err().to_string().contains("append-only"));
        let refused = sqlx::query("UPDATE audit_log SET detail = 'x' WHERE action = 'recent'")
            .execute(&mut *conn(&db).await)
            .await;
        assert!(refused.is_err());
        // Unset: nothing is removed.
        assert_eq!(
            apply(&db, Retention::default(), now + 400 * DAY_MS)
                .await
                .unwrap(),
            Pruned::default()
        );
    }
}
