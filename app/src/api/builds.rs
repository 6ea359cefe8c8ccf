//! Server functions of custom images: create one (its first build), its build details and
//! history, cancel, rebuild. Permissions are checked against the image's stored group.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::edge::run;
use crate::domain::{BuildForm, BuildState};
use crate::wire::ApiError;
use crate::wire::builds::BuildsPage;

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

/// Where an image's build details live.
pub fn builds_path(group: Option<&str>, name: &str) -> String {
    format!("{}/{name}/builds", crate::api::images::list_path(group))
}

/// Checks a build spec as the user types: the base image's grammar, the pull secret and
/// every package line, by the same parsers as Create and Rebuild (no registry is asked).
#[server(endpoint = "check_build_spec")]
pub async fn check_build_spec(
    group: Option<String>,
    build: PostedBuild,
) -> Result<Vec<crate::domain::FieldError>, ApiError> {
    use crate::ops::builds::check_spec;
    run(|call| async move { check_spec(&call, group.as_deref(), build.into()).await }).await
}

/// Ready images this scope can build on: the base image suggestions.
#[server(endpoint = "base_image_choices")]
pub async fn base_image_choices(
    group: Option<String>,
) -> Result<Vec<crate::domain::LaunchableImage>, ApiError> {
    use crate::ops::builds::base_choices;
    run(|call| async move { base_choices(&call, group.as_deref()).await }).await
}

/// The newest build's state of an image, and whether the image is ready: what the Images
/// table's marker follows while a build runs.
#[server(endpoint = "image_build_state")]
pub async fn image_build_state(
    group: Option<String>,
    name: String,
) -> Result<(Option<BuildState>, bool), ApiError> {
    use crate::ops::builds::image_build_state;
    run(|call| async move { image_build_state(&call, group.as_deref(), &name).await }).await
}

/// Whether builds can start here, and if not, why (for the New Image page).
#[server(endpoint = "builds_status")]
pub async fn builds_status() -> Result<Option<String>, ApiError> {
    run(|call| async move { crate::ops::builds::status(&call) }).await
}

/// Creates a custom image and starts its first build; then shows its build details.
#[server(endpoint = "create_custom_image")]
pub async fn create_custom_image(
    group: Option<String>,
    build: PostedBuild,
) -> Result<(), ApiError> {
    use crate::ops::builds::create_custom;
    let scope = group.clone();
    let (image, _) =
        run(|call| async move { create_custom(&call, group.as_deref(), build.into()).await })
            .await?;
    leptos_axum::redirect(&builds_path(scope.as_deref(), &image.row.name));
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
    use crate::ops::builds::rebuild;
    let path = builds_path(group.as_deref(), &name);
    run(|call| async move { rebuild(&call, group.as_deref(), &name, build.into()).await }).await?;
    leptos_axum::redirect(&path);
    Ok(())
}

/// Cancels a build of the image; its log so far is kept.
#[server(endpoint = "cancel_build")]
pub async fn cancel_build(group: Option<String>, name: String, build: i64) -> Result<(), ApiError> {
    use crate::ops::builds::cancel_of_image;
    let path = builds_path(group.as_deref(), &name);
    run(|call| async move { cancel_of_image(&call, group.as_deref(), &name, build).await }).await?;
    leptos_axum::redirect(&path);
    Ok(())
}

/// Asks now whether the tag of the image's base image names a newer image (and queues the
/// automatic rebuild when the image asks for it).
#[server(endpoint = "check_base_image")]
pub async fn check_base_image(group: Option<String>, name: String) -> Result<(), ApiError> {
    use crate::ops::base_updates::check_now;
    let path = builds_path(group.as_deref(), &name);
    run(|call| async move { check_now(&call, group.as_deref(), &name).await.map(drop) }).await?;
    leptos_axum::redirect(&path);
    Ok(())
}

/// Rebuilds the image from its live build's spec on what its base image's tag names now.
#[server(endpoint = "rebuild_on_new_base")]
pub async fn rebuild_on_new_base(group: Option<String>, name: String) -> Result<(), ApiError> {
    use crate::ops::base_updates::rebuild;
    let path = builds_path(group.as_deref(), &name);
    run(|call| async move { rebuild(&call, group.as_deref(), &name).await.map(drop) }).await?;
    leptos_axum::redirect(&path);
    Ok(())
}

/// Turns "rebuild automatically when the base image changes" on (`enabled` present, as a
/// checked box posts it) or off.
#[server(endpoint = "set_auto_rebuild")]
pub async fn set_auto_rebuild(
    group: Option<String>,
    name: String,
    enabled: Option<String>,
) -> Result<(), ApiError> {
    use crate::ops::base_updates::set_auto_rebuild;
    let path = builds_path(group.as_deref(), &name);
    let on = enabled.is_some();
    run(|call| async move {
        set_auto_rebuild(&call, group.as_deref(), &name, on)
            .await
            .map(drop)
    })
    .await?;
    leptos_axum::redirect(&path);
    Ok(())
}

/// An image's build details, history and the end of the newest log.
#[server(endpoint = "build_details")]
pub async fn build_details(group: Option<String>, name: String) -> Result<BuildsPage, ApiError> {
    use crate::ops::builds::details;
    run(|call| async move { details(&call, group.as_deref(), &name).await }).await
}
