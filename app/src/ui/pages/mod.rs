//! One page a file; each page's server functions live in `crate::api`.

pub mod audit;
pub mod credentials;
pub mod home;
pub mod images;
pub mod launch;
pub mod login;
pub mod tokens;
pub mod users;
