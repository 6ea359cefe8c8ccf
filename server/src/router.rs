//! The HTTP router: health probes, the Leptos pages and server functions, static files
//! (with their cache headers and compression: `assets.rs`).

use std::sync::{Arc, LazyLock};

use app::backend::AppState;
use app::backend::counter::SharedCounter;
use app::{App, shell};
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use leptos_axum::{AxumRouteListing, LeptosRoutes, generate_route_list};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::deadline::{RequestTimeout, time_limit};
use crate::limits::{BODY_LIMIT, too_large};
use crate::origin::{AllowedOrigin, reject_cross_site};
use crate::request_id;

/// The pages' routes, walked once per process. Leptos walks them by rendering the app with
/// a process-wide switch that holds resources back (`IS_SUPPRESSING_RESOURCE_LOAD`): two
/// walks at once (two routers in one process, as the tests make) switch it off under each
/// other, and a page's resource then runs a server function outside any request.
static ROUTES: LazyLock<Vec<AxumRouteListing>> = LazyLock::new(|| generate_route_list(App));

/// A body declared larger than [`BODY_LIMIT`] is refused before it is read, with a 413
/// that says so (for the pages' server functions and the REST API alike). A body of
/// unknown length (chunked) is read here up to the limit, and refused the same way past
/// it: cut later, inside a server function, it would surface as a 500.
async fn refuse_large_bodies(request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > BODY_LIMIT as u64) {
        return crate::rest::Failure::from(too_large()).into_response();
    }
    if declared.is_none() && request.headers().contains_key(header::TRANSFER_ENCODING) {
        let (parts, body) = request.into_parts();
        return match axum::body::to_bytes(body, BODY_LIMIT).await {
            Ok(bytes) => next.run(Request::from_parts(parts, bytes.into())).await,
            Err(e) => match e.into_inner().is::<http_body_util::LengthLimitError>() {
                true => crate::rest::Failure::from(too_large()).into_response(),
                false => {
                    crate::rest::bad_request("The body could not be read.", None).into_response()
                }
            },
        };
    }
    next.run(request).await
}

/// A request's span names its method and path, not its query: an OpenID provider's
/// authorization code (and whatever else a client puts there) stays out of the log. Its
/// `request_id` is the one [`request_id::assign`] gave the request, outside this span.
fn request_span(request: &Request) -> tracing::Span {
    let id = request
        .headers()
        .get(&request_id::HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = request.uri().path(),
        request_id = id
    )
}

/// A request that may have written (any method but GET, HEAD, OPTIONS and TRACE): once it
/// has ended, answered or dropped midway, this replica's next launch lists and token checks
/// read the change counter afresh, so what the request changed is seen at once (see
/// `app::backend::counter`).
async fn fresh_reads_after_writes(
    State(counter): State<Arc<SharedCounter>>,
    request: Request,
    next: Next,
) -> Response {
    if request.method().is_safe() {
        return next.run(request).await;
    }
    let _ended = Written(&counter);
    next.run(request).await
}

/// Tells the counter, when dropped, that a request that may have written has ended.
struct Written<'a>(&'a SharedCounter);

impl Drop for Written<'_> {
    fn drop(&mut self) {
        self.0.written();
    }
}

/// [`router_with`] and the default time limit.
pub fn router(state: AppState, allowed_origin: AllowedOrigin) -> Router {
    router_with(state, allowed_origin, RequestTimeout::default())
}

pub fn router_with(
    state: AppState,
    allowed_origin: AllowedOrigin,
    timeout: RequestTimeout,
) -> Router {
    let routes = ROUTES.clone();
    let options = crate::assets::with_hashed_names(state.leptos_options.clone());
    let state = state.with_leptos_options(options);
    let pkg: std::sync::Arc<str> = format!("/{}/", state.leptos_options.site_pkg_dir).into();
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(crate::metrics::scrape))
        .merge(crate::rest::routes())
        .merge(crate::oidc::routes())
        .leptos_routes(&state, routes, {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(axum::middleware::from_fn_with_state(
            pkg,
            crate::assets::cache_control,
        ))
        .layer(axum::Extension(std::sync::Arc::new(
            crate::rest::log::OpenStreams::default(),
        )))
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(axum::middleware::from_fn(refuse_large_bodies))
        // Outside the body limits: a body sent slowly, chunked or not, is timed too.
        .layer(axum::middleware::from_fn_with_state(timeout, time_limit))
        // Outside the time limit: a write cut short by it is marked too.
        .layer(axum::middleware::from_fn_with_state(
            state.db.launch_counter.clone(),
            fresh_reads_after_writes,
        ))
        .layer(axum::middleware::from_fn_with_state(
            allowed_origin,
            reject_cross_site,
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        // Outermost: the span above logs the id, and every response carries it, refusals of
        // the layers above included.
        .layer(axum::middleware::from_fn(request_id::assign))
        // Counts every answer, the outer layers' refusals too, by the route it matched.
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            crate::metrics::count,
        ))
        // Every answer compressed as the client accepts, live log streams excepted.
        .layer(crate::assets::compression())
        .with_state(state)
}

/// The process is up.
async fn healthz() -> &'static str {
    "ok"
}

/// The database answers.
async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match state.db.ping().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(e) => {
            tracing::warn!(error = %e, "database not reachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database not reachable")
        }
    }
}

/// The real router on a fresh database, for the crate's tests to send requests to.
#[cfg(test)]
pub(crate) mod testing {
    use app::backend::builder::BuildQueue;
    use app::backend::db::testing::fresh_db;
    use app::backend::{AppState, AuthSettings, SecretKey};
    use axum::Router;
    use axum::body::{Body, Bytes};
    use axum::extract::{ConnectInfo, Request};
    use axum::http::{Method, response};
    use tower::ServiceExt;

    use crate::origin::AllowedOrigin;
    use crate::request_id;

    /// Kiln's router on a fresh database (SQLite, or PostgreSQL with
    /// `KILN_TEST_DATABASE_URL`), without builds.
    pub async fn router() -> Router {
        super::router(state().await, AllowedOrigin::default())
    }

    /// [`router`] with the given Leptos settings (a site root of the test's own).
    pub async fn router_with_options(options: leptos::config::LeptosOptions) -> Router {
        let state = state().await.with_leptos_options(options);
        super::router(state, AllowedOrigin::default())
    }

    async fn state() -> AppState {
        let secret = SecretKey::from_hex(&"07".repeat(32)).unwrap();
        let builds = BuildQueue::disabled("No builder in these tests.");
        AppState::new(fresh_db().await, secret, builds).with_auth(AuthSettings::local())
    }

    /// A request from a loopback client, with `id` as its `x-request-id` when given.
    pub fn request(method: Method, path: &str, id: Option<&str>) -> Request {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(id) = id {
            request = request.header(&request_id::HEADER, id);
        }
        let mut request = request.body(Body::empty()).unwrap();
        let client = std::net::SocketAddr::from(([127, 0, 0, 1], 40000));
        request.extensions_mut().insert(ConnectInfo(client));
        request
    }

    /// The response's head and whole body.
    pub async fn send(router: &Router, request: Request) -> (response::Parts, Bytes) {
        let response = router.clone().oneshot(request).await.unwrap();
        let (parts, body) = response.into_parts();
        (parts, axum::body::to_bytes(body, usize::MAX).await.unwrap())
    }
}
