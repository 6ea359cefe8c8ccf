//! A launch list and the answer a launch page gets: what the launch cache of [`Db`] holds.
//!
//! [`Db`]: super::Db

use std::sync::Arc;

use serde::Serialize;

use crate::domain::{Accelerator, LaunchableImage};

/// A user's launchable images, as the API sends them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct LaunchList {
    pub user: String,
    pub accelerator: Accelerator,
    pub images: Vec<LaunchableImage>,
}

/// One answer: the list, and the same as JSON bytes.
#[derive(Debug, Clone)]
pub struct Answer {
    pub list: Arc<LaunchList>,
    pub json: bytes::Bytes,
    /// When an image in it retires (its retire date): the answer holds until then.
    pub expires_at: Option<i64>,
}

/// Which list: the user's name, the accelerator, and whether not-ready images are included.
pub type ListKey = (String, Accelerator, bool);

impl super::versioned_cache::Weigh for ListKey {
    fn weigh(&self) -> usize {
        std::mem::size_of::<Self>() + self.0.len()
    }
}

/// The JSON bytes, and the list they were made from (its strings take about as much again).
impl super::versioned_cache::Weigh for Answer {
    fn weigh(&self) -> usize {
        std::mem::size_of::<Self>() + 2 * self.json.len()
    }
}
