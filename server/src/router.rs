//! The HTTP router: health probes, the Leptos pages and server functions, static files.

use std::sync::LazyLock;

use app::backend::AppState;
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
/// authorization code (and whatever else a client puts there) stays out of the log.
fn request_span(request: &Request) -> tracing::Span {
    tracing::info_span!("request", method = %request.method(), path = request.uri().path())
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
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .merge(crate::rest::routes())
        .merge(crate::oidc::routes())
        .leptos_routes(&state, routes, {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(axum::Extension(std::sync::Arc::new(
            crate::rest::log::OpenStreams::default(),
        )))
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(axum::middleware::from_fn(refuse_large_bodies))
        // Outside the body limits: a body sent slowly, chunked or not, is timed too.
        .layer(axum::middleware::from_fn_with_state(timeout, time_limit))
        .layer(axum::middleware::from_fn_with_state(
            allowed_origin,
            reject_cross_site,
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
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
