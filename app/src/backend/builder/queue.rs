//! The build queue and its driver: on the one replica that leads, builds start as the
//! limits allow, run under a timeout, stop when cancelled from any replica, and are
//! followed on after a hand-over. Operations ask it to resolve and plan a build; the
//! build's row is written by the operation's change.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::context::{CacheScope, build_context};
use super::{
    BuildFailure, BuildJob, BuildSettings, Builder, Built, LogWriter, Planned, Resolved, Stop,
    base_auth, build_auth,
};
use super::{destination, registry};
use crate::backend::builds::{self, BuildRow, FailReason, Outcome};
use crate::backend::db::Conn;
use crate::backend::{BackendError, Db, Result, SecretKey, leader};
use crate::domain::build::BuildSpec;
use crate::domain::{FieldError, messages};
use prometheus_client::metrics::histogram::Histogram;

/// The build service: a builder and its settings, or why builds are off.
pub struct BuildQueue {
    pub backend: Option<(Arc<dyn Builder>, BuildSettings)>,
    /// Shown when builds are off: what to configure.
    pub disabled_reason: String,
    /// Whether this replica drives the queue now (for `/metrics`).
    leading: std::sync::atomic::AtomicBool,
    /// How long the builds this replica started had waited, and how long they ran.
    pub queue_wait: Histogram,
    pub build_duration: Histogram,
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
/// Pull secrets are checked against the cluster this often even when no credential changed
/// (someone may have edited or deleted one).
const PULL_SECRETS_EVERY: Duration = Duration::from_secs(60);

/// When the leader next brings the pull secrets in line, and the credentials it last did.
#[derive(Default)]
struct PullSecretPasses {
    /// The credentials' fingerprint at the last successful pass.
    synced: Option<u64>,
    /// A minute after a success, 10 s after a failure.
    next: Option<std::time::Instant>,
}

impl PullSecretPasses {
    /// Syncs when a credential changed (on any replica) or when the next pass is due.
    async fn pass(&mut self, builder: &dyn Builder, db: &Db, key: &SecretKey) {
        let fingerprint = match crate::backend::credentials::fingerprint(db).await {
            Ok(f) => f,
            Err(e) => return tracing::warn!(error = %e, "could not read the credentials"),
        };
        let now = std::time::Instant::now();
        if !self.due(fingerprint, now) {
            return;
        }
        let result = builder.sync_pull_secrets(db, key).await;
        if let Err(e) = &result {
            tracing::warn!(error = %e, "could not bring the pull secrets in line");
        }
        self.record(result.is_ok(), fingerprint, now);
    }

    /// A credential changed since the last success, or the next pass's time has come.
    fn due(&self, fingerprint: u64, now: std::time::Instant) -> bool {
        self.synced.is_some_and(|seen| seen != fingerprint)
            || self.next.is_none_or(|next| now >= next)
    }

    fn record(&mut self, ok: bool, fingerprint: u64, now: std::time::Instant) {
        (self.synced, self.next) = match ok {
            true => (Some(fingerprint), Some(now + PULL_SECRETS_EVERY)),
            false => (None, Some(now + Duration::from_secs(10))),
        };
    }
}

impl BuildQueue {
    pub fn new(builder: Arc<dyn Builder>, settings: BuildSettings) -> Arc<BuildQueue> {
        Self::with(Some((builder, settings)), String::new())
    }

    pub fn disabled(reason: impl Into<String>) -> Arc<BuildQueue> {
        Self::with(None, reason.into())
    }

    fn with(backend: Option<(Arc<dyn Builder>, BuildSettings)>, reason: String) -> Arc<BuildQueue> {
        Arc::new(BuildQueue {
            backend,
            disabled_reason: reason,
            leading: Default::default(),
            queue_wait: Histogram::new(crate::backend::metrics::BUILD_BUCKETS),
            build_duration: Histogram::new(crate::backend::metrics::BUILD_BUCKETS),
            wake: Notify::new(),
            driving: Mutex::new(HashMap::new()),
        })
    }

    pub fn enabled(&self) -> bool {
        self.backend.is_some()
    }

    /// Whether this replica drives the build queue now.
    pub fn leading(&self) -> bool {
        self.leading.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Fails with the reason builds are off, naming `builder`, when they are.
    pub fn require_enabled(&self) -> Result<()> {
        self.backend().map(drop)
    }

    /// The backend and its settings, or the reason builds are off (naming `builder`).
    fn backend(&self) -> Result<(&Arc<dyn Builder>, &BuildSettings)> {
        self.backend
            .as_ref()
            .map(|(builder, settings)| (builder, settings))
            .ok_or_else(|| {
                BackendError::Invalid(FieldError::coded(
                    "builder",
                    messages::BUILDS_OFF,
                    &[("why", &self.disabled_reason)],
                ))
            })
    }

    /// Resolves a spec's base image with its credentials: a bad reference or refused
    /// credentials fail here, naming `base_image`, before anything is written.
    /// A base image inside the network is refused before anything connects to it, unless
    /// it is on the build registry or the operator listed its registry; and one that
    /// another group's builds made is refused too (Kiln's push credential reads the build
    /// registry: it must not read one group's images for another). `owner` is the group
    /// the build is for, `None` for a global image.
    pub async fn resolve(
        &self,
        db: &Db,
        key: &SecretKey,
        spec: &BuildSpec,
        owner: Option<&str>,
    ) -> Result<Resolved> {
        let (builder, settings) = self.backend()?;
        let base = spec.base_image.as_str();
        if let Some(path_owner) = settings.path_owner(base)
            && Some(path_owner) != owner
            && path_owner != crate::domain::GroupName::GLOBAL
        {
            return Err(FieldError::coded(
                "base_image",
                messages::BASE_IMAGE_OTHER_GROUP,
                &[("base", base)],
            )
            .into());
        }
        if let Some(registry) = spec.base_image.registry() {
            let mut allowed = settings.internal_registries.clone();
            allowed.push(super::registry_of(&settings.registry));
            destination::check(registry, &allowed)
                .await
                .map_err(|why| {
                    FieldError::coded(
                        "base_image",
                        messages::BASE_IMAGE_UNREADABLE,
                        &[
                            ("base", spec.base_image.as_str()),
                            ("why", &why.to_string()),
                        ],
                    )
                })?;
        }
        let auth = build_auth(db, key, settings, spec).await?;
        let base = builder.inspect_base(&spec.base_image, &auth).await?;
        Ok(Resolved { base, auth })
    }

    /// Where the image of a resolved spec goes, and whether the registry holds it already
    /// (then the build is recorded as done at once). Asks the registry: call it before a
    /// change begins. `owner` is the owning group's name, `None` for a global image.
    pub async fn plan(
        &self,
        owner: Option<&str>,
        image_name: &str,
        spec: &BuildSpec,
        resolved: &Resolved,
    ) -> Result<Planned> {
        let (builder, settings) = self.backend()?;
        let tag = spec.content_tag(&resolved.base.digest);
        let target = settings.target(owner, image_name, &tag);
        let manifest = builder.manifest(&target, &resolved.auth).await;
        Ok(Planned {
            target,
            reused: manifest.is_some(),
            compressed_size: manifest.as_deref().and_then(registry::compressed_size),
        })
    }

    /// A new build was queued, one ended or a cancel was asked for: look at the queue now
    /// (when this replica leads; the leader elsewhere looks within a second).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Asks a build to stop, from any replica. A queued one is cancelled at once; a running
    /// one is marked, and its driver on the leading replica stops it, keeping the log so far.
    /// Returns false when it had already ended.
    /// Written on the connection of the change that asks; [`BuildQueue::wake`] once it is
    /// committed.
    pub async fn cancel(&self, conn: &mut Conn, build: &BuildRow) -> Result<bool> {
        if builds::request_cancel(conn, build.id).await? {
            return Ok(true);
        }
        builds::finish_in(conn, build.id, Outcome::Cancelled).await
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
            if db.kind == crate::backend::db::Kind::Sqlite {
                builds::interrupt_running(&db, "Builds are turned off on this Kiln.").await?;
            }
            return Ok(());
        }
        while let Some(term) = leader::acquire(&db, &shutdown).await? {
            tracing::info!("this replica drives the build queue");
            self.leading
                .store(true, std::sync::atomic::Ordering::Relaxed);
            self.clone().lead(&db, &key, &term).await;
            self.leading
                .store(false, std::sync::atomic::Ordering::Relaxed);
            if !shutdown.is_cancelled() {
                tracing::warn!("this replica stopped driving the build queue");
            }
        }
        Ok(())
    }

    /// One term as leader: until it is lost, then the builds it drives are detached and left
    /// to the next leader. Its writes of build states are fenced: refused (and the term lost)
    /// once its lock's session has ended, even before the session check notices.
    async fn lead(self: Arc<Self>, db: &Db, key: &SecretKey, term: &leader::Term) {
        let Some((builder, settings)) = &self.backend else {
            return;
        };
        let (lost, fence) = (term.lost(), term.fence());
        let mut pull_secrets = PullSecretPasses::default();
        let mut drivers = JoinSet::new();
        match builds::running(db).await {
            Ok(left) => {
                for build in left {
                    drivers.spawn(self.clone().drive(
                        db.clone(),
                        key.clone(),
                        fence.clone(),
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
                let limits = (settings.total_limit, settings.per_group_limit);
                match builds::claim_next_fenced(db, fence, limits.0, limits.1).await {
                    Ok(Some(build)) => {
                        tracing::info!(build = build.id, "build started");
                        let started = build.started_at.unwrap_or_else(crate::backend::now_ms);
                        self.queue_wait
                            .observe((started - build.queued_at).max(0) as f64 / 1000.0);
                        drivers.spawn(self.clone().drive(
                            db.clone(),
                            key.clone(),
                            fence.clone(),
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
            if builder.keeps_pull_secrets() && !lost.is_cancelled() {
                pull_secrets.pass(builder.as_ref(), db, key).await;
            }
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

    /// Runs one build to its end and records how it ended (fenced: only while this replica
    /// still leads); a build left to the next leader is not recorded.
    async fn drive(
        self: Arc<Self>,
        db: Db,
        key: SecretKey,
        fence: leader::Fence,
        build: BuildRow,
        start: Start,
    ) {
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
            Ok(built) => {
                let outcome = Outcome::Succeeded {
                    installed: &built.installed,
                    compressed_size: built.compressed_size,
                };
                builds::finish_fenced(&db, &fence, build.id, outcome).await
            }
            Err(failure) if stop.is_cancelled() && failure.reason != FailReason::Timeout => {
                builds::finish_fenced(&db, &fence, build.id, Outcome::Cancelled).await
            }
            Err(failure) => {
                let outcome = Outcome::Failed {
                    reason: failure.reason,
                    message: &failure.message,
                };
                builds::finish_fenced(&db, &fence, build.id, outcome).await
            }
        };
        match recorded {
            Ok(true) => {
                tracing::info!(build = build.id, "build ended");
                if let Some(started) = build.started_at {
                    let ran = (crate::backend::now_ms() - started).max(0);
                    self.build_duration.observe(ran as f64 / 1000.0);
                }
            }
            Ok(false) => {}
            Err(e) => {
                tracing::error!(build = build.id, error = %e, "could not record the end of a build")
            }
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
    ) -> Result<Built, BuildFailure> {
        let internal = |e: BackendError| BuildFailure::new(FailReason::Build, e.to_string());
        let (builder, settings) = self.backend().map_err(internal)?;
        let spec: BuildSpec = build.spec().map_err(internal)?;
        let scope = CacheScope::new(&settings.registry, build.group_id);
        let context = build_context(&spec, &build.base_digest, &build.base_user, &scope)
            .map_err(|e| BuildFailure::new(FailReason::BaseImage, e.message))?;
        let auth = build_auth(db, key, settings, &spec)
            .await
            .map_err(internal)?;
        let base_auth = base_auth(db, key, &spec).await.map_err(internal)?;
        let job = BuildJob {
            build_id: build.id,
            image_id: build.image_id,
            base: spec.base_image.as_str().to_owned(),
            context,
            target: build.target.clone(),
            auth,
            base_auth,
            log_cursor: build.log_cursor.clone(),
            cache: settings.cache_repository(&build.target),
        };
        let mut log = LogWriter::continuing(db.clone(), build.id, settings.log_limit)
            .await
            .map_err(internal)?;
        // The time limit counts from the build's start, also across a hand-over.
        let ran_for = build
            .started_at
            .map(|at| Duration::from_millis((crate::backend::now_ms() - at).max(0) as u64))
            .unwrap_or_default();
        let timeout = settings.timeout;
        let mut result = {
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
        if let Ok(built) = &mut result {
            // What the image costs to pull, as its registry stores it.
            built.compressed_size = builder
                .registry()
                .compressed_size(&job.target, &job.auth)
                .await;
        }
        log.close().await;
        result
    }
}

#[cfg(test)]
mod pull_secret_pass_tests {
    use std::time::{Duration, Instant};

    #[test]
    fn pull_secrets_are_synced_at_once_after_a_change_every_minute_and_10_s_after_a_failure() {
        let start = Instant::now();
        let mut passes = super::PullSecretPasses::default();
        assert!(passes.due(1, start), "the first pass");
        passes.record(true, 1, start);
        assert!(!passes.due(1, start + Duration::from_secs(59)));
        assert!(
            passes.due(2, start + Duration::from_secs(1)),
            "a credential changed"
        );
        assert!(
            passes.due(1, start + Duration::from_secs(60)),
            "the minute passed"
        );
        passes.record(false, 2, start);
        assert!(
            !passes.due(3, start + Duration::from_secs(9)),
            "a failure waits"
        );
        assert!(passes.due(3, start + Duration::from_secs(10)));
    }
}
