//! Running builds: the backend interface (buildah on this host, or Kubernetes Jobs), the
//! queue driver with its limits and timeout (on the one replica that leads), cancel from
//! any replica, and the log writer that persists a build's output as it arrives.

pub mod kubernetes;
pub mod local;
pub mod log;
pub mod registry;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::builds::{self, BuildRow, FailReason, Outcome};
use super::images::Scope;
use super::{BackendError, Db, Result, SecretKey, leader};
use crate::domain::build::{BuildContext, BuildSpec, build_context};
use crate::domain::{FieldError, ImageRef};
pub use log::LogWriter;

/// Login data for registries, by host: written into the auth file a build uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistryAuth {
    pub entries: Vec<(String, String, String)>,
}

impl RegistryAuth {
    pub fn add(&mut self, host: &str, username: &str, password: &str) {
        self.entries
            .push((host.to_owned(), username.to_owned(), password.to_owned()));
    }

    /// The containers-auth.json / docker config.json form.
    pub fn to_json(&self) -> String {
        use base64::Engine;
        let auths: serde_json::Map<String, serde_json::Value> = self
            .entries
            .iter()
            .map(|(host, user, password)| {
                let token =
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
                (host.clone(), serde_json::json!({ "auth": token }))
            })
            .collect();
        serde_json::json!({ "auths": auths }).to_string()
    }
}

/// What a base image resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseImage {
    pub digest: String,
    /// The user the image runs as, restored after the packages are installed.
    pub user: String,
}

/// Everything one build needs.
pub struct BuildJob {
    pub build_id: i64,
    pub image_id: i64,
    /// The base image as the user gave it (its registry decides how to talk to it).
    pub base: String,
    pub context: BuildContext,
    pub target: String,
    pub auth: RegistryAuth,
    /// Where a re-attached build's log goes on from (backend-specific; empty at first).
    pub log_cursor: String,
}

/// Why a build stopped without an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildFailure {
    pub reason: FailReason,
    pub message: String,
}

impl BuildFailure {
    pub fn new(reason: FailReason, message: impl Into<String>) -> Self {
        BuildFailure {
            reason,
            message: message.into(),
        }
    }

    /// A builder process that exited with `code`, for `reason`: in words, for the user.
    pub fn exited(reason: FailReason, code: i32) -> Self {
        let what = match reason {
            FailReason::PackageNotFound => "A package was not found; the log names it.",
            FailReason::NoApt => "The base image has no apt-get, which the APT packages need.",
            FailReason::NoConda => {
                "The base image has no conda, mamba or micromamba, which the Conda packages need."
            }
            FailReason::NoPython => "The base image has no python3, which the Pip packages need.",
            FailReason::Push => "The image could not be pushed to the registry.",
            _ => "A build step failed; the log says why.",
        };
        BuildFailure::new(reason, format!("{what} (exit status {code})"))
    }
}

/// How a running build is asked to stop: cancelled (by a user or its time limit), or
/// detached because this replica stopped leading and another one follows it from now on.
#[derive(Debug, Clone, Default)]
pub struct Stop {
    cancel: CancellationToken,
    detach: CancellationToken,
}

impl Stop {
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    pub fn detach(&self) {
        self.detach.cancel();
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    pub fn is_detached(&self) -> bool {
        self.detach.is_cancelled()
    }

    /// Resolves once the build is cancelled or detached.
    pub async fn stopped(&self) {
        tokio::select! {
            _ = self.cancel.cancelled() => {}
            _ = self.detach.cancelled() => {}
        }
    }
}

/// A way to build images. Both backends take the same context and report the same way.
#[async_trait::async_trait]
pub trait Builder: Send + Sync {
    /// How this backend reads registries.
    fn registry(&self) -> &registry::Registry;
    /// Resolves the base image to its digest and configured user, with its credentials:
    /// a bad reference, a missing image or refused credentials fail here.
    async fn inspect_base(
        &self,
        base: &ImageRef,
        auth: &RegistryAuth,
    ) -> Result<BaseImage, BuildFailure> {
        self.registry().inspect_base(base, auth).await
    }
    /// Whether `target` is already in the registry (then the same spec is not built again).
    async fn exists(&self, target: &str, auth: &RegistryAuth) -> bool {
        self.registry().exists(target, auth).await
    }
    /// Builds and pushes; the log goes to `log`. Ends early when `stop` fires: a cancelled
    /// build is stopped; a detached one may go on where the backend allows it.
    async fn build(
        &self,
        job: &BuildJob,
        log: &mut LogWriter,
        stop: &Stop,
    ) -> Result<(), BuildFailure>;
    /// Follows a build a previous leader started, to its end. A backend whose builds die
    /// with the process that ran them can't, and reports the build interrupted.
    async fn reattach(
        &self,
        _job: &BuildJob,
        _log: &mut LogWriter,
        _stop: &Stop,
    ) -> Result<(), BuildFailure> {
        Err(BuildFailure::new(
            FailReason::Interrupted,
            "Kiln stopped while this build was running.",
        ))
    }
}

/// Where and how builds run, from the configuration.
#[derive(Debug, Clone)]
pub struct BuildSettings {
    /// Where built images are pushed: `registry-host[:port]/prefix`.
    pub registry: String,
    pub registry_username: Option<String>,
    pub registry_password: Option<String>,
    /// Registry hosts spoken to over plain HTTP or with unverified TLS (tests, labs).
    pub insecure_registries: Vec<String>,
    pub timeout: Duration,
    pub total_limit: i64,
    pub per_group_limit: i64,
    /// A CA bundle mounted into build steps, for sites that intercept outbound TLS.
    pub ca_bundle: Option<PathBuf>,
}

impl BuildSettings {
    /// Where an image's builds are pushed: `registry/prefix/<group|global>/<name>:<tag>`.
    pub fn target(&self, owner: Option<&str>, image_name: &str, tag: &str) -> String {
        format!(
            "{}/{}/{image_name}:{tag}",
            self.registry.trim_end_matches('/'),
            owner.unwrap_or("global")
        )
    }

    pub fn push_auth(&self) -> RegistryAuth {
        let mut auth = RegistryAuth::default();
        if let (Some(user), Some(password)) = (&self.registry_username, &self.registry_password) {
            auth.add(&registry_of(&self.registry), user, password);
        }
        auth
    }

    /// Whether the registry of `reference` (an image, or the push registry) is spoken to
    /// over plain HTTP or unverified TLS.
    pub fn is_insecure(&self, reference: &str) -> bool {
        let host = registry_of(reference);
        self.insecure_registries.contains(&host)
    }
}

/// The registry host of an image reference by the reference grammar: `docker.io` when it
/// names none (`debian:12`).
pub fn registry_of(reference: &str) -> String {
    ImageRef::parse("image", reference)
        .ok()
        .and_then(|r| r.registry().map(str::to_owned))
        .unwrap_or_else(|| "docker.io".to_owned())
}

/// The build service: a builder and its settings, or why builds are off.
pub struct Builds {
    pub backend: Option<(Arc<dyn Builder>, BuildSettings)>,
    /// Shown when builds are off: what to configure.
    pub disabled_reason: String,
    wake: Notify,
    /// The builds this replica drives while it leads, and how to stop each.
    driving: Mutex<HashMap<i64, Stop>>,
}

/// How a driver takes up a build: it starts it, or follows one a previous leader started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Start {
    New,
    Reattach,
}

/// The leader looks at the queue and at cancel requests at least this often.
const QUEUE_TICK: Duration = Duration::from_secs(1);

impl Builds {
    pub fn new(builder: Arc<dyn Builder>, settings: BuildSettings) -> Arc<Builds> {
        Self::with(Some((builder, settings)), String::new())
    }

    pub fn disabled(reason: impl Into<String>) -> Arc<Builds> {
        Self::with(None, reason.into())
    }

    fn with(backend: Option<(Arc<dyn Builder>, BuildSettings)>, reason: String) -> Arc<Builds> {
        Arc::new(Builds {
            backend,
            disabled_reason: reason,
            wake: Notify::new(),
            driving: Mutex::new(HashMap::new()),
        })
    }

    pub fn enabled(&self) -> bool {
        self.backend.is_some()
    }

    /// The backend and its settings, or the reason builds are off (naming `builder`).
    fn backend(&self) -> Result<(&Arc<dyn Builder>, &BuildSettings)> {
        self.backend
            .as_ref()
            .map(|(builder, settings)| (builder, settings))
            .ok_or_else(|| {
                BackendError::Invalid(FieldError::new("builder", self.disabled_reason.clone()))
            })
    }

    /// Resolves a spec's base image with its credentials: a bad reference or refused
    /// credentials fail here, naming `base_image`, before anything is written.
    pub async fn resolve(&self, db: &Db, key: &SecretKey, spec: &BuildSpec) -> Result<Resolved> {
        let (builder, settings) = self.backend()?;
        let auth = build_auth(db, key, settings, spec).await?;
        let base = builder
            .inspect_base(&spec.base_image, &auth)
            .await
            .map_err(|f| FieldError::new("base_image", f.message))?;
        Ok(Resolved { base, auth })
    }

    /// Queues a build of a resolved spec, or records it as done at once when the registry
    /// already holds the image this spec makes.
    pub async fn queue(
        &self,
        db: &Db,
        request: &BuildRequest<'_>,
        resolved: &Resolved,
    ) -> Result<BuildRow> {
        let (builder, settings) = self.backend()?;
        let tag = request.spec.content_tag(&resolved.base.digest);
        let target = settings.target(request.owner, request.image_name, &tag);
        let reused = builder.exists(&target, &resolved.auth).await;
        let build = builds::enqueue(
            db,
            &builds::NewBuild {
                image_id: request.image_id,
                scope: request.scope,
                spec: request.spec,
                image_type: request.image_type,
                base_digest: &resolved.base.digest,
                base_user: &resolved.base.user,
                target: &target,
                created_by: request.user,
            },
            reused,
        )
        .await?;
        self.wake();
        Ok(build)
    }

    /// [`Builds::resolve`], then [`Builds::queue`].
    pub async fn submit(
        &self,
        db: &Db,
        key: &SecretKey,
        request: &BuildRequest<'_>,
    ) -> Result<BuildRow> {
        let resolved = self.resolve(db, key, request.spec).await?;
        self.queue(db, request, &resolved).await
    }

    /// A new build was queued, one ended or a cancel was asked for: look at the queue now
    /// (when this replica leads; the leader elsewhere looks within a second).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Asks a build to stop, from any replica. A queued one is cancelled at once; a running
    /// one is marked, and its driver on the leading replica stops it, keeping the log so far.
    /// Returns false when it had already ended.
    pub async fn cancel(&self, db: &Db, build: &BuildRow) -> Result<bool> {
        if builds::request_cancel(db, build.id).await? {
            self.wake();
            return Ok(true);
        }
        builds::finish(db, build.id, Outcome::Cancelled).await
    }

    /// Drives the queue until `shutdown`, whenever this replica leads: follows builds a
    /// previous leader left running, then starts queued builds as the limits allow.
    pub async fn run(
        self: Arc<Self>,
        db: Db,
        key: SecretKey,
        shutdown: CancellationToken,
    ) -> Result<()> {
        if self.backend.is_none() {
            // A replica that can't build doesn't compete for the lead. A single process
            // (SQLite) records the builds it left running as interrupted.
            if db.kind == super::db::Kind::Sqlite {
                builds::interrupt_running(&db, "Builds are turned off on this Kiln.").await?;
            }
            return Ok(());
        }
        while let Some(term) = leader::acquire(&db, &shutdown).await? {
            tracing::info!("this replica drives the build queue");
            self.clone().lead(&db, &key, term.lost()).await;
            if !shutdown.is_cancelled() {
                tracing::warn!("this replica stopped driving the build queue");
            }
        }
        Ok(())
    }

    /// One term as leader: until `lost`, then the builds it drives are detached and left to
    /// the next leader.
    async fn lead(self: Arc<Self>, db: &Db, key: &SecretKey, lost: &CancellationToken) {
        let Some((_, settings)) = &self.backend else {
            return;
        };
        let mut drivers = JoinSet::new();
        match builds::running(db).await {
            Ok(left) => {
                for build in left {
                    drivers.spawn(self.clone().drive(
                        db.clone(),
                        key.clone(),
                        build,
                        Start::Reattach,
                    ));
                }
            }
            Err(e) => tracing::error!(error = %e, "could not read the running builds"),
        }
        loop {
            if let Err(e) = self.stop_cancelled(db).await {
                tracing::warn!(error = %e, "could not read cancel requests");
            }
            loop {
                match builds::claim_next(db, settings.total_limit, settings.per_group_limit).await {
                    Ok(Some(build)) => {
                        drivers.spawn(self.clone().drive(
                            db.clone(),
                            key.clone(),
                            build,
                            Start::New,
                        ));
                    }
                    Ok(None) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "could not read the build queue");
                        break;
                    }
                }
            }
            while drivers.try_join_next().is_some() {}
            tokio::select! {
                _ = lost.cancelled() => break,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(QUEUE_TICK) => {}
            }
        }
        for stop in self
            .driving
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
        {
            stop.detach();
        }
        // The next leader must not find a driver of ours still writing.
        let _ = tokio::time::timeout(Duration::from_secs(10), drivers.join_all()).await;
    }

    /// Stops the builds this replica drives that were asked to stop from any replica, or
    /// that were ended meanwhile by a cancel that met them just as they were claimed.
    async fn stop_cancelled(&self, db: &Db) -> Result<()> {
        let ids: Vec<i64> = self
            .driving
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .copied()
            .collect();
        if ids.is_empty() {
            return Ok(());
        }
        let to_stop = builds::to_stop(db, &ids).await?;
        let driving = self.driving.lock().unwrap_or_else(|e| e.into_inner());
        for id in to_stop {
            if let Some(stop) = driving.get(&id) {
                stop.cancel();
            }
        }
        Ok(())
    }

    /// Runs one build to its end and records how it ended; a build left to the next leader
    /// is not recorded.
    async fn drive(self: Arc<Self>, db: Db, key: SecretKey, build: BuildRow, start: Start) {
        let stop = Stop::default();
        self.driving
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(build.id, stop.clone());
        let outcome = self.run_build(&db, &key, &build, start, &stop).await;
        self.driving
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&build.id);
        let recorded = match &outcome {
            Err(_) if stop.is_detached() && !stop.is_cancelled() => {
                tracing::info!(build = build.id, "build left to the next leader");
                return;
            }
            Ok(installed) => builds::finish(&db, build.id, Outcome::Succeeded { installed }).await,
            Err(failure) if stop.is_cancelled() && failure.reason != FailReason::Timeout => {
                builds::finish(&db, build.id, Outcome::Cancelled).await
            }
            Err(failure) => {
                builds::finish(
                    &db,
                    build.id,
                    Outcome::Failed {
                        reason: failure.reason,
                        message: &failure.message,
                    },
                )
                .await
            }
        };
        if let Err(e) = recorded {
            tracing::error!(build = build.id, error = %e, "could not record the end of a build");
        }
        self.wake();
    }

    async fn run_build(
        &self,
        db: &Db,
        key: &SecretKey,
        build: &BuildRow,
        start: Start,
        stop: &Stop,
    ) -> Result<String, BuildFailure> {
        let internal = |e: super::BackendError| BuildFailure::new(FailReason::Build, e.to_string());
        let (builder, settings) = self.backend().map_err(internal)?;
        let spec: BuildSpec = build.spec().map_err(internal)?;
        let context = build_context(&spec, &build.base_digest, &build.base_user)
            .map_err(|e| BuildFailure::new(FailReason::BaseImage, e.message))?;
        let auth = build_auth(db, key, settings, &spec)
            .await
            .map_err(internal)?;
        let job = BuildJob {
            build_id: build.id,
            image_id: build.image_id,
            base: spec.base_image.as_str().to_owned(),
            context,
            target: build.target.clone(),
            auth,
            log_cursor: build.log_cursor.clone(),
        };
        let mut log = LogWriter::continuing(db.clone(), build.id)
            .await
            .map_err(internal)?;
        // The time limit counts from the build's start, also across a hand-over.
        let ran_for = build
            .started_at
            .map(|at| Duration::from_millis((super::now_ms() - at).max(0) as u64))
            .unwrap_or_default();
        let timeout = settings.timeout;
        let result = {
            let running = async {
                match start {
                    Start::New => builder.build(&job, &mut log, stop).await,
                    Start::Reattach => builder.reattach(&job, &mut log, stop).await,
                }
            };
            tokio::pin!(running);
            tokio::select! {
                result = &mut running => result,
                _ = tokio::time::sleep(timeout.saturating_sub(ran_for)) => {
                    // Stop the build and wait for it to be gone before recording.
                    stop.cancel();
                    let _ = running.await;
                    Err(BuildFailure::new(FailReason::Timeout, format!("The build took longer than {} s.", timeout.as_secs())))
                }
            }
        };
        let installed = log.installed();
        log.close().await;
        result.map(|()| installed)
    }
}

/// A spec whose base image resolved: its digest and user, and the registry logins the build
/// uses; read once per build.
pub struct Resolved {
    pub base: BaseImage,
    pub auth: RegistryAuth,
}

/// A build to start, for an image that exists.
pub struct BuildRequest<'a> {
    pub image_id: i64,
    pub scope: Scope,
    /// The owning group's name, or `None` for a global image: part of the pushed name.
    pub owner: Option<&'a str>,
    pub image_name: &'a str,
    pub image_type: &'a str,
    pub spec: &'a BuildSpec,
    pub user: &'a str,
}

/// The credentials a build needs: the base image's pull secret and the push registry's.
pub async fn build_auth(
    db: &Db,
    key: &SecretKey,
    settings: &BuildSettings,
    spec: &BuildSpec,
) -> Result<RegistryAuth> {
    let mut auth = settings.push_auth();
    if let Some(name) = &spec.pull_secret {
        let (registry, username, password) =
            super::credentials::open_by_name(db, key, name).await?;
        auth.add(&registry, &username, &password);
    }
    Ok(auth)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_names_its_registry_by_the_grammar_and_only_listed_ones_are_insecure() {
        assert_eq!(registry_of("debian:12"), "docker.io");
        assert_eq!(registry_of("library/debian"), "docker.io");
        assert_eq!(
            registry_of("127.0.0.1:5055/base/debian:bookworm"),
            "127.0.0.1:5055"
        );
        assert_eq!(
            registry_of(&format!("localhost/tools@sha256:{}", "0".repeat(64))),
            "localhost"
        );
        assert_eq!(
            registry_of("registry.example.org/kiln"),
            "registry.example.org"
        );
        let settings = BuildSettings {
            registry: "127.0.0.1:5055/kiln".into(),
            registry_username: Some("pusher".into()),
            registry_password: Some("secret".into()),
            insecure_registries: vec!["127.0.0.1:5055".into()],
            timeout: Duration::from_secs(60),
            total_limit: 1,
            per_group_limit: 1,
            ca_bundle: None,
        };
        assert!(settings.is_insecure("127.0.0.1:5055/kiln/ml/tools:0123"));
        assert!(!settings.is_insecure("127.0.0.1:5056/kiln/ml/tools:0123"));
        assert!(
            !settings.is_insecure("debian:12"),
            "docker.io is not listed"
        );
        assert_eq!(settings.push_auth().entries[0].0, "127.0.0.1:5055");
    }
}
