//! Pieces shared by pages.

pub mod header;
pub mod log_view;
pub mod picker;
pub mod status;
