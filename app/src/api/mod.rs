//! Server functions: who is asking, may they (the policy), call the backend, map the error.

pub mod builds;
pub mod credentials;
pub mod error;
pub mod images;
pub mod launch;
pub mod session;
pub mod tokens;

#[cfg(feature = "ssr")]
pub(crate) mod context;
#[cfg(feature = "ssr")]
pub mod ops;

pub use error::ApiError;
