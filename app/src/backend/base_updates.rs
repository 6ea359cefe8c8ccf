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
        "SELECT {COLUMNS} FROM images
         WHERE source = 'build' AND url <> '' AND retired_at IS NULL
           AND (base_checked_at IS NULL OR base_checked_at < $1)
         ORDER BY COALESCE(base_checked_at, 0), id LIMIT $2"
    ))
    .bind(checked_before)
    .bind(PASS_LIMIT)
    .fetch_all(&db.pool)
    .await?)
}

/// Records a check of an image's base image: the digest its tag names now, or why the
/// check failed (the last digest seen is kept then).
pub async fn record_check(db: &Db, image_id: i64, found: Result<&str, &str>) -> Result<()> {
    let (latest, error) = match found {
        Ok(digest) => (Some(digest), ""),
        Err(why) => (None, why),
    };
    sqlx::query(
        "UPDATE images SET base_latest = COALESCE($1, base_latest), base_check_error = $2,
                           base_checked_at = $3
         WHERE id = $4",
    )
    .bind(latest)
    .bind(error)
    .bind(now_ms())
    .bind(image_id)
    .execute(&db.pool)
    .await?;
    Ok(())
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
        assert!(checked.base_checked_at.unwrap() >= before);
        assert!(due(&db, before).await.unwrap().is_empty(), "checked since");

        record_check(&db, image.id, Err("registry unreachable"))
            .await
            .unwrap();
        let failed = images::by_id(&db, image.id).await.unwrap();
        assert_eq!(failed.base_latest.as_deref(), Some(newer.as_str()));
        assert_eq!(failed.base_check_error, "registry unreachable");
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
}
