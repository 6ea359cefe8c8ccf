//! The signed-in user's launchable images, for the Launch page's picker.

use leptos::prelude::*;

use crate::domain::{Accelerator, LaunchableImage};
use crate::wire::ApiError;

#[server(endpoint = "my_launchable_images")]
pub async fn my_launchable_images(
    accelerator: Accelerator,
    include_not_ready: bool,
) -> Result<Vec<LaunchableImage>, ApiError> {
    use crate::ops::launch::{Whose, launchable};
    let answer = super::edge::run(|call| async move {
        launchable(&call, Whose::Me, accelerator, include_not_ready, None).await
    })
    .await?;
    Ok(answer.list.images.clone())
}
