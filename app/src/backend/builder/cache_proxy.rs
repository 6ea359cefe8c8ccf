//! The build registry's layer cache, as a local build reaches it. buildah runs in the
//! [`super::sandbox`] beside the build's RUN steps (strangers' code, as root), so no
//! registry credential may enter it. Instead Kiln listens on [`ADDRESS`] *inside* the
//! build's network namespace and forwards to the build registry, adding the push
//! credential itself, for the one repository of this build's owner
//! ([`super::BuildSettings::cache_repository`]) and only the registry API's calls on it
//! (manifests, blobs, uploads, tags). Everything else is refused: other groups' paths,
//! the catalog, deletes, and blob mounts from other repositories (their `mount`/`from`
//! parameters are dropped, so the upload starts empty instead).
//!
//! buildah then builds with `--cache-from`/`--cache-to` this address: a build on any
//! replica or host reuses the layers another pushed, and pushes only the layers it made.
//! On Kubernetes the same cache runs as the build Pod's `cache` step (`kiln kube
//! build-cache`, [`serve`] on the Pod's loopback), for BuildKit's registry cache.
//!
//! The registry's login is the one its `/v2/` asks for: none, Basic, or a Bearer token from
//! its token service, asked for this repository's `pull,push` only.

use std::net::{Ipv4Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use futures_util::TryStreamExt;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};

use super::{BuildSettings, registry_of};

/// Where the cache answers inside a build's network namespace. Each build has a
/// namespace of its own, so the port is the same for all.
pub const PORT: u16 = 5999;
pub const ADDRESS: &str = "127.0.0.1:5999";

/// How long connecting to the registry (or its token service) may take, and the login
/// calls' answers.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// What a served cache lets its callers do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Take layers only: while a build's steps (strangers' code) run beside buildah and
    /// can reach the cache too, none of them may write an entry another build would take.
    Read,
    /// Take and leave layers: locally for buildah alone, once the steps have run; on
    /// Kubernetes for BuildKit, whose export ends the same build.
    ReadWrite,
}

/// A call the sandbox may make, as the registry will be asked it.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    /// `GET /v2/`: answered by Kiln (the registry's own answer would ask for a login).
    Ping,
    /// The path and query to ask the registry.
    Forward(String),
}

/// What the sandbox may ask about `repository` (`prefix/owner/cache/layers`, without the
/// registry host): the registry API's calls on that one repository, only the reading ones
/// with [`Access::Read`]. Every other call is refused with the reason.
pub fn route(
    method: &Method,
    path: &str,
    query: Option<&str>,
    repository: &str,
    access: Access,
) -> Result<Route, &'static str> {
    if path == "/v2/" || path == "/v2" {
        return if method == Method::GET || method == Method::HEAD {
            Ok(Route::Ping)
        } else {
            Err("only GET and HEAD on /v2/")
        };
    }
    // Escapes and dot segments could make the registry read another path than the one
    // checked here.
    if path.contains('%') || path.contains("//") || path.split('/').any(|s| s == "." || s == "..") {
        return Err("an encoded or relative path");
    }
    let Some(call) = path
        .strip_prefix("/v2/")
        .and_then(|p| p.strip_prefix(repository))
        .and_then(|p| p.strip_prefix('/'))
    else {
        return Err("not this build's cache repository");
    };
    let segment = |s: &str| !s.is_empty() && !s.contains('/');
    let allowed: &[Method] = match call.split_once('/') {
        Some(("tags", "list")) => &[Method::GET],
        Some(("manifests", reference)) if segment(reference) => {
            &[Method::GET, Method::HEAD, Method::PUT]
        }
        Some(("blobs", "uploads/")) => &[Method::POST],
        Some(("blobs", rest)) => match rest.strip_prefix("uploads/") {
            Some(session) if segment(session) => &[Method::GET, Method::PATCH, Method::PUT],
            Some(_) => return Err("not a registry call"),
            None if segment(rest) => &[Method::GET, Method::HEAD],
            None => return Err("not a registry call"),
        },
        _ => return Err("not a registry call"),
    };
    if !allowed.contains(method) {
        return Err("a method this call does not take");
    }
    if access == Access::Read && method != Method::GET && method != Method::HEAD {
        return Err("a write while the build's steps run (Kiln writes the cache after them)");
    }
    let query = match query {
        // A mount would copy a blob of another repository into this one.
        Some(query) if call == "blobs/uploads/" => query
            .split('&')
            .filter(|pair| {
                let name = pair.split_once('=').map_or(*pair, |(n, _)| n);
                name != "mount" && name != "from"
            })
            .collect::<Vec<_>>()
            .join("&"),
        Some(query) => query.to_owned(),
        None => String::new(),
    };
    Ok(Route::Forward(if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }))
}

/// How the registry wants to be logged in to, as its `/v2/` said.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Login {
    /// It answered without one.
    None,
    /// `Basic` with the push credential on every call.
    Basic(String),
    /// A token from `realm` (for `service`), fetched with the push credential.
    Bearer { realm: String, service: String },
}

/// The build registry, as the cache forwards to it: where, how to log in, for which
/// repository.
pub struct Upstream {
    /// `https://host[:port]` or, for an insecure registry that speaks no TLS, `http://…`.
    base: String,
    /// The host as the registry's own URLs name it.
    host: String,
    repository: String,
    client: reqwest::Client,
    credential: Option<(String, String)>,
    login: Login,
    token: tokio::sync::Mutex<Option<(HeaderValue, Instant)>>,
}

impl Upstream {
    /// The cache repository `cache` (`host/prefix/owner/cache/layers`) of the build
    /// registry of `settings`, after asking its `/v2/` how it wants to be logged in to.
    pub async fn connect(settings: &BuildSettings, cache: &str) -> Result<Upstream, String> {
        let login = settings
            .registry_username
            .clone()
            .zip(settings.registry_password.clone());
        let ca = settings.ca_bundle.as_deref();
        Self::connect_with(cache, login, settings.is_insecure(cache), ca).await
    }

    /// [`Self::connect_with`] the login for the cache's registry in `auth_file` (a build
    /// Pod's mounted push credential, docker config.json form; none when it has none).
    pub async fn from_auth_file(
        cache: &str,
        auth_file: &std::path::Path,
        insecure: bool,
        ca_bundle: Option<&std::path::Path>,
    ) -> Result<Upstream, String> {
        let json = std::fs::read_to_string(auth_file)
            .map_err(|e| format!("cannot read {}: {e}", auth_file.display()))?;
        let login = super::RegistryAuth::login_for(&json, &registry_of(cache));
        Self::connect_with(cache, login, insecure, ca_bundle).await
    }

    /// [`Self::connect`] with the login (user, password), whether the registry is
    /// insecure (TLS unverified, else plain HTTP) and a CA bundle given one by one: a build
    /// Pod's cache step reads them from its files.
    pub async fn connect_with(
        cache: &str,
        credential: Option<(String, String)>,
        insecure: bool,
        ca_bundle: Option<&std::path::Path>,
    ) -> Result<Upstream, String> {
        let host = registry_of(cache);
        let repository = cache
            .strip_prefix(&format!("{host}/"))
            .ok_or("the cache repository names no registry")?
            .to_owned();
        let mut client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .danger_accept_invalid_certs(insecure);
        if let Some(ca) = ca_bundle {
            let pem = std::fs::read(ca).map_err(|e| format!("cannot read the CA bundle: {e}"))?;
            for cert in reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| e.to_string())? {
                client = client.add_root_certificate(cert);
            }
        }
        let client = client.build().map_err(|e| e.to_string())?;
        let mut bases = vec![format!("https://{host}")];
        if insecure {
            // As Kiln's insecure registries mean: TLS without verification, else plain HTTP.
            bases.push(format!("http://{host}"));
        }
        let mut last = String::new();
        for base in bases {
            let ping = client
                .get(format!("{base}/v2/"))
                .timeout(CONNECT_TIMEOUT)
                .send()
                .await;
            match ping {
                Ok(answer) => {
                    let login = match answer.status() {
                        StatusCode::UNAUTHORIZED => challenge(answer.headers(), &credential)
                            .ok_or_else(|| {
                                "the registry asks for a login Kiln cannot give".to_owned()
                            })?,
                        status if status.is_success() => Login::None,
                        status => return Err(format!("the registry answered {status} on /v2/")),
                    };
                    return Ok(Upstream {
                        base,
                        host,
                        repository,
                        client,
                        credential,
                        login,
                        token: Default::default(),
                    });
                }
                Err(e) => last = format!("{e}"),
            }
        }
        Err(format!("the registry could not be reached: {last}"))
    }

    /// The cache repository as buildah inside the namespace names it.
    pub fn reference(&self) -> String {
        format!("{ADDRESS}/{}", self.repository)
    }

    /// The `Authorization` to send with the next call, if any; a token is fetched when
    /// there is none or it is about to expire.
    async fn authorization(&self) -> Result<Option<HeaderValue>, String> {
        match &self.login {
            Login::None => Ok(None),
            Login::Basic(value) => Ok(HeaderValue::from_str(value).ok()),
            Login::Bearer { realm, service } => {
                let mut token = self.token.lock().await;
                if let Some((value, until)) = token.as_ref()
                    && Instant::now() < *until
                {
                    return Ok(Some(value.clone()));
                }
                let scope = format!("repository:{}:pull,push", self.repository);
                let mut ask = self
                    .client
                    .get(realm)
                    .query(&[("service", service.as_str()), ("scope", &scope)])
                    .timeout(CONNECT_TIMEOUT);
                if let Some((user, password)) = &self.credential {
                    ask = ask.basic_auth(user, Some(password));
                }
                let answer = ask
                    .send()
                    .await
                    .and_then(|a| a.error_for_status())
                    .map_err(|e| format!("the registry's token service: {e}"))?;
                let granted: Granted = answer
                    .json()
                    .await
                    .map_err(|e| format!("the registry's token service: {e}"))?;
                let value = granted
                    .token
                    .or(granted.access_token)
                    .and_then(|t| HeaderValue::from_str(&format!("Bearer {t}")).ok())
                    .ok_or("the registry's token service gave no token")?;
                // Renewed 30 s before it runs out (tokens live 60 s unless they say).
                let lives = Duration::from_secs(granted.expires_in.unwrap_or(60).max(31) - 30);
                *token = Some((value.clone(), Instant::now() + lives));
                Ok(Some(value))
            }
        }
    }

    /// Forgets the token `refused` (the registry no longer takes it), if it is still the
    /// one kept: the next call asks the token service for another. Whether the login is by
    /// token at all (another call may have renewed it already).
    async fn forget(&self, refused: &HeaderValue) -> bool {
        if !matches!(self.login, Login::Bearer { .. }) {
            return false;
        }
        let mut token = self.token.lock().await;
        if token.as_ref().is_some_and(|(value, _)| value == refused) {
            *token = None;
        }
        true
    }

    /// `Location` as the sandbox must follow it: the registry's own URLs point back at
    /// the cache's address `at`; other places (a storage service holding blobs) stay.
    fn relocated(&self, location: &str, at: &str) -> String {
        for scheme in ["https://", "http://"] {
            if let Some(rest) = location.strip_prefix(scheme)
                && let Some(path) = rest.strip_prefix(&self.host)
                && path.starts_with('/')
            {
                return format!("http://{at}{path}");
            }
        }
        location.to_owned()
    }
}

#[derive(serde::Deserialize)]
struct Granted {
    token: Option<String>,
    access_token: Option<String>,
    expires_in: Option<u64>,
}

/// The login a `401`'s `WWW-Authenticate` asks for, if Kiln can give it.
fn challenge(headers: &HeaderMap, credential: &Option<(String, String)>) -> Option<Login> {
    let value = headers.get(header::WWW_AUTHENTICATE)?.to_str().ok()?;
    let (scheme, params) = value.split_once(' ').unwrap_or((value, ""));
    if scheme.eq_ignore_ascii_case("basic") {
        use base64::Engine;
        let (user, password) = credential.as_ref()?;
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        return Some(Login::Basic(format!("Basic {encoded}")));
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let param = |name: &str| {
        params.split(',').find_map(|pair| {
            let (key, value) = pair.trim().split_once('=')?;
            key.eq_ignore_ascii_case(name)
                .then(|| value.trim_matches('"').to_owned())
        })
    };
    Some(Login::Bearer {
        realm: param("realm")?,
        service: param("service").unwrap_or_default(),
    })
}

/// The cache serving inside a build's network namespace; stops when dropped.
pub struct Serving(tokio::task::JoinHandle<()>);

impl Serving {
    /// Waits until the cache stops serving (its listener failed).
    pub async fn ended(mut self) {
        let _ = (&mut self.0).await;
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Serves `upstream` on [`ADDRESS`] inside the network namespace of process `pid`, once
/// its loopback is up (slirp4netns brings it up).
pub async fn serve_in(
    pid: u32,
    upstream: Arc<Upstream>,
    access: Access,
) -> std::io::Result<Serving> {
    let listener = bind_in_namespace(pid).await?;
    Ok(serve(listener, upstream, access))
}

/// Serves `upstream` on `listener` (any address: tests use the host's loopback).
pub fn serve(
    listener: tokio::net::TcpListener,
    upstream: Arc<Upstream>,
    access: Access,
) -> Serving {
    let at = listener
        .local_addr()
        .map_or_else(|_| ADDRESS.to_owned(), |a| a.to_string());
    let app = axum::Router::new()
        .fallback(forward)
        .with_state(Arc::new(Served {
            upstream,
            at,
            access,
        }));
    Serving(tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    }))
}

/// A listener on [`ADDRESS`] in `pid`'s network namespace. A thread of its own enters
/// the namespace (a thread's namespace is its own) and ends after binding; the socket
/// stays in the namespace it was made in.
async fn bind_in_namespace(pid: u32) -> std::io::Result<tokio::net::TcpListener> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let bound = (|| {
            let namespace = std::fs::File::open(format!("/proc/{pid}/ns/net"))?;
            // SAFETY: setns(2) on this thread with a descriptor it holds open.
            if unsafe { libc::setns(namespace.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                return Err(std::io::Error::last_os_error());
            }
            let started = Instant::now();
            loop {
                match std::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, PORT))) {
                    // Until slirp4netns brings the loopback up, it has no address.
                    Err(e)
                        if e.kind() == std::io::ErrorKind::AddrNotAvailable
                            && started.elapsed() < Duration::from_secs(5) =>
                    {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    other => break other,
                }
            }
        })();
        let _ = tx.send(bound);
    });
    let listener = rx
        .await
        .map_err(|_| std::io::Error::other("the namespace thread ended"))??;
    listener.set_nonblocking(true)?;
    tokio::net::TcpListener::from_std(listener)
}

/// Headers that belong to one connection, or that Kiln sets itself.
fn passes(name: &header::HeaderName) -> bool {
    !matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "proxy-connection"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
            | "host"
            | "authorization"
            | "www-authenticate"
            | "cookie"
            | "set-cookie"
    )
}

/// What one cache serves: the registry, its own address for the URLs it hands out, and
/// what its callers may do.
struct Served {
    upstream: Arc<Upstream>,
    at: String,
    access: Access,
}

async fn forward(State(served): State<Arc<Served>>, request: Request) -> Response {
    let upstream = &served.upstream;
    let (parts, body) = request.into_parts();
    let route = route(
        &parts.method,
        parts.uri.path(),
        parts.uri.query(),
        &upstream.repository,
        served.access,
    );
    let path = match route {
        Ok(Route::Ping) => return answer(StatusCode::OK, "{}".into()),
        Ok(Route::Forward(path)) => path,
        Err(why) => {
            tracing::warn!(method = %parts.method, path = parts.uri.path(), why, "a build's cache call was refused");
            return refused(why);
        }
    };
    // A call without a body can be asked again, once, should the registry refuse a token
    // before the time it was given for (revoked, or a clock ahead of ours).
    let again = parts.method == Method::GET || parts.method == Method::HEAD;
    let mut body = (!again).then_some(body);
    let mut tries = 0;
    let got = loop {
        tries += 1;
        let authorization = match upstream.authorization().await {
            Ok(value) => value,
            Err(why) => return answer(StatusCode::BAD_GATEWAY, error_body("UNAVAILABLE", &why)),
        };
        let mut ask = upstream
            .client
            .request(parts.method.clone(), format!("{}{path}", upstream.base));
        for (name, value) in &parts.headers {
            if passes(name) {
                ask = ask.header(name, value);
            }
        }
        if let Some(value) = &authorization {
            ask = ask.header(header::AUTHORIZATION, value);
        }
        if let Some(body) = body.take() {
            ask = ask.body(reqwest::Body::wrap_stream(body.into_data_stream()));
        }
        let got = match ask.send().await {
            Ok(got) => got,
            Err(e) => {
                return answer(
                    StatusCode::BAD_GATEWAY,
                    error_body("UNAVAILABLE", &format!("the registry: {e}")),
                );
            }
        };
        if got.status() == StatusCode::UNAUTHORIZED
            && let Some(refused) = &authorization
        {
            let renewable = upstream.forget(refused).await;
            if renewable && again && tries == 1 {
                continue;
            }
        }
        break got;
    };
    let mut response = Response::builder().status(got.status());
    for (name, value) in got.headers() {
        if !passes(name) {
            continue;
        }
        if name == header::LOCATION
            && let Ok(location) = value.to_str()
        {
            response = response.header(name, upstream.relocated(location, &served.at));
        } else {
            response = response.header(name, value);
        }
    }
    let stream = got.bytes_stream().map_err(std::io::Error::other);
    response
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| answer(StatusCode::BAD_GATEWAY, String::new()))
}

fn error_body(code: &str, message: &str) -> String {
    serde_json::json!({ "errors": [{ "code": code, "message": message }] }).to_string()
}

fn refused(why: &str) -> Response {
    answer(
        StatusCode::FORBIDDEN,
        error_body("DENIED", &format!("Kiln's build cache refused this: {why}")),
    )
}

fn answer(status: StatusCode, body: String) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response.headers_mut().insert(
        "docker-distribution-api-version",
        HeaderValue::from_static("registry/2.0"),
    );
    response
}

/// A real registry for tests: Debian's `docker-registry` on a free loopback port.
pub mod testing {
    use std::time::Duration;

    /// Whether this host has it (`make test-tools` installs it).
    pub fn available() -> bool {
        crate::backend::builder::registry::on_path("docker-registry")
    }

    /// How a test registry asks for a login.
    pub enum Login<'a> {
        None,
        /// Basic, checked against these `user:bcrypt-hash` lines.
        Htpasswd(&'a str),
        /// Bearer tokens from `realm`, signed by the certificate (PEM) at `cert`.
        Token {
            realm: &'a str,
            cert: &'a std::path::Path,
        },
    }

    /// The `service` and `issuer` a token registry expects in its tokens.
    pub const TOKEN_SERVICE: &str = "kiln-test-registry";
    pub const TOKEN_ISSUER: &str = "kiln-test-tokens";

    /// Serves a registry storing under `dir`, asking for `login`; stops when the child is
    /// dropped. Its `host:port`.
    pub async fn registry(
        dir: &std::path::Path,
        login: Login<'_>,
    ) -> (tokio::process::Child, String) {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let host = format!("127.0.0.1:{port}");
        let mut config = format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n\
             http:\n  addr: {host}\n",
            dir.join("storage").display(),
        );
        match login {
            Login::None => {}
            Login::Htpasswd(lines) => {
                std::fs::write(dir.join("htpasswd"), lines).unwrap();
                config.push_str(&format!(
                    "auth:\n  htpasswd:\n    realm: kiln-test\n    path: {}\n",
                    dir.join("htpasswd").display()
                ));
            }
            Login::Token { realm, cert } => config.push_str(&format!(
                "auth:\n  token:\n    realm: {realm}\n    service: {TOKEN_SERVICE}\n    \
                 issuer: {TOKEN_ISSUER}\n    rootcertbundle: {}\n",
                cert.display()
            )),
        }
        std::fs::write(dir.join("config.yml"), config).unwrap();
        let child = tokio::process::Command::new("docker-registry")
            .arg("serve")
            .arg(dir.join("config.yml"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let client = reqwest::Client::new();
        for _ in 0..100 {
            if client
                .get(format!("http://{host}/v2/"))
                .send()
                .await
                .is_ok()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        (child, host)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPO: &str = "kiln/ml/cache/layers";

    fn routed(method: Method, path: &str, query: Option<&str>) -> Result<Route, &'static str> {
        route(&method, path, query, REPO, Access::ReadWrite)
    }

    #[test]
    fn only_the_registry_calls_on_the_builds_own_cache_repository_pass() {
        assert_eq!(routed(Method::GET, "/v2/", None), Ok(Route::Ping));
        let blob = format!("blobs/sha256:{}", "a".repeat(64));
        let allowed = [
            (Method::GET, "manifests/0ae9425e".to_owned()),
            (Method::HEAD, "manifests/0ae9425e".into()),
            (Method::PUT, "manifests/0ae9425e".into()),
            (Method::GET, blob.clone()),
            (Method::HEAD, blob.clone()),
            (Method::POST, "blobs/uploads/".into()),
            (Method::PATCH, "blobs/uploads/5b1d-77".into()),
            (Method::PUT, "blobs/uploads/5b1d-77".into()),
            (Method::GET, "tags/list".into()),
        ];
        for (method, call) in allowed {
            let path = format!("/v2/{REPO}/{call}");
            assert_eq!(
                routed(method.clone(), &path, None),
                Ok(Route::Forward(path.clone())),
                "{method} {path}"
            );
            // While the build's steps run, only the reads.
            let read_only = route(&method, &path, None, REPO, Access::Read);
            if method == Method::GET || method == Method::HEAD {
                assert_eq!(
                    read_only,
                    Ok(Route::Forward(path.clone())),
                    "{method} {path}"
                );
            } else {
                assert!(
                    read_only.unwrap_err().contains("a write"),
                    "{method} {path}"
                );
            }
        }
        let refused = [
            (Method::POST, "/v2/".to_owned()),
            (Method::GET, "/v2/_catalog".into()),
            (
                Method::GET,
                "/v2/kiln/other/cache/layers/manifests/x".into(),
            ),
            (Method::GET, "/v2/kiln/ml/cache/layers2/manifests/x".into()),
            // The image named `cache`.
            (Method::GET, "/v2/kiln/ml/cache/manifests/x".into()),
            (
                Method::GET,
                format!("/v2/{REPO}/../../other/cache/layers/manifests/x"),
            ),
            (Method::GET, format!("/v2/{REPO}/%2e%2e/x/manifests/y")),
            (Method::GET, format!("/v2/{REPO}//manifests/x")),
            // A repository below this one.
            (Method::GET, format!("/v2/{REPO}/manifests/x/manifests/y")),
            (Method::DELETE, format!("/v2/{REPO}/manifests/x")),
            (Method::PUT, format!("/v2/{REPO}/{blob}")),
            (Method::GET, format!("/v2/{REPO}/blobs/uploads/a/b")),
            (Method::GET, format!("/v1/{REPO}/manifests/x")),
        ];
        for (method, path) in refused {
            assert!(
                routed(method.clone(), &path, None).is_err(),
                "{method} {path}"
            );
        }
        // A mount would copy another repository's blob in: the upload starts empty instead.
        let uploads = format!("/v2/{REPO}/blobs/uploads/");
        assert_eq!(
            routed(
                Method::POST,
                &uploads,
                Some("mount=sha256:ab&from=kiln/other/cache/layers")
            ),
            Ok(Route::Forward(uploads.clone()))
        );
        assert_eq!(
            routed(Method::POST, &uploads, Some("from=x&digest=sha256:ab")),
            Ok(Route::Forward(format!("{uploads}?digest=sha256:ab")))
        );
        assert_eq!(
            routed(
                Method::PUT,
                &format!("{uploads}u1"),
                Some("_state=q%3D&digest=sha256:ab")
            ),
            Ok(Route::Forward(format!(
                "{uploads}u1?_state=q%3D&digest=sha256:ab"
            )))
        );
    }

    fn settings(host: &str, login: bool) -> BuildSettings {
        BuildSettings {
            registry_username: login.then(|| "pusher".into()),
            registry_password: login.then(|| "secret".into()),
            ..BuildSettings::on_test_registry(host)
        }
    }

    #[test]
    fn the_login_is_the_one_the_registry_asks_for() {
        let asked = |value: &str, login: bool| {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_str(value).unwrap(),
            );
            let credential = login.then(|| ("pusher".to_owned(), "secret".to_owned()));
            challenge(&headers, &credential)
        };
        assert_eq!(
            asked("Basic realm=\"registry\"", true),
            Some(Login::Basic("Basic cHVzaGVyOnNlY3JldA==".into()))
        );
        assert_eq!(asked("Basic realm=\"registry\"", false), None);
        assert_eq!(
            asked(
                "Bearer realm=\"https://auth.example/token\",service=\"registry.example\",scope=\"x\"",
                true
            ),
            Some(Login::Bearer {
                realm: "https://auth.example/token".into(),
                service: "registry.example".into()
            })
        );
        assert_eq!(asked("Negotiate", true), None);
    }

    #[test]
    fn the_registrys_own_urls_lead_back_to_the_cache_and_others_stay() {
        let upstream = Upstream {
            base: "https://registry.example:5000".into(),
            host: "registry.example:5000".into(),
            repository: REPO.into(),
            client: reqwest::Client::new(),
            credential: None,
            login: Login::None,
            token: Default::default(),
        };
        let at = ADDRESS;
        assert_eq!(
            upstream.relocated(
                "https://registry.example:5000/v2/kiln/ml/cache/layers/blobs/uploads/u1?_state=s",
                at
            ),
            "http://127.0.0.1:5999/v2/kiln/ml/cache/layers/blobs/uploads/u1?_state=s"
        );
        assert_eq!(
            upstream.relocated("/v2/kiln/ml/cache/layers/blobs/uploads/u1", at),
            "/v2/kiln/ml/cache/layers/blobs/uploads/u1"
        );
        let storage = "https://bucket.s3.example/docker/registry/v2/blobs/sha256/aa/data?X-Amz=1";
        assert_eq!(upstream.relocated(storage, at), storage);
        // A host that only starts like the registry's.
        assert_eq!(
            upstream.relocated("https://registry.example:50001/v2/x", at),
            "https://registry.example:50001/v2/x"
        );
    }

    fn digest(bytes: &[u8]) -> String {
        use sha2::{Digest, Sha256};
        let hex: String = Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("sha256:{hex}")
    }

    /// Uploads `bytes` as a blob of `repository` through `base` (monolithically, as
    /// buildah does small blobs); the status of the upload's end, or of its start when
    /// that did not answer 202.
    async fn upload(
        client: &reqwest::Client,
        base: &str,
        repository: &str,
        bytes: &[u8],
        login: bool,
    ) -> StatusCode {
        let with_login = |ask: reqwest::RequestBuilder| {
            if login {
                ask.basic_auth("pusher", Some("secret"))
            } else {
                ask
            }
        };
        let started = with_login(client.post(format!("{base}/v2/{repository}/blobs/uploads/")))
            .send()
            .await
            .unwrap();
        if started.status() != StatusCode::ACCEPTED {
            return started.status();
        }
        let location = started.headers()[header::LOCATION]
            .to_str()
            .unwrap()
            .to_owned();
        let location = if location.starts_with('/') {
            format!("{base}{location}")
        } else {
            location
        };
        let separator = if location.contains('?') { '&' } else { '?' };
        with_login(client.put(format!("{location}{separator}digest={}", digest(bytes))))
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .body(bytes.to_vec())
            .send()
            .await
            .unwrap()
            .status()
    }

    #[tokio::test]
    async fn a_build_reaches_its_own_cache_in_a_registry_that_needs_a_login_and_nothing_else() {
        if !testing::available() {
            eprintln!("needs Debian's docker-registry (make test-tools): not checked");
            return;
        }
        let dir = std::env::temp_dir().join(format!(
            "kiln-cache-proxy-{}",
            crate::backend::random_hex(4)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let hashed = bcrypt::hash("secret", 4).unwrap();
        let (_registry, host) = testing::registry(
            &dir,
            testing::Login::Htpasswd(&format!("pusher:{hashed}\n")),
        )
        .await;
        let direct = format!("http://{host}");
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        // Another group's layer, pushed with the login.
        let theirs = b"the other group's layer".as_slice();
        let other = "kiln/other/cache/layers";
        assert_eq!(
            upload(&client, &direct, other, theirs, true).await,
            StatusCode::CREATED
        );

        // As a build Pod's cache step reads its login: from the push credential's file.
        let auth_file = dir.join("push.json");
        std::fs::write(&auth_file, settings(&host, true).push_auth().to_json()).unwrap();
        let upstream = Upstream::from_auth_file(&format!("{host}/{REPO}"), &auth_file, true, None)
            .await
            .unwrap();
        assert!(
            matches!(upstream.login, Login::Basic(_)),
            "{:?}",
            upstream.login
        );
        assert_eq!(upstream.reference(), format!("{ADDRESS}/{REPO}"));
        let shared = Arc::new(upstream);
        let (cache, _serving) = serving(Arc::clone(&shared), Access::ReadWrite).await;

        // Without a login of its own, the build writes and reads its cache through Kiln;
        // the registry itself refuses the same call without one.
        let ours = b"a layer of this build".as_slice();
        assert_eq!(
            upstream_status(&client, &direct, ours).await,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            upload(&client, &cache, REPO, ours, false).await,
            StatusCode::CREATED
        );
        let read = client
            .get(format!("{cache}/v2/{REPO}/blobs/{}", digest(ours)))
            .send()
            .await
            .unwrap();
        assert_eq!(read.status(), StatusCode::OK);
        assert!(!read.headers().contains_key(header::WWW_AUTHENTICATE));
        assert_eq!(read.bytes().await.unwrap(), ours);
        let ping = client.get(format!("{cache}/v2/")).send().await.unwrap();
        assert_eq!(ping.status(), StatusCode::OK);

        // Nothing else: another group's cache, the catalog, a delete.
        assert_eq!(
            upload(&client, &cache, other, ours, false).await,
            StatusCode::FORBIDDEN
        );
        for (method, path) in [
            (Method::GET, format!("/v2/{other}/blobs/{}", digest(theirs))),
            (Method::GET, "/v2/_catalog".into()),
            (Method::DELETE, format!("/v2/{REPO}/blobs/{}", digest(ours))),
        ] {
            let answer = client
                .request(method.clone(), format!("{cache}{path}"))
                .send()
                .await
                .unwrap();
            assert_eq!(answer.status(), StatusCode::FORBIDDEN, "{method} {path}");
        }
        // A mount of the other group's layer starts an empty upload instead (202, not 201),
        // and the layer is not in this build's cache.
        let mount = client
            .post(format!(
                "{cache}/v2/{REPO}/blobs/uploads/?mount={}&from={other}",
                digest(theirs)
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(mount.status(), StatusCode::ACCEPTED);
        let stolen = client
            .head(format!("{cache}/v2/{REPO}/blobs/{}", digest(theirs)))
            .send()
            .await
            .unwrap();
        assert_eq!(stolen.status(), StatusCode::NOT_FOUND);

        // While a build's steps run the cache only reads: what is there can be taken, no
        // upload starts, and the registry holds nothing new.
        let (reading, _read_only) = serving(Arc::clone(&shared), Access::Read).await;
        assert_eq!(
            read_blob(&client, &reading, ours).await,
            (StatusCode::OK, ours.to_vec())
        );
        let planted = b"a layer planted by a build step".as_slice();
        assert_eq!(
            upload(&client, &reading, REPO, planted, false).await,
            StatusCode::FORBIDDEN
        );
        let found = client
            .head(format!("{cache}/v2/{REPO}/blobs/{}", digest(planted)))
            .send()
            .await
            .unwrap();
        assert_eq!(found.status(), StatusCode::NOT_FOUND);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A cache serving `upstream` as `access` says on a free loopback port: its URL.
    async fn serving(upstream: Arc<Upstream>, access: Access) -> (String, Serving) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        (url, serve(listener, upstream, access))
    }

    /// Reading `bytes`' blob of this cache at `base`: the status and what came.
    async fn read_blob(
        client: &reqwest::Client,
        base: &str,
        bytes: &[u8],
    ) -> (StatusCode, Vec<u8>) {
        let read = client
            .get(format!("{base}/v2/{REPO}/blobs/{}", digest(bytes)))
            .send()
            .await
            .unwrap();
        (read.status(), read.bytes().await.unwrap().to_vec())
    }

    /// The registry's own answer to reading `bytes`' blob of this cache without a login.
    async fn upstream_status(client: &reqwest::Client, direct: &str, bytes: &[u8]) -> StatusCode {
        client
            .get(format!("{direct}/v2/{REPO}/blobs/{}", digest(bytes)))
            .send()
            .await
            .unwrap()
            .status()
    }

    /// A token service as registries use (distribution's token auth): checks the Basic
    /// login, notes the scope asked, and grants it as an ES256 JWT whose `x5c` header
    /// carries the certificate the registry trusts.
    struct Tokens {
        key: ring::signature::EcdsaKeyPair,
        cert_der: Vec<u8>,
        asked: std::sync::Mutex<Vec<String>>,
        /// The next token granted ran out two minutes ago (past the registry's minute of leeway).
        stale_next: std::sync::atomic::AtomicBool,
    }

    async fn token(State(tokens): State<Arc<Tokens>>, request: Request) -> Response {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let login = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if login != "Basic cHVzaGVyOnNlY3JldA==" {
            return answer(StatusCode::UNAUTHORIZED, "{}".into());
        }
        let query = request.uri().query().unwrap_or_default().to_owned();
        let scope = query
            .split('&')
            .find_map(|pair| pair.strip_prefix("scope="))
            .map(|s| {
                s.replace("%3A", ":")
                    .replace("%2F", "/")
                    .replace("%2C", ",")
            })
            .unwrap_or_default();
        tokens.asked.lock().unwrap().push(scope.clone());
        let mut parts = scope.splitn(3, ':');
        let (_, name, actions) = (
            parts.next(),
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
        );
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let header = serde_json::json!({
            "typ": "JWT", "alg": "ES256",
            "x5c": [base64::engine::general_purpose::STANDARD.encode(&tokens.cert_der)],
        });
        let claims = serde_json::json!({
            "iss": testing::TOKEN_ISSUER, "sub": "pusher", "aud": testing::TOKEN_SERVICE,
            "exp": if tokens.stale_next.swap(false, std::sync::atomic::Ordering::SeqCst) { now - 120 } else { now + 300 },
            "nbf": now - 600, "iat": now, "jti": crate::backend::random_hex(8),
            "access": [{"type": "repository", "name": name, "actions": actions.split(',').collect::<Vec<_>>()}],
        });
        let signing = format!(
            "{}.{}",
            b64.encode(header.to_string()),
            b64.encode(claims.to_string())
        );
        let rng = ring::rand::SystemRandom::new();
        let signature = tokens.key.sign(&rng, signing.as_bytes()).unwrap();
        let jwt = format!("{signing}.{}", b64.encode(signature.as_ref()));
        answer(
            StatusCode::OK,
            serde_json::json!({"token": jwt, "expires_in": 300}).to_string(),
        )
    }

    /// An EC P-256 key (PKCS#8 DER) and its self-signed certificate (PEM file, DER).
    fn signing_key(dir: &std::path::Path) -> (Vec<u8>, std::path::PathBuf, Vec<u8>) {
        let run = |args: &[&str]| {
            let out = std::process::Command::new("openssl")
                .args(args)
                .current_dir(dir)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        run(&[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "key.pem",
        ]);
        run(&[
            "pkcs8", "-topk8", "-nocrypt", "-in", "key.pem", "-outform", "DER", "-out", "key.der",
        ]);
        run(&[
            "req",
            "-new",
            "-x509",
            "-key",
            "key.pem",
            "-subj",
            "/CN=kiln-test-tokens",
            "-days",
            "1",
            "-out",
            "cert.pem",
        ]);
        run(&[
            "x509", "-in", "cert.pem", "-outform", "DER", "-out", "cert.der",
        ]);
        (
            std::fs::read(dir.join("key.der")).unwrap(),
            dir.join("cert.pem"),
            std::fs::read(dir.join("cert.der")).unwrap(),
        )
    }

    #[tokio::test]
    async fn a_registry_with_a_token_service_gets_a_token_for_this_cache_only() {
        if !testing::available() || !crate::backend::builder::registry::on_path("openssl") {
            eprintln!("needs Debian's docker-registry and openssl (make test-tools): not checked");
            return;
        }
        let dir = std::env::temp_dir().join(format!(
            "kiln-cache-token-{}",
            crate::backend::random_hex(4)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let (key, cert, cert_der) = signing_key(&dir);
        let tokens = Arc::new(Tokens {
            key: ring::signature::EcdsaKeyPair::from_pkcs8(
                &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                &key,
                &ring::rand::SystemRandom::new(),
            )
            .unwrap(),
            cert_der,
            asked: Default::default(),
            stale_next: Default::default(),
        });
        let service = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let realm = format!("http://{}/token", service.local_addr().unwrap());
        let app = axum::Router::new()
            .route("/token", axum::routing::get(token))
            .with_state(tokens.clone());
        let token_service = tokio::spawn(async move { axum::serve(service, app).await });
        let (_registry, host) = testing::registry(
            &dir,
            testing::Login::Token {
                realm: &realm,
                cert: &cert,
            },
        )
        .await;
        let direct = format!("http://{host}");
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let ours = b"a layer pushed with a token".as_slice();
        assert_eq!(
            upstream_status(&client, &direct, ours).await,
            StatusCode::UNAUTHORIZED
        );

        let login = Some(("pusher".to_owned(), "secret".to_owned()));
        let upstream = Upstream::connect_with(&format!("{host}/{REPO}"), login, true, None)
            .await
            .unwrap();
        assert_eq!(
            upstream.login,
            Login::Bearer {
                realm: realm.clone(),
                service: testing::TOKEN_SERVICE.into()
            }
        );
        let (cache, _serving) = serving(Arc::new(upstream), Access::ReadWrite).await;
        assert_eq!(
            upload(&client, &cache, REPO, ours, false).await,
            StatusCode::CREATED
        );
        assert_eq!(
            read_blob(&client, &cache, ours).await,
            (StatusCode::OK, ours.to_vec())
        );
        // One token, for this cache repository only, kept for the calls after it.
        assert_eq!(
            *tokens.asked.lock().unwrap(),
            [format!("repository:{REPO}:pull,push")]
        );

        // A wrong password: the token service refuses, and the build's call says why.
        let wrong = Some(("pusher".to_owned(), "not-it".to_owned()));
        let upstream = Upstream::connect_with(&format!("{host}/{REPO}"), wrong, true, None)
            .await
            .unwrap();
        let (refused, _serving) = serving(Arc::new(upstream), Access::ReadWrite).await;
        let answer = client
            .get(format!("{refused}/v2/{REPO}/blobs/{}", digest(ours)))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::BAD_GATEWAY);
        let said = answer.text().await.unwrap();
        assert!(
            said.contains("token service") && said.contains("401"),
            "{said}"
        );

        // A token the registry no longer takes before the time it was given for (revoked,
        // or clocks apart): dropped, a new one asked for, the read asked again and answered.
        tokens
            .stale_next
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let login = Some(("pusher".to_owned(), "secret".to_owned()));
        let upstream = Upstream::connect_with(&format!("{host}/{REPO}"), login, true, None)
            .await
            .unwrap();
        let (renewing, _serving) = serving(Arc::new(upstream), Access::ReadWrite).await;
        let before = tokens.asked.lock().unwrap().len();
        assert_eq!(
            read_blob(&client, &renewing, ours).await,
            (StatusCode::OK, ours.to_vec())
        );
        assert_eq!(tokens.asked.lock().unwrap().len(), before + 2);
        token_service.abort();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
