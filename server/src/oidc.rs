//! The two addresses of an OpenID Connect sign-in: where it starts (Kiln sends the browser
//! to the provider) and where the provider sends it back. A failure ends on the sign-in
//! page with a code it explains (`/login?failed=token`); the details go to the log.

use std::collections::HashMap;

use app::api::session::safe_next;
use app::backend::AppState;
use app::backend::oidc::{CALLBACK_PATH, FLOW_COOKIE, Flow, LOGIN_PATH, flow_cookie};
use app::wire::accounts::SignInFailure;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use http::{HeaderMap, StatusCode, header};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(LOGIN_PATH, get(start))
        .route(CALLBACK_PATH, get(callback))
}

/// `GET /auth/oidc/login?next=/path`: to the provider, with a new flow in a cookie.
async fn start(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some(provider) = state.auth.oidc.clone() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let next = safe_next(query.get("next").map(String::as_str));
    match provider.begin(next).await {
        Ok((url, flow)) => (
            [(
                header::SET_COOKIE,
                flow_cookie(Some(&flow), state.auth.secure_cookies),
            )],
            Redirect::to(&url),
        )
            .into_response(),
        Err(failed) => refuse(&state, failed.failure, &failed.detail),
    }
}

/// `GET /auth/oidc/callback?code=…&state=…` (or `?error=…`): checks the answer against this
/// browser's flow, signs the person in and goes where the flow started.
async fn callback(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let Some(provider) = state.auth.oidc.clone() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if let Some(error) = query.get("error") {
        return refuse(&state, SignInFailure::Provider, error);
    }
    let Some(flow) = flow_of(&headers) else {
        return refuse(&state, SignInFailure::State, "no sign-in flow cookie");
    };
    let (Some(code), Some(returned_state)) = (query.get("code"), query.get("state")) else {
        return refuse(
            &state,
            SignInFailure::State,
            "no code or state in the callback",
        );
    };
    let identity = match provider.finish(&flow, code, returned_state).await {
        Ok(identity) => identity,
        Err(failed) => return refuse(&state, failed.failure, &failed.detail),
    };
    match app::ops::sessions::sign_in_external(&state, &identity).await {
        Ok(token) => {
            let auth = &state.auth;
            let session =
                app::backend::sessions::cookie(Some(&token), auth.session_ttl, auth.secure_cookies);
            let mut response = Redirect::to(&flow.next).into_response();
            let cookies = response.headers_mut();
            cookies.append(header::SET_COOKIE, cookie_value(session));
            cookies.append(
                header::SET_COOKIE,
                cookie_value(flow_cookie(None, auth.secure_cookies)),
            );
            response
        }
        Err((failure, detail)) => refuse(&state, failure, &detail),
    }
}

/// The flow this browser started, from its cookie.
fn flow_of(headers: &HeaderMap) -> Option<Flow> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|h| h.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == FLOW_COOKIE)
        .and_then(|(_, v)| Flow::from_cookie_value(v))
}

/// To the sign-in page, which says what went wrong; the flow's cookie ends.
fn refuse(state: &AppState, failure: SignInFailure, detail: &str) -> Response {
    tracing::warn!(failure = failure.code(), detail, "OIDC sign-in refused");
    (
        [(
            header::SET_COOKIE,
            flow_cookie(None, state.auth.secure_cookies),
        )],
        Redirect::to(&format!("/login?failed={}", failure.code())),
    )
        .into_response()
}

fn cookie_value(cookie: String) -> http::HeaderValue {
    http::HeaderValue::try_from(cookie).expect("cookies Kiln makes are valid header values")
}
