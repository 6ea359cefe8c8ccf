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

/// One build, as the details page shows it (and the API, with its image and group).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BuildView {
    pub id: i64,
    /// 1 for the image's first build, then counting up.
    pub revision: i64,
    pub state: BuildState,
    /// Why it failed: `base-image`, `package-not-found`, `no-apt`, `timeout`, ...
    pub reason: String,
    pub message: String,
    pub step: i64,
    pub steps: i64,
    /// The image it pushes (or pushed).
    pub target: String,
    /// The same spec was built before; its image was used again.
    pub reused: bool,
    pub created_by: String,
    /// Milliseconds since the Unix epoch.
    pub queued_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    /// Builds ahead of this one in the queue, while it waits.
    pub queue_position: Option<i64>,
    /// What got installed, as recorded by the build.
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
    /// Images to offer as base images (not-ready ones disabled).
    pub bases: Vec<crate::domain::LaunchableImage>,
    /// Why builds cannot start here, when they cannot.
    pub builds_disabled: Option<String>,
}

/// Lines of log the page shows before the live view takes over.
pub const TAIL_LINES: i64 = 500;

/// Where an image's build details live.
pub fn builds_path(group: Option<&str>, name: &str) -> String {
    format!("{}/{name}/builds", super::images::list_path(group))
}

/// Checks a build spec as the user types: the base image's grammar, the pull secret and
/// every package line, by the same parsers as Create and Rebuild (no registry is asked).
#[server(endpoint = "check_build_spec")]
pub async fn check_build_spec(
    group: Option<String>,
    build: PostedBuild,
) -> Result<Vec<crate::domain::FieldError>, ApiError> {
    let (state, actor) = super::context::caller().await?;
    let call = super::ops::Call::new(&state, &actor);
    super::ops::builds::check_spec(call, group.as_deref(), build.into())
        .await
        .map_err(super::error::respond)
}

/// Ready images this scope can build on: the base image suggestions.
#[server(endpoint = "base_image_choices")]
pub async fn base_image_choices(
    group: Option<String>,
) -> Result<Vec<crate::domain::LaunchableImage>, ApiError> {
    let (state, actor) = super::context::caller().await?;
    let call = super::ops::Call::new(&state, &actor);
    super::ops::builds::base_choices(call, group.as_deref())
        .await
        .map_err(super::error::respond)
}

/// The newest build's state of an image, and whether the image is ready: what the Images
/// table's marker follows while a build runs.
#[server(endpoint = "image_build_state")]
pub async fn image_build_state(
    group: Option<String>,
    name: String,
) -> Result<(Option<BuildState>, bool), ApiError> {
    let (state, actor) = super::context::caller().await?;
    let call = super::ops::Call::new(&state, &actor);
    super::ops::builds::image_build_state(call, group.as_deref(), &name)
        .await
        .map_err(super::error::respond)
}

/// Whether builds can start here, and if not, why (for the New Image page).
#[server(endpoint = "builds_status")]
pub async fn builds_status() -> Result<Option<String>, ApiError> {
    let (state, actor) = super::context::caller().await?;
    // Only for people signed in: the reason names the server's configuration.
    if !matches!(actor, crate::domain::Actor::User(_)) {
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
    let (state, actor) = super::context::caller().await?;
    let call = super::ops::Call::new(&state, &actor);
    let (image, _) = super::ops::builds::create_custom(call, group.as_deref(), build.into())
        .await
        .map_err(super::error::respond)?;
    leptos_axum::redirect(&builds_path(group.as_deref(), &image.row.name));
    Ok(())
}

/// Starts a new build of an image from an edited spec (Rebuild); the image keeps its URL
/// until this build succeeds.
#[server(endpoint = "rebuild_image")]
pub async fn rebuild_image(
    group: Option<String>,
    name: String,
    build: PostedBuild,
) -> Result<(), ApiError> {
    let (state, actor) = super::context::caller().await?;
    let call = super::ops::Call::new(&state, &actor);
    super::ops::builds::rebuild(call, group.as_deref(), &name, build.into())
        .await
        .map_err(super::error::respond)?;
    leptos_axum::redirect(&builds_path(group.as_deref(), &name));
    Ok(())
}

/// Cancels a build of the image; its log so far is kept.
#[server(endpoint = "cancel_build")]
pub async fn cancel_build(group: Option<String>, name: String, build: i64) -> Result<(), ApiError> {
    let (state, actor) = super::context::caller().await?;
    let call = super::ops::Call::new(&state, &actor);
    super::ops::builds::cancel_of_image(call, group.as_deref(), &name, build)
        .await
        .map_err(super::error::respond)?;
    leptos_axum::redirect(&builds_path(group.as_deref(), &name));
    Ok(())
}

/// An image's build details, history and the end of the newest log.
#[server(endpoint = "build_details")]
pub async fn build_details(group: Option<String>, name: String) -> Result<BuildsPage, ApiError> {
    let (state, actor) = super::context::caller().await?;
    let call = super::ops::Call::new(&state, &actor);
    super::ops::builds::details(call, group.as_deref(), &name)
        .await
        .map_err(super::error::respond)
}

/// The last `n` lines of `text`.
pub fn last_lines(text: &str, n: usize) -> &str {
    let body = text.trim_end_matches('\n');
    match body.rmatch_indices('\n').nth(n.saturating_sub(1)) {
        Some((i, _)) => &text[i + 1..],
        None => text,
    }
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
