//! The public REST API v1: JSON over the same operations as the pages (`app::ops`),
//! so both check the same policy and give the same messages. A caller is a service token
//! (`Authorization: Bearer`) or the browser's session. Errors are
//! `{"error": {"code", "message", "field"?}, "request_id"}` with the status the error means.

pub mod audit;
pub mod builds;
pub mod credentials;
pub mod docs;
pub mod images;
pub mod launch;
pub mod log;
pub mod openapi;
pub mod people;
pub mod tokens;
pub mod types;

use app::backend::{AppState, identity};
use app::ops::Call;
use app::wire::ApiError;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::de::DeserializeOwned;

pub use types::ErrorBody;

/// Every route of the API.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/groups/{group}/images",
            get(images::list_group).post(images::create_group),
        )
        .route(
            "/api/v1/groups/{group}/images/{name}",
            get(images::get_group)
                .patch(images::patch_group)
                .delete(images::delete_group),
        )
        .route(
            "/api/v1/images",
            get(images::list_global).post(images::create_global),
        )
        .route(
            "/api/v1/images/{name}",
            get(images::get_global)
                .patch(images::patch_global)
                .delete(images::delete_global),
        )
        .route(
            "/api/v1/groups/{group}/images/{name}/builds",
            get(builds::history_group).post(builds::rebuild_group),
        )
        .route(
            "/api/v1/images/{name}/builds",
            get(builds::history_global).post(builds::rebuild_global),
        )
        .route(
            "/api/v1/groups/{group}/images/{name}/deprecation",
            put(images::deprecate_group),
        )
        .route(
            "/api/v1/groups/{group}/images/{name}/retire",
            post(images::retire_group),
        )
        .route(
            "/api/v1/groups/{group}/images/{name}/restore",
            post(images::restore_group),
        )
        .route(
            "/api/v1/images/{name}/deprecation",
            put(images::deprecate_global),
        )
        .route("/api/v1/images/{name}/retire", post(images::retire_global))
        .route(
            "/api/v1/images/{name}/restore",
            post(images::restore_global),
        )
        .route(
            "/api/v1/credentials",
            get(credentials::list).post(credentials::create),
        )
        .route(
            "/api/v1/credentials/{name}",
            axum::routing::patch(credentials::patch).delete(credentials::delete),
        )
        .route(
            "/api/v1/groups",
            get(people::groups).post(people::create_group),
        )
        .route(
            "/api/v1/groups/{group}",
            axum::routing::patch(people::rename_group).delete(people::delete_group),
        )
        .route("/api/v1/groups/{group}/members", get(people::members))
        .route(
            "/api/v1/groups/{group}/members/{user}",
            put(people::set_member).delete(people::remove_member),
        )
        .route(
            "/api/v1/users/{user}",
            axum::routing::patch(people::patch_user).delete(people::delete_user),
        )
        .route("/api/v1/me/password", put(people::change_password))
        .route(
            "/api/v1/groups/{group}/images/{name}/base",
            get(builds::get_base_group).put(builds::set_base_group),
        )
        .route(
            "/api/v1/groups/{group}/images/{name}/base/check",
            post(builds::check_base_group),
        )
        .route(
            "/api/v1/images/{name}/base",
            get(builds::get_base_global).put(builds::set_base_global),
        )
        .route(
            "/api/v1/images/{name}/base/check",
            post(builds::check_base_global),
        )
        .route("/api/v1/builds/{id}", get(builds::get))
        .route("/api/v1/builds/{id}/cancel", post(builds::cancel))
        .route("/api/v1/builds/{id}/log", get(log::build_log))
        .route("/api/v1/builds/{id}/sbom", get(builds::sbom))
        .route("/api/v1/me/launchable-images", get(launch::mine))
        .route("/api/v1/me/tokens", get(tokens::mine))
        .route("/api/v1/audit", get(audit::search))
        .route(
            "/api/v1/me/tokens/{name}",
            axum::routing::delete(tokens::revoke_mine),
        )
        .route(
            "/api/v1/users/{user}/launchable-images",
            get(launch::of_user),
        )
        .route("/api/openapi.json", get(openapi::document))
        .route("/api/docs", get(docs::page))
        // Anything else under /api/v1 is a JSON 404, not the HTML one of the pages.
        .route("/api/v1/{*rest}", axum::routing::any(not_found))
}

/// The caller of a request: its actor, resolved from a token or the session.
pub struct Caller {
    pub call: Call,
    /// The `launch_version` counter, when finding the actor read it (token requests).
    pub launch_version: Option<i64>,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Failure> {
        let (actor, launch_version) = identity::resolve_request(&state.db, &state.auth, parts)
            .await
            .map_err(|e| Failure(e.into()))?;
        Ok(Caller {
            call: Call::new(state.clone(), actor),
            launch_version,
        })
    }
}

/// An API error as its HTTP response.
#[derive(Debug)]
pub struct Failure(pub ApiError);

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        Failure(e)
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, axum::Json(ErrorBody::from(&self.0))).into_response();
        if let ApiError::TooManyAttempts {
            retry_after_secs, ..
        } = &self.0
        {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
        }
        if matches!(
            self.0,
            ApiError::Unauthenticated | ApiError::BadToken | ApiError::ExpiredToken(_)
        ) {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"kiln\""),
            );
        }
        response
    }
}

pub type Reply<T> = Result<T, Failure>;

/// A JSON body, read strictly: a syntax error, a wrong type, a missing or unknown field is a
/// 400 naming the field, before anything else happens.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for Body<T> {
    type Rejection = Failure;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Failure> {
        let json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !json {
            return Err(bad_request(
                "Send the body as JSON (Content-Type: application/json).",
                None,
            ));
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|_| bad_request("The body could not be read.", None))?;
        if bytes.len() > crate::limits::BODY_LIMIT {
            return Err(Failure(crate::limits::too_large()));
        }
        parse(&bytes).map(Body)
    }
}

/// Reads `bytes` as a `T`, naming the field that broke it.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Failure> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let field = (path != ".").then_some(path);
        bad_request(&format!("The body is not valid: {}", e.inner()), field)
    })?;
    deserializer
        .end()
        .map_err(|e| bad_request(&format!("The body is not valid: {e}"), None))?;
    Ok(value)
}

/// The URL query, read strictly: an unknown parameter or a wrong type is a 400.
pub struct Params<T>(pub T);

impl<T: DeserializeOwned> FromRequestParts<AppState> for Params<T> {
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Failure> {
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|q| Params(q.0))
            .map_err(|e| bad_request(&format!("The query is not valid: {}", e.body_text()), None))
    }
}

/// A build id from the path: a number, or a 400 naming it.
pub fn build_id(raw: &str) -> Reply<i64> {
    raw.parse()
        .map_err(|_| bad_request("must be a build number", Some("id".into())))
}

pub fn bad_request(message: &str, field: Option<String>) -> Failure {
    Failure(ApiError::BadRequest {
        message: message.to_owned(),
        field,
    })
}

async fn not_found() -> Failure {
    Failure(ApiError::NotFound(app::domain::Said::coded(
        app::domain::messages::NO_SUCH_ROUTE,
        &[],
    )))
}
