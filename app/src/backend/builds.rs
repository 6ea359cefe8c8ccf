//! Build records: one row per build (a revision of an image), its state from queued to
//! succeeded, failed or cancelled, and its log as ordered chunks.

use sqlx::FromRow;

use super::builder::context::BUILD_STEPS;
use super::db::Conn;
use super::images::Scope;
use super::leader::Fence;
use super::{BackendError, Db, Result, now_ms};
use crate::domain::BuildState;
use crate::domain::build::BuildSpec;

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct BuildRow {
    pub id: i64,
    pub image_id: i64,
    pub group_id: Option<i64>,
    pub revision: i64,
    pub spec: String,
    pub image_type: String,
    pub state: String,
    pub reason: String,
    pub message: String,
    pub step: i64,
    pub steps: i64,
    pub base_digest: String,
    pub base_user: String,
    pub target: String,
    pub reused: i64,
    pub installed: String,
    pub created_by: String,
    pub queued_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub log_cursor: String,
    /// The pushed image's compressed size in bytes (its manifest's config and layers).
    pub compressed_size: Option<i64>,
}

impl BuildRow {
    pub fn state(&self) -> BuildState {
        BuildState::parse(&self.state).unwrap_or(BuildState::Failed)
    }

    pub fn spec(&self) -> Result<BuildSpec> {
        serde_json::from_str(&self.spec)
            .map_err(|e| BackendError::Internal(format!("build {} spec: {e}", self.id)))
    }
}

pub(crate) const COLUMNS: &str = "id, image_id, group_id, revision, spec, image_type, state, reason, message, \
     step, steps, base_digest, base_user, target, reused, installed, created_by, queued_at, \
     started_at, finished_at, log_cursor, compressed_size";

/// Why a build failed, as stored and shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailReason {
    BaseImage,
    PackageNotFound,
    NoApt,
    NoConda,
    NoPython,
    Push,
    Timeout,
    Killed,
    Interrupted,
    Build,
    /// The build used more memory than its limit (Kubernetes: OOMKilled).
    OutOfMemory,
    /// The node ran short and evicted the build's Pod.
    Evicted,
    /// The builder's own image could not be pulled (Kubernetes: ImagePullBackOff).
    BuilderImage,
    /// The image was built but did not pass its smoke test (or could not be started for
    /// it): its URL does not move.
    SmokeTest,
}

impl FailReason {
    pub fn as_str(self) -> &'static str {
        match self {
            FailReason::BaseImage => "base-image",
            FailReason::PackageNotFound => "package-not-found",
            FailReason::NoApt => "no-apt",
            FailReason::NoConda => "no-conda",
            FailReason::NoPython => "no-python",
            FailReason::Push => "push",
            FailReason::Timeout => "timeout",
            FailReason::Killed => "killed",
            FailReason::Interrupted => "interrupted",
            FailReason::Build => "build",
            FailReason::OutOfMemory => "out-of-memory",
            FailReason::Evicted => "evicted",
            FailReason::BuilderImage => "builder-image",
            FailReason::SmokeTest => "smoke-test",
        }
    }
}

/// A build to queue for an image: what to build, on which base, to which target.
pub struct NewBuild<'a> {
    pub image_id: i64,
    pub scope: Scope,
    pub spec: &'a BuildSpec,
    pub image_type: &'a str,
    pub base_digest: &'a str,
    pub base_user: &'a str,
    pub target: &'a str,
    pub created_by: &'a str,
    /// When the registry has the target already: its compressed size, if it said.
    pub compressed_size: Option<i64>,
}

/// Queues a build as the image's next revision. When `reused` (the target already exists
/// in the registry) the build is recorded as succeeded at once and the image points at it.
pub async fn enqueue(conn: &mut Conn, new: &NewBuild<'_>, reused: bool) -> Result<BuildRow> {
    let spec = serde_json::to_string(new.spec)
        .map_err(|e| BackendError::Internal(format!("spec: {e}")))?;
    let now = now_ms();
    let group_id = match new.scope {
        Scope::Group(id) => Some(id),
        Scope::Global => None,
    };
    let build: BuildRow = sqlx::query_as(&format!(
        "INSERT INTO builds (image_id, group_id, revision, spec, image_type, state, steps,
                             base_digest, base_user, target, reused, created_by, queued_at,
                             started_at, finished_at, compressed_size)
         VALUES ($1, $2, (SELECT COALESCE(MAX(revision), 0) + 1 FROM builds WHERE image_id = $1),
                 $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14)
         RETURNING {COLUMNS}"
    ))
    .bind(new.image_id)
    .bind(group_id)
    .bind(spec)
    .bind(new.image_type)
    .bind(if reused { "succeeded" } else { "queued" })
    .bind(i64::from(BUILD_STEPS))
    .bind(new.base_digest)
    .bind(new.base_user)
    .bind(new.target)
    .bind(i64::from(reused))
    .bind(new.created_by)
    .bind(now)
    .bind(if reused { Some(now) } else { None })
    .bind(if reused { new.compressed_size } else { None })
    .fetch_one(&mut *conn)
    .await?;
    if reused {
        point_image_at(conn, &build).await?;
    }
    Ok(build)
}

/// A succeeded build's image becomes the image's URL (for CPU and GPU alike), and its base
/// image the one the image's base-update check compares with.
async fn point_image_at(conn: &mut Conn, build: &BuildRow) -> Result<()> {
    sqlx::query(
        "UPDATE images SET url = $1, gpu_url = $1, image_type = $2, version = version + 1,
                           updated_at = $3, compressed_size = $5, base_digest = $6
         WHERE id = $4",
    )
    .bind(&build.target)
    .bind(&build.image_type)
    .bind(now_ms())
    .bind(build.image_id)
    .bind(build.compressed_size)
    .bind(&build.base_digest)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get(db: &Db, id: i64) -> Result<BuildRow> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM builds WHERE id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .ok_or_else(|| BackendError::NotFound {
            what: "build",
            name: id.to_string(),
        })
}

/// An image's builds, newest first.
pub async fn history(db: &Db, image_id: i64) -> Result<Vec<BuildRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM builds WHERE image_id = $1 ORDER BY id DESC"
    ))
    .bind(image_id)
    .fetch_all(&db.pool)
    .await?)
}

/// The record of installed packages of a succeeded build (`None` for any other): its own,
/// or, for a build that reused an image the registry had, that of the image's build that
/// made it (the same target); `None` when Kiln has no such build any more.
pub async fn record_of(db: &Db, build: &BuildRow) -> Result<Option<String>> {
    if build.state() != BuildState::Succeeded {
        return Ok(None);
    }
    if build.reused == 0 {
        return Ok(Some(build.installed.clone()));
    }
    Ok(sqlx::query_scalar(
        "SELECT installed FROM builds
         WHERE image_id = $1 AND target = $2 AND state = 'succeeded' AND reused = 0
         ORDER BY id DESC LIMIT 1",
    )
    .bind(build.image_id)
    .bind(&build.target)
    .fetch_optional(&db.pool)
    .await?)
}

/// The newest build's id and state of each of `image_ids` that has builds.
pub async fn latest_states(db: &Db, image_ids: &[i64]) -> Result<Vec<(i64, i64, String)>> {
    if image_ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = image_ids
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    Ok(sqlx::query_as(&format!(
        "SELECT b.image_id, b.id, b.state FROM builds b
         WHERE b.id IN (SELECT MAX(id) FROM builds WHERE image_id IN ({list}) GROUP BY image_id)"
    ))
    .fetch_all(&db.pool)
    .await?)
}

/// The queue, first to start first: the ids of every queued build. A build's position
/// is its index (0: it starts next).
pub async fn queued_ids(db: &Db) -> Result<Vec<i64>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM builds WHERE state = 'queued' ORDER BY id")
            .fetch_all(&db.pool)
            .await?,
    )
}

/// Takes the oldest queued build that the limits allow to start, and marks it running.
pub async fn claim_next(
    db: &Db,
    total_limit: i64,
    per_group_limit: i64,
) -> Result<Option<BuildRow>> {
    claim_next_fenced(db, &Fence::default(), total_limit, per_group_limit).await
}

/// [`claim_next`] by the leader: only while it still holds the lock (none claimed, and
/// the lead given up, when it doesn't).
pub async fn claim_next_fenced(
    db: &Db,
    fence: &Fence,
    total_limit: i64,
    per_group_limit: i64,
) -> Result<Option<BuildRow>> {
    let running: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM builds WHERE state = 'running'")
        .fetch_one(&db.pool)
        .await?;
    if running >= total_limit {
        return Ok(None);
    }
    let candidates: Vec<BuildRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM builds b WHERE state = 'queued'
           AND (SELECT COUNT(*) FROM builds r WHERE r.state = 'running'
                AND COALESCE(r.group_id, 0) = COALESCE(b.group_id, 0)) < $1
         ORDER BY id LIMIT 5"
    ))
    .bind(per_group_limit)
    .fetch_all(&db.pool)
    .await?;
    for candidate in candidates {
        let claimed = sqlx::query(&format!(
            "UPDATE builds SET state = 'running', started_at = $1
             WHERE id = $2 AND state = 'queued'{}",
            fence.and_held()
        ))
        .bind(now_ms())
        .bind(candidate.id)
        .execute(&db.pool)
        .await?;
        if claimed.rows_affected() == 1 {
            return get(db, candidate.id).await.map(Some);
        }
        if fence.refused(&mut *db.pool.acquire().await?).await? {
            return Ok(None);
        }
    }
    Ok(None)
}

pub async fn set_step(db: &Db, id: i64, step: i64) -> Result<()> {
    sqlx::query("UPDATE builds SET step = $1 WHERE id = $2 AND state = 'running'")
        .bind(step)
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// How a running build ended.
pub enum Outcome<'a> {
    Succeeded {
        installed: &'a str,
        /// The pushed image's compressed size, when its registry said.
        compressed_size: Option<i64>,
    },
    Failed {
        reason: FailReason,
        message: &'a str,
    },
    Cancelled,
}

/// Records the end of a running (or queued) build; a success moves the image to it.
/// Returns false when the build had already ended.
pub async fn finish(db: &Db, id: i64, outcome: Outcome<'_>) -> Result<bool> {
    finish_fenced(db, &Fence::default(), id, outcome).await
}

/// [`finish`] by the leader: only while it still holds the lock (false, and the lead given
/// up, when it doesn't).
pub async fn finish_fenced(db: &Db, fence: &Fence, id: i64, outcome: Outcome<'_>) -> Result<bool> {
    let mut tx = db.begin().await?;
    let ended = end(&mut tx, fence, id, outcome).await?;
    if !ended && fence.refused(&mut tx).await? {
        return Ok(false);
    }
    tx.commit().await?;
    Ok(ended)
}

/// [`finish`], on the connection of a change in progress.
pub async fn finish_in(conn: &mut Conn, id: i64, outcome: Outcome<'_>) -> Result<bool> {
    end(conn, &Fence::default(), id, outcome).await
}

async fn end(conn: &mut Conn, fence: &Fence, id: i64, outcome: Outcome<'_>) -> Result<bool> {
    let (state, reason, message, installed, size) = match outcome {
        Outcome::Succeeded {
            installed,
            compressed_size,
        } => ("succeeded", "", "", installed, compressed_size),
        Outcome::Failed { reason, message } => ("failed", reason.as_str(), message, "", None),
        Outcome::Cancelled => ("cancelled", "", "Cancelled.", "", None),
    };
    let ended = sqlx::query(&format!(
        "UPDATE builds SET state = $1, reason = $2, message = $3, installed = $4, finished_at = $5,
                           step = CASE WHEN $1 = 'succeeded' THEN steps ELSE step END,
                           compressed_size = $7
         WHERE id = $6 AND state IN ('queued', 'running'){}",
        fence.and_held()
    ))
    .bind(state)
    .bind(reason)
    .bind(message)
    .bind(installed)
    .bind(now_ms())
    .bind(id)
    .bind(size)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    if ended && state == "succeeded" {
        let build: BuildRow =
            sqlx::query_as(&format!("SELECT {COLUMNS} FROM builds WHERE id = $1"))
                .bind(id)
                .fetch_one(&mut *conn)
                .await?;
        point_image_at(conn, &build).await?;
    }
    Ok(ended)
}

/// The image's build that is queued or running, if any.
pub async fn active_of(db: &Db, image_id: i64) -> Result<Option<BuildRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM builds WHERE image_id = $1 AND state IN ('queued', 'running')
         ORDER BY id LIMIT 1"
    ))
    .bind(image_id)
    .fetch_optional(&db.pool)
    .await?)
}

/// Builds that are running (on whichever replica led), oldest first.
pub async fn running(db: &Db) -> Result<Vec<BuildRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM builds WHERE state = 'running' ORDER BY id"
    ))
    .fetch_all(&db.pool)
    .await?)
}

/// Fails every running build with "interrupted" and `message`; their logs stay.
pub async fn interrupt_running(db: &Db, message: &str) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE builds SET state = 'failed', reason = 'interrupted', message = $1, finished_at = $2
         WHERE state = 'running'",
    )
    .bind(message)
    .bind(now_ms())
    .execute(&db.pool)
    .await?
    .rows_affected())
}

/// Marks a running build to be stopped by its driver. False when it is not running.
pub async fn request_cancel(conn: &mut Conn, id: i64) -> Result<bool> {
    Ok(
        sqlx::query("UPDATE builds SET cancel_requested = 1 WHERE id = $1 AND state = 'running'")
            .bind(id)
            .execute(conn)
            .await?
            .rows_affected()
            == 1,
    )
}

/// Of the builds `ids`, those to stop: asked to, or no longer running.
pub async fn to_stop(db: &Db, ids: &[i64]) -> Result<Vec<i64>> {
    let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    Ok(sqlx::query_scalar(&format!(
        "SELECT id FROM builds WHERE id IN ({list}) AND (cancel_requested = 1 OR state <> 'running')"
    ))
    .fetch_all(&db.pool)
    .await?)
}

/// Remembers where a build's log goes on from after a hand-over.
pub async fn set_log_cursor(db: &Db, id: i64, cursor: &str) -> Result<()> {
    sqlx::query("UPDATE builds SET log_cursor = $1 WHERE id = $2")
        .bind(cursor)
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// The number of the last chunk of a build's log (0: none yet).
pub async fn last_log_seq(db: &Db, build_id: i64) -> Result<i64> {
    Ok(
        sqlx::query_scalar(
            "SELECT COALESCE(MAX(seq), 0) FROM build_log_chunks WHERE build_id = $1",
        )
        .bind(build_id)
        .fetch_one(&db.pool)
        .await?,
    )
}

/// About how many bytes a build's stored log holds (its characters).
pub async fn log_size(db: &Db, build_id: i64) -> Result<u64> {
    let size: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(LENGTH(text)), 0) AS BIGINT) FROM build_log_chunks
         WHERE build_id = $1",
    )
    .bind(build_id)
    .fetch_one(&db.pool)
    .await?;
    Ok(size.max(0) as u64)
}

/// Appends the next chunk of a build's log.
pub async fn append_log(db: &Db, build_id: i64, seq: i64, text: &str) -> Result<()> {
    let lines = text.matches('\n').count() as i64;
    sqlx::query(
        "INSERT INTO build_log_chunks (build_id, seq, lines, text) VALUES ($1, $2, $3, $4)",
    )
    .bind(build_id)
    .bind(seq)
    .bind(lines)
    .bind(text)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// The log's chunks after `after_seq`, at most `limit` of them, as (seq, text).
pub async fn log_after(
    db: &Db,
    build_id: i64,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<(i64, String)>> {
    Ok(sqlx::query_as(
        "SELECT seq, text FROM build_log_chunks WHERE build_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
    )
    .bind(build_id)
    .bind(after_seq)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?)
}

/// The last chunks of a log holding at least `lines` lines, oldest first; for showing the
/// end of a long log at once.
pub async fn log_tail(db: &Db, build_id: i64, lines: i64) -> Result<Vec<(i64, String)>> {
    let from: Option<i64> = sqlx::query_scalar(
        "SELECT MIN(seq) FROM (SELECT seq, SUM(lines) OVER (ORDER BY seq DESC) - lines AS after
                               FROM build_log_chunks WHERE build_id = $1) t
         WHERE after < $2",
    )
    .bind(build_id)
    .bind(lines)
    .fetch_one(&db.pool)
    .await?;
    match from {
        Some(from) => log_after(db, build_id, from - 1, i64::MAX).await,
        None => Ok(Vec::new()),
    }
}

/// The whole log in memory at once: for tests. A download streams it a batch at a time
/// (`server/src/rest/log.rs`), so that no log is held whole.
pub async fn full_log(db: &Db, build_id: i64) -> Result<String> {
    let chunks: Vec<String> =
        sqlx::query_scalar("SELECT text FROM build_log_chunks WHERE build_id = $1 ORDER BY seq")
            .bind(build_id)
            .fetch_all(&db.pool)
            .await?;
    Ok(chunks.concat())
}

/// Images and queued builds for tests of the build machinery.
#[cfg(test)]
pub mod testing {
    use super::*;
    use crate::backend::db::testing::conn;
    use crate::backend::fixtures::add_group;
    use crate::backend::images::{self, ImageRow};
    use crate::domain::BuildForm;

    pub const DIGEST: &str =
        "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    pub async fn image(db: &Db, group: &str) -> (Scope, ImageRow) {
        let id = add_group(db, group).await;
        let form = BuildForm {
            display_name: "tools".into(),
            image_type: "cpu".into(),
            base_image: "debian:12".into(),
            apt: "curl".into(),
            ..Default::default()
        };
        let build = form.validate().unwrap();
        let scope = Scope::Group(id);
        (
            scope,
            images::create_built(&mut *conn(db).await, scope, &build, None)
                .await
                .unwrap(),
        )
    }

    /// A queued build of a new image of group `ml`, and a writer of its log holding at most
    /// `limit` bytes.
    pub async fn logged_build(
        db: &Db,
        limit: u64,
    ) -> (BuildRow, crate::backend::builder::LogWriter) {
        let (scope, image) = self::image(db, "ml").await;
        let build = enqueued(db, scope, &image).await;
        let log = crate::backend::builder::LogWriter::continuing(db.clone(), build.id, limit)
            .await
            .unwrap();
        (build, log)
    }

    /// Queues a build of `image` (as a rebuild would, with no registry asked).
    pub async fn enqueued(db: &Db, scope: Scope, image: &ImageRow) -> BuildRow {
        let spec = BuildForm {
            base_image: "debian:12".into(),
            apt: "curl".into(),
            ..Default::default()
        }
        .validate_spec()
        .unwrap();
        let new = NewBuild {
            image_id: image.id,
            scope,
            spec: &spec,
            image_type: "cpu",
            base_digest: DIGEST,
            base_user: "",
            target: "registry.test/kiln/tools:1",
            created_by: "admin",
            compressed_size: None,
        };
        enqueue(&mut *conn(db).await, &new, false).await.unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{enqueued, image};
    use super::*;
    use crate::backend::db::testing::{conn, fresh_db};
    use crate::backend::images;

    #[tokio::test]
    async fn builds_are_revisions_and_the_queue_keeps_its_limits() {
        let db = fresh_db().await;
        let (ml, tools) = image(&db, "ml").await;
        let (cv, other) = image(&db, "cv").await;
        let first = enqueued(&db, ml, &tools).await;
        let second = enqueued(&db, ml, &tools).await;
        let third = enqueued(&db, cv, &other).await;
        assert_eq!((first.revision, second.revision, third.revision), (1, 2, 1));
        assert_eq!(
            queued_ids(&db).await.unwrap(),
            [first.id, second.id, third.id]
        );

        // One build per group at a time: ml's second waits, cv's starts.
        let a = claim_next(&db, 5, 1).await.unwrap().unwrap();
        assert_eq!(a.id, first.id);
        assert_eq!(a.state(), BuildState::Running);
        let b = claim_next(&db, 5, 1).await.unwrap().unwrap();
        assert_eq!(b.id, third.id, "ml is at its limit");
        assert_eq!(claim_next(&db, 5, 1).await.unwrap(), None);
        // And two in all.
        finish(
            &db,
            a.id,
            Outcome::Succeeded {
                installed: "apt curl",
                compressed_size: Some(31_415_926),
            },
        )
        .await
        .unwrap();
        assert_eq!(
            claim_next(&db, 1, 5).await.unwrap(),
            None,
            "cv's build still runs"
        );
        assert_eq!(claim_next(&db, 2, 5).await.unwrap().unwrap().id, second.id);
        let image = images::require(&db, ml, "tools").await.unwrap();
        assert_eq!(
            image.url, "registry.test/kiln/tools:1",
            "the succeeded build is the image's URL"
        );
        assert_eq!(image.compressed_size, Some(31_415_926), "and its size");
        assert_eq!(
            get(&db, a.id).await.unwrap().compressed_size,
            Some(31_415_926)
        );
    }

    #[tokio::test]
    async fn interrupted_builds_fail_keep_their_logs_and_leave_the_queue_alone() {
        let db = fresh_db().await;
        let (ml, tools) = image(&db, "ml").await;
        let running = enqueued(&db, ml, &tools).await;
        let waiting = enqueued(&db, ml, &tools).await;
        claim_next(&db, 1, 1).await.unwrap().unwrap();
        append_log(&db, running.id, 1, "STEP 1/8: FROM debian\n")
            .await
            .unwrap();

        assert_eq!(super::running(&db).await.unwrap().len(), 1);
        assert_eq!(last_log_seq(&db, running.id).await.unwrap(), 1);
        assert_eq!(interrupt_running(&db, "Kiln stopped.").await.unwrap(), 1);
        let after = get(&db, running.id).await.unwrap();
        assert_eq!(after.state(), BuildState::Failed);
        assert_eq!(after.reason, "interrupted");
        assert_eq!(
            full_log(&db, running.id).await.unwrap(),
            "STEP 1/8: FROM debian\n"
        );
        assert_eq!(
            get(&db, waiting.id).await.unwrap().state(),
            BuildState::Queued
        );
        assert!(
            !finish(&db, running.id, Outcome::Cancelled).await.unwrap(),
            "an ended build stays ended"
        );
    }

    #[tokio::test]
    async fn a_cancel_request_marks_only_a_running_build_and_its_driver_finds_it() {
        let db = fresh_db().await;
        let (ml, tools) = image(&db, "ml").await;
        let first = enqueued(&db, ml, &tools).await;
        let second = enqueued(&db, ml, &tools).await;
        assert!(
            !request_cancel(&mut *conn(&db).await, first.id)
                .await
                .unwrap(),
            "a queued build is not marked"
        );
        claim_next(&db, 5, 5).await.unwrap().unwrap();
        claim_next(&db, 5, 5).await.unwrap().unwrap();
        let both = [first.id, second.id];
        assert_eq!(to_stop(&db, &both).await.unwrap(), Vec::<i64>::new());
        assert!(
            request_cancel(&mut *conn(&db).await, first.id)
                .await
                .unwrap()
        );
        assert_eq!(to_stop(&db, &both).await.unwrap(), [first.id]);
        // A build ended by someone else while driven is stopped too.
        finish(&db, second.id, Outcome::Cancelled).await.unwrap();
        assert_eq!(to_stop(&db, &both).await.unwrap(), both);
    }

    #[tokio::test]
    async fn the_tail_of_a_long_log_comes_back_without_reading_all_of_it() {
        let db = fresh_db().await;
        let (ml, tools) = image(&db, "ml").await;
        let build = enqueued(&db, ml, &tools).await;
        for seq in 1..=100 {
            let chunk: String = (0..100)
                .map(|i| format!("chunk {seq} line {i}\n"))
                .collect();
            append_log(&db, build.id, seq, &chunk).await.unwrap();
        }
        let tail = log_tail(&db, build.id, 250).await.unwrap();
        let seqs: Vec<i64> = tail.iter().map(|(seq, _)| *seq).collect();
        assert_eq!(seqs, [98, 99, 100]);
        assert!(tail.last().unwrap().1.ends_with("chunk 100 line 99\n"));
        assert_eq!(log_after(&db, build.id, 99, 10).await.unwrap().len(), 1);
    }
}
