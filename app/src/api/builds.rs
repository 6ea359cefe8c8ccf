//! Server functions of custom images: create one (its first build), its build details and
//! history, cancel, rebuild. Permissions are checked against the image's stored group.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::ApiError;
use crate::domain::{BuildForm, BuildState};

/// The build form as a page posts it: checkboxes arrive as `Some("on")` or not at all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostedBuild {
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub image_type: String,
    pub base_image: String,
    #[serde(default)]
    pub use_pull_secret: Option<String>,
    #[serde(default)]
    pub pull_secret: Option<String>,
    #[serde(default)]
    pub apt: String,
    #[serde(default)]
    pub conda: String,
    #[serde(default)]
    pub pip: String,
}

impl From<PostedBuild> for BuildForm {
    fn from(p: PostedBuild) -> BuildForm {
        BuildForm {
            display_name: p.display_name,
            description: p.description,
            image_type: p.image_type,
            base_image: p.base_image,
            use_pull_secret: p.use_pull_secret.is_some(),
            pull_secret: p.pull_secret.unwrap_or_default(),
            apt: p.apt,
            conda: p.conda,
            pip: p.pip,
        }
    }
}

/// One build, as the details page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildView {
    pub id: i64,
    pub revision: i64,
    pub state: BuildState,
    pub reason: String,
    pub message: String,
    pub step: i64,
    pub steps: i64,
    pub target: String,
    pub reused: bool,
    pub created_by: String,
    pub queued_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    /// Builds ahead of this one in the queue, while it waits.
    pub queue_position: Option<i64>,
    pub installed: String,
}

/// The Build Details page of an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildsPage {
    pub name: String,
    pub display_name: String,
    pub image_type: String,
    /// The image's URL now: the last successful build's, or '' before the first.
    pub url: String,
    /// Newest first.
    pub builds: Vec<BuildView>,
    /// The end of the newest build's log, and the number of its last chunk.
    pub log_tail: String,
    pub log_seq: i64,
    /// The newest build's spec, to edit for Rebuild.
    pub rebuild: BuildForm,
    pub pull_secrets: Vec<String>,
    /// Ready images to suggest as base images.
    pub bases: Vec<BaseChoice>,
    /// Why builds cannot start here, when they cannot.
    pub builds_disabled: Option<String>,
}

/// Lines of log the page shows before the live view takes over.
pub const TAIL_LINES: i64 = 500;

/// Where an image's build details live.
pub fn builds_path(group: Option<&str>, name: &str) -> String {
    format!("{}/{name}/builds", super::images::list_path(group))
}

/// A ready image offered as a base image: picking it also picks its pull secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaseChoice {
    pub label: String,
    pub url: String,
    pub pull_secret: Option<String>,
}

/// Checks a build spec as the user types: the base image's grammar, the pull secret and
/// every package line, by the same parsers as Create and Rebuild (no registry is asked).
#[server(endpoint = "check_build_spec")]
pub async fn check_build_spec(
    group: Option<String>,
    build: PostedBuild,
) -> Result<Vec<crate::domain::FieldError>, ApiError> {
    use super::context::scope_for;
    scope_for(group.as_deref(), crate::domain::Action::BuildGroupImages).await?;
    Ok(BuildForm::from(build)
        .validate_spec()
        .err()
        .unwrap_or_default())
}

/// Ready images this scope can build on: the base image suggestions.
#[server(endpoint = "base_image_choices")]
pub async fn base_image_choices(group: Option<String>) -> Result<Vec<BaseChoice>, ApiError> {
    let (state, scope, _) =
        super::context::scope_for(group.as_deref(), crate::domain::Action::BuildGroupImages)
            .await?;
    base_choices(&state, scope).await
}

/// The newest build's state of an image, and whether the image is ready: what the Images
/// table's marker follows while a build runs.
#[server(endpoint = "image_build_state")]
pub async fn image_build_state(
    group: Option<String>,
    name: String,
) -> Result<(Option<BuildState>, bool), ApiError> {
    use super::context::{fail, scope_for};
    use crate::backend::{builds, images};
    let (state, scope, _) =
        scope_for(group.as_deref(), crate::domain::Action::ViewGroupImages).await?;
    let image = images::require(&state.db, scope, &name)
        .await
        .map_err(fail)?;
    let latest = builds::latest_states(&state.db, &[image.id])
        .await
        .map_err(fail)?;
    let build_state = latest.first().and_then(|(_, _, s)| BuildState::parse(s));
    Ok((build_state, !image.url.is_empty()))
}

/// The ready images of a scope as base image suggestions.
#[cfg(feature = "ssr")]
async fn base_choices(
    state: &crate::backend::AppState,
    scope: crate::backend::images::Scope,
) -> Result<Vec<BaseChoice>, ApiError> {
    Ok(crate::backend::images::ready_bases(&state.db, scope)
        .await
        .map_err(super::context::fail)?
        .into_iter()
        .map(|(label, url, pull_secret)| BaseChoice {
            label,
            url,
            pull_secret,
        })
        .collect())
}

/// Whether builds can start here, and if not, why (for the New Image page).
#[server(endpoint = "builds_status")]
pub async fn builds_status() -> Result<Option<String>, ApiError> {
    let state = super::context::state();
    // Only for people signed in: the reason names the server's configuration.
    if !matches!(
        super::context::actor(&state).await?,
        crate::domain::Actor::User(_)
    ) {
        return Err(super::error::respond(ApiError::Unauthenticated));
    }
    Ok((!state.builds.enabled()).then(|| state.builds.disabled_reason.clone()))
}

/// Creates a custom image and starts its first build; then shows its build details.
#[server(endpoint = "create_custom_image")]
pub async fn create_custom_image(
    group: Option<String>,
    build: PostedBuild,
) -> Result<(), ApiError> {
    use super::context::{fail, first_error, scope_for};
    use crate::backend::images;
    use crate::domain::Action;

    let (state, scope, actor) = scope_for(group.as_deref(), Action::BuildGroupImages).await?;
    let valid = BuildForm::from(build).validate().map_err(first_error)?;
    let credential = usable_secret(&state, scope, valid.spec.pull_secret.as_deref()).await?;
    // The base image must resolve before anything is written.
    let resolved = state
        .builds
        .resolve(&state.db, &state.secret, &valid.spec)
        .await
        .map_err(fail)?;
    let image = images::create_built(&state.db, scope, &valid, credential)
        .await
        .map_err(fail)?;
    let started = (&valid.spec, &resolved);
    start(
        &state,
        group.as_deref(),
        &image,
        started,
        &actor,
        "image.create",
    )
    .await
}

/// Starts a new build of an image from an edited spec (Rebuild); the image keeps its URL
/// until this build succeeds.
#[server(endpoint = "rebuild_image")]
pub async fn rebuild_image(
    group: Option<String>,
    name: String,
    build: PostedBuild,
) -> Result<(), ApiError> {
    use super::context::{fail, first_error, scope_for};
    use crate::backend::images;

    let (state, scope, actor) =
        scope_for(group.as_deref(), crate::domain::Action::BuildGroupImages).await?;
    let image = images::require(&state.db, scope, &name)
        .await
        .map_err(fail)?;
    if image.source != "build" {
        return Err(super::error::respond(ApiError::Conflict(format!(
            "Image {name} was registered by its URL, not built by Kiln; edit it instead."
        ))));
    }
    let spec = BuildForm::from(build)
        .validate_spec()
        .map_err(first_error)?;
    usable_secret(&state, scope, spec.pull_secret.as_deref()).await?;
    let resolved = state
        .builds
        .resolve(&state.db, &state.secret, &spec)
        .await
        .map_err(fail)?;
    start(
        &state,
        group.as_deref(),
        &image,
        (&spec, &resolved),
        &actor,
        "build.rebuild",
    )
    .await
}

/// Cancels a build of the image; its log so far is kept.
#[server(endpoint = "cancel_build")]
pub async fn cancel_build(group: Option<String>, name: String, build: i64) -> Result<(), ApiError> {
    use super::context::{fail, scope_for};
    use crate::backend::{audit, builds, images};

    let (state, scope, actor) =
        scope_for(group.as_deref(), crate::domain::Action::BuildGroupImages).await?;
    let image = images::require(&state.db, scope, &name)
        .await
        .map_err(fail)?;
    let stored = builds::get(&state.db, build).await.map_err(fail)?;
    // The build must be this image's: its id alone grants nothing.
    if stored.image_id != image.id {
        return Err(super::error::respond(ApiError::NotFound(format!(
            "Image {name} has no build {build}."
        ))));
    }
    if !state
        .builds
        .cancel(&state.db, &stored)
        .await
        .map_err(fail)?
    {
        return Err(super::error::respond(ApiError::Conflict(format!(
            "Build {} of {name} has already ended.",
            stored.revision
        ))));
    }
    audit::record(
        &state.db,
        &actor,
        "build.cancel",
        &super::context::image_audit_target(group.as_deref(), &name),
        &format!("build {build}"),
    )
    .await
    .map_err(fail)?;
    leptos_axum::redirect(&builds_path(group.as_deref(), &name));
    Ok(())
}

/// An image's build details, history and the end of the newest log.
#[server(endpoint = "build_details")]
pub async fn build_details(group: Option<String>, name: String) -> Result<BuildsPage, ApiError> {
    use super::context::{fail, scope_for};
    use crate::backend::{builds, credentials, images};

    let (state, scope, _) =
        scope_for(group.as_deref(), crate::domain::Action::BuildGroupImages).await?;
    let image = images::require(&state.db, scope, &name)
        .await
        .map_err(fail)?;
    let rows = builds::history(&state.db, image.id).await.map_err(fail)?;
    // One read of the queue gives every queued build's position.
    let queue = match rows.iter().any(|r| r.state() == BuildState::Queued) {
        true => builds::queue(&state.db).await.map_err(fail)?,
        false => Vec::new(),
    };
    let views = rows
        .iter()
        .map(|row| {
            view(
                row,
                queue.iter().position(|id| *id == row.id).map(|p| p as i64),
            )
        })
        .collect();
    let (log_tail, log_seq) = match rows.first() {
        Some(newest) => {
            let chunks = builds::log_tail(&state.db, newest.id, TAIL_LINES)
                .await
                .map_err(fail)?;
            let seq = chunks.last().map_or(0, |(seq, _)| *seq);
            let text: String = chunks.into_iter().map(|(_, text)| text).collect();
            (last_lines(&text, TAIL_LINES as usize).to_owned(), seq)
        }
        None => (String::new(), 0),
    };
    let rebuild = match rows.first() {
        Some(newest) => newest.spec().map_err(fail)?.to_form(),
        None => BuildForm::default(),
    };
    let pull_secrets = credentials::usable(&state.db, scope)
        .await
        .map_err(fail)?
        .into_iter()
        .map(|c| c.name)
        .collect();
    Ok(BuildsPage {
        name: image.name,
        display_name: image.display_name,
        image_type: image.image_type,
        url: image.url,
        builds: views,
        log_tail,
        log_seq,
        rebuild,
        pull_secrets,
        bases: base_choices(&state, scope).await?,
        builds_disabled: (!state.builds.enabled()).then(|| state.builds.disabled_reason.clone()),
    })
}

#[cfg(feature = "ssr")]
fn view(row: &crate::backend::builds::BuildRow, queue_position: Option<i64>) -> BuildView {
    BuildView {
        id: row.id,
        revision: row.revision,
        state: row.state(),
        reason: row.reason.clone(),
        message: row.message.clone(),
        step: row.step,
        steps: row.steps,
        target: row.target.clone(),
        reused: row.reused != 0,
        created_by: row.created_by.clone(),
        queued_at: row.queued_at,
        started_at: row.started_at,
        finished_at: row.finished_at,
        queue_position,
        installed: row.installed.clone(),
    }
}

/// The last `n` lines of `text`.
pub fn last_lines(text: &str, n: usize) -> &str {
    let body = text.trim_end_matches('\n');
    match body.rmatch_indices('\n').nth(n.saturating_sub(1)) {
        Some((i, _)) => &text[i + 1..],
        None => text,
    }
}

/// The pull secret a spec names must be one this scope may use.
#[cfg(feature = "ssr")]
async fn usable_secret(
    state: &crate::backend::AppState,
    scope: crate::backend::images::Scope,
    name: Option<&str>,
) -> Result<Option<i64>, ApiError> {
    crate::backend::credentials::resolve_usable(&state.db, scope, name)
        .await
        .map_err(super::context::fail)
}

/// Queues the build of a resolved spec, writes the audit entry and sends the browser to
/// the build details.
#[cfg(feature = "ssr")]
async fn start(
    state: &crate::backend::AppState,
    group: Option<&str>,
    image: &crate::backend::images::ImageRow,
    (spec, resolved): (
        &crate::domain::build::BuildSpec,
        &crate::backend::builder::Resolved,
    ),
    actor: &str,
    action: &str,
) -> Result<(), ApiError> {
    use super::context::fail;
    use crate::backend::builder::BuildRequest;
    use crate::backend::images::Scope;
    let request = BuildRequest {
        image_id: image.id,
        scope: image.group_id.map_or(Scope::Global, Scope::Group),
        owner: group,
        image_name: &image.name,
        image_type: &image.image_type,
        spec,
        user: actor,
    };
    let build = state
        .builds
        .queue(&state.db, &request, resolved)
        .await
        .map_err(fail)?;
    crate::backend::audit::record(
        &state.db,
        actor,
        action,
        &super::context::image_audit_target(group, &image.name),
        &format!("build {} of {}", build.revision, spec.base_image.as_str()),
    )
    .await
    .map_err(fail)?;
    leptos_axum::redirect(&builds_path(group, &image.name));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::last_lines;

    #[test]
    fn last_lines_keeps_the_end() {
        assert_eq!(last_lines("a\nb\nc\n", 2), "b\nc\n");
        assert_eq!(last_lines("a\nb\nc\n", 5), "a\nb\nc\n");
        assert_eq!(last_lines("a\nb\nc", 1), "c");
        assert_eq!(last_lines("", 3), "");
    }
}
