//! The server functions' edge: which Kiln, who is asking, and how an operation's error
//! reaches the page. Every server function is [`run`] around one operation.

use std::future::Future;

use leptos::prelude::use_context;

use crate::backend::{AppState, identity};
use crate::ops::Call;
use crate::wire::ApiError;

/// Runs an operation for the current server-function call: the caller resolved from the
/// request, and the response's status set from the error, once.
pub async fn run<T, Fut>(op: impl FnOnce(Call) -> Fut) -> Result<T, ApiError>
where
    Fut: Future<Output = Result<T, ApiError>>,
{
    let result = match call().await {
        Ok(call) => op(call).await,
        Err(e) => Err(e),
    };
    result.map_err(respond)
}

/// The current server-function call: this Kiln's state and the request's actor.
async fn call() -> Result<Call, ApiError> {
    let (Some(state), Some(parts)) = (
        use_context::<AppState>(),
        use_context::<http::request::Parts>(),
    ) else {
        tracing::error!("a server function ran without its request's context");
        return Err(ApiError::Internal);
    };
    let (actor, _) = identity::resolve_request(&state.db, &state.auth, &parts).await?;
    Ok(Call::new(state, actor))
}

/// Sets the response status for this error, on a page render and on a server-function
/// call alike, and hands the error back.
///
/// A plain HTML form post (JavaScript off) is the exception: it is answered with a
/// redirect back to the form, which carries the error in its URL, so its status stays.
fn respond(error: ApiError) -> ApiError {
    if let Some(options) = use_context::<leptos_axum::ResponseOptions>()
        && !is_plain_form_post()
    {
        options.set_status(http::StatusCode::from_u16(error.status()).unwrap_or_default());
        if let ApiError::TooManyAttempts {
            retry_after_secs, ..
        } = &error
        {
            options.insert_header(http::header::RETRY_AFTER, (*retry_after_secs).into());
        }
    }
    error
}

/// Whether the current server-function call is a plain HTML form post (JavaScript off),
/// which Leptos answers with a redirect back to the page rather than with the result.
pub fn is_plain_form_post() -> bool {
    use_context::<http::request::Parts>().is_some_and(|parts| {
        let accepts_html = parts
            .headers
            .get(http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"));
        parts.method == http::Method::POST && accepts_html
    })
}

/// Adds a header to the response of the current call (a session cookie).
pub fn append_header(name: http::HeaderName, value: &str) -> Result<(), ApiError> {
    let options = use_context::<leptos_axum::ResponseOptions>().ok_or(ApiError::Internal)?;
    options.append_header(name, value.parse().map_err(|_| ApiError::Internal)?);
    Ok(())
}
