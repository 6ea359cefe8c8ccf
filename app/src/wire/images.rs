//! The image catalog as pages and the API receive it.

use serde::{Deserialize, Serialize};

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
    /// In use, deprecated or retired.
    pub standing: crate::domain::Standing,
    /// The compressed size of the build its URL names (built images only).
    pub compressed_size: Option<u64>,
    /// Built images: the base image's tag names a newer image than the live build's base.
    pub base_updated: bool,
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

/// An image's life as its Lifecycle page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleView {
    pub name: String,
    pub display_name: String,
    pub standing: crate::domain::Standing,
    /// The images that may succeed it: in use, of its group or global.
    pub successors: Vec<crate::domain::Successor>,
}
