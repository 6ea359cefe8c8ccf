//! Pieces shared by pages.

pub mod header;
pub mod status;
