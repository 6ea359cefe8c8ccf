//! A real Kiln on a random loopback port with a fresh database (SQLite, or PostgreSQL
//! when `KILN_TEST_DATABASE_URL` names one), and a client that keeps cookies.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use app::backend::builder::BuildQueue;
use app::backend::{AppState, AuthSettings, Db, SecretKey, db::testing::fresh_db};
use app::domain::Role;
use app::ops::{Call, accounts};
use server::origin::AllowedOrigin;

pub struct TestApp {
    pub addr: SocketAddr,
    pub db: Db,
    pub state: AppState,
}

/// Password of every account made by [`TestApp::with_roles`].
pub const PASSWORD: &str = "test-password";

impl TestApp {
    /// A custom image of `scope` with one queued build (nothing drives it unless builds
    /// are on); the image's name and the build's id.
    pub async fn queued_build(&self, scope: app::backend::images::Scope) -> (String, i64) {
        use app::backend::builds::{self, NewBuild};
        use app::backend::db::testing::conn;
        let name = format!("built-{}", app::backend::random_hex(4));
        let form = app::domain::BuildForm {
            display_name: name.clone(),
            image_type: "cpu".into(),
            base_image: "registry.example/base:1".into(),
            apt: "curl".into(),
            ..Default::default()
        };
        let valid = form.validate().unwrap();
        let image =
            app::backend::images::create_built(&mut *conn(&self.db).await, scope, &valid, None)
                .await
                .unwrap();
        let new = NewBuild {
            image_id: image.id,
            scope,
            spec: &valid.spec,
            image_type: "cpu",
            base_digest: "sha256:00",
            base_user: "",
            target: "registry.example/out:1",
            created_by: "g-admin",
            compressed_size: None,
        };
        let build = builds::enqueue(&mut *conn(&self.db).await, &new, false)
            .await
            .unwrap();
        (name, build.id)
    }

    pub async fn spawn(auth: AuthSettings) -> TestApp {
        Self::spawn_with(
            auth,
            BuildQueue::disabled("No builder in these tests."),
            fresh_db().await,
        )
        .await
    }

    /// A Kiln with the given build service and database; the build queue runs when the
    /// service has a backend.
    pub async fn spawn_with(auth: AuthSettings, builds: Arc<BuildQueue>, db: Db) -> TestApp {
        let secret = SecretKey::from_hex(&"07".repeat(32)).unwrap();
        if builds.enabled() {
            tokio::spawn(builds.clone().run(
                db.clone(),
                secret.clone(),
                tokio_util::sync::CancellationToken::new(),
            ));
        }
        let state = AppState::new(db.clone(), secret, builds).with_auth(auth);
        let listener = server::listener::bind("127.0.0.1:0").await.unwrap();
        let addr = axum::serve::Listener::local_addr(&listener).unwrap();
        let app = server::router(state.clone(), AllowedOrigin::default());
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .unwrap();
        });
        TestApp { addr, db, state }
    }

    /// The operator's call on this Kiln: what `kiln …` on its command line does.
    pub fn operator(&self) -> Call {
        Call::operator(self.state.clone())
    }

    /// Groups G (`ml`) and H (`ml-team`, a name sharing G's prefix) and one account per role:
    /// `loner` (no group), `member` (of G), `h-admin` (admin of H), `g-admin`, `root` (system admin).
    pub async fn with_roles() -> TestApp {
        Self::add_roles(Self::spawn(AuthSettings::local()).await).await
    }

    /// The accounts and groups of [`TestApp::with_roles`], added to `app`.
    pub async fn add_roles(app: TestApp) -> TestApp {
        let op = &app.operator();
        accounts::add_group(op, "ml").await.unwrap();
        accounts::add_group(op, "ml-team").await.unwrap();
        for (user, system_admin) in [
            ("loner", false),
            ("member", false),
            ("h-admin", false),
            ("g-admin", false),
            ("root", true),
        ] {
            accounts::add_user(op, user, PASSWORD, system_admin)
                .await
                .unwrap();
        }
        accounts::add_member(op, "ml", "member", Role::Member)
            .await
            .unwrap();
        accounts::add_member(op, "ml-team", "h-admin", Role::Admin)
            .await
            .unwrap();
        accounts::add_member(op, "ml", "g-admin", Role::Admin)
            .await
            .unwrap();
        app
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// A browser-like client: keeps cookies, does not follow redirects.
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    /// A client that sends a service token, as a script or a launch page's backend does.
    pub fn bearer(&self, token: &str) -> reqwest::Client {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {token}").parse().unwrap(),
        );
        reqwest::Client::builder()
            .default_headers(headers)
            .build()
            .unwrap()
    }

    /// A client signed in as `user`.
    pub async fn signed_in(&self, user: &str) -> reqwest::Client {
        let client = self.client();
        let res = self
            .call(
                &client,
                "login",
                &[("username", user), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(res.status(), reqwest::StatusCode::OK, "sign-in of {user}");
        client
    }

    /// Opens a page as a browser navigation does.
    pub async fn page(&self, client: &reqwest::Client, path: &str) -> reqwest::Response {
        client
            .get(self.url(path))
            .header("accept", "text/html")
            .send()
            .await
            .unwrap()
    }

    /// Calls a server function the way a hydrated page does (same-origin POST).
    pub async fn call(
        &self,
        client: &reqwest::Client,
        endpoint: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        client
            .post(self.url(&format!("/api/{endpoint}")))
            .header("origin", format!("http://{}", self.addr))
            .form(form)
            .send()
            .await
            .unwrap()
    }
}

/// The most memory this process has held, in KiB.
pub fn peak_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap()
}

/// One sample of a `/metrics` text, as Prometheus' own parser read it.
#[derive(Debug, serde::Deserialize)]
pub struct Sample {
    pub name: String,
    pub labels: std::collections::BTreeMap<String, String>,
    pub value: f64,
}

/// Every sample of an OpenMetrics text, read by the Python Prometheus client's parser
/// (`scripts/parse-metrics.py`); panics when the parser refuses the text.
pub fn parse_metrics(text: &str) -> Vec<Sample> {
    let out = run_script(
        "/usr/bin/python3",
        "parse-metrics.py",
        text,
        "make test-tools installs python3-prometheus-client",
    );
    assert!(
        out.status.success(),
        "the Prometheus parser refused the text: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    json_lines(&out.stdout)
}

/// Runs `python` on `scripts/NAME` with `input` on its standard input; `hint` says how
/// to install what it needs.
fn run_script(python: &str, name: &str, input: &str, hint: &str) -> std::process::Output {
    use std::io::Write;
    let script = format!("{}/../scripts/{name}", env!("CARGO_MANIFEST_DIR"));
    let mut child = std::process::Command::new(python)
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{python} runs ({hint}): {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Each line of a script's output, read as JSON.
fn json_lines<T: serde::de::DeserializeOwned>(stdout: &[u8]) -> Vec<T> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// The value of the sample named `name` whose labels include `labels`.
pub fn sample(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
}

/// One component of an SBOM, as the CycloneDX library read it and its package URL as
/// packageurl-python read that.
#[derive(Debug, serde::Deserialize)]
pub struct SbomComponent {
    pub name: String,
    pub version: Option<String>,
    pub purl: String,
    /// The purl's type (`deb`, `pypi`, `conda`), name and version, decoded.
    #[serde(rename = "type")]
    pub kind: String,
    pub purl_name: String,
    pub purl_version: Option<String>,
}

/// The venv `make test-tools` installs cyclonedx-python-lib into (PyPI only).
const SBOM_PYTHON: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../target/sbom-venv/bin/python3"
);

/// Checks a CycloneDX document with the CycloneDX project's Python library
/// (`scripts/validate-sbom.py`: its strict JSON validator for 1.5, and each purl read back
/// by packageurl-python): its components, or the validator's reasons for refusing it.
pub fn validate_sbom(document: &str) -> Result<Vec<SbomComponent>, String> {
    let hint = "make test-tools installs cyclonedx-python-lib there";
    let out = run_script(SBOM_PYTHON, "validate-sbom.py", document, hint);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("ModuleNotFoundError"),
        "{SBOM_PYTHON}: {hint}: {stderr}"
    );
    match out.status.success() {
        true => Ok(json_lines(&out.stdout)),
        false => Err(stderr.into_owned()),
    }
}
