//! The `kiln` binary's parts: configuration, the HTTP router, the command line.

pub mod assets;
pub mod cli;
pub mod config;
pub mod deadline;
pub mod limits;
pub mod listener;
pub mod metrics;
pub mod oidc;
pub mod origin;
pub mod request_id;
pub mod rest;
pub mod router;
pub mod telemetry;

pub use router::router;
