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
    let listener = server::listener::bind("127.0.0.1:0").await.expect("bind");
    let addr = axum::serve::Listener::local_addr(&listener).expect("address");
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

/// Where the build benchmarks find the host's CA bundle (mounted into build steps).
const CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// A fresh SQLite database in the temporary folder, migrated, with the group `group`.
pub async fn scratch_db(name: &str, group: &str) -> Db {
    let path = std::env::temp_dir().join(format!("kiln-{name}-{}.db", app::backend::random_hex(4)));
    let db = Db::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("db");
    db.migrate().await.expect("migrate");
    app::ops::accounts::add_group(&operator(db.clone()), group)
        .await
        .expect("group");
    db
}

/// Local builds (buildah on this host) pushing to the loopback `registry` under a fresh
/// `prefix-…` path, one build at a time.
pub fn local_builds(
    registry: &str,
    prefix: &str,
    timeout: std::time::Duration,
) -> (
    std::sync::Arc<BuildQueue>,
    app::backend::builder::BuildSettings,
) {
    local_builds_caching(registry, prefix, timeout, false)
}

/// [`local_builds`], also keeping their layers in the registry when `registry_cache`
/// (`KILN_BUILD_REGISTRY_CACHE`).
pub fn local_builds_caching(
    registry: &str,
    prefix: &str,
    timeout: std::time::Duration,
    registry_cache: bool,
) -> (
    std::sync::Arc<BuildQueue>,
    app::backend::builder::BuildSettings,
) {
    use app::backend::builder::local::LocalBuildah;
    let settings = app::backend::builder::BuildSettings {
        registry: format!("{registry}/{prefix}-{}", app::backend::random_hex(4)),
        registry_username: None,
        registry_password: None,
        insecure_registries: vec![registry.to_owned()],
        timeout,
        total_limit: 1,
        per_group_limit: 1,
        ca_bundle: std::path::Path::new(CA_BUNDLE)
            .exists()
            .then(|| CA_BUNDLE.into()),
        log_limit: 64 * 1024 * 1024,
        internal_registries: Vec::new(),
        smoke_timeout: app::backend::builder::smoke::DEFAULT_LIMIT,
        registry_cache,
    };
    let work = std::env::temp_dir().join(format!("kiln-bench-{}", app::backend::random_hex(4)));
    let builder = LocalBuildah::new(settings.clone(), work, Default::default());
    (
        BuildQueue::new(std::sync::Arc::new(builder), settings.clone()),
        settings,
    )
}
