//! What the benchmarks share: a Kiln on a random loopback port, a signed-in client, and
//! the operator's call to seed data through the same operations as the command line.

use std::net::SocketAddr;

use app::backend::builder::BuildQueue;
use app::backend::{AppState, Db, SecretKey};
use app::ops::Call;

/// Kiln's state for a benchmark: builds off unless `builds` says otherwise.
pub fn state(db: Db) -> AppState {
    AppState::new(
        db,
        SecretKey::from_hex(&"00".repeat(32)).expect("key"),
        BuildQueue::disabled("benchmark"),
    )
}

/// The operator's call on `db`, to seed a benchmark's data.
pub fn operator(db: Db) -> Call {
    Call::operator(state(db))
}

/// Serves Kiln with builds off on 127.0.0.1 and returns its address.
pub async fn serve(db: Db) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let router = server::router(state(db), server::origin::AllowedOrigin::default());
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .expect("serve");
    });
    addr
}

/// A client with a session cookie for `user`.
pub async fn signed_in(addr: SocketAddr, user: &str, password: &str) -> reqwest::Client {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    let res = client
        .post(format!("http://{addr}/api/login"))
        .form(&[("username", user), ("password", password)])
        .send()
        .await
        .expect("sign in");
    assert!(res.status().is_success(), "sign-in: {}", res.status());
    client
}
