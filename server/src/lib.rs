//! The `kiln` binary's parts: configuration, the HTTP router, the command line.

pub mod build_log;
pub mod cli;
pub mod config;
pub mod loopback;
pub mod origin;
pub mod rest;
pub mod router;
pub mod telemetry;

pub use router::router;
