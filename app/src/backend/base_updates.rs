//! What Kiln stores about base-image updates (see `domain::base_update`): which built
//! images are due a check, the result of one, the live build a check starts from, and
//! whether an image rebuilds itself when its base image is updated.

use super::builds::{self, BuildRow};
use super::db::Conn;
use super::images::{COLUMNS, ImageRow};
use super::{Db, Result, now_ms};

/// The most images one pass of the leader checks; the rest wait for the next pass.
pub const PASS_LIMIT: i64 = 200;

/// Built images with a live build whose last check is older than `checked_before` (ms since
/// the epoch) or never ran, checked longest ago first. Retired images are not checked.
pub async fn due(db: &Db, checked_before: i64) -> Result<Vec<ImageRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM images LEFT JOIN base_checks ON image_id = id
         WHERE source = 'build' AND url <> '' AND retired_at IS NULL
           AND (checked_at IS NULL OR checked_at < $1)
         ORDER BY COALESCE(checked_at, 0), id LIMIT $2"
    ))
    .bind(checked_before)
    .bind(PASS_LIMIT)
    .fetch_all(&db.pool)
    .await?)
}

/// Records a check of an image's base image: the digest its tag names now, or why the
/// check failed (the last digest seen is kept then). The image's row is written only when
/// the digest moved (what launch pages show changed); the time and error are kept apart.
pub async fn record_check(db: &Db, image_id: i64, found: Result<&str, &str>) -> Result<()> {
    let (latest, error) = match found {
        Ok(digest) => (Some(digest), ""),
        Err(why) => (None, why),
    };
    let mut tx = db.begin().await?;
    if let Some(latest) = latest {
        sqlx::query(
            "UPDATE images SET base_latest = $1
             WHERE id = $2 AND base_latest IS DISTINCT FROM $1",
        )
        .bind(latest)
        .bind(image_id)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query(
        "INSERT INTO base_checks (image_id, checked_at, error) VALUES ($1, $2, $3)
         ON CONFLICT (image_id) DO UPDATE SET checked_at = excluded.checked_at,
                                              error = excluded.error",
    )
    .bind(image_id)
    .bind(now_ms())
    .bind(error)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// When an image's base image was last checked, and why that failed ('' when it didn't).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct LastCheck {
    pub checked_at: i64,
    pub error: String,
}

/// The last check of an image's base image, if there was one.
pub async fn last_check(db: &Db, image_id: i64) -> Result<Option<LastCheck>> {
    Ok(
        sqlx::query_as("SELECT checked_at, error FROM base_checks WHERE image_id = $1")
            .bind(image_id)
            .fetch_optional(&db.pool)
            .await?,
    )
}

/// The build an image's URL names: its newest successful build of that target.
pub async fn live_build(db: &Db, image: &ImageRow) -> Result<Option<BuildRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {} FROM builds WHERE image_id = $1 AND state = 'succeeded' AND target = $2
         ORDER BY id DESC LIMIT 1",
        builds::COLUMNS
    ))
    .bind(image.id)
    .bind(&image.url)
    .fetch_optional(&db.pool)
    .await?)
}

/// Whether any build of the image (in any state) was made on `base_digest`: an automatic
/// rebuild is queued once per base image, not again after it failed or was cancelled.
pub async fn built_on(db: &Db, image_id: i64, base_digest: &str) -> Result<bool> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM builds WHERE image_id = $1 AND base_digest = $2 LIMIT 1",
    )
    .bind(image_id)
    .bind(base_digest)
    .fetch_optional(&db.pool)
    .await?;
    Ok(found.is_some())
}

/// Turns the automatic rebuild of an image on or off, in a change in progress.
pub async fn set_auto_rebuild(conn: &mut Conn, image_id: i64, on: bool) -> Result<()> {
    sqlx::query("UPDATE images SET auto_rebuild = $1 WHERE id = $2")
        .bind(i64::from(on))
        .bind(image_id)
        .execute(conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::builds::{Outcome, finish, testing};
    use crate::backend::images;

    #[tokio::test]
    async fn a_check_is_kept_with_its_time_and_a_failure_keeps_the_digest_seen_last() {
        let db = crate::backend::db::testing::fresh_db().await;
        let (scope, image) = testing::image(&db, "ml").await;
        let build = testing::enqueued(&db, scope, &image).await;
        assert!(due(&db, now_ms()).await.unwrap().is_empty(), "no URL yet");
        let done = Outcome::Succeeded {
            installed: "",
            compressed_size: None,
        };
        assert!(finish(&db, build.id, done).await.unwrap());
        let live = images::by_id(&db, image.id).await.unwrap();
        assert_eq!(
            live.base_digest.as_deref(),
            Some(build.base_digest.as_str())
        );
        assert!(!live.base_updated(), "never checked");
        let live_build = live_build(&db, &live).await.unwrap().unwrap();
        assert_eq!(live_build.id, build.id);

        let before = now_ms();
        let due_now = due(&db, before + 1).await.unwrap();
        assert_eq!(due_now.iter().map(|i| i.id).collect::<Vec<_>>(), [image.id]);
        let newer = format!("sha256:{}", "e".repeat(64));
        record_check(&db, image.id, Ok(&newer)).await.unwrap();
        let checked = images::by_id(&db, image.id).await.unwrap();
        assert!(checked.base_updated());
        let check = last_check(&db, image.id).await.unwrap().expect("kept");
        assert!(check.checked_at >= before);
        assert!(due(&db, before).await.unwrap().is_empty(), "checked since");

        record_check(&db, image.id, Err("registry unreachable"))
            .await
            .unwrap();
        let failed = images::by_id(&db, image.id).await.unwrap();
        assert_eq!(failed.base_latest.as_deref(), Some(newer.as_str()));
        let check = last_check(&db, image.id).await.unwrap().expect("kept");
        assert_eq!(check.error, "registry unreachable");
        assert!(failed.base_updated(), "a failed check forgets nothing");

        assert!(built_on(&db, image.id, &build.base_digest).await.unwrap());
        assert!(!built_on(&db, image.id, &newer).await.unwrap());

        // An automatic rebuild on the new base that failed: the base counts as tried, so the
        // next check queues no other (a broken base would otherwise be rebuilt every pass).
        let rebuild = testing::enqueued(&db, scope, &image).await;
        sqlx::query("UPDATE builds SET base_digest = $1 WHERE id = $2")
            .bind(&newer)
            .bind(rebuild.id)
            .execute(&db.pool)
            .await
            .unwrap();
        let failed = Outcome::Failed {
            reason: crate::backend::builds::FailReason::SmokeTest,
            message: "package torch did not import",
        };
        assert!(finish(&db, rebuild.id, failed).await.unwrap());
        assert!(built_on(&db, image.id, &newer).await.unwrap());
        let kept = images::by_id(&db, image.id).await.unwrap();
        assert!(kept.base_updated(), "still marked: the URL did not move");
    }

    #[tokio::test]
    async fn a_check_that_finds_nothing_new_leaves_every_launch_and_catalog_answer_valid() {
        let db = crate::backend::db::testing::fresh_db().await;
        let (scope, image) = testing::image(&db, "ml").await;
        let build = testing::enqueued(&db, scope, &image).await;
        let done = Outcome::Succeeded {
            installed: "",
            compressed_size: None,
        };
        assert!(finish(&db, build.id, done).await.unwrap());
        let counters = || async {
            let launch: i64 = sqlx::query_scalar("SELECT version FROM launch_version WHERE id = 1")
                .fetch_one(&db.pool)
                .await
                .unwrap();
            let catalog: i64 = sqlx::query_scalar(
                "SELECT CAST(COALESCE(SUM(version), 0) AS BIGINT) FROM catalog_versions",
            )
            .fetch_one(&db.pool)
            .await
            .unwrap();
            (launch, catalog)
        };
        record_check(&db, image.id, Ok(&build.base_digest))
            .await
            .unwrap();
        let before = counters().await;
        // The same digest again, and a failed check: only the check's time and words move.
        record_check(&db, image.id, Ok(&build.base_digest))
            .await
            .unwrap();
        record_check(&db, image.id, Err("registry unreachable"))
            .await
            .unwrap();
        assert_eq!(counters().await, before, "no remembered answer dropped");
        assert_eq!(
            last_check(&db, image.id).await.unwrap().unwrap().error,
            "registry unreachable"
        );
        // A new digest changes what launch pages show ("base_updated"): both move.
        let newer = format!("sha256:{}", "f".repeat(64));
        record_check(&db, image.id, Ok(&newer)).await.unwrap();
        let after = counters().await;
        assert!(
            after.0 > before.0 && after.1 > before.1,
            "{before:?} {after:?}"
        );
        assert!(images::by_id(&db, image.id).await.unwrap().base_updated());
        assert_eq!(last_check(&db, image.id).await.unwrap().unwrap().error, "");
    }
}
