//! Running builds. This file is the contract: what a builder (buildah on this host, or
//! Kubernetes Jobs) is given and must do, and the settings every builder shares. Beside
//! it: the build context and its Containerfile (`context.rs`), the queue driver on the
//! replica that leads (`queue.rs`), the log writer (`log.rs`) and registry reads
//! (`registry.rs`).

pub mod cache_proxy;
pub mod context;
pub mod destination;
pub mod kubernetes;
pub mod lines;
pub mod local;
pub mod log;
pub mod queue;
pub mod registry;
pub mod sandbox;
pub mod smoke;

use std::path::PathBuf;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::builds::FailReason;
use super::{Db, Result, SecretKey};
use crate::domain::build::BuildSpec;
use crate::domain::{FieldError, ImageRef};
use context::BuildContext;
pub use log::LogWriter;
pub use queue::BuildQueue;

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

    /// The login for `host` in an auth file of [`Self::to_json`]'s form (user, password).
    pub fn login_for(json: &str, host: &str) -> Option<(String, String)> {
        use base64::Engine;
        let config: serde_json::Value = serde_json::from_str(json).ok()?;
        let token = config["auths"][host]["auth"].as_str()?;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(token)
            .ok()?;
        let (user, password) = std::str::from_utf8(&decoded).ok()?.split_once(':')?;
        Some((user.to_owned(), password.to_owned()))
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
    /// Every login the build uses (push and base), for steps that run no build code.
    pub auth: RegistryAuth,
    /// The base image's pull secret alone: all that a container running build steps may
    /// hold (the Kubernetes builder's).
    pub base_auth: RegistryAuth,
    /// Where a re-attached build's log goes on from (backend-specific; empty at first).
    pub log_cursor: String,
    /// The owner's layer cache in the build registry ([`BuildSettings::cache_repository`]);
    /// each builder's settings say whether it keeps one there (locally
    /// [`BuildSettings::registry_cache`], on Kubernetes the cache step's image).
    pub cache: Option<String>,
}

/// What a build that pushed its image reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Built {
    /// The record of installed packages, read from the image (`context::RECORD_PATH`).
    pub installed: String,
    /// The pushed image's compressed size, read from its registry after the push.
    pub compressed_size: Option<i64>,
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
    ) -> Result<BaseImage, FieldError> {
        self.registry().inspect_base(base, auth).await
    }
    /// Whether `target` is already in the registry (then the same spec is not built again).
    /// The manifest of `target`, when its registry has it.
    async fn manifest(&self, target: &str, auth: &RegistryAuth) -> Option<String> {
        self.registry().manifest(target, auth).await
    }
    /// Whether this backend keeps pull secrets where notebooks start (then the leader calls
    /// [`Builder::sync_pull_secrets`] after every credential change and every minute).
    fn keeps_pull_secrets(&self) -> bool {
        false
    }
    /// Brings the pull secrets in line with the stored credentials.
    async fn sync_pull_secrets(&self, _db: &Db, _key: &SecretKey) -> Result<()> {
        Ok(())
    }
    /// Builds and pushes; the log goes to `log`. Ends early when `stop` fires: a cancelled
    /// build is stopped; a detached one may go on where the backend allows it.
    async fn build(
        &self,
        job: &BuildJob,
        log: &mut LogWriter,
        stop: &Stop,
    ) -> Result<Built, BuildFailure>;
    /// Follows a build a previous leader started, to its end. A backend whose builds die
    /// with the process that ran them can't, and reports the build interrupted.
    async fn reattach(
        &self,
        _job: &BuildJob,
        _log: &mut LogWriter,
        _stop: &Stop,
    ) -> Result<Built, BuildFailure> {
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
    /// A build's stored log ends with a note once it reaches this many bytes.
    pub log_limit: u64,
    /// Registry hosts inside the network that base images may come from (besides the build
    /// registry's own host): any other host that resolves to a loopback, private,
    /// link-local or otherwise internal address is refused.
    pub internal_registries: Vec<String>,
    /// How long a built image's smoke test may take (on Kubernetes, pulling it included).
    pub smoke_timeout: Duration,
    /// Whether local builds keep their layers in the build registry too
    /// ([`Self::cache_repository`]), for builds on other replicas and hosts to reuse.
    pub registry_cache: bool,
}

impl BuildSettings {
    /// Settings for unit tests pushing under `host/kiln`, a plain-HTTP registry on
    /// loopback, with no login and the registry's layer cache on.
    #[cfg(test)]
    pub fn on_test_registry(host: &str) -> Self {
        BuildSettings {
            registry: format!("{host}/kiln"),
            registry_username: None,
            registry_password: None,
            insecure_registries: vec![host.into()],
            timeout: Duration::from_secs(60),
            total_limit: 1,
            per_group_limit: 1,
            ca_bundle: None,
            log_limit: 1 << 20,
            internal_registries: Vec::new(),
            smoke_timeout: smoke::DEFAULT_LIMIT,
            registry_cache: true,
        }
    }

    /// Where an image's builds are pushed: `registry/prefix/<group|global>/<name>:<tag>`.
    pub fn target(&self, owner: Option<&str>, image_name: &str, tag: &str) -> String {
        format!(
            "{}/{}/{image_name}:{tag}",
            self.registry.trim_end_matches('/'),
            owner.unwrap_or(crate::domain::GroupName::GLOBAL)
        )
    }

    /// Whose build path `reference` is under: `Some(group)` (or `Some("global")`) when it
    /// is an image Kiln builds, `None` for anything else.
    pub fn path_owner<'a>(&self, reference: &'a str) -> Option<&'a str> {
        let prefix = format!("{}/", self.registry.trim_end_matches('/'));
        let rest = reference.strip_prefix(&prefix)?;
        rest.split_once('/').map(|(owner, _)| owner)
    }

    /// The layer cache of `target`'s owner in the build registry:
    /// `registry/prefix/<group|global>/cache/layers`. Two levels below the owner, so no
    /// image (one level, a DNS label) can have its name; one per owner, so two groups'
    /// builds never share a cache path. `None` for a target outside the build registry.
    pub fn cache_repository(&self, target: &str) -> Option<String> {
        let owner = self.path_owner(target)?;
        Some(format!(
            "{}/{owner}/cache/layers",
            self.registry.trim_end_matches('/')
        ))
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

/// A spec whose base image resolved: its digest and user, and the registry logins the build
/// uses; read once per build.
pub struct Resolved {
    pub base: BaseImage,
    pub auth: RegistryAuth,
}

/// Where a build's image goes, and whether the registry holds it already.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub target: String,
    pub reused: bool,
    /// When reused: the image's compressed size, if its registry said.
    pub compressed_size: Option<i64>,
}

/// The credentials a build needs: the push registry's, then the base image's pull secret.
pub async fn build_auth(
    db: &Db,
    key: &SecretKey,
    settings: &BuildSettings,
    spec: &BuildSpec,
) -> Result<RegistryAuth> {
    let mut auth = settings.push_auth();
    auth.entries.extend(base_auth(db, key, spec).await?.entries);
    Ok(auth)
}

/// The base image's pull secret alone (empty without one).
pub async fn base_auth(db: &Db, key: &SecretKey, spec: &BuildSpec) -> Result<RegistryAuth> {
    let mut auth = RegistryAuth::default();
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
            log_limit: 16 * 1024 * 1024,
            internal_registries: Vec::new(),
            smoke_timeout: smoke::DEFAULT_LIMIT,
            registry_cache: true,
        };
        assert!(settings.is_insecure("127.0.0.1:5055/kiln/ml/tools:0123"));
        assert!(!settings.is_insecure("127.0.0.1:5056/kiln/ml/tools:0123"));
        assert!(
            !settings.is_insecure("debian:12"),
            "docker.io is not listed"
        );
        assert_eq!(settings.push_auth().entries[0].0, "127.0.0.1:5055");
        let json = settings.push_auth().to_json();
        assert_eq!(
            RegistryAuth::login_for(&json, "127.0.0.1:5055"),
            Some(("pusher".into(), "secret".into()))
        );
        assert_eq!(RegistryAuth::login_for(&json, "127.0.0.1:5056"), None);
        assert_eq!(
            settings.path_owner("127.0.0.1:5055/kiln/ml/tools:0123"),
            Some("ml")
        );
        assert_eq!(
            settings.path_owner("127.0.0.1:5055/kiln/global/base:1"),
            Some("global")
        );
        assert_eq!(settings.path_owner("127.0.0.1:5055/kilnx/ml/tools:1"), None);
        assert_eq!(settings.path_owner("127.0.0.1:5055/base/debian:12"), None);
        assert_eq!(
            settings.cache_repository("127.0.0.1:5055/kiln/ml/tools:0123"),
            Some("127.0.0.1:5055/kiln/ml/cache/layers".into())
        );
        assert_eq!(
            settings.cache_repository("127.0.0.1:5055/kiln/global/base:1"),
            Some("127.0.0.1:5055/kiln/global/cache/layers".into())
        );
        assert_eq!(
            settings.cache_repository("127.0.0.1:5055/base/debian:12"),
            None
        );
    }
}
