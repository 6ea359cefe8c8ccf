//! Rules that hold the same in the browser, on the server and in the CLI.

pub mod base_update;
pub mod build;
pub mod field;
pub mod image;
pub mod image_form;
pub mod image_ref;
pub mod launch;
pub mod lifecycle;
pub mod listing;
pub mod messages;
pub mod names;
#[cfg(feature = "ssr")]
pub mod packages;
pub mod policy;
pub mod role;
pub mod sbom;
pub mod size;
pub mod time;

pub use build::{BuildForm, BuildState};
pub use field::{FieldError, Message, Said};
pub use image::{DisplayName, ImageName, ImageType};
pub use image_form::{ImageForm, ValidImage};
pub use image_ref::ImageRef;
pub use launch::{Accelerator, LaunchableImage, Owner};
pub use lifecycle::{Deprecation, DeprecationForm, Standing, Successor};
pub use listing::{ListQuery, SortColumn};
pub use names::{GroupName, UserName};
pub use policy::{Action, Actor, Denied, Membership, Principal, ServiceToken, Target, TokenScope};
pub use role::Role;
