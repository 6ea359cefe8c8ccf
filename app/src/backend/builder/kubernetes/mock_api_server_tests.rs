//! The Kubernetes backend against a MOCK API server: no cluster exists on this machine.
//!
//! kube-rs's "ApiServerVerifier" pattern (`tower_test::mock`): the client talks to an
//! in-process service that answers like the API server would for the requests this backend
//! makes (create, patch, get, delete, list + watch of Jobs and Pods, the Pod log), records
//! every request for the test to check, and lets the test move the Job and Pod along as
//! the Job controller and kubelet would. The build log goes to a real database.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, StreamBody, combinators::UnsyncBoxBody};
use kube::client::Body;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_stream_shim::ReceiverStream;

use super::*;
use crate::backend::builder::context::{CacheScope, build_context};
use crate::backend::builder::{BuildJob, BuildSettings, LogWriter, RegistryAuth, Stop};
use crate::backend::builds::{self, BuildRow};
use crate::backend::db::testing::fresh_db;
use crate::backend::{Db, builds::testing};
use crate::domain::build::BuildSpec;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type MockBody = UnsyncBoxBody<Bytes, BoxError>;
type Sender = mpsc::UnboundedSender<Bytes>;

const NAMESPACE: &str = "kiln";
const POD: &str = "kiln-build-pod-x7k2p";

/// A request as the mock API server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    path: String,
    query: String,
    body: Value,
    /// Log chunks stored for the build when the request arrived.
    chunks_stored: i64,
}

#[derive(Default)]
struct State {
    job: Option<Value>,
    pod: Option<Value>,
    version: u64,
    seen: Vec<Seen>,
    job_watches: Vec<Sender>,
    pod_watches: Vec<Sender>,
    logs: Vec<Sender>,
    /// A kind whose creation is refused (403), to test that nothing is left behind.
    refuse: Option<&'static str>,
    /// The builder's container is gone: its log can be read, but no longer followed.
    container_done: bool,
    /// What the push step's container printed (read once it has ended).
    push_log: String,
    /// The smoke-test Pod once created, with the status it is given at once (the test's
    /// `smoke_status`, else succeeded), and what its container printed.
    smoke: Option<Value>,
    smoke_status: Option<Value>,
    smoke_log: String,
    smoke_watches: Vec<Sender>,
}

#[derive(Clone)]
struct ApiServer {
    state: Arc<Mutex<State>>,
    db: Db,
    build_id: i64,
}

fn full(bytes: impl Into<Bytes>) -> MockBody {
    Full::new(bytes.into())
        .map_err(|never| -> BoxError { match never {} })
        .boxed_unsync()
}

fn streamed() -> (Sender, MockBody) {
    let (tx, rx) = mpsc::unbounded_channel::<Bytes>();
    let frames = ReceiverStream(rx).map(|b| Ok::<_, BoxError>(http_body::Frame::data(b)));
    (tx, StreamBody::new(frames).boxed_unsync())
}

fn json_response(status: StatusCode, value: &Value) -> Response<MockBody> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(full(serde_json::to_vec(value).unwrap()))
        .unwrap()
}

fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "reason": reason, "message": message, "code": code})
}

fn event(kind: &str, object: &Value) -> Bytes {
    Bytes::from(format!("{}\n", json!({"type": kind, "object": object})))
}

impl ApiServer {
    /// A client talking to a new mock API server, which answers until the test ends.
    fn start(db: Db, build_id: i64) -> (kube::Client, ApiServer) {
        let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<MockBody>>();
        let server = ApiServer {
            state: Arc::default(),
            db,
            build_id,
        };
        let answering = server.clone();
        tokio::spawn(async move {
            while let Some((request, send)) = handle.next_request().await {
                let response = answering.answer(request).await;
                send.send_response(response);
            }
        });
        (kube::Client::new(service, NAMESPACE), server)
    }

    async fn answer(&self, request: Request<Body>) -> Response<MockBody> {
        let (parts, body) = request.into_parts();
        let bytes = body.collect_bytes().await.unwrap();
        let chunks_stored = builds::last_log_seq(&self.db, self.build_id).await.unwrap();
        let path = parts.uri.path().to_owned();
        let query = parts.uri.query().unwrap_or_default().to_owned();
        let mut state = self.state.lock().unwrap();
        state.seen.push(Seen {
            method: parts.method.clone(),
            path: path.clone(),
            query: query.clone(),
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            chunks_stored,
        });
        let jobs = format!("/apis/batch/v1/namespaces/{NAMESPACE}/jobs");
        let core = format!("/api/v1/namespaces/{NAMESPACE}");
        let watch = query.contains("watch=true");
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let smoke_pod = format!("{core}/pods/{}", objects::smoke_name(self.build_id));
        match (&parts.method, path.as_str()) {
            (&Method::POST, p) if p == format!("{core}/pods") => {
                // As the kubelet would have it by the time the watch looks.
                let mut pod = body;
                pod["metadata"]["resourceVersion"] = json!("1");
                pod["status"] = state.smoke_status.clone().unwrap_or_else(|| {
                    json!({"phase": "Succeeded", "containerStatuses": [{"name": "smoke",
                        "image": "", "imageID": "", "ready": false, "restartCount": 0,
                        "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]})
                });
                state.smoke = Some(pod.clone());
                json_response(StatusCode::CREATED, &pod)
            }
            (&Method::GET, p) if p == format!("{core}/pods") && query.contains("smoke") => {
                if watch {
                    let (tx, body) = streamed();
                    if let Some(pod) = &state.smoke {
                        let _ = tx.send(event("MODIFIED", pod));
                    }
                    // Kept open, as the API server keeps a watch.
                    state.smoke_watches.push(tx);
                    return Response::new(body);
                }
                json_response(
                    StatusCode::OK,
                    &json!({"apiVersion": "v1", "kind": "PodList",
                            "metadata": {"resourceVersion": state.version.to_string()},
                            "items": state.smoke.iter().collect::<Vec<_>>()}),
                )
            }
            (&Method::GET, p) if p == format!("{smoke_pod}/log") => {
                Response::new(full(state.smoke_log.clone()))
            }
            (&Method::DELETE, p) if p == smoke_pod => {
                state.smoke = None;
                json_response(
                    StatusCode::OK,
                    &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}),
                )
            }
            (&Method::POST, p) if p == jobs => {
                let mut job = body;
                job["metadata"]["uid"] = json!("0b7e6c1e-job-uid");
                state.job = Some(job);
                let job = state.bump_job();
                json_response(StatusCode::CREATED, &job)
            }
            (&Method::POST, p) if p.starts_with(&core) => {
                let kind = p.rsplit('/').next().unwrap_or_default();
                if state.refuse == Some(kind) {
                    let refused = status(403, "Forbidden", &format!("{kind} is forbidden"));
                    return json_response(StatusCode::FORBIDDEN, &refused);
                }
                let mut object = body;
                object["metadata"]["resourceVersion"] = json!("1");
                json_response(StatusCode::CREATED, &object)
            }
            (&Method::PATCH, p) if p.starts_with(&jobs) => {
                if let Some(suspend) = body["spec"]["suspend"].as_bool()
                    && let Some(job) = state.job.as_mut()
                {
                    job["spec"]["suspend"] = json!(suspend);
                }
                let job = state.bump_job();
                json_response(StatusCode::OK, &job)
            }
            (&Method::DELETE, p) if p.starts_with(&jobs) => {
                state.job = None;
                state.logs.clear();
                json_response(
                    StatusCode::OK,
                    &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}),
                )
            }
            (&Method::GET, p) if p == jobs && watch => {
                let (tx, body) = streamed();
                if let Some(job) = &state.job {
                    let _ = tx.send(event("MODIFIED", job));
                }
                state.job_watches.push(tx);
                Response::new(body)
            }
            (&Method::GET, p) if p == jobs => json_response(
                StatusCode::OK,
                &json!({"apiVersion": "batch/v1", "kind": "JobList",
                        "metadata": {"resourceVersion": state.version.to_string()},
                        "items": state.job.iter().collect::<Vec<_>>()}),
            ),
            (&Method::GET, p) if p.starts_with(&jobs) => match &state.job {
                Some(job) => json_response(StatusCode::OK, job),
                None => json_response(
                    StatusCode::NOT_FOUND,
                    &status(404, "NotFound", "jobs.batch not found"),
                ),
            },
            (&Method::GET, p) if p == format!("{core}/pods") && watch => {
                let (tx, body) = streamed();
                if let Some(pod) = &state.pod {
                    let _ = tx.send(event("MODIFIED", pod));
                }
                state.pod_watches.push(tx);
                Response::new(body)
            }
            (&Method::GET, p) if p == format!("{core}/pods") => json_response(
                StatusCode::OK,
                &json!({"apiVersion": "v1", "kind": "PodList",
                        "metadata": {"resourceVersion": state.version.to_string()},
                        "items": state.pod.iter().collect::<Vec<_>>()}),
            ),
            (&Method::GET, p)
                if p == format!("{core}/pods/{POD}/log") && query.contains("container=push") =>
            {
                Response::new(full(state.push_log.clone()))
            }
            (&Method::GET, p) if p == format!("{core}/pods/{POD}/log") => {
                if state.container_done {
                    return Response::new(full(Bytes::new()));
                }
                let (tx, body) = streamed();
                state.logs.push(tx);
                Response::new(body)
            }
            _ => json_response(
                StatusCode::NOT_FOUND,
                &status(404, "NotFound", "not served by the mock"),
            ),
        }
    }

    fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }

    fn requests(&self, method: Method, path_end: &str) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| s.method == method && s.path.ends_with(path_end))
            .collect()
    }

    /// Waits (up to 10 s) until the server has seen a request like this.
    async fn wait_for(&self, method: Method, path_end: &str) -> Seen {
        for _ in 0..1000 {
            if let Some(seen) = self.requests(method.clone(), path_end).pop() {
                return seen;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!(
            "the backend never sent {method} …{path_end}; it sent {:#?}",
            self.seen()
        );
    }

    /// As the Job controller: sets the Job's status. A finished Job's container is gone.
    fn job_status(&self, status: Value) {
        let mut state = self.state.lock().unwrap();
        if status.get("conditions").is_some() {
            state.container_done = true;
            state.logs.clear();
        }
        if let Some(job) = state.job.as_mut() {
            job["status"] = status;
        }
        state.bump_job();
    }

    /// As the scheduler and kubelet: the build's Pod, with this status.
    fn pod_status(&self, status: Value) {
        let mut state = self.state.lock().unwrap();
        state.version += 1;
        let pod = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": POD, "namespace": NAMESPACE,
                         "resourceVersion": state.version.to_string(),
                         "labels": {objects::BUILD_ID: self.build_id.to_string()}},
            "status": status});
        state.pod = Some(pod.clone());
        if pod["status"]["initContainerStatuses"][0]["state"]
            .get("running")
            .is_none()
        {
            state.container_done = true;
            state.logs.clear();
        }
        state
            .pod_watches
            .retain(|w| w.send(event("MODIFIED", &pod)).is_ok());
    }

    /// As the kubelet: lines of the builder's log, to every open log stream.
    fn log(&self, lines: &[&str]) {
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        let state = self.state.lock().unwrap();
        for stream in &state.logs {
            let _ = stream.send(Bytes::from(text.clone()));
        }
    }

    /// As the kubelet: what the push step's container printed.
    fn push_log(&self, text: &str) {
        self.state.lock().unwrap().push_log = text.to_owned();
    }

    /// The builder's container exited: its log streams end.
    fn end_log(&self) {
        self.state.lock().unwrap().logs.clear();
    }

    /// Waits for a log stream opened after `opened_before` others, and open now.
    async fn wait_for_log_stream(&self, opened_before: usize) -> Seen {
        for _ in 0..1000 {
            let opened = self.requests(Method::GET, "/log");
            if opened.len() > opened_before && !self.state.lock().unwrap().logs.is_empty() {
                return opened.last().unwrap().clone();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("no log stream open");
    }
}

impl State {
    /// A new resourceVersion for the Job, sent to its watchers; returns the Job.
    fn bump_job(&mut self) -> Value {
        self.version += 1;
        let Some(job) = self.job.as_mut() else {
            return Value::Null;
        };
        job["metadata"]["resourceVersion"] = json!(self.version.to_string());
        let job = job.clone();
        self.job_watches
            .retain(|w| w.send(event("MODIFIED", &job)).is_ok());
        job
    }
}

/// A tiny stand-in for `tokio_stream::wrappers::UnboundedReceiverStream`.
mod tokio_stream_shim {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    pub struct ReceiverStream<T>(pub tokio::sync::mpsc::UnboundedReceiver<T>);

    impl<T> futures_util::Stream for ReceiverStream<T> {
        type Item = T;
        fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
            self.0.poll_recv(cx)
        }
    }
}

/// The builds' Role as `deploy/` grants it: (API group, resource, verb).
fn granted() -> Vec<(String, String, String)> {
    const ROLE: &str = include_str!("../../../../../deploy/role.yaml");
    let list = |line: &str| -> Vec<String> {
        let inner = line
            .split_once('[')
            .and_then(|(_, rest)| rest.split_once(']'));
        inner
            .map(|(items, _)| {
                items
                    .split(',')
                    .map(|i| i.trim().trim_matches('"').to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut grants = Vec::new();
    let lines: Vec<&str> = ROLE.lines().map(str::trim).collect();
    for (i, line) in lines.iter().enumerate() {
        if let Some(rest) = line.strip_prefix("- apiGroups:") {
            let groups = list(rest);
            let resources = list(lines[i + 1].strip_prefix("resources:").unwrap());
            let verbs = list(lines[i + 2].strip_prefix("verbs:").unwrap());
            for group in &groups {
                for resource in &resources {
                    for verb in &verbs {
                        grants.push((group.clone(), resource.clone(), verb.clone()));
                    }
                }
            }
        }
    }
    grants
}

/// What a request asks of the API server in RBAC's words: (API group, resource with its
/// subresource, verb).
fn rbac_of(seen: &Seen) -> (String, String, String) {
    let (group, rest) = match seen.path.strip_prefix("/apis/") {
        Some(rest) => {
            let mut parts = rest.splitn(3, '/');
            let group = parts.next().unwrap().to_owned();
            (group, parts.nth(1).unwrap().to_owned())
        }
        None => (
            String::new(),
            seen.path.strip_prefix("/api/v1/").unwrap().to_owned(),
        ),
    };
    let parts: Vec<&str> = rest.split('/').collect();
    assert_eq!(parts[0], "namespaces", "namespaced only: {}", seen.path);
    let (resource, named) = match parts.len() {
        3 => (parts[2].to_owned(), false),
        4 => (parts[2].to_owned(), true),
        _ => (format!("{}/{}", parts[2], parts[4]), true),
    };
    let verb = match (&seen.method, named) {
        (&Method::GET, true) => "get",
        (&Method::GET, false) if seen.query.contains("watch=true") => "watch",
        (&Method::GET, false) => "list",
        (&Method::POST, _) => "create",
        (&Method::PATCH, _) => "patch",
        (&Method::PUT, _) => "update",
        (&Method::DELETE, true) => "delete",
        (&Method::DELETE, false) => "deletecollection",
        (method, _) => panic!("{method} {}", seen.path),
    };
    (group, resource, verb.to_owned())
}

/// Every request the backend made is one the builds' Role in `deploy/` allows: a verb the
/// backend starts using fails here, not in a cluster.
fn assert_the_role_allows(server: &ApiServer) {
    let grants = granted();
    assert!(!grants.is_empty(), "deploy/role.yaml was read");
    for seen in server.seen() {
        let asked = rbac_of(&seen);
        assert!(
            grants.contains(&asked),
            "deploy/role.yaml does not allow {asked:?} ({} {})",
            seen.method,
            seen.path
        );
    }
}

fn settings() -> (KubeSettings, BuildSettings) {
    let kube = KubeSettings {
        namespace: NAMESPACE.into(),
        builder: BuilderKind::BuildKit,
        image: BuilderKind::BuildKit.default_image().into(),
        push_image: DEFAULT_PUSH_IMAGE.into(),
        cache_image: None,
        process_sandbox: false,
        egress_except: parse_cidrs("except", DEFAULT_EGRESS_EXCEPT).unwrap(),
        egress_allow: Vec::new(),
        cpu_request: "500m".into(),
        cpu_limit: "2".into(),
        memory_request: "1Gi".into(),
        memory_limit: "4Gi".into(),
        ttl_seconds: 600,
        node_selector: BTreeMap::from([("kiln.dev/builds".to_owned(), "yes".to_owned())]),
        tolerations: parse_tolerations(
            r#"[{"key": "builds", "operator": "Exists", "effect": "NoSchedule"}]"#,
        )
        .unwrap(),
        pull_secret_namespaces: Vec::new(),
    };
    let build = BuildSettings {
        registry: "registry.internal:5000/kiln".into(),
        registry_username: Some("pusher".into()),
        registry_password: Some("push-secret".into()),
        insecure_registries: vec!["registry.internal:5000".into()],
        timeout: Duration::from_secs(1800),
        total_limit: 4,
        per_group_limit: 2,
        ca_bundle: None,
        log_limit: 16 * 1024 * 1024,
        internal_registries: Vec::new(),
        smoke_timeout: crate::backend::builder::smoke::DEFAULT_LIMIT,
        registry_cache: true,
    };
    (kube, build)
}

struct Fixture {
    db: Db,
    row: BuildRow,
    server: ApiServer,
    builder: Arc<KubeBuilder>,
}

impl Fixture {
    async fn new() -> Fixture {
        let db = fresh_db().await;
        let (scope, image) = testing::image(&db, "ml").await;
        testing::enqueued(&db, scope, &image).await;
        // Claimed by the leader, as its driver would have it.
        let row = builds::claim_next(&db, 5, 5).await.unwrap().unwrap();
        let (client, server) = ApiServer::start(db.clone(), row.id);
        let (kube, build) = settings();
        let builder = KubeBuilder::new(client, kube, build, std::env::temp_dir()).unwrap();
        Fixture {
            db,
            row,
            server,
            builder: Arc::new(builder),
        }
    }

    fn job(&self, log_cursor: &str) -> BuildJob {
        let spec: BuildSpec = self.row.spec().unwrap();
        let mut auth = RegistryAuth::default();
        auth.add("registry.internal:5000", "pusher", "push-secret");
        auth.add("docker.io", "puller", "pull-secret");
        let mut base_auth = RegistryAuth::default();
        base_auth.add("docker.io", "puller", "pull-secret");
        BuildJob {
            build_id: self.row.id,
            image_id: self.row.image_id,
            base: spec.base_image.as_str().to_owned(),
            context: build_context(
                &spec,
                testing::DIGEST,
                "",
                &CacheScope::new("registry.example/kiln", Some(1)),
            )
            .unwrap(),
            target: "registry.internal:5000/kiln/ml/tools:0123456789abcdef".into(),
            auth,
            base_auth,
            log_cursor: log_cursor.into(),
            // As the queue names it; no cache step renders without KILN_K8S_CACHE_IMAGE.
            cache: Some("registry.internal:5000/kiln/ml/cache/layers".into()),
        }
    }

    /// Starts `build` (or `reattach`) in a task, as the leader's driver does.
    fn run(
        &self,
        reattach: bool,
        log_cursor: &str,
    ) -> (Stop, tokio::task::JoinHandle<Result<Built, BuildFailure>>) {
        self.run_job(reattach, self.job(log_cursor))
    }

    /// `run` of this job.
    fn run_job(
        &self,
        reattach: bool,
        job: BuildJob,
    ) -> (Stop, tokio::task::JoinHandle<Result<Built, BuildFailure>>) {
        let (builder, db, stop) = (self.builder.clone(), self.db.clone(), Stop::default());
        let stopping = stop.clone();
        let task = tokio::spawn(async move {
            let mut log = LogWriter::continuing(db, job.build_id, u64::MAX)
                .await
                .unwrap();
            let result = if reattach {
                builder.reattach(&job, &mut log, &stopping).await
            } else {
                builder.build(&job, &mut log, &stopping).await
            };
            log.close().await;
            result
        });
        (stop, task)
    }

    async fn log(&self) -> String {
        builds::full_log(&self.db, self.row.id).await.unwrap()
    }
}

async fn ended(
    task: tokio::task::JoinHandle<Result<Built, BuildFailure>>,
) -> Result<Built, BuildFailure> {
    tokio::time::timeout(Duration::from_secs(20), task)
        .await
        .expect("the build ends")
        .unwrap()
}

fn running() -> Value {
    json!({"phase": "Pending", "initContainerStatuses": [{"name": "build",
        "image": "moby/buildkit:v0.32.2-rootless", "imageID": "", "ready": true,
        "restartCount": 0, "state": {"running": {"startedAt": "2026-11-27T12:00:00Z"}}}]})
}

fn terminated(exit_code: i32, reason: &str) -> Value {
    json!({"phase": if exit_code == 0 { "Running" } else { "Failed" },
        "initContainerStatuses": [{"name": "build",
        "image": "moby/buildkit:v0.32.2-rootless", "imageID": "", "ready": false,
        "restartCount": 0, "state": {"terminated": {"exitCode": exit_code, "reason": reason}}}]})
}

/// The builder is done; the push step ended with `exit_code`.
fn pushed(exit_code: i32) -> Value {
    let mut status = terminated(0, "Completed");
    status["phase"] = json!(if exit_code == 0 {
        "Succeeded"
    } else {
        "Failed"
    });
    status["containerStatuses"] = json!([{"name": "push",
        "image": DEFAULT_PUSH_IMAGE, "imageID": "", "ready": false, "restartCount": 0,
        "state": {"terminated": {"exitCode": exit_code,
            "reason": if exit_code == 0 { "Completed" } else { "Error" }}}}]);
    status
}

#[tokio::test]
async fn mock_api_server_a_build_creates_its_job_configmap_and_secret_follows_the_log_and_succeeds()
{
    let f = Fixture::new().await;
    let (_stop, task) = f.run(false, "");
    let name = format!("kiln-build-{}", f.row.id);

    // The Job first, suspended, with every field the issue asks for.
    let job = f.server.wait_for(Method::POST, "/jobs").await.body;
    assert_eq!(job["metadata"]["name"], json!(name));
    assert_eq!(
        job["metadata"]["labels"]["kiln.dev/build-id"],
        json!(f.row.id.to_string())
    );
    assert_eq!(
        job["metadata"]["labels"]["kiln.dev/image-id"],
        json!(f.row.image_id.to_string())
    );
    let spec = &job["spec"];
    assert_eq!(spec["suspend"], json!(true));
    assert_eq!(spec["backoffLimit"], json!(0));
    assert_eq!(spec["activeDeadlineSeconds"], json!(1800));
    assert_eq!(spec["ttlSecondsAfterFinished"], json!(600));
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["automountServiceAccountToken"], json!(false));
    assert_eq!(pod["restartPolicy"], json!("Never"));
    assert_eq!(pod["nodeSelector"]["kiln.dev/builds"], json!("yes"));
    assert_eq!(pod["tolerations"][0]["key"], json!("builds"));
    let container = &pod["initContainers"][0];
    assert_eq!(container["name"], json!("build"));
    assert_eq!(container["command"], json!(["buildctl-daemonless.sh"]));
    assert_eq!(
        container["resources"],
        json!({"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "4Gi"}})
    );
    let security = &container["securityContext"];
    assert_eq!(security["seccompProfile"]["type"], json!("Unconfined"));
    assert_eq!(security["appArmorProfile"]["type"], json!("Unconfined"));
    assert_eq!(security["runAsUser"], json!(1000));
    assert!(
        container["args"]
            .to_string()
            .contains("--output=type=oci,dest=/kiln/out/image.tar"),
        "the builder writes an archive and pushes nothing: {}",
        container["args"]
    );
    // The push step: skopeo, alone with the push credential.
    let push = &pod["containers"][0];
    assert_eq!(push["name"], json!("push"));
    assert_eq!(push["image"], json!(DEFAULT_PUSH_IMAGE));
    assert_eq!(
        push["args"],
        json!([
            "/kiln/out/image.tar",
            "registry.internal:5000/kiln/ml/tools:0123456789abcdef",
            "false",
            "/opt/kiln/installed.txt"
        ])
    );
    let mounts = |c: &Value| -> Vec<String> {
        c["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(mounts(container).contains(&"pull-auth".to_owned()));
    assert!(!mounts(container).contains(&"push-auth".to_owned()));
    assert!(mounts(push).contains(&"push-auth".to_owned()));
    assert!(!mounts(push).contains(&"pull-auth".to_owned()));
    let volume = |name: &str| {
        pod["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == json!(name))
            .cloned()
            .unwrap()
    };
    assert_eq!(
        volume("pull-auth")["secret"]["items"],
        json!([{"key": "pull.json", "path": "config.json"}])
    );
    assert_eq!(
        volume("push-auth")["secret"]["items"],
        json!([{"key": "push.json", "path": "config.json"}])
    );

    // Then the ConfigMap and Secret, owned by the Job, then the Job is let go.
    let config_map = f.server.wait_for(Method::POST, "/configmaps").await.body;
    let secret = f.server.wait_for(Method::POST, "/secrets").await.body;
    for owned in [&config_map, &secret] {
        assert_eq!(
            owned["metadata"]["ownerReferences"],
            json!([{"apiVersion": "batch/v1", "kind": "Job", "name": name,
                    "uid": "0b7e6c1e-job-uid", "controller": true, "blockOwnerDeletion": true}])
        );
    }
    assert!(
        config_map["data"]["Containerfile"]
            .as_str()
            .unwrap()
            .contains("debian@sha256:")
    );
    assert_eq!(config_map["data"]["apt.txt"], json!("curl\n"));
    assert!(
        config_map["data"]["buildkitd.toml"]
            .as_str()
            .unwrap()
            .contains("[registry.\"registry.internal:5000\"]\n  http = true")
    );
    assert_eq!(secret["type"], json!("Opaque"));
    use base64::Engine;
    let hosts = |key: &str| -> Vec<String> {
        let json = base64::engine::general_purpose::STANDARD
            .decode(secret["data"][key].as_str().unwrap())
            .unwrap();
        let config: Value = serde_json::from_slice(&json).unwrap();
        config["auths"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    };
    assert_eq!(
        hosts("pull.json"),
        ["docker.io"],
        "the base image's login only"
    );
    assert_eq!(hosts("push.json"), ["registry.internal:5000"]);
    let started = f.server.wait_for(Method::PATCH, &name).await;
    assert_eq!(started.body, json!({"spec": {"suspend": false}}));

    // The Pod runs: its log is followed, with timestamps, into the build log.
    f.server.pod_status(running());
    let stream = f.server.wait_for_log_stream(0).await;
    assert!(stream.query.contains("container=build"), "{}", stream.query);
    assert!(stream.query.contains("follow=true"), "{}", stream.query);
    assert!(stream.query.contains("timestamps=true"), "{}", stream.query);
    f.server.log(&[
        "2026-11-27T12:00:01.100000000Z #5 [1/8] FROM docker.io/library/debian",
        "2026-11-27T12:00:02.200000000Z #6 [4/8] RUN set -eu; if [ -s /tmp/kiln/apt.txt ]",
        "2026-11-27T12:00:03.300000000Z #6 1.234 Setting up curl (7.88.1-10)",
    ]);
    for _ in 0..500 {
        if f.log().await.contains("Setting up curl") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let live = builds::get(&f.db, f.row.id).await.unwrap();
    assert_eq!(live.step, 4, "the step is read from BuildKit's progress");

    // The builder exits 0 and the Job completes.
    // A builder printing a record of its own is not believed: the push step's counts.
    f.server.log(&[
        "2026-11-27T12:00:04.400000000Z #9 exporting to oci image format done",
        "2026-11-27T12:00:04.500000000Z kiln-record-begin",
        "2026-11-27T12:00:04.500000000Z pip forged==6.6.6",
        "2026-11-27T12:00:04.500000000Z kiln-record-end",
    ]);
    f.server.end_log();
    f.server.pod_status(terminated(0, "Completed"));
    f.server.push_log(
        "[kiln] pushing registry.internal:5000/kiln/ml/tools:0123456789abcdef\n[kiln] pushed\n\
         kiln-record-begin\napt curl\t7.88.1-10\npip six==1.16.0\nkiln-record-end\n",
    );
    f.server.pod_status(pushed(0));
    f.server
        .job_status(json!({"conditions": [{"type": "Complete", "status": "True"}]}));
    let built = ended(task).await.expect("succeeded");
    assert_eq!(built.installed, "apt curl\t7.88.1-10\npip six==1.16.0");
    let log = f.log().await;
    assert!(log.contains("[kiln] pushed\n"), "{log}");
    assert!(
        !log.contains("six==1.16.0"),
        "the record is not in the log: {log}"
    );
    assert!(
        log.contains("#6 1.234 Setting up curl (7.88.1-10)\n"),
        "timestamps are cut off: {log}"
    );
    assert!(log.contains("exporting to oci image format done"), "{log}");
    assert!(!log.contains("2026-11-27T12:00"), "{log}");
    assert_eq!(
        builds::get(&f.db, f.row.id).await.unwrap().log_cursor,
        "2026-11-27T12:00:04.5Z",
        "where a new leader would go on from"
    );
    assert_the_role_allows(&f.server);
}

#[tokio::test]
async fn mock_api_server_each_way_a_job_or_pod_fails_ends_the_build_with_its_reason() {
    let deadline = json!({"conditions": [{"type": "Failed", "status": "True",
        "reason": "DeadlineExceeded", "message": "Job was active longer than specified deadline"}]});
    let backoff = json!({"conditions": [{"type": "Failed", "status": "True",
        "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}]});
    let pull_back_off = json!({"phase": "Pending", "initContainerStatuses": [{"name": "build",
        "image": "moby/buildkit:v0.32.2-rootless", "imageID": "", "ready": false, "restartCount": 0,
        "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image"}}}]});
    let evicted = json!({"phase": "Failed", "reason": "Evicted",
        "message": "The node was low on resource: memory."});
    let cases: [(&str, Option<Value>, Value, FailReason, &str); 5] = [
        (
            "deadline",
            Some(deadline),
            running(),
            FailReason::Timeout,
            "1800 s",
        ),
        (
            "builder image",
            None,
            pull_back_off,
            FailReason::BuilderImage,
            "could not be pulled",
        ),
        (
            "out of memory",
            Some(backoff.clone()),
            terminated(137, "OOMKilled"),
            FailReason::OutOfMemory,
            "memory",
        ),
        (
            "evicted",
            Some(backoff.clone()),
            evicted,
            FailReason::Evicted,
            "low on resource",
        ),
        (
            "package not found",
            Some(backoff),
            terminated(1, "Error"),
            FailReason::PackageNotFound,
            "not found",
        ),
    ];
    for (case, job_status, pod_status, reason, message) in cases {
        let f = Fixture::new().await;
        let (_stop, task) = f.run(false, "");
        f.server.wait_for(Method::PATCH, "/jobs/kiln-build-1").await;
        if reason == FailReason::PackageNotFound {
            f.server.pod_status(running());
            f.server.wait_for_log_stream(0).await;
            f.server
                .log(&["2026-11-27T12:00:01Z #6 0.52 E: Unable to locate package nosuchpkg"]);
            f.server.end_log();
        }
        f.server.pod_status(pod_status);
        if let Some(status) = job_status {
            f.server.job_status(status);
        }
        let failure = ended(task).await.expect_err(case);
        assert_eq!(failure.reason, reason, "{case}: {failure:?}");
        assert!(failure.message.contains(message), "{case}: {failure:?}");
        if reason == FailReason::PackageNotFound {
            assert!(f.log().await.contains("Unable to locate package nosuchpkg"));
        }
    }
}

#[tokio::test]
async fn mock_api_server_a_failing_push_step_fails_the_build_with_push_and_says_why() {
    let f = Fixture::new().await;
    let (_stop, task) = f.run(false, "");
    f.server.wait_for(Method::PATCH, "/jobs/kiln-build-1").await;
    f.server.pod_status(running());
    f.server.wait_for_log_stream(0).await;
    f.server.end_log();
    f.server.pod_status(terminated(0, "Completed"));
    f.server.push_log(
        "[kiln] pushing registry.internal:5000/kiln/ml/tools:0123456789abcdef\n\
         time=\"2026-11-27T12:00:05Z\" level=fatal msg=\"writing blob: unauthorized\"\n",
    );
    f.server.pod_status(pushed(1));
    f.server.job_status(json!({"conditions": [{"type": "Failed", "status": "True",
        "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}]}));
    let failure = ended(task).await.expect_err("the push failed");
    assert_eq!(failure.reason, FailReason::Push, "{failure:?}");
    assert!(
        failure.message.contains("could not be pushed"),
        "{failure:?}"
    );
    let log = f.log().await;
    assert!(log.contains("writing blob: unauthorized"), "{log}");
}

#[tokio::test]
async fn mock_api_server_cancel_stores_the_log_then_deletes_the_job_in_the_background() {
    let f = Fixture::new().await;
    let (stop, task) = f.run(false, "");
    f.server.wait_for(Method::PATCH, "/jobs/kiln-build-1").await;
    f.server.pod_status(running());
    f.server.wait_for_log_stream(0).await;
    f.server
        .log(&["2026-11-27T12:00:01Z #6 [4/8] RUN set -eu; apt-get update"]);
    for _ in 0..500 {
        if f.log().await.contains("apt-get update") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.cancel();
    let failure = ended(task).await.expect_err("stopped");
    assert_eq!(failure.reason, FailReason::Killed);
    let deleted = f
        .server
        .wait_for(Method::DELETE, "/jobs/kiln-build-1")
        .await;
    assert_eq!(deleted.body, json!({"propagationPolicy": "Background"}));
    assert!(
        deleted.chunks_stored >= 1,
        "the log was stored before the Job was deleted"
    );
    assert!(f.log().await.contains("apt-get update"));
    assert_the_role_allows(&f.server);
}

#[tokio::test]
async fn mock_api_server_a_new_leader_follows_a_running_job_from_where_the_log_stopped() {
    let f = Fixture::new().await;
    // A previous leader created the Job and stored the log up to 12:00:02.5.
    let first = f.run(false, "");
    f.server.wait_for(Method::PATCH, "/jobs/kiln-build-1").await;
    f.server.pod_status(running());
    first.0.detach();
    assert_eq!(
        ended(first.1).await.expect_err("detached").reason,
        FailReason::Interrupted
    );
    assert!(
        f.server
            .requests(Method::DELETE, "/jobs/kiln-build-1")
            .is_empty(),
        "a detached build's Job runs on"
    );
    let posts_before = f.server.requests(Method::POST, "/jobs").len();
    let streams_before = f.server.requests(Method::GET, "/log").len();

    let (_stop, task) = f.run(true, "2026-11-27T12:00:02.5Z");
    let stream = f.server.wait_for_log_stream(streams_before).await;
    assert!(
        stream.query.contains("sinceTime=2026-11-27T12%3A00%3A02Z"),
        "{}",
        stream.query
    );
    f.server.log(&[
        "2026-11-27T12:00:02.400000000Z stored by the previous leader",
        "2026-11-27T12:00:02.500000000Z stored by the previous leader too",
        "2026-11-27T12:00:02.600000000Z new since the hand-over",
    ]);
    f.server.end_log();
    f.server.pod_status(terminated(0, "Completed"));
    f.server
        .job_status(json!({"conditions": [{"type": "Complete", "status": "True"}]}));
    ended(task).await.expect("succeeded");
    assert!(
        f.server.requests(Method::GET, "/jobs").iter().any(|s| {
            !s.query.contains("watch=true")
                && s.query.contains("labelSelector=kiln.dev%2Fbuild-id%3D1")
        }),
        "the Job is found again by its label"
    );
    let log = f.log().await;
    assert!(log.contains("new since the hand-over"), "{log}");
    assert!(!log.contains("stored by the previous leader"), "{log}");
    assert_eq!(
        f.server.requests(Method::POST, "/jobs").len(),
        posts_before,
        "nothing is created again"
    );
}

#[tokio::test]
async fn mock_api_server_a_job_that_vanished_fails_the_build_as_interrupted() {
    let f = Fixture::new().await;
    let (_stop, task) = f.run(true, "");
    let failure = ended(task).await.expect_err("gone");
    assert_eq!(failure.reason, FailReason::Interrupted);
    assert!(failure.message.contains("was gone"), "{failure:?}");
}

#[tokio::test]
async fn mock_api_server_a_refused_secret_leaves_nothing_behind() {
    let f = Fixture::new().await;
    f.server.state.lock().unwrap().refuse = Some("secrets");
    let (_stop, task) = f.run(false, "");
    let failure = ended(task).await.expect_err("refused");
    assert_eq!(failure.reason, FailReason::Build);
    assert!(failure.message.contains("Secret"), "{failure:?}");
    let deleted = f
        .server
        .wait_for(Method::DELETE, "/jobs/kiln-build-1")
        .await;
    assert_eq!(deleted.body, json!({"propagationPolicy": "Background"}));
    assert!(
        f.server
            .requests(Method::PATCH, "/jobs/kiln-build-1")
            .is_empty(),
        "the Job never started"
    );
}

const DIGEST: &str = "sha256:5b0f5c0e5a0d0c0b0a09080706050403020100f0e0d0c0b0a090807060504030";

impl Fixture {
    /// Runs `job` through a build whose push step reports `DIGEST`; the smoke Pod gets
    /// `smoke_status` (None: it succeeds) and prints `smoke_log`.
    async fn pushed_then_smoke_tested(
        &self,
        job: BuildJob,
        smoke_status: Option<Value>,
        smoke_log: &str,
    ) -> Result<Built, BuildFailure> {
        ended(
            self.push_then_smoke_test(job, smoke_status, smoke_log)
                .await
                .1,
        )
        .await
    }

    /// `pushed_then_smoke_tested`, still running once the Job completed.
    async fn push_then_smoke_test(
        &self,
        job: BuildJob,
        smoke_status: Option<Value>,
        smoke_log: &str,
    ) -> (Stop, tokio::task::JoinHandle<Result<Built, BuildFailure>>) {
        {
            let mut state = self.server.state.lock().unwrap();
            state.smoke_status = smoke_status;
            state.smoke_log = smoke_log.to_owned();
        }
        let (stop, task) = self.run_job(false, job);
        self.server
            .wait_for(Method::PATCH, &format!("/jobs/kiln-build-{}", self.row.id))
            .await;
        self.server.pod_status(running());
        self.server.wait_for_log_stream(0).await;
        self.server.end_log();
        self.server.pod_status(terminated(0, "Completed"));
        // A record that ends the markers itself and poses a digest after them is not
        // believed: only the lines before the record count.
        self.server.push_log(&format!(
            "[kiln] pushing registry.internal:5000/kiln/ml/tools:0123456789abcdef\n[kiln] pushed\n\
             [kiln] digest {DIGEST}\nkiln-record-begin\npip six==1.16.0\nkiln-record-end\n\
             [kiln] digest sha256:{}\nkiln-record-end\n",
            "f".repeat(64)
        ));
        self.server.pod_status(pushed(0));
        self.server
            .job_status(json!({"conditions": [{"type": "Complete", "status": "True"}]}));
        (stop, task)
    }
}

#[tokio::test]
async fn mock_api_server_a_pushed_image_passes_its_smoke_test_in_a_pod_that_can_only_pull() {
    let f = Fixture::new().await;
    let built = f
        .pushed_then_smoke_tested(f.job(""), None, "[kiln smoke] passed\n")
        .await
        .expect("passed");
    assert_eq!(built.installed, "pip six==1.16.0");
    let smoke = format!("kiln-build-{}-smoke", f.row.id);

    // The Pod runs the pushed image by its digest, with a pull secret of its own.
    let pod = f.server.wait_for(Method::POST, "/pods").await.body;
    assert_eq!(pod["metadata"]["name"], json!(smoke));
    assert_eq!(
        pod["spec"]["containers"][0]["image"],
        json!(format!("registry.internal:5000/kiln/ml/tools@{DIGEST}"))
    );
    assert_eq!(pod["spec"]["imagePullSecrets"], json!([{"name": smoke}]));
    let owner = &pod["metadata"]["ownerReferences"][0];
    assert_eq!(
        owner["uid"],
        json!("0b7e6c1e-job-uid"),
        "it goes with the Job"
    );
    // The pull secret holds the image's pull secret alone, never the push credential.
    let secrets = f.server.requests(Method::POST, "/secrets");
    let secret = &secrets
        .iter()
        .find(|s| s.body["metadata"]["name"] == json!(smoke))
        .expect("the smoke Pod's pull secret")
        .body;
    assert_eq!(secret["type"], json!("kubernetes.io/dockerconfigjson"));
    assert_eq!(
        secret["metadata"]["ownerReferences"][0]["kind"],
        json!("Job")
    );
    use base64::Engine;
    let config = base64::engine::general_purpose::STANDARD
        .decode(secret["data"][".dockerconfigjson"].as_str().unwrap())
        .unwrap();
    let config: Value = serde_json::from_slice(&config).unwrap();
    let hosts: Vec<&String> = config["auths"].as_object().unwrap().keys().collect();
    assert_eq!(hosts, ["docker.io"], "the pull login only");
    assert!(
        !String::from_utf8_lossy(&serde_json::to_vec(&config).unwrap()).contains("push-secret")
    );

    // Followed by its name, its log copied, then deleted.
    let watched = f.server.requests(Method::GET, "/pods");
    assert!(
        watched.iter().any(|s| s
            .query
            .contains(&format!("fieldSelector=metadata.name%3D{smoke}"))),
        "{watched:#?}"
    );
    f.server
        .wait_for(Method::DELETE, &format!("/pods/{smoke}"))
        .await;
    // The image's output is asked for bounded: the API server sends at most 1 MiB of it.
    let read = f
        .server
        .requests(Method::GET, &format!("/pods/{smoke}/log"));
    assert!(
        read.iter().all(|s| s.query.contains("limitBytes=1048576")) && !read.is_empty(),
        "{read:#?}"
    );
    let log = f.log().await;
    assert!(
        log.contains("smoke test: starting the image as root"),
        "{log}"
    );
    assert!(log.contains("[kiln smoke] passed\n"), "{log}");
    assert!(log.contains("smoke test passed\n"), "{log}");
    assert_the_role_allows(&f.server);
}

#[tokio::test]
async fn mock_api_server_a_failing_smoke_pod_fails_the_build_with_smoke_test_and_its_log() {
    let f = Fixture::new().await;
    let mut job = f.job("");
    job.context.smoke_packages = "six\nkiln-broken\n".into();
    let failed = json!({"phase": "Failed", "containerStatuses": [{"name": "smoke",
        "image": "", "imageID": "", "ready": false, "restartCount": 0,
        "state": {"terminated": {"exitCode": 21, "reason": "Error"}}}]});
    let printed = "[kiln smoke] six: import six ok\n[kiln smoke] kiln-broken did not import:\n\
                   RuntimeError: kiln-broken refuses to import\n";
    let failure = f
        .pushed_then_smoke_tested(job, Some(failed), printed)
        .await
        .expect_err("the smoke test failed");
    assert_eq!(failure.reason, FailReason::SmokeTest, "{failure:?}");
    assert_eq!(
        failure.message,
        "The image was built but failed its smoke test: package kiln-broken did not import; \
         the log says why."
    );
    let log = f.log().await;
    assert!(
        log.contains("RuntimeError: kiln-broken refuses to import\n"),
        "{log}"
    );
    assert!(log.contains("smoke test failed (exit status 21)"), "{log}");
    f.server
        .wait_for(
            Method::DELETE,
            &format!("/pods/kiln-build-{}-smoke", f.row.id),
        )
        .await;

    // An image that cannot be pulled fails the smoke test too, saying so.
    let f = Fixture::new().await;
    let pull = json!({"phase": "Pending", "containerStatuses": [{"name": "smoke",
        "image": "", "imageID": "", "ready": false, "restartCount": 0,
        "state": {"waiting": {"reason": "ImagePullBackOff", "message": "unauthorized"}}}]});
    let failure = f
        .pushed_then_smoke_tested(f.job(""), Some(pull), "")
        .await
        .expect_err("not pulled");
    assert_eq!(failure.reason, FailReason::SmokeTest, "{failure:?}");
    assert!(
        failure
            .message
            .contains("the image could not be pulled (ImagePullBackOff: unauthorized)"),
        "{failure:?}"
    );
}

#[tokio::test]
async fn mock_api_server_cancel_during_the_smoke_test_deletes_the_job_and_its_pod_with_it() {
    let f = Fixture::new().await;
    let running = json!({"phase": "Running", "containerStatuses": [{"name": "smoke",
        "image": "", "imageID": "", "ready": true, "restartCount": 0,
        "state": {"running": {"startedAt": "2026-11-27T12:00:09Z"}}}]});
    let (stop, task) = f.push_then_smoke_test(f.job(""), Some(running), "").await;
    f.server.wait_for(Method::POST, "/pods").await;
    stop.cancel();
    let failure = ended(task).await.expect_err("stopped");
    assert_eq!(failure.reason, FailReason::Killed, "{failure:?}");
    // The Job goes, and the Pod it owns with it.
    let deleted = f
        .server
        .wait_for(Method::DELETE, "/jobs/kiln-build-1")
        .await;
    assert_eq!(deleted.body, json!({"propagationPolicy": "Background"}));
}
