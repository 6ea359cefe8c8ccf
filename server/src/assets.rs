//! The browser's side of a first load: the wasm, JS and CSS under `/pkg/` are named by
//! their content's hash (cargo-leptos's `hash-files`), so they are cached for a year and a
//! new release is new names; pages are asked for again each time; and answers are
//! compressed (gzip or brotli, as the client accepts), live log streams excepted.

use std::path::Path;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use leptos::config::LeptosOptions;
use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate};
use tower_http::compression::{CompressionLayer, CompressionLevel};

/// A hashed file's: the name changes whenever the content does.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// A page's: kept by the browser only, and asked for again before each use (pages are the
/// signed-in user's own, so shared caches keep none).
pub const PAGE: &str = "private, no-cache";
/// An unhashed file under `/pkg/` (a build without `hash-files`): asked for again each time.
pub const REVALIDATE: &str = "no-cache";

/// `options` with `hash_files` set when the build that made the site hashed its files: the
/// hash file cargo-leptos wrote beside this executable (or at `LEPTOS_HASH_FILE_NAME`, when
/// absolute) names a stylesheet that is there. Leptos' `HydrationScripts` and
/// `HashedStylesheet` then link the hashed names. So `kiln serve` needs no setting of its
/// own, and a site built without hashes (or a binary without its hash file) keeps the
/// plain names.
pub fn with_hashed_names(options: LeptosOptions) -> LeptosOptions {
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
        .unwrap_or_default();
    hashed_names_beside(&exe_dir, options)
}

fn hashed_names_beside(exe_dir: &Path, mut options: LeptosOptions) -> LeptosOptions {
    if options.hash_files {
        return options;
    }
    let Ok(hashes) = std::fs::read_to_string(exe_dir.join(&*options.hash_file)) else {
        return options;
    };
    // Lines of `extension: hash`, e.g. `css: 3q2-7w…`.
    let css = hashes.lines().find_map(|line| {
        let (kind, hash) = line.split_once(':')?;
        (kind.trim() == "css").then(|| hash.trim().to_owned())
    });
    if let Some(css) = css {
        let sheet = Path::new(&*options.site_root)
            .join(&*options.site_pkg_dir)
            .join(format!("{}.{css}.css", options.output_name));
        if sheet.is_file() {
            options.hash_files = true;
        } else {
            tracing::warn!(
                hash_file = %exe_dir.join(&*options.hash_file).display(),
                "the hash file names files that are not in the site: linking the plain names"
            );
        }
    }
    options
}

/// Whether a file name carries cargo-leptos's hash: `name.<22 characters of base64url>.ext`
/// (an MD5 digest, unpadded).
pub fn is_hashed(file_name: &str) -> bool {
    let mut parts = file_name.rsplit('.');
    let (Some(_ext), Some(hash), Some(stem)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    !stem.is_empty()
        && hash.len() == 22
        && hash
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Sets `Cache-Control` where the handler did not: a hashed file under the site's package
/// directory (`pkg`, given with its slashes: `/pkg/`) for a year, immutable; any other file
/// there, and every HTML page (error pages too), asked for again before each use.
pub async fn cache_control(State(pkg): State<Arc<str>>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let mut response = next.run(request).await;
    if response.headers().contains_key(header::CACHE_CONTROL) {
        return response;
    }
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let served = matches!(response.status(), StatusCode::OK | StatusCode::NOT_MODIFIED);
    let value = match path.strip_prefix(&*pkg) {
        Some(file) if served && !html => match file.rsplit('/').next().is_some_and(is_hashed) {
            true => IMMUTABLE,
            false => REVALIDATE,
        },
        _ if html => PAGE,
        _ => return response,
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    response
}

/// gzip or brotli (brotli's level 4, tower-http's default for it: fast enough to run on
/// every answer) for whatever the client accepts: pages, JSON, the wasm, JS and CSS.
/// Never for a server-sent event stream (a live build log): an encoder holds bytes back
/// until it has enough to compress, and the viewer would wait for lines already sent.
/// (tower-http's default rules leave out event streams already; said here again so that
/// no change of them can start buffering the log.) Nor for images, gRPC, or answers under
/// 32 bytes.
pub fn compression() -> CompressionLayer<impl Predicate> {
    CompressionLayer::new()
        .gzip(true)
        .br(true)
        .quality(CompressionLevel::Default)
        .compress_when(DefaultPredicate::new().and(NotForContentType::SSE))
}

#[cfg(test)]
mod tests {
    use axum::http::Method;

    use super::*;
    use crate::router::testing::{request, send};

    #[test]
    fn hashed_names_are_told_from_plain_ones() {
        assert!(is_hashed("kiln.u1t0CqVfLL1jbaCFfBVG3A.wasm"));
        assert!(is_hashed("kiln.Ab-_cdefghijklmnopqrst.css"));
        assert!(is_hashed("__wasm_split.u1t0CqVfLL1jbaCFfBVG3A.js"));
        assert!(!is_hashed("kiln.wasm"));
        assert!(!is_hashed("kiln_bg.wasm.d.ts"));
        assert!(!is_hashed(".u1t0CqVfLL1jbaCFfBVG3A.js"));
        assert!(!is_hashed("kiln.u1t0CqVfLL1jbaCFfBVG3.wasm"));
        assert!(!is_hashed("kiln.u1t0CqVfLL1jbaCFfBVG3!.wasm"));
    }

    /// A site root with `pkg/` holding `files`, and a directory standing for the
    /// executable's, with `hash.txt` when given.
    fn site(files: &[&str], hashes: Option<&str>) -> (std::path::PathBuf, LeptosOptions) {
        let root =
            std::env::temp_dir().join(format!("kiln-assets-{}", app::backend::random_hex(6)));
        std::fs::create_dir_all(root.join("site/pkg")).unwrap();
        std::fs::create_dir_all(root.join("bin")).unwrap();
        for file in files {
            std::fs::write(root.join("site/pkg").join(file), format!("/* {file} */")).unwrap();
        }
        if let Some(hashes) = hashes {
            std::fs::write(root.join("bin/hash.txt"), hashes).unwrap();
        }
        let options = LeptosOptions::builder()
            .output_name("kiln")
            .site_root(root.join("site").to_string_lossy().into_owned())
            .build();
        (root, options)
    }

    const HASHES: &str =
        "js: AAAAAAAAAAAAAAAAAAAAAA\nwasm: BBBBBBBBBBBBBBBBBBBBBB\ncss: CCCCCCCCCCCCCCCCCCCCCC\n";

    #[test]
    fn the_hash_file_beside_the_binary_turns_hashed_names_on_when_its_files_are_there() {
        let (root, options) = site(&["kiln.CCCCCCCCCCCCCCCCCCCCCC.css"], Some(HASHES));
        assert!(!options.hash_files);
        assert!(hashed_names_beside(&root.join("bin"), options.clone()).hash_files);
        // No hash file: a build without hashes, plain names.
        assert!(!hashed_names_beside(&root.join("elsewhere"), options).hash_files);
        std::fs::remove_dir_all(root).unwrap();

        // A hash file left from an older build, naming files this site does not have.
        let (root, options) = site(&["kiln.css"], Some(HASHES));
        assert!(!hashed_names_beside(&root.join("bin"), options).hash_files);
        std::fs::remove_dir_all(root).unwrap();
    }

    #[tokio::test]
    async fn hashed_files_are_cached_for_a_year_and_pages_are_asked_for_again() {
        let (root, options) = site(
            &[
                "kiln.CCCCCCCCCCCCCCCCCCCCCC.css",
                "kiln.BBBBBBBBBBBBBBBBBBBBBB.wasm",
                "kiln.js",
            ],
            Some(HASHES),
        );
        let router = crate::router::testing::router_with_options(options).await;
        let cache = |parts: &axum::http::response::Parts| {
            parts
                .headers
                .get(header::CACHE_CONTROL)
                .map(|v| v.to_str().unwrap().to_owned())
        };
        for file in [
            "kiln.CCCCCCCCCCCCCCCCCCCCCC.css",
            "kiln.BBBBBBBBBBBBBBBBBBBBBB.wasm",
        ] {
            let (parts, body) =
                send(&router, request(Method::GET, &format!("/pkg/{file}"), None)).await;
            assert_eq!(parts.status, StatusCode::OK, "{file}");
            assert_eq!(body, format!("/* {file} */").as_bytes());
            assert_eq!(cache(&parts).as_deref(), Some(IMMUTABLE), "{file}");
        }
        let (parts, _) = send(&router, request(Method::GET, "/pkg/kiln.js", None)).await;
        assert_eq!(parts.status, StatusCode::OK);
        assert_eq!(cache(&parts).as_deref(), Some(REVALIDATE));
        // A missing file is an HTML page saying so, not a year-long answer.
        let (parts, _) = send(
            &router,
            request(Method::GET, "/pkg/kiln.DDDDDDDDDDDDDDDDDDDDDD.js", None),
        )
        .await;
        assert_eq!(parts.status, StatusCode::NOT_FOUND);
        assert_eq!(cache(&parts).as_deref(), Some(PAGE));
        let (parts, _) = send(&router, request(Method::GET, "/login", None)).await;
        assert_eq!(parts.status, StatusCode::OK);
        assert!(
            parts.headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert_eq!(cache(&parts).as_deref(), Some(PAGE));
        // JSON is left to its handler.
        let (parts, _) = send(&router, request(Method::GET, "/api/openapi.json", None)).await;
        assert_eq!(parts.status, StatusCode::OK);
        assert_eq!(cache(&parts), None);
        std::fs::remove_dir_all(root).unwrap();
    }
}
