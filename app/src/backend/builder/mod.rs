//! Running builds: the backend interface (local buildah now, Kubernetes Jobs later), the
//! queue driver with its limits and timeout, cancel, and the log writer that persists a
//! build's output as it arrives.

pub mod local;
pub mod log;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::builds::{self, BuildRow, FailReason, Outcome};
use super::images::Scope;
use super::{BackendError, Db, Result, SecretKey};
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
    /// The base image as the user gave it (its registry decides how to talk to it).
    pub base: String,
    pub context: BuildContext,
    pub target: String,
    pub auth: RegistryAuth,
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
}

/// A way to build images. Both backends take the same context and report the same way.
#[async_trait::async_trait]
pub trait Builder: Send + Sync {
    /// Resolves the base image to its digest and configured user, with its credentials:
    /// a bad reference, a missing image or refused credentials fail here.
    async fn inspect_base(
        &self,
        base: &ImageRef,
        auth: &RegistryAuth,
    ) -> Result<BaseImage, BuildFailure>;
    /// Whether `target` is already in the registry (then the same spec is not built again).
    async fn exists(&self, target: &str, auth: &RegistryAuth) -> bool;
    /// Builds and pushes; the log goes to `log`. Stops when `cancel` fires. Returns the
    /// record of installed packages.
    async fn build(
        &self,
        job: &BuildJob,
        log: &mut LogWriter,
        cancel: CancellationToken,
    ) -> Result<(), BuildFailure>;
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
    /// The host part of the push registry.
    pub fn registry_host(&self) -> &str {
        self.registry.split('/').next().unwrap_or_default()
    }

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
            auth.add(self.registry_host(), user, password);
        }
        auth
    }

    pub fn is_insecure(&self, host: &str) -> bool {
        self.insecure_registries.iter().any(|h| h == host)
    }
}

/// The build service: a builder and its settings, or why builds are off.
pub struct Builds {
    pub backend: Option<(Arc<dyn Builder>, BuildSettings)>,
    /// Shown when builds are off: what to configure.
    pub disabled_reason: String,
    wake: Notify,
    running: Mutex<HashMap<i64, CancellationToken>>,
}

impl Builds {
    pub fn new(builder: Arc<dyn Builder>, settings: BuildSettings) -> Arc<Builds> {
        Arc::new(Builds {
            backend: Some((builder, settings)),
            disabled_reason: String::new(),
            wake: Notify::new(),
            running: Mutex::new(HashMap::new()),
        })
    }

    pub fn disabled(reason: impl Into<String>) -> Arc<Builds> {
        Arc::new(Builds {
            backend: None,
            disabled_reason: reason.into(),
            wake: Notify::new(),
            running: Mutex::new(HashMap::new()),
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

    /// A new build was queued, or one ended: look at the queue again.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Asks a build to stop. A queued one is cancelled at once; a running one is stopped
    /// by its driver, which keeps the log so far. Returns false when it had already ended.
    pub async fn cancel(&self, db: &Db, build: &BuildRow) -> Result<bool> {
        let token = self
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&build.id)
            .cloned();
        match token {
            Some(token) => {
                token.cancel();
                Ok(true)
            }
            None => builds::finish(db, build.id, Outcome::Cancelled).await,
        }
    }

    /// Drives the queue until `shutdown`: marks builds interrupted by a restart as failed,
    /// then starts queued builds as the limits allow.
    pub async fn run(
        self: Arc<Self>,
        db: Db,
        key: SecretKey,
        shutdown: CancellationToken,
    ) -> Result<()> {
        let interrupted = builds::recover_interrupted(&db).await?;
        if interrupted > 0 {
            tracing::warn!(
                interrupted,
                "builds that were running when Kiln stopped are marked failed"
            );
        }
        let Some((_, settings)) = &self.backend else {
            return Ok(());
        };
        loop {
            while let Some(build) =
                builds::claim_next(&db, settings.total_limit, settings.per_group_limit).await?
            {
                let (service, db, key) = (self.clone(), db.clone(), key.clone());
                tokio::spawn(async move { service.drive(db, key, build).await });
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(5)) => {}
            }
        }
        // Stopping: running builds are stopped; the next start marks them interrupted.
        for token in self
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
        {
            token.cancel();
        }
        Ok(())
    }

    /// Runs one claimed build to its end and records how it ended.
    async fn drive(self: Arc<Self>, db: Db, key: SecretKey, build: BuildRow) {
        let token = CancellationToken::new();
        self.running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(build.id, token.clone());
        let outcome = self.run_build(&db, &key, &build, token.clone()).await;
        self.running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&build.id);
        let recorded = match &outcome {
            Ok(installed) => builds::finish(&db, build.id, Outcome::Succeeded { installed }).await,
            Err(failure) if token.is_cancelled() && failure.reason != FailReason::Timeout => {
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
        cancel: CancellationToken,
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
            base: spec.base_image.as_str().to_owned(),
            context,
            target: build.target.clone(),
            auth,
        };
        let mut log = LogWriter::new(db.clone(), build.id);
        let timeout = settings.timeout;
        let result = {
            let running = builder.build(&job, &mut log, cancel.clone());
            tokio::pin!(running);
            tokio::select! {
                result = &mut running => result,
                _ = tokio::time::sleep(timeout) => {
                    // Stop the build and wait for it to be gone before recording.
                    cancel.cancel();
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
