//! Request ids: every request has one, so a user's report, a log line and a proxy's access
//! log can be matched. The id is the client's (or a proxy's) `x-request-id` when it is a
//! sane one, otherwise a new random one. It is a field of the request's span (so every
//! log line of the request carries it), is sent back in the response's `x-request-id`, and
//! is the `request_id` of a JSON error body.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

/// The header that carries the id, both ways.
pub static HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The longest id taken from a request.
pub const MAX_LEN: usize = 128;

tokio::task_local! {
    /// The id of the request this task serves: set by [`assign`] around the rest of the
    /// request's handling, read where a response is made without the request at hand.
    static CURRENT: String;
}

/// The id of the request being served, when called while serving one.
pub fn current() -> Option<String> {
    CURRENT.try_with(Clone::clone).ok()
}

/// The id a request arrived with, when it is kept: 1 to [`MAX_LEN`] printable ASCII
/// characters without spaces. Anything else (control characters, bytes beyond ASCII, a
/// space that could fake a field in a text log line, an overlong value) is not echoed or
/// logged, but replaced.
pub fn acceptable(value: &HeaderValue) -> Option<&str> {
    let bytes = value.as_bytes();
    let sane =
        !bytes.is_empty() && bytes.len() <= MAX_LEN && bytes.iter().all(u8::is_ascii_graphic);
    sane.then(|| value.to_str().ok()).flatten()
}

/// A new id: 32 hex digits, a random prefix drawn once per process and a counter. Ids
/// must be unique, not secret, so no request pays for a system call to the random source.
pub fn generate() -> String {
    use std::sync::LazyLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    static PREFIX: LazyLock<String> = LazyLock::new(|| app::backend::random_hex(8));
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("{}{:016x}", *PREFIX, NEXT.fetch_add(1, Ordering::Relaxed))
}

/// The outermost middleware: gives the request its id (in its `x-request-id` header, where
/// the request's span and the handlers read it), serves the request with it as
/// [`current`], and puts it on the response.
pub async fn assign(mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(&HEADER)
        .and_then(acceptable)
        .map(str::to_owned)
        .unwrap_or_else(generate);
    let value = HeaderValue::from_str(&id).expect("a request id is printable ASCII");
    request.headers_mut().insert(HEADER.clone(), value.clone());
    let mut response = CURRENT.scope(id, next.run(request)).await;
    response.headers_mut().insert(HEADER.clone(), value);
    response
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use axum::http::{Method, StatusCode};
    use tracing_subscriber::EnvFilter;

    use super::*;
    use crate::config::LogFormat;
    use crate::router::testing::{request, router, send};

    fn id_of(parts: &axum::http::response::Parts) -> &str {
        parts.headers[&HEADER].to_str().unwrap()
    }

    #[test]
    fn only_short_printable_ids_are_kept() {
        let keep = |raw: &[u8]| acceptable(&HeaderValue::from_bytes(raw).unwrap()).is_some();
        assert!(keep(b"7f3c2a1e-55aa-4c8e-9d0f-0123456789ab"));
        assert!(keep(
            b"Root=1-67891233-abcdef012345678912345678;Parent=53995c3f"
        ));
        assert!(keep("x".repeat(MAX_LEN).as_bytes()));
        assert!(!keep("x".repeat(MAX_LEN + 1).as_bytes()));
        assert!(!keep(b""));
        assert!(!keep(b"a\tb"));
        assert!(!keep(b"a b"));
        assert!(!keep("caf\u{e9}".as_bytes()));
        assert_eq!(generate().len(), 32);
        assert_ne!(generate(), generate());
    }

    #[tokio::test]
    async fn a_given_id_is_echoed_and_named_in_error_bodies() {
        let app = router().await;
        let id = "support-ticket-4711.retry_2";

        // A JSON error of the API.
        let (parts, body) = send(
            &app,
            request(Method::GET, "/api/v1/no-such-route", Some(id)),
        )
        .await;
        assert_eq!(parts.status, StatusCode::NOT_FOUND);
        assert_eq!(id_of(&parts), id);
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["request_id"], id, "{body}");
        assert_eq!(body["error"]["code"], "not_found");

        // A page's 404 (HTML) and a success.
        for path in ["/no-such-page", "/healthz"] {
            let (parts, _) = send(&app, request(Method::GET, path, Some(id))).await;
            assert_eq!(id_of(&parts), id, "{path}");
        }

        // Refusals made by the outer layers, before any route: a cross-site post and a body
        // declared too large.
        let mut cross = request(Method::POST, "/api/v1/images", Some(id));
        cross
            .headers_mut()
            .insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        let mut large = request(Method::POST, "/api/v1/images", Some(id));
        large
            .headers_mut()
            .insert("content-length", HeaderValue::from(1u64 << 30));
        for (refusal, status) in [
            (cross, StatusCode::FORBIDDEN),
            (large, StatusCode::PAYLOAD_TOO_LARGE),
        ] {
            let (parts, body) = send(&app, refusal).await;
            assert_eq!(parts.status, status);
            assert_eq!(id_of(&parts), id);
            let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(body["request_id"], id, "{body}");
        }
    }

    #[tokio::test]
    async fn a_missing_id_is_made_new_for_every_request() {
        let app = router().await;
        let (first, body) = send(&app, request(Method::GET, "/api/v1/nothing", None)).await;
        let (second, _) = send(&app, request(Method::GET, "/api/v1/nothing", None)).await;
        let (first, second) = (id_of(&first).to_owned(), id_of(&second).to_owned());
        assert_ne!(first, second);
        for id in [&first, &second] {
            assert!(
                id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
                "{id}"
            );
        }
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            body["request_id"],
            first.as_str(),
            "the body names the header's id"
        );
    }

    #[tokio::test]
    async fn a_hostile_id_is_replaced_not_echoed() {
        let app = router().await;
        let long = "a".repeat(MAX_LEN + 1);
        let hostile: [&[u8]; 5] = [
            long.as_bytes(),
            b"abc\tdef",
            b"abc def path=/admin",
            "\u{e9}t\u{e9}".as_bytes(),
            b"",
        ];
        for raw in hostile {
            let mut req = request(Method::GET, "/api/v1/nothing", None);
            req.headers_mut()
                .insert(HEADER.clone(), HeaderValue::from_bytes(raw).unwrap());
            let (parts, body) = send(&app, req).await;
            let id = id_of(&parts);
            assert_ne!(id.as_bytes(), raw);
            assert!(
                id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
                "{id}"
            );
            let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(body["request_id"], id);
        }
        // The longest kept id is kept whole.
        let longest = "b".repeat(MAX_LEN);
        let (parts, _) = send(&app, request(Method::GET, "/healthz", Some(&longest))).await;
        assert_eq!(id_of(&parts), longest);
    }

    /// Log lines written to memory.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn lines(&self) -> Vec<String> {
            let bytes = self.0.lock().unwrap().clone();
            String::from_utf8(bytes)
                .unwrap()
                .lines()
                .map(str::to_owned)
                .collect()
        }
    }

    #[tokio::test]
    async fn the_log_lines_of_a_request_carry_its_id() {
        let app = router().await;
        for format in [LogFormat::Text, LogFormat::Json] {
            let captured = Captured::default();
            let writer = captured.clone();
            let subscriber =
                crate::telemetry::subscriber(format, EnvFilter::new("info"), move || {
                    writer.clone()
                });
            // A given id, and one made here (so made before the span is).
            let given = format!("log-test-{format:?}");
            let made = {
                let _guard = tracing::subscriber::set_default(subscriber);
                // Tracing caches per call site whether anyone listens. Another test's thread
                // may have been registering a call site of this path when this subscriber
                // appeared and cached "no one" after it (seen in CI: no line captured). One
                // request registers this path's call sites; rebuilding the caches then counts
                // this subscriber in; the lines of that request are dropped.
                send(
                    &app,
                    request(Method::GET, "/api/v1/nothing", Some("warm-up")),
                )
                .await;
                tracing::callsite::rebuild_interest_cache();
                captured.0.lock().unwrap().clear();
                send(&app, request(Method::GET, "/api/v1/nothing", Some(&given))).await;
                let (parts, _) = send(&app, request(Method::GET, "/api/v1/nothing", None)).await;
                id_of(&parts).to_owned()
            };
            let lines = captured.lines();
            let finished: Vec<&String> = lines
                .iter()
                .filter(|line| line.contains("finished processing request"))
                .collect();
            assert_eq!(finished.len(), 2, "{lines:?}");
            for (line, id) in finished.into_iter().zip([&given, &made]) {
                assert!(line.contains(id.as_str()), "{format:?}: {line}");
                if let LogFormat::Json = format {
                    let line: serde_json::Value = serde_json::from_str(line).unwrap();
                    assert_eq!(line["span"]["request_id"], id.as_str(), "{line}");
                }
            }
        }
    }
}
