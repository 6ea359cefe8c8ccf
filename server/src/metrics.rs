//! `GET /metrics`: Prometheus' view of this replica (see `app::backend::metrics` for what
//! is counted), and the middleware that counts every request by its route template.

use std::sync::Arc;
use std::time::Instant;

use app::backend::AppState;
use app::backend::metrics::Metrics;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::rest::log::OpenStreams;

/// Counts the request and its latency under the route it matched (`other` for static
/// files and unknown paths: one series, not one per path sent).
///
/// It holds the metrics alone, not the whole app state: this runs on every request.
pub async fn count(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "other".to_owned(), |m| m.as_str().to_owned());
    let method = request.method().clone();
    let started = Instant::now();
    let response = next.run(request).await;
    metrics.observe_request(
        &route,
        method.as_str(),
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// The text exposition; the states are read from the database as it is now.
pub async fn scrape(
    State(state): State<AppState>,
    axum::Extension(streams): axum::Extension<Arc<OpenStreams>>,
) -> Response {
    let metrics = &state.metrics;
    if let Err(e) = metrics.read_states(&state.db).await {
        tracing::error!(error = %e, "metrics: the database could not be read");
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    metrics.log_streams.set(streams.open() as i64);
    metrics.leader.set(i64::from(state.builds.leading()));
    (
        [(header::CONTENT_TYPE, app::backend::metrics::CONTENT_TYPE)],
        metrics.render(),
    )
        .into_response()
}
