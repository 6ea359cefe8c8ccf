//! Server-only I/O: the database, accounts, sessions, identity and the audit log.

pub mod accounts;
pub mod audit;
pub mod builder;
pub mod builds;
pub mod counter;
pub mod credentials;
pub mod db;
pub mod demo;
pub mod error;
pub mod groups;
pub mod identity;
pub mod images;
pub mod launchable;
pub mod leader;
pub mod passwords;
pub mod secret;
pub mod sessions;
pub mod throttle;
pub mod tokens;
pub mod users;
pub mod versioned_cache;

pub use db::Db;
pub use error::{BackendError, Result};
pub use identity::AuthSettings;
pub use secret::SecretKey;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

/// Everything a request handler or server function needs, given to the router once.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub db: Db,
    pub auth: std::sync::Arc<AuthSettings>,
    pub secret: SecretKey,
    /// The build queue and its backend, or why builds are off.
    pub builds: std::sync::Arc<builder::Builds>,
    pub leptos_options: LeptosOptions,
}

/// Milliseconds since the Unix epoch: the one time format in the database.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// Random bytes from the operating system, hex-encoded.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("the operating system's random source failed");
    hex(&buf)
}

/// How a bearer secret (a session cookie, a service token) is stored: its SHA-256 in hex.
/// The secrets are 256 random bits, so a fast hash is enough.
pub fn secret_hash(secret: &str) -> String {
    use sha2::{Digest, Sha256};
    hex(&Sha256::digest(secret.as_bytes()))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
