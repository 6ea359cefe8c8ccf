//! How long Kiln works on one request.

use std::time::Duration;

use app::wire::ApiError;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// How long Kiln works on one request before answering 503 (`KILN_REQUEST_TIMEOUT`).
#[derive(Debug, Clone, Copy)]
pub struct RequestTimeout(pub Duration);

impl Default for RequestTimeout {
    /// A minute: the slowest thing a request waits for is a base image's check (20 s per
    /// registry call, two calls).
    fn default() -> Self {
        RequestTimeout(Duration::from_secs(60))
    }
}

/// Answers 503 `timeout` when a request is not answered within its time: a client that
/// sends its body slowly, or an operation stuck on something outside Kiln. The operation is
/// dropped, and with it its open transaction (rolled back). Only getting the response's
/// head is timed: a log stream or a download, once started, runs as long as it needs.
pub async fn time_limit(
    State(RequestTimeout(limit)): State<RequestTimeout>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(path, limit_s = limit.as_secs_f64(), "request timed out");
            let refusal = ApiError::Timeout(app::domain::Said::coded(
                app::domain::messages::TIMEOUT,
                &[("seconds", &limit.as_secs().to_string())],
            ));
            crate::rest::Failure::from(refusal).into_response()
        }
    }
}
