//! Base-image updates (see `domain::base_update`): the leader's periodic check of every
//! built image, a group admin's check of one image on demand, the one-click rebuild on the
//! updated base, and the automatic rebuild an image may ask for.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::builds::queue_rebuild;
use super::images::audit_target;
use super::{Call, OpResult};
use crate::backend::base_updates;
use crate::backend::builds::{self, BuildRow};
use crate::backend::images::{self, ImageRow};
use crate::backend::{AppState, groups, now_ms};
use crate::domain::base_update::BaseStatus;
use crate::domain::{Action, Said, messages};
use crate::wire::ApiError;

/// How often the leader checks unless configured (`KILN_BASE_CHECK_INTERVAL`): 6 hours.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(6 * 60 * 60);

/// The name automatic rebuilds and their audit entries carry.
pub const AUTOMATIC: &str = "kiln:base-image-updated";

/// Checks, on the replica that leads the build queue, each built image whose last check is
/// older than `every`, until `shutdown`. Looks at least once a minute, so a new leader takes
/// over the checks its predecessor left due.
pub async fn run(state: AppState, every: Duration, shutdown: CancellationToken) {
    let tick = every.min(Duration::from_secs(60));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(tick) => {}
        }
        if state.builds.leading() {
            check_due(&state, every).await;
        }
    }
}

/// One pass: checks the images due (see [`base_updates::due`]).
pub async fn check_due(state: &AppState, every: Duration) {
    let every_ms = i64::try_from(every.as_millis()).unwrap_or(i64::MAX);
    let due = match base_updates::due(&state.db, now_ms().saturating_sub(every_ms)).await {
        Ok(due) => due,
        Err(e) => return tracing::warn!(error = %e, "could not read the images due a base check"),
    };
    for image in due {
        if let Err(e) = check(state, &image).await {
            tracing::warn!(image = image.id, error = %e, "base image check failed");
        }
    }
}

/// Checks the base image of one of the caller's built images now (Build Details), and
/// queues its automatic rebuild when it asks for one. Answers the status after the check.
pub async fn check_now(call: &Call, group: Option<&str>, name: &str) -> OpResult<BaseStatus> {
    let image = built_image(call, group, name).await?;
    call.state.builds.require_enabled()?;
    check(&call.state, &image).await?;
    let image = images::by_id(&call.state.db, image.id).await?;
    status(&call.state, &image)
        .await?
        .ok_or_else(|| not_built(name))
}

/// Queues a rebuild of the image from its live build's spec, on whatever its base image's
/// tag names now: the one click of a group admin who saw "base image updated".
pub async fn rebuild(call: &Call, group: Option<&str>, name: &str) -> OpResult<BuildRow> {
    let image = built_image(call, group, name).await?;
    let live = live_build(&call.state, &image, name).await?;
    let spec = live.spec()?;
    queue_rebuild(
        &call.state,
        call.audit_name()?,
        group,
        &image,
        &spec,
        " (base image updated)",
    )
    .await
}

/// The base image status of one of the caller's built images, as Build Details shows it
/// (`None` before its first success).
pub async fn get(call: &Call, group: Option<&str>, name: &str) -> OpResult<Option<BaseStatus>> {
    let image = built_image(call, group, name).await?;
    status(&call.state, &image).await
}

/// Turns the automatic rebuild of one of the caller's built images on or off. Answers the
/// status after the change (`None` before the image's first success).
pub async fn set_auto_rebuild(
    call: &Call,
    group: Option<&str>,
    name: &str,
    on: bool,
) -> OpResult<Option<BaseStatus>> {
    let image = built_image(call, group, name).await?;
    let mut change = call.change().await?;
    base_updates::set_auto_rebuild(change.conn(), image.id, on).await?;
    let detail = if on { "on" } else { "off" };
    change
        .commit("image.auto_rebuild", &audit_target(group, name), detail)
        .await?;
    let image = images::by_id(&call.state.db, image.id).await?;
    status(&call.state, &image).await
}

/// What Build Details shows of a built image's base image; `None` before its first success.
pub async fn status(state: &AppState, image: &ImageRow) -> OpResult<Option<BaseStatus>> {
    if image.url.is_empty() {
        return Ok(None);
    }
    let Some(live) = base_updates::live_build(&state.db, image).await? else {
        return Ok(None);
    };
    let spec = live.spec()?;
    let last = base_updates::last_check(&state.db, image.id).await?;
    Ok(Some(BaseStatus {
        image: spec.base_image.as_str().to_owned(),
        pinned: spec.base_image.digest().is_some(),
        built_on: image.base_digest.clone(),
        latest: image.base_latest.clone(),
        checked_at: last.as_ref().map(|c| c.checked_at),
        error: last.map(|c| c.error).unwrap_or_default(),
        auto_rebuild: image.auto_rebuild != 0,
    }))
}

/// Asks the base image's registry what the live build's base tag names now and records it;
/// then queues the automatic rebuild when the image asks for one, the base was updated, no
/// build of it is queued or running and none was ever made on the new base.
async fn check(state: &AppState, image: &ImageRow) -> OpResult<()> {
    let Some(live) = base_updates::live_build(&state.db, image).await? else {
        return Ok(());
    };
    let spec = live.spec()?;
    if spec.base_image.digest().is_some() {
        // Pinned by digest: it can't move. Recorded as checked, so it isn't due again.
        base_updates::record_check(&state.db, image.id, Ok(&live.base_digest)).await?;
        return Ok(());
    }
    let group = match image.group_id {
        Some(id) => Some(groups::name_of(&state.db, id).await?),
        None => None,
    };
    let found = state
        .builds
        .resolve(&state.db, &state.secret, &spec, group.as_deref())
        .await;
    let latest = match found {
        Ok(resolved) => resolved.base.digest,
        Err(e) => {
            let why = e.to_string();
            base_updates::record_check(&state.db, image.id, Err(&why)).await?;
            return Ok(());
        }
    };
    base_updates::record_check(&state.db, image.id, Ok(&latest)).await?;
    let updated =
        crate::domain::base_update::is_updated(image.base_digest.as_deref(), Some(&latest));
    if !(updated && image.auto_rebuild != 0) {
        return Ok(());
    }
    if builds::active_of(&state.db, image.id).await?.is_some()
        || base_updates::built_on(&state.db, image.id, &latest).await?
    {
        return Ok(());
    }
    let build = queue_rebuild(
        state,
        AUTOMATIC.to_owned(),
        group.as_deref(),
        image,
        &spec,
        " (automatic: base image updated)",
    )
    .await?;
    tracing::info!(
        image = image.id,
        build = build.id,
        "base image updated: rebuild queued"
    );
    Ok(())
}

/// A built image of the caller's scope that they may build.
async fn built_image(call: &Call, group: Option<&str>, name: &str) -> OpResult<ImageRow> {
    let scope = call.scope(group, Action::BuildGroupImages).await?;
    let image = images::require(&call.state.db, scope, name).await?;
    if image.source != "build" {
        return Err(not_built(name));
    }
    Ok(image)
}

async fn live_build(state: &AppState, image: &ImageRow, name: &str) -> OpResult<BuildRow> {
    base_updates::live_build(&state.db, image)
        .await?
        .ok_or_else(|| {
            ApiError::Conflict(Said::coded(
                messages::IMAGE_NO_SUCCESSFUL_BUILD,
                &[("image", name)],
            ))
        })
}

fn not_built(name: &str) -> ApiError {
    ApiError::Conflict(Said::coded(messages::IMAGE_NOT_BUILT, &[("image", name)]))
}
