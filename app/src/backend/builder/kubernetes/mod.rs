//! The production backend: each build is a Kubernetes Job whose Pod runs a rootless
//! builder (BuildKit by default, buildah as an alternative) and then a push step that alone
//! holds the push credential (see `objects.rs`), with its context in a ConfigMap and its
//! registry logins in a Secret, both owned by the Job. Kiln follows the Job and its Pod
//! with watches, streams the builder's log into the build log, reads the push step's log
//! (and the record of installed packages in it) once the Pod ends, deletes the Job to
//! cancel, and a new leader picks up Jobs that are still running. Once the image is pushed,
//! a short Pod owned by the Job starts it for its smoke test (`smoke.rs`), with the image's
//! pull secret only; the build succeeds (and the image's URL moves) only if it passes.

pub mod objects;
pub mod pull_secrets;
pub mod status;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use futures_util::StreamExt;
use jiff::Timestamp;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Secret, Toleration};
use kube::api::{Api, DeleteParams, LogParams, Patch, PatchParams, PostParams};
use kube::runtime::watcher::{self, Event};
use kube::runtime::{WatchStreamExt, watcher as watch};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::compat::FuturesAsyncReadCompatExt;

use super::lines::{BoundedLines, MAX_LINE};
use super::registry::Registry;
use super::{BuildFailure, BuildJob, BuildSettings, Builder, Built, LogWriter, Stop, smoke};
use crate::backend::builds::FailReason;
use objects::{BuildObjects, owned_by};
use status::{Phase, SmokeEnd};

/// Which builder image runs in the Job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuilderKind {
    /// `moby/buildkit:*-rootless` with `buildctl-daemonless.sh`.
    BuildKit,
    /// `quay.io/buildah/stable`, rootless with vfs storage and chroot isolation.
    Buildah,
}

/// Where and how build Jobs run.
#[derive(Debug, Clone)]
pub struct KubeSettings {
    pub namespace: String,
    pub builder: BuilderKind,
    /// The builder's image, e.g. `moby/buildkit:v0.23.2-rootless`.
    pub image: String,
    /// The push step's image: `sh`, coreutils, `tar` with gzip, and `skopeo`.
    pub push_image: String,
    /// BuildKit's process sandbox (each RUN step in a PID namespace of its own): for
    /// clusters with user namespaces for Pods (`hostUsers: false`, `procMount: Unmasked`).
    pub process_sandbox: bool,
    /// What build Pods may not reach (CIDRs), and what they may despite that.
    pub egress_except: Vec<String>,
    pub egress_allow: Vec<String>,
    pub cpu_request: String,
    pub cpu_limit: String,
    pub memory_request: String,
    pub memory_limit: String,
    /// Seconds a finished Job (and its Pod, ConfigMap and Secret) stays for inspection.
    pub ttl_seconds: i32,
    pub node_selector: BTreeMap<String, String>,
    pub tolerations: Vec<Toleration>,
    /// Namespaces where notebooks start: each gets a pull secret per registry credential.
    pub pull_secret_namespaces: Vec<String>,
    /// Kiln's own image, for the build Pod's layer-cache step (`kiln kube build-cache`):
    /// when set, BuildKit builds import and export their layers through it to the build
    /// registry (`PREFIX/<group>/cache/layers`); when not, they start from no cache.
    pub cache_image: Option<String>,
}

/// The push step's image unless one is configured.
pub const DEFAULT_PUSH_IMAGE: &str = "quay.io/skopeo/stable:v1.20.0";

impl BuilderKind {
    /// The builder image used unless one is configured.
    pub fn default_image(self) -> &'static str {
        match self {
            BuilderKind::BuildKit => "moby/buildkit:v0.32.2-rootless",
            BuilderKind::Buildah => "quay.io/buildah/stable:v1.41.5",
        }
    }
}

impl KubeSettings {
    /// Checks the settings an operator typed, naming the setting that is wrong: resource
    /// quantities, `key=value` node selectors and tolerations as JSON.
    pub fn check(&self) -> Result<(), String> {
        for (setting, value) in [
            ("KILN_K8S_CPU_REQUEST", &self.cpu_request),
            ("KILN_K8S_CPU_LIMIT", &self.cpu_limit),
            ("KILN_K8S_MEMORY_REQUEST", &self.memory_request),
            ("KILN_K8S_MEMORY_LIMIT", &self.memory_limit),
        ] {
            if !is_quantity(value) {
                return Err(format!(
                    "{setting}: {value:?} is not a Kubernetes quantity (e.g. 500m, 2, 4Gi)"
                ));
            }
        }
        if self.namespace.is_empty() {
            return Err("KILN_K8S_NAMESPACE: empty".into());
        }
        if self.ttl_seconds < 0 {
            return Err("KILN_K8S_TTL: must not be negative".into());
        }
        if self.process_sandbox && self.builder != BuilderKind::BuildKit {
            return Err("KILN_K8S_PROCESS_SANDBOX: only the buildkit builder has one".into());
        }
        Ok(())
    }
}

/// The ranges build Pods may not reach unless configured otherwise: private ranges (where
/// clusters put their Pod and Service ranges, and where Kiln and PostgreSQL are), shared
/// address space, and link-local (the cloud metadata service at 169.254.169.254).
pub const DEFAULT_EGRESS_EXCEPT: &str =
    "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,100.64.0.0/10,169.254.0.0/16";

/// A comma-separated list of CIDRs, each checked.
pub fn parse_cidrs(setting: &str, text: &str) -> Result<Vec<String>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| {
            c.parse::<ipnet::IpNet>()
                .map(|net| net.to_string())
                .map_err(|_| format!("{setting}: {c:?} is not a CIDR (e.g. 10.0.0.0/8)"))
        })
        .collect()
}

/// `ns-a,ns-b` into namespace names (DNS labels).
pub fn parse_namespaces(setting: &str, text: &str) -> Result<Vec<String>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| {
            let label = n.len() <= 63
                && n.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !n.starts_with('-')
                && !n.ends_with('-');
            label
                .then(|| n.to_owned())
                .ok_or_else(|| format!("{setting}: {n:?} is not a namespace name"))
        })
        .collect()
}

/// `key=value,key=value` into a node selector.
pub fn parse_node_selector(text: &str) -> Result<BTreeMap<String, String>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.trim().to_owned())),
            _ => Err(format!("KILN_K8S_NODE_SELECTOR: {pair:?} is not key=value")),
        })
        .collect()
}

/// A JSON array of tolerations, as in a Pod spec.
pub fn parse_tolerations(json: &str) -> Result<Vec<Toleration>, String> {
    if json.trim().is_empty() {
        return Ok(Vec::new());
    }
    serde_json::from_str(json).map_err(|e| format!("KILN_K8S_TOLERATIONS: {e}"))
}

/// A Kubernetes resource quantity: a decimal number with an optional suffix.
fn is_quantity(value: &str) -> bool {
    const SUFFIXES: [&str; 13] = [
        "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "m", "k", "M", "G", "T", "P", "E",
    ];
    let number = SUFFIXES
        .iter()
        .find_map(|s| value.strip_suffix(s))
        .unwrap_or(value);
    let mut parts = number.splitn(2, '.');
    let whole = parts.next().unwrap_or_default();
    let fraction = parts.next();
    !whole.is_empty()
        && whole.chars().all(|c| c.is_ascii_digit())
        && fraction.is_none_or(|f| !f.is_empty() && f.chars().all(|c| c.is_ascii_digit()))
}

/// A client for the cluster Kiln runs in (its service account), or from the kubeconfig.
pub async fn connect() -> Result<kube::Client, String> {
    kube::Client::try_default()
        .await
        .map_err(|e| format!("KILN_BUILDER=kubernetes: no Kubernetes API to talk to: {e}"))
}

pub struct KubeBuilder {
    client: kube::Client,
    kube: KubeSettings,
    build: BuildSettings,
    registry: Registry,
    /// The CA bundle's content, put into each build's ConfigMap.
    ca_bundle: Option<String>,
}

/// How long a finished builder's log may take to arrive in full.
const LOG_DRAIN: Duration = Duration::from_secs(10);

impl KubeBuilder {
    /// `work_dir` holds the short-lived auth files of registry reads (skopeo runs in Kiln's
    /// own container). The CA bundle is read once, here.
    pub fn new(
        client: kube::Client,
        kube: KubeSettings,
        build: BuildSettings,
        work_dir: PathBuf,
    ) -> Result<Self, String> {
        let ca_bundle = match &build.ca_bundle {
            Some(path) => Some(
                std::fs::read_to_string(path)
                    .map_err(|e| format!("KILN_BUILD_CA_BUNDLE {}: {e}", path.display()))?,
            ),
            None => None,
        };
        let registry = Registry::new(build.clone(), work_dir);
        Ok(KubeBuilder {
            client,
            kube,
            build,
            registry,
            ca_bundle,
        })
    }

    fn api<K>(&self) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        <K as kube::Resource>::DynamicType: Default,
    {
        Api::namespaced(self.client.clone(), &self.kube.namespace)
    }

    /// The objects this backend sends for `job`.
    pub fn render(&self, job: &BuildJob) -> BuildObjects {
        objects::render(job, &self.kube, &self.build, self.ca_bundle.as_deref())
    }

    /// Creates the Job (suspended), then its ConfigMap and Secret owned by it, then lets it
    /// start. On a refusal nothing stays behind: the Job goes, and what it owns with it.
    async fn create(&self, objects: BuildObjects, log: &mut LogWriter) -> Result<(), BuildFailure> {
        let refused = |what: &str, e: kube::Error| {
            BuildFailure::new(
                FailReason::Build,
                format!("Kubernetes refused the build's {what}: {e}"),
            )
        };
        let params = PostParams::default();
        let jobs: Api<Job> = self.api();
        let name = objects.job.metadata.name.clone().unwrap_or_default();
        let created = jobs
            .create(&params, &objects.job)
            .await
            .map_err(|e| refused("Job", e))?;
        let (mut config_map, mut secret) = (objects.config_map, objects.secret);
        owned_by(&mut config_map.metadata, &created);
        owned_by(&mut secret.metadata, &created);
        let rest = async {
            self.api::<ConfigMap>()
                .create(&params, &config_map)
                .await
                .map_err(|e| refused("ConfigMap", e))?;
            self.api::<Secret>()
                .create(&params, &secret)
                .await
                .map_err(|e| refused("Secret", e))?;
            let start = serde_json::json!({ "spec": { "suspend": false } });
            jobs.patch(&name, &PatchParams::default(), &Patch::Merge(&start))
                .await
                .map_err(|e| refused("Job", e))?;
            Ok(())
        }
        .await;
        match &rest {
            Ok(()) => {
                log.note(&format!(
                    "Job {name} started in namespace {}",
                    self.kube.namespace
                ))
                .await
            }
            Err(_) => {
                let _ = jobs.delete(&name, &DeleteParams::background()).await;
            }
        }
        rest
    }

    /// Follows a build's Job and Pod to its end, its log into `log`.
    async fn follow(
        &self,
        job: &BuildJob,
        log: &mut LogWriter,
        stop: &Stop,
    ) -> Result<Pushed, BuildFailure> {
        let name = objects::name(job.build_id);
        let config = watcher::Config::default().labels(&objects::selector(job.build_id));
        let mut jobs = watch(self.api::<Job>(), config.clone())
            .default_backoff()
            .boxed();
        let mut pods = watch(self.api::<Pod>(), config)
            .default_backoff()
            .applied_objects()
            .boxed();
        let (mut current, mut pod): (Option<Job>, Option<Pod>) = (None, None);
        let mut lines = LogFollower::new(self.api(), &job.log_cursor);
        let mut pods_open = true;
        loop {
            match current.as_ref().map(|j| status::phase(j, pod.as_ref())) {
                Some(Phase::Running { pod }) => lines.follow(&pod),
                Some(Phase::Succeeded) => {
                    lines.finish(pod.as_ref(), log).await;
                    return Ok(self.push_step(pod.as_ref(), job.build_id, log).await);
                }
                Some(ended @ (Phase::Failed(_) | Phase::Exited(_))) => {
                    // The Job and Pod watches are separate streams: the Job may report its
                    // failure before the Pod event saying why has arrived. Ask for the Pod.
                    let fresh = self.fresh_pod(job.build_id).await;
                    let precise = current
                        .as_ref()
                        .zip(fresh.as_ref())
                        .map(|(j, p)| status::phase(j, Some(p)));
                    // The whole log first: the reason of a failed step is in it.
                    lines.finish(pod.as_ref(), log).await;
                    let failure = precise
                        .and_then(|p| failure_of(p, log))
                        .or_else(|| failure_of(ended, log))
                        .unwrap_or_else(|| {
                            BuildFailure::new(FailReason::Build, "The build failed.")
                        });
                    if failure.reason == FailReason::Push {
                        // What the push step said is why; it goes into the build's log.
                        self.push_step(fresh.as_ref().or(pod.as_ref()), job.build_id, log)
                            .await;
                    }
                    return Err(failure);
                }
                Some(Phase::Waiting) | None => {}
            }
            tokio::select! {
                _ = stop.stopped() => return Err(self.stopped(&name, stop, log).await),
                event = jobs.next() => match event {
                    Some(Ok(Event::Apply(j) | Event::InitApply(j))) => current = Some(j),
                    Some(Ok(Event::Delete(_))) => {
                        lines.finish(pod.as_ref(), log).await;
                        return Err(BuildFailure::new(
                            FailReason::Build,
                            format!("The build's Job {name} was deleted outside Kiln."),
                        ));
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => tracing::warn!(build = job.build_id, error = %e, "watching the build's Job"),
                    None => return Err(BuildFailure::new(FailReason::Build, "The watch on the build's Job ended.")),
                },
                event = pods.next(), if pods_open => match event {
                    Some(Ok(p)) => pod = Some(p),
                    Some(Err(e)) => tracing::warn!(build = job.build_id, error = %e, "watching the build's Pod"),
                    None => pods_open = false,
                },
                Some(line) = lines.next() => lines.write(&line, log).await,
                // Looks again now and then: a log stream that broke is opened again.
                _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            }
        }
    }

    /// The build to its end, then (pushed) its smoke test: only an image that passed is
    /// reported built, and only then does its URL move.
    async fn follow_and_smoke_test(
        &self,
        job: &BuildJob,
        log: &mut LogWriter,
        stop: &Stop,
    ) -> Result<Built, BuildFailure> {
        let pushed = self.follow(job, log, stop).await?;
        self.smoke_test(job, pushed.digest.as_deref(), log, stop)
            .await?;
        Ok(Built {
            installed: pushed.installed,
            ..Default::default()
        })
    }

    /// The push step's log, read once it has ended: its lines go into the build's log; the
    /// record of installed packages between its markers (empty if it has none) and the
    /// pushed digest are returned.
    async fn push_step(&self, pod: Option<&Pod>, build_id: i64, log: &mut LogWriter) -> Pushed {
        let fresh;
        let pod = match pod {
            Some(pod) => Some(pod),
            None => {
                fresh = self.fresh_pod(build_id).await;
                fresh.as_ref()
            }
        };
        let Some(name) = pod.and_then(|p| p.metadata.name.as_deref()) else {
            log.note("the push step's log could not be read: its Pod is gone")
                .await;
            return Pushed::default();
        };
        let params = LogParams {
            container: Some(objects::PUSH_CONTAINER.into()),
            limit_bytes: Some(PUSH_LOG_LIMIT),
            ..Default::default()
        };
        match self.api::<Pod>().logs(name, &params).await {
            Ok(text) => {
                let (lines, record) = split_record(&text);
                for line in lines {
                    log.line(line).await;
                }
                Pushed {
                    installed: record,
                    digest: pushed_digest(&text),
                }
            }
            Err(e) => {
                log.note(&format!("the push step's log could not be read: {e}"))
                    .await;
                Pushed::default()
            }
        }
    }

    /// The smoke test ([`smoke`]) of the pushed image, before its URL moves: a short Pod
    /// running it (by `digest` when the push step reported one) with the image's pull
    /// secret, followed to its end, its log copied into the build log, then deleted. A new
    /// leader finding the Pod already made follows it. Cancelled: the Job goes, the Pod
    /// with it; detached: both stay for the next leader.
    async fn smoke_test(
        &self,
        job: &BuildJob,
        digest: Option<&str>,
        log: &mut LogWriter,
        stop: &Stop,
    ) -> Result<(), BuildFailure> {
        let name = objects::smoke_name(job.build_id);
        let image = match digest {
            Some(digest) => format!("{}@{digest}", repository(&job.target)),
            None => job.target.clone(),
        };
        log.note(&format!(
            "smoke test: starting the image as {} (Pod {name}, {image})",
            job.context.user
        ))
        .await;
        self.start_smoke(job, &image, log).await?;
        let Some(ended) = self.follow_smoke(&name, stop).await else {
            return Err(self.stopped(&objects::name(job.build_id), stop, log).await);
        };
        self.smoke_log(&name, log).await;
        match self
            .api::<Pod>()
            .delete(&name, &DeleteParams::background())
            .await
        {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 404 => {}
            // It goes with its Job anyway.
            Err(e) => tracing::warn!(pod = name, error = %e, "could not delete a smoke-test Pod"),
        }
        let failure = match ended {
            SmokeEnd::Passed => {
                log.note("smoke test passed").await;
                return Ok(());
            }
            SmokeEnd::Exited(code) => {
                log.note(&format!("smoke test failed (exit status {code})"))
                    .await;
                smoke::failure(code, &job.context.smoke_packages)
                    .unwrap_or_else(|| smoke::failed("its Pod failed"))
            }
            SmokeEnd::Failed(what) => {
                log.note(&format!("smoke test failed: {what}")).await;
                smoke::failed(&what)
            }
        };
        Err(failure)
    }

    /// Creates the smoke Pod and its pull secret, both owned by the build's Job (they go
    /// with it). Already there: made by a previous leader, and followed as it is.
    async fn start_smoke(
        &self,
        job: &BuildJob,
        image: &str,
        log: &mut LogWriter,
    ) -> Result<(), BuildFailure> {
        let refused = |what: &str, e: kube::Error| {
            BuildFailure::new(
                FailReason::Build,
                format!("Kubernetes refused the smoke test's {what}: {e}"),
            )
        };
        let owner = self
            .api::<Job>()
            .get(&objects::name(job.build_id))
            .await
            .map_err(|e| refused("owner (the build's Job)", e))?;
        let params = PostParams::default();
        if let Some(mut secret) = objects::smoke_pull_secret(job, &self.kube) {
            owned_by(&mut secret.metadata, &owner);
            match self.api::<Secret>().create(&params, &secret).await {
                Ok(_) => {}
                Err(kube::Error::Api(status)) if status.code == 409 => {}
                Err(e) => return Err(refused("pull secret", e)),
            }
        }
        let mut pod = objects::smoke_pod(job, &self.kube, image, self.build.smoke_timeout);
        owned_by(&mut pod.metadata, &owner);
        match self.api::<Pod>().create(&params, &pod).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(status)) if status.code == 409 => {
                log.note("the smoke-test Pod a previous leader started is followed")
                    .await;
                Ok(())
            }
            Err(e) => Err(refused("Pod", e)),
        }
    }

    /// Watches the smoke Pod to its end; `None` when `stop` fired first. A Pod that never
    /// gets going (unschedulable: its deadline counts only once it started) fails after
    /// the smoke test's limit and a minute more.
    async fn follow_smoke(&self, name: &str, stop: &Stop) -> Option<SmokeEnd> {
        let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
        let mut pods = watch(self.api::<Pod>(), config).default_backoff().boxed();
        let deadline = tokio::time::sleep(self.build.smoke_timeout + Duration::from_secs(60));
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                _ = stop.stopped() => return None,
                _ = &mut deadline => {
                    return Some(SmokeEnd::Failed(format!(
                        "its Pod did not finish within {} s",
                        self.build.smoke_timeout.as_secs() + 60
                    )));
                }
                event = pods.next() => match event {
                    Some(Ok(Event::Apply(pod) | Event::InitApply(pod))) => {
                        if let Some(end) = status::smoke_end(&pod) {
                            return Some(end);
                        }
                    }
                    Some(Ok(Event::Delete(_))) => {
                        return Some(SmokeEnd::Failed("its Pod was deleted before it ended".into()));
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => tracing::warn!(pod = name, error = %e, "watching a smoke-test Pod"),
                    None => return Some(SmokeEnd::Failed("the watch on its Pod ended".into())),
                },
            }
        }
    }

    /// The smoke Pod's log into the build log: the image's output, so read as bounded
    /// lines, at most [`SMOKE_LOG_LIMIT`] bytes of it.
    async fn smoke_log(&self, name: &str, log: &mut LogWriter) {
        let params = LogParams {
            container: Some(objects::SMOKE_CONTAINER.into()),
            limit_bytes: Some(SMOKE_LOG_LIMIT),
            ..Default::default()
        };
        let copied = tokio::time::timeout(LOG_DRAIN, async {
            let stream = self.api::<Pod>().log_stream(name, &params).await?;
            let reader = tokio::io::BufReader::new(Box::pin(stream).compat());
            let mut lines = BoundedLines::new(reader, MAX_LINE);
            while let Some(line) = lines.next_line().await? {
                log.line(&line).await;
            }
            Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
        })
        .await;
        match copied {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                log.note(&format!("the smoke test's log could not be read: {e}"))
                    .await
            }
            Err(_) => {
                log.note("the end of the smoke test's log did not arrive in time")
                    .await
            }
        }
    }

    /// The build's Pod as the API server has it now.
    async fn fresh_pod(&self, build_id: i64) -> Option<Pod> {
        let params = kube::api::ListParams::default().labels(&objects::selector(build_id));
        match self.api::<Pod>().list(&params).await {
            Ok(list) => list.items.into_iter().last(),
            Err(e) => {
                tracing::warn!(build = build_id, error = %e, "could not read the build's Pod");
                None
            }
        }
    }

    /// Cancelled: the log so far is stored, then the Job goes (its Pod, ConfigMap and Secret
    /// with it). Detached: the Job runs on, for the next leader to follow.
    async fn stopped(&self, name: &str, stop: &Stop, log: &mut LogWriter) -> BuildFailure {
        if !stop.is_cancelled() {
            log.flush().await;
            return BuildFailure::new(FailReason::Interrupted, "Left to the next leader.");
        }
        log.note("stopping: the Job is deleted").await;
        log.flush().await;
        match self
            .api::<Job>()
            .delete(name, &DeleteParams::background())
            .await
        {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 404 => {}
            Err(e) => {
                tracing::error!(job = name, error = %e, "could not delete a cancelled build's Job")
            }
        }
        BuildFailure::new(FailReason::Killed, "The build was stopped.")
    }
}

/// What the push step reports: the record of installed packages and the pushed digest.
#[derive(Debug, Default)]
struct Pushed {
    installed: String,
    digest: Option<String>,
}

/// The most of the smoke test's log Kiln copies into the build log.
const SMOKE_LOG_LIMIT: i64 = 1024 * 1024;

/// `registry/path/name` of `registry/path/name:tag` (a port's colon is not a tag's).
fn repository(target: &str) -> &str {
    match target.rsplit_once(':') {
        Some((repository, tag)) if !tag.contains('/') => repository,
        _ => target,
    }
}

/// The digest the push step printed (`[kiln] digest sha256:…`), taken only from the lines
/// before the record: the record comes from the image and could hold any line.
fn pushed_digest(text: &str) -> Option<String> {
    let digest = text
        .lines()
        .take_while(|line| *line != objects::RECORD_BEGIN)
        .find_map(|line| line.strip_prefix("[kiln] digest "))?;
    let hex = digest.strip_prefix("sha256:")?;
    (hex.len() == 64
        && hex
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()))
    .then(|| digest.to_owned())
}

/// The most of the push step's log Kiln reads: its own lines and the record.
const PUSH_LOG_LIMIT: i64 = super::context::RECORD_LIMIT as i64 + 64 * 1024;

/// The push step's log split into its lines for the build's log and the record of installed
/// packages between the markers.
fn split_record(text: &str) -> (Vec<&str>, String) {
    let mut lines = Vec::new();
    let mut record = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        match line {
            objects::RECORD_BEGIN => inside = true,
            objects::RECORD_END => inside = false,
            l if inside => record.push(l),
            l => lines.push(l),
        }
    }
    (lines, record.join("\n").trim_end().to_owned())
}

/// The failure a phase that ended badly means; `None` for any other phase.
fn failure_of(phase: Phase, log: &LogWriter) -> Option<BuildFailure> {
    match phase {
        Phase::Failed(failure) => Some(failure),
        Phase::Exited(code) => Some(log.exit_failure(code)),
        _ => None,
    }
}

#[async_trait::async_trait]
impl Builder for KubeBuilder {
    fn registry(&self) -> &Registry {
        &self.registry
    }

    fn keeps_pull_secrets(&self) -> bool {
        !self.kube.pull_secret_namespaces.is_empty()
    }

    async fn sync_pull_secrets(
        &self,
        db: &crate::backend::Db,
        key: &crate::backend::SecretKey,
    ) -> crate::backend::Result<()> {
        let wanted: Vec<pull_secrets::Wanted> = crate::backend::credentials::open_all(db, key)
            .await?
            .iter()
            .map(|(name, registry, username, password)| {
                pull_secrets::Wanted::new(name, registry, username, password)
            })
            .collect();
        let changes = pull_secrets::sync(&self.client, &self.kube.pull_secret_namespaces, &wanted)
            .await
            .map_err(|e| crate::backend::BackendError::Internal(format!("pull secrets: {e}")))?;
        if changes != pull_secrets::Changes::default() {
            tracing::info!(
                created = ?changes.created,
                replaced = ?changes.replaced,
                deleted = ?changes.deleted,
                foreign = ?changes.foreign,
                "pull secrets brought in line with the registry credentials"
            );
        }
        Ok(())
    }

    async fn build(
        &self,
        job: &BuildJob,
        log: &mut LogWriter,
        stop: &Stop,
    ) -> Result<Built, BuildFailure> {
        self.create(self.render(job), log).await?;
        self.follow_and_smoke_test(job, log, stop).await
    }

    async fn reattach(
        &self,
        job: &BuildJob,
        log: &mut LogWriter,
        stop: &Stop,
    ) -> Result<Built, BuildFailure> {
        let name = objects::name(job.build_id);
        let by_label = kube::api::ListParams::default().labels(&objects::selector(job.build_id));
        // A hand-over often meets a busy or restarting API server: ask a few times before
        // calling a build lost.
        let mut found = self.api::<Job>().list(&by_label).await;
        for _ in 0..4 {
            if found.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
            found = self.api::<Job>().list(&by_label).await;
        }
        match found {
            Ok(found) if !found.items.is_empty() => {
                log.note("a new leader follows this build").await;
                self.follow_and_smoke_test(job, log, stop).await
            }
            Ok(_) => Err(BuildFailure::new(
                FailReason::Interrupted,
                format!("The build's Job {name} was gone when a new leader took the build over."),
            )),
            Err(e) => Err(BuildFailure::new(
                FailReason::Interrupted,
                format!("The build's Job {name} could not be read after a hand-over: {e}"),
            )),
        }
    }
}

/// The builder Pod's log, followed line by line from a task, resumed after the last line
/// stored (its timestamp is the cursor) when the stream breaks or a new leader takes over.
struct LogFollower {
    pods: Api<Pod>,
    cursor: Option<Timestamp>,
    task: Option<(String, JoinHandle<()>)>,
    tx: mpsc::Sender<String>,
    rx: mpsc::Receiver<String>,
}

impl LogFollower {
    fn new(pods: Api<Pod>, cursor: &str) -> Self {
        let (tx, rx) = mpsc::channel(1024);
        LogFollower {
            pods,
            cursor: cursor.parse().ok(),
            task: None,
            tx,
            rx,
        }
    }

    /// Makes sure `pod`'s log is being read; a stream that broke while the builder runs on
    /// is opened again from the cursor.
    fn follow(&mut self, pod: &str) {
        if let Some((name, task)) = &self.task
            && name == pod
            && !task.is_finished()
        {
            return;
        }
        let since = self.cursor.and_then(|at| {
            // The API takes whole seconds: start at the second the cursor falls in; lines up
            // to the cursor are skipped when they come.
            Timestamp::from_second(at.as_second()).ok()
        });
        let params = LogParams {
            container: Some(objects::CONTAINER.into()),
            follow: true,
            timestamps: true,
            since_time: since,
            ..Default::default()
        };
        let (pods, tx, name) = (self.pods.clone(), self.tx.clone(), pod.to_owned());
        let task = tokio::spawn(async move {
            let stream = match pods.log_stream(&name, &params).await {
                Ok(stream) => stream,
                Err(e) => {
                    tracing::warn!(pod = name, error = %e, "could not follow a build's log");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    return;
                }
            };
            let reader = tokio::io::BufReader::new(Box::pin(stream).compat());
            let mut lines = BoundedLines::new(reader, MAX_LINE);
            while let Ok(Some(line)) = lines.next_line().await {
                if tx.send(line).await.is_err() {
                    break;
                }
            }
        });
        self.task = Some((pod.to_owned(), task));
    }

    async fn next(&mut self) -> Option<String> {
        self.rx.recv().await
    }

    /// Writes one `TIMESTAMP text` line, unless it is at or before the cursor.
    async fn write(&mut self, line: &str, log: &mut LogWriter) {
        let (at, text) = match line.split_once(' ') {
            Some((at, text)) => (at.parse::<Timestamp>().ok(), text),
            None => (line.parse::<Timestamp>().ok(), ""),
        };
        match at {
            Some(at) if self.cursor.is_some_and(|cursor| at <= cursor) => {}
            Some(at) => {
                self.cursor = Some(at);
                log.line_at(text, &at.to_string()).await;
            }
            None => log.line(line).await,
        }
    }

    /// The build ended: reads the rest of its log (a finished container's log can still
    /// be read) and stops following.
    async fn finish(&mut self, pod: Option<&Pod>, log: &mut LogWriter) {
        if self.task.is_none()
            && let Some(name) = pod.and_then(|p| p.metadata.name.as_deref())
        {
            self.follow(name);
        }
        if let Some((_, task)) = self.task.take() {
            let drained = tokio::time::timeout(LOG_DRAIN, async {
                let mut task = task;
                loop {
                    tokio::select! {
                        Some(line) = self.rx.recv() => self.write(&line, log).await,
                        _ = &mut task => break,
                    }
                }
            })
            .await;
            if drained.is_err() {
                log.note("the end of the builder's log did not arrive in time")
                    .await;
            }
        }
        while let Ok(line) = self.rx.try_recv() {
            self.write(&line, log).await;
        }
    }
}

impl Drop for LogFollower {
    fn drop(&mut self) {
        if let Some((_, task)) = &self.task {
            task.abort();
        }
    }
}

#[cfg(test)]
mod mock_api_server_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_is_the_push_steps_own_and_the_repository_keeps_a_registry_port() {
        let digest = format!("sha256:{}", "ab".repeat(32));
        let forged = format!("sha256:{}", "f".repeat(64));
        let log = format!(
            "[kiln] pushed\n[kiln] digest {digest}\nkiln-record-begin\npip six\nkiln-record-end\n"
        );
        assert_eq!(pushed_digest(&log), Some(digest.clone()));
        // No digest of its own (an older push image): one the record prints is not taken.
        let log =
            format!("[kiln] pushed\nkiln-record-begin\nkiln-record-end\n[kiln] digest {forged}\n");
        assert_eq!(pushed_digest(&log), None);
        for bad in [
            "sha256:short",
            "sha512:00",
            &format!("sha256:{}", "AB".repeat(32)),
        ] {
            assert_eq!(
                pushed_digest(&format!("[kiln] digest {bad}\n")),
                None,
                "{bad}"
            );
        }
        assert_eq!(
            repository("registry.internal:5000/kiln/ml/tools:0123"),
            "registry.internal:5000/kiln/ml/tools"
        );
        assert_eq!(
            repository("registry.internal:5000/kiln/ml/tools"),
            "registry.internal:5000/kiln/ml/tools"
        );
    }
}
