//! Server functions of the image catalog: a group's images (`group` = its name) or, with
//! no group, the global images. Every call checks the policy against the stored group.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::edge::run;
use crate::domain::{ImageForm, ListQuery};
use crate::wire::ApiError;
use crate::wire::images::{ImageDetail, ImageList, LifecycleView};

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
    use crate::ops::images::list;
    run(|call| async move { list(&call, group.as_deref(), &query).await }).await
}

/// The pull secrets this scope may choose from, by name.
#[server(endpoint = "pull_secret_choices")]
pub async fn pull_secret_choices(group: Option<String>) -> Result<Vec<String>, ApiError> {
    use crate::ops::images::pull_secret_choices;
    run(|call| async move { pull_secret_choices(&call, group.as_deref()).await }).await
}

#[server(endpoint = "create_image")]
pub async fn create_image(group: Option<String>, image: PostedImage) -> Result<(), ApiError> {
    use crate::ops::images::create;
    let path = list_path(group.as_deref());
    run(|call| async move { create(&call, group.as_deref(), image.into()).await }).await?;
    leptos_axum::redirect(&path);
    Ok(())
}

#[server(endpoint = "get_image")]
pub async fn get_image(group: Option<String>, name: String) -> Result<ImageDetail, ApiError> {
    use crate::ops::images::get;
    let action = crate::domain::Action::ManageGroupImages;
    let record =
        run(|call| async move { get(&call, group.as_deref(), &name, action).await }).await?;
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
    use crate::ops::images::update;
    let path = list_path(group.as_deref());
    let form = ImageForm::from(image);
    run(|call| async move { update(&call, group.as_deref(), &name, version, |_| form).await })
        .await?;
    leptos_axum::redirect(&path);
    Ok(())
}

#[server(endpoint = "delete_image")]
pub async fn delete_image(group: Option<String>, name: String) -> Result<(), ApiError> {
    use crate::ops::images::delete;
    let path = list_path(group.as_deref());
    run(|call| async move { delete(&call, group.as_deref(), &name).await }).await?;
    leptos_axum::redirect(&path);
    Ok(())
}

/// An image's standing and the images that may succeed it.
#[server(endpoint = "image_lifecycle")]
pub async fn image_lifecycle(
    group: Option<String>,
    name: String,
) -> Result<LifecycleView, ApiError> {
    use crate::ops::images::{get, successor_choices};
    let action = crate::domain::Action::ManageGroupImages;
    run(|call| async move {
        let record = get(&call, group.as_deref(), &name, action).await?;
        let successors = successor_choices(&call, group.as_deref(), &name).await?;
        Ok(LifecycleView {
            name: record.row.name,
            display_name: record.row.display_name,
            standing: record.standing,
            successors,
        })
    })
    .await
}

/// Deprecates an image (or changes its deprecation), back to the list when done.
#[server(endpoint = "deprecate_image")]
pub async fn deprecate_image(
    group: Option<String>,
    name: String,
    successor: String,
    retire_on: String,
) -> Result<(), ApiError> {
    use crate::ops::images::deprecate;
    let path = list_path(group.as_deref());
    let form = crate::domain::DeprecationForm {
        successor,
        retire_on,
    };
    run(|call| async move { deprecate(&call, group.as_deref(), &name, form).await }).await?;
    leptos_axum::redirect(&path);
    Ok(())
}

/// Takes an image out of launch lists now.
#[server(endpoint = "retire_image")]
pub async fn retire_image(group: Option<String>, name: String) -> Result<(), ApiError> {
    use crate::ops::images::retire;
    let path = list_path(group.as_deref());
    run(|call| async move { retire(&call, group.as_deref(), &name).await }).await?;
    leptos_axum::redirect(&path);
    Ok(())
}

/// Offers a deprecated or retired image as before.
#[server(endpoint = "restore_image")]
pub async fn restore_image(group: Option<String>, name: String) -> Result<(), ApiError> {
    use crate::ops::images::restore;
    let path = list_path(group.as_deref());
    run(|call| async move { restore(&call, group.as_deref(), &name).await }).await?;
    leptos_axum::redirect(&path);
    Ok(())
}
