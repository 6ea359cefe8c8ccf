//! One page a file; each page's server functions live in `crate::api`.

pub mod group_images;
pub mod home;
pub mod login;
