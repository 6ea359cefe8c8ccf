//! Refusing cross-site requests that change something (CSRF), for server functions and
//! API routes alike.
//!
//! Browsers send `Origin` (and `Sec-Fetch-Site`) on every POST; a request that changes
//! something must come from Kiln's own origin. Requests with neither header come from
//! scripts and other services, which carry no browser cookies to abuse.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, Method, StatusCode, header};

/// Kiln's own origin, when configured; otherwise the request's `Host` defines it.
#[derive(Clone, Debug, Default)]
pub struct AllowedOrigin(pub Option<String>);

pub async fn reject_cross_site(
    State(allowed): State<AllowedOrigin>,
    request: Request,
    next: Next,
) -> Response {
    if is_cross_site(request.method(), request.headers(), allowed.0.as_deref()) {
        tracing::warn!(method = %request.method(), path = %request.uri().path(), "cross-site request refused");
        let body = crate::rest::ErrorBody {
            error: crate::rest::types::ErrorDetail {
                code: "cross_site".to_owned(),
                message: app::domain::messages::CROSS_SITE.en.to_owned(),
                field: None,
                message_code: Some(app::domain::messages::CROSS_SITE.code.to_owned()),
                params: Default::default(),
            },
            request_id: crate::request_id::current(),
        };
        return (StatusCode::FORBIDDEN, axum::Json(body)).into_response();
    }
    next.run(request).await
}

pub fn is_cross_site(method: &Method, headers: &HeaderMap, allowed: Option<&str>) -> bool {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return false;
    }
    let get = |name| headers.get(name).and_then(|v| v.to_str().ok());
    if get("sec-fetch-site") == Some("cross-site") {
        return true;
    }
    let Some(origin) = get(header::ORIGIN.as_str()) else {
        return false;
    };
    match allowed {
        Some(allowed) => origin != allowed,
        None => {
            let host = get(header::HOST.as_str()).unwrap_or_default();
            let bare = origin
                .strip_prefix("http://")
                .or_else(|| origin.strip_prefix("https://"));
            host.is_empty() || bare != Some(host)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (header::HeaderName::from_static(k), v.parse().unwrap()))
            .collect()
    }

    #[test]
    fn same_origin_posts_pass_and_foreign_ones_do_not() {
        let own = headers(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "http://127.0.0.1:3000"),
        ]);
        assert!(!is_cross_site(&Method::POST, &own, None));
        let evil = headers(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "http://evil.example"),
        ]);
        assert!(is_cross_site(&Method::POST, &evil, None));
        let null = headers(&[("host", "127.0.0.1:3000"), ("origin", "null")]);
        assert!(is_cross_site(&Method::POST, &null, None));
        let fetch = headers(&[("sec-fetch-site", "cross-site")]);
        assert!(is_cross_site(&Method::POST, &fetch, None));
    }

    #[test]
    fn reads_and_scripts_without_origin_pass() {
        let evil = headers(&[("origin", "http://evil.example")]);
        assert!(!is_cross_site(&Method::GET, &evil, None));
        assert!(!is_cross_site(&Method::POST, &HeaderMap::new(), None));
    }

    #[test]
    fn a_configured_public_origin_is_the_only_one_allowed() {
        let behind_proxy = headers(&[
            ("host", "kiln:3000"),
            ("origin", "https://kiln.example.org"),
        ]);
        assert!(!is_cross_site(
            &Method::POST,
            &behind_proxy,
            Some("https://kiln.example.org")
        ));
        let other = headers(&[("host", "kiln:3000"), ("origin", "http://kiln:3000")]);
        assert!(is_cross_site(
            &Method::POST,
            &other,
            Some("https://kiln.example.org")
        ));
    }
}
