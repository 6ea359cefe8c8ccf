//! The signed-in user's launchable images, for the Launch page's picker.

use leptos::prelude::*;

use super::ApiError;
use crate::domain::{Accelerator, LaunchableImage};

#[server(endpoint = "my_launchable_images")]
pub async fn my_launchable_images(
    accelerator: Accelerator,
    include_not_ready: bool,
) -> Result<Vec<LaunchableImage>, ApiError> {
    use super::ops::launch::{Whose, launchable};
    let (state, actor) = super::context::caller().await?;
    let call = super::ops::Call::new(&state, &actor);
    let answer = launchable(call, Whose::Me, accelerator, include_not_ready, None)
        .await
        .map_err(super::error::respond)?;
    Ok(answer.list.images.clone())
}
