//! Server functions of the image catalog: a group's images (`group` = its name) or, with
//! no group, the global images. Every call checks the policy against the stored group.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::ApiError;
use crate::domain::{ImageForm, ListQuery};

/// One row of the Images table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageSummary {
    pub name: String,
    pub display_name: String,
    pub description: String,
    pub image_type: String,
    /// Built by Kiln (it has Build Details).
    pub built: bool,
    /// Has a URL to launch: always for registered images, after a success for built ones.
    pub ready: bool,
    /// The newest build's state, for built images.
    pub build_state: Option<crate::domain::BuildState>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageList {
    pub items: Vec<ImageSummary>,
    pub total: i64,
    pub query: ListQuery,
}

/// An image as its edit form needs it: the fields, and the version being edited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageDetail {
    pub name: String,
    pub version: i64,
    pub form: ImageForm,
}

/// The form as a page posts it: checkboxes arrive as `Some("on")` or not at all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostedImage {
    pub display_name: String,
    #[serde(default)]
    pub description: String,
    pub image_type: String,
    pub url: String,
    #[serde(default)]
    pub use_gpu_url: Option<String>,
    #[serde(default)]
    pub gpu_url: Option<String>,
    #[serde(default)]
    pub use_pull_secret: Option<String>,
    #[serde(default)]
    pub pull_secret: Option<String>,
}

impl From<PostedImage> for ImageForm {
    fn from(p: PostedImage) -> ImageForm {
        ImageForm {
            display_name: p.display_name,
            description: p.description,
            image_type: p.image_type,
            url: p.url,
            use_gpu_url: p.use_gpu_url.is_some(),
            gpu_url: p.gpu_url.unwrap_or_default(),
            use_pull_secret: p.use_pull_secret.is_some(),
            pull_secret: p.pull_secret.unwrap_or_default(),
        }
    }
}

/// The list path of a scope, where forms return to.
pub fn list_path(group: Option<&str>) -> String {
    match group {
        Some(g) => format!("/groups/{g}/images"),
        None => "/admin/images".to_owned(),
    }
}

#[server(endpoint = "list_images")]
pub async fn list_images(group: Option<String>, query: ListQuery) -> Result<ImageList, ApiError> {
    use super::context::{fail, scope_for};
    use crate::backend::images;
    use crate::domain::Action;

    let (state, scope, _) = scope_for(group.as_deref(), Action::ViewGroupImages).await?;
    let page = images::list(&state.db, scope, &query).await.map_err(fail)?;
    let built: Vec<i64> = page
        .items
        .iter()
        .filter(|i| i.source == "build")
        .map(|i| i.id)
        .collect();
    let states = crate::backend::builds::latest_states(&state.db, &built)
        .await
        .map_err(fail)?;
    Ok(ImageList {
        items: page
            .items
            .into_iter()
            .map(|i| ImageSummary {
                build_state: states
                    .iter()
                    .find(|(image, _, _)| *image == i.id)
                    .and_then(|(_, _, s)| crate::domain::BuildState::parse(s)),
                built: i.source == "build",
                ready: !i.url.is_empty(),
                name: i.name,
                display_name: i.display_name,
                description: i.description,
                image_type: i.image_type,
            })
            .collect(),
        total: page.total,
        query,
    })
}

/// The pull secrets this scope may choose from, by name.
#[server(endpoint = "pull_secret_choices")]
pub async fn pull_secret_choices(group: Option<String>) -> Result<Vec<String>, ApiError> {
    use super::context::{fail, scope_for};
    use crate::backend::credentials;
    use crate::domain::Action;

    let (state, scope, _) = scope_for(group.as_deref(), Action::ManageGroupImages).await?;
    Ok(credentials::usable(&state.db, scope)
        .await
        .map_err(fail)?
        .into_iter()
        .map(|c| c.name)
        .collect())
}

#[server(endpoint = "create_image")]
pub async fn create_image(group: Option<String>, image: PostedImage) -> Result<(), ApiError> {
    use super::context::{fail, scope_for};
    use crate::backend::images;
    use crate::domain::Action;

    let (state, scope, actor) = scope_for(group.as_deref(), Action::ManageGroupImages).await?;
    let (valid, credential) = checked(&state, scope, image).await?;
    let created = images::create(&state.db, scope, &valid, credential)
        .await
        .map_err(fail)?;
    done(
        &state,
        &actor,
        "image.create",
        group.as_deref(),
        &created.name,
        valid.url.as_str(),
    )
    .await
}

#[server(endpoint = "get_image")]
pub async fn get_image(group: Option<String>, name: String) -> Result<ImageDetail, ApiError> {
    use super::context::{fail, scope_for};
    use crate::backend::{credentials, images};
    use crate::domain::Action;

    let (state, scope, _) = scope_for(group.as_deref(), Action::ManageGroupImages).await?;
    let image = images::require(&state.db, scope, &name)
        .await
        .map_err(fail)?;
    let pull_secret = match image.credential_id {
        Some(id) => credentials::list(&state.db)
            .await
            .map_err(fail)?
            .into_iter()
            .find(|c| c.id == id)
            .map(|c| c.name),
        None => None,
    };
    Ok(ImageDetail {
        form: ImageForm {
            use_gpu_url: image.gpu_url != image.url,
            gpu_url: if image.gpu_url != image.url {
                image.gpu_url
            } else {
                String::new()
            },
            display_name: image.display_name,
            description: image.description,
            image_type: image.image_type,
            url: image.url,
            use_pull_secret: pull_secret.is_some(),
            pull_secret: pull_secret.unwrap_or_default(),
        },
        name: image.name,
        version: image.version,
    })
}

/// Saves an edit made on the copy read at `version`; refused if the image changed since.
#[server(endpoint = "update_image")]
pub async fn update_image(
    group: Option<String>,
    name: String,
    version: i64,
    image: PostedImage,
) -> Result<(), ApiError> {
    use super::context::{fail, scope_for};
    use crate::backend::images;
    use crate::domain::Action;

    let (state, scope, actor) = scope_for(group.as_deref(), Action::ManageGroupImages).await?;
    let stored = images::require(&state.db, scope, &name)
        .await
        .map_err(fail)?;
    let mut image = image;
    if stored.source == "build" {
        // A built image's URL is its last successful build's; only Rebuild changes it.
        if stored.url.is_empty() {
            return Err(super::error::respond(ApiError::Conflict(format!(
                "Image {name} has no successful build yet; see its Build Details, or Rebuild."
            ))));
        }
        image.url = stored.url.clone();
        image.use_gpu_url = None;
    }
    let (valid, credential) = checked(&state, scope, image).await?;
    images::update(&state.db, &stored, version, &valid, credential)
        .await
        .map_err(fail)?;
    done(
        &state,
        &actor,
        "image.update",
        group.as_deref(),
        &stored.name,
        valid.url.as_str(),
    )
    .await
}

#[server(endpoint = "delete_image")]
pub async fn delete_image(group: Option<String>, name: String) -> Result<(), ApiError> {
    use super::context::{fail, scope_for};
    use crate::backend::images;
    use crate::domain::Action;

    let (state, scope, actor) = scope_for(group.as_deref(), Action::ManageGroupImages).await?;
    let stored = images::require(&state.db, scope, &name)
        .await
        .map_err(fail)?;
    images::delete(&state.db, stored.id).await.map_err(fail)?;
    done(
        &state,
        &actor,
        "image.delete",
        group.as_deref(),
        &stored.name,
        &stored.url,
    )
    .await
}

/// The posted form, validated by the same rules the browser runs, with its pull secret
/// resolved among those the scope may use.
#[cfg(feature = "ssr")]
async fn checked(
    state: &crate::backend::AppState,
    scope: crate::backend::images::Scope,
    image: PostedImage,
) -> Result<(crate::domain::ValidImage, Option<i64>), ApiError> {
    use super::context::{fail, first_error};
    let valid = ImageForm::from(image).validate().map_err(first_error)?;
    let credential =
        crate::backend::credentials::resolve_usable(&state.db, scope, valid.pull_secret.as_deref())
            .await
            .map_err(fail)?;
    Ok((valid, credential))
}

/// After a change: the audit entry, then back to the list.
#[cfg(feature = "ssr")]
async fn done(
    state: &crate::backend::AppState,
    actor: &str,
    action: &str,
    group: Option<&str>,
    image: &str,
    detail: &str,
) -> Result<(), ApiError> {
    crate::backend::audit::record(
        &state.db,
        actor,
        action,
        &super::context::image_audit_target(group, image),
        detail,
    )
    .await
    .map_err(super::context::fail)?;
    leptos_axum::redirect(&list_path(group));
    Ok(())
}
