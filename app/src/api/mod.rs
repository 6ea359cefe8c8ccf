//! Server functions: the pages' adapters around `ops`. Each is a few lines: [`edge::run`]
//! resolves the caller, the operation does the work, and the result (or a redirect) goes
//! back to the page.

pub mod accounts;
pub mod audit;
pub mod builds;
pub mod credentials;
#[cfg(feature = "ssr")]
pub(crate) mod edge;
pub mod images;
pub mod language;
pub mod launch;
pub mod session;
pub mod tokens;

pub use crate::wire::ApiError;
