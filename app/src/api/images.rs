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
    let (state, actor) = super::context::caller().await?;
    let call = super::ops::Call::new(&state, &actor);
    super::ops::images::list(call, group.as_deref(), &query)
        .await
        .map_err(super::error::respond)
}

/// The pull secrets this scope may choose from, by name.
#[server(endpoint = "pull_secret_choices")]
pub async fn pull_secret_choices(group: Option<String>) -> Result<Vec<String>, ApiError> {
    let (state, actor) = super::context::caller().await?;
    let call = super::ops::Call::new(&state, &actor);
    super::ops::images::pull_secret_choices(call, group.as_deref())
        .await
        .map_err(super::error::respond)
}

#[server(endpoint = "create_image")]
pub async fn create_image(group: Option<String>, image: PostedImage) -> Result<(), ApiError> {
    let (state, actor) = super::context::caller().await?;
    let call = super::ops::Call::new(&state, &actor);
    super::ops::images::create(call, group.as_deref(), image.into())
        .await
        .map_err(super::error::respond)?;
    leptos_axum::redirect(&list_path(group.as_deref()));
    Ok(())
}

#[server(endpoint = "get_image")]
pub async fn get_image(group: Option<String>, name: String) -> Result<ImageDetail, ApiError> {
    let (state, actor) = super::context::caller().await?;
    let call = super::ops::Call::new(&state, &actor);
    let action = crate::domain::Action::ManageGroupImages;
    let record = super::ops::images::get(call, group.as_deref(), &name, action)
        .await
        .map_err(super::error::respond)?;
    Ok(ImageDetail {
        form: record.form(),
        name: record.row.name,
        version: record.row.version,
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
    let (state, actor) = super::context::caller().await?;
    let call = super::ops::Call::new(&state, &actor);
    let form = ImageForm::from(image);
    super::ops::images::update(call, group.as_deref(), &name, version, |_| form)
        .await
        .map_err(super::error::respond)?;
    leptos_axum::redirect(&list_path(group.as_deref()));
    Ok(())
}

#[server(endpoint = "delete_image")]
pub async fn delete_image(group: Option<String>, name: String) -> Result<(), ApiError> {
    let (state, actor) = super::context::caller().await?;
    let call = super::ops::Call::new(&state, &actor);
    super::ops::images::delete(call, group.as_deref(), &name)
        .await
        .map_err(super::error::respond)?;
    leptos_axum::redirect(&list_path(group.as_deref()));
    Ok(())
}
