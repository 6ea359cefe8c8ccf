//! Calls for the operations' own tests: a fresh database, builds off.

use super::Call;
use crate::backend::builder::BuildQueue;
use crate::backend::db::testing::fresh_db;
use crate::backend::{AppState, SecretKey};

/// A Kiln on a fresh database with builds off, and the operator's call.
pub async fn operator() -> Call {
    Call::operator(state().await)
}

pub async fn state() -> AppState {
    AppState::new(
        fresh_db().await,
        SecretKey::from_hex(&"07".repeat(32)).expect("a key"),
        BuildQueue::disabled("No builder in these tests."),
    )
}
