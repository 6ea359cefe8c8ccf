//! Server-only I/O: the database, accounts, sessions, identity, the audit log and the
//! builders. Nothing here checks permissions or speaks to people: that is `ops`.

pub mod audit;
pub mod base_updates;
pub mod builder;
pub mod builds;
pub mod counter;
pub mod credentials;
pub mod db;
pub mod error;
pub mod fixtures;
pub mod groups;
pub mod identity;
pub mod images;
pub mod launch_list;
pub mod launchable;
pub mod leader;
pub mod metrics;
pub mod oidc;
pub mod passwords;
pub mod secret;
pub mod sessions;
pub mod throttle;
pub mod token_cache;
pub mod tokens;
pub mod users;
pub mod versioned_cache;

pub use db::Db;
pub use error::{BackendError, Result};
pub use identity::AuthSettings;
pub use secret::SecretKey;

use std::sync::Arc;

use axum::extract::FromRef;
use builder::BuildQueue;
use leptos::config::LeptosOptions;

/// Everything an operation needs, given to the router (or the command line) once. One
/// pointer: axum clones the state for every request, so a clone is one atomic increment.
#[derive(Clone)]
pub struct AppState(Arc<StateFields>);

/// What an [`AppState`] holds; read through it (`state.db`).
#[derive(Clone)]
pub struct StateFields {
    pub db: Db,
    pub auth: Arc<AuthSettings>,
    pub secret: SecretKey,
    /// The build queue and its backend, or why builds are off.
    pub builds: Arc<BuildQueue>,
    pub leptos_options: LeptosOptions,
    /// What this process counts for `/metrics`.
    pub metrics: Arc<metrics::Metrics>,
    /// Fires when the process begins to stop: long answers (live log streams) end then,
    /// so that stopping does not wait for them; their viewers resume on another replica.
    pub stopping: tokio_util::sync::CancellationToken,
}

impl std::ops::Deref for AppState {
    type Target = StateFields;

    fn deref(&self) -> &StateFields {
        &self.0
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

impl AppState {
    /// The one constructor, for `kiln serve`, the command line, the tests and the
    /// benchmarks: local accounts and the pages of `target/site` unless told otherwise.
    pub fn new(db: Db, secret: SecretKey, builds: Arc<BuildQueue>) -> AppState {
        let metrics = metrics::Metrics::default();
        metrics.watch_launch_cache(db.launches.hits.clone(), db.launches.misses.clone());
        metrics.watch_builds(builds.queue_wait.clone(), builds.build_duration.clone());
        AppState(Arc::new(StateFields {
            metrics: Arc::new(metrics),
            stopping: Default::default(),
            db,
            auth: Arc::new(AuthSettings::local()),
            secret,
            builds,
            leptos_options: LeptosOptions::builder()
                .output_name("kiln")
                .site_root("target/site")
                .build(),
        }))
    }

    /// This state with `change` made to a copy of its fields (set-up only: the router's
    /// requests share one).
    pub fn with(&self, change: impl FnOnce(&mut StateFields)) -> AppState {
        let mut fields = (*self.0).clone();
        change(&mut fields);
        AppState(Arc::new(fields))
    }

    pub fn with_auth(self, auth: AuthSettings) -> AppState {
        self.with(|fields| fields.auth = Arc::new(auth))
    }

    pub fn with_leptos_options(self, leptos_options: LeptosOptions) -> AppState {
        self.with(|fields| fields.leptos_options = leptos_options)
    }
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

/// Lower-case hex of `bytes`: one allocation (a token's hash is made on every request).
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

#[cfg(test)]
mod tests {
    /// Token hashes are stored: the text of one must never change.
    #[test]
    fn a_secret_hash_is_the_lower_case_hex_of_its_sha256() {
        assert_eq!(
            super::secret_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(super::hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
    }
}
