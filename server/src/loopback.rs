//! A Kiln on a random loopback port and a signed-in client, for the benchmarks.

use std::net::SocketAddr;
use std::sync::Arc;

use app::backend::{AppState, AuthSettings, Db, SecretKey};
use leptos::config::LeptosOptions;

/// Serves Kiln with builds off on 127.0.0.1 and returns its address.
pub async fn serve(db: Db) -> SocketAddr {
    let state = AppState {
        db,
        auth: Arc::new(AuthSettings::local()),
        secret: SecretKey::from_hex(&"00".repeat(32)).expect("key"),
        builds: app::backend::builder::Builds::disabled("benchmark"),
        leptos_options: LeptosOptions::builder()
            .output_name("kiln")
            .site_root("target/site")
            .build(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let router = crate::router(state, crate::origin::AllowedOrigin::default());
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
