//! The single-machine backend: `skopeo` reads registries (base image digests, whether a
//! target exists; see [`super::registry`]) and `buildah` builds and pushes, as child
//! processes in their own process group so that cancel and timeout stop the whole tree.
//!
//! One build is five steps: `buildah pull` of the pinned base image (with the registry
//! auth file), `buildah build` in the [`Sandbox`] (no auth file, no Kiln environment, no
//! host loopback, its own `/proc`), the record of installed packages read from the built
//! image, the smoke test (`buildah run` of the image as its own user, in the same sandbox;
//! see [`smoke`]), and `buildah push` (with the auth file again): an image that fails its
//! smoke test is never pushed. The auth file exists only while pull and push run, in
//! Kiln's work folder, which the sandbox covers. With the registry's layer cache on, Kiln
//! serves it inside the sandbox ([`cache_proxy`]), adding the credential outside: for
//! reading while `buildah build` runs the steps (they share its network), then, once the
//! image has passed its smoke test, for writing to a second `buildah build` that takes
//! every step from this host's cache and leaves their layers in the registry.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::BufReader;
use tokio::process::Command;
use tokio::sync::RwLock;

use super::context::{CA_PATH, RECORD_LIMIT, RECORD_PATH};
use super::lines::{BoundedLines, MAX_LINE};
use super::registry::{Registry, on_path, output, write_private};
use super::sandbox::{self, Running, Sandbox};
use super::{BuildFailure, BuildJob, BuildSettings, Builder, Built, LogWriter, RegistryAuth, Stop};
use super::{cache_proxy, smoke};
use crate::backend::builds::FailReason;

pub struct LocalBuildah {
    settings: BuildSettings,
    /// Reads registries, and holds the folder auth files are written under.
    registry: Registry,
    work_dir: PathBuf,
    sandbox: Sandbox,
    /// Bytes buildah's storage (the layer cache) may hold after a build.
    cache_limit: u64,
    /// Held shared by each running build, alone while the cache is emptied: a running
    /// build's layers have no name, so emptying must wait until none runs.
    building: Arc<RwLock<()>>,
}

/// The layer cache's limit unless configured: 20 GiB.
pub const DEFAULT_CACHE_LIMIT: u64 = 20 * 1024 * 1024 * 1024;

impl LocalBuildah {
    /// A builder keeping its auth files under `work_dir`; builds run in `sandbox`, which
    /// also covers `work_dir`.
    pub fn new(settings: BuildSettings, work_dir: PathBuf, sandbox: Sandbox) -> Self {
        let registry = Registry::new(settings.clone(), work_dir.clone());
        let sandbox = sandbox.and_hiding(&work_dir);
        LocalBuildah {
            settings,
            registry,
            work_dir,
            sandbox,
            cache_limit: DEFAULT_CACHE_LIMIT,
            building: Default::default(),
        }
    }

    /// The most bytes the layer cache may hold after a build (0: none is kept).
    pub fn with_cache_limit(mut self, bytes: u64) -> Self {
        self.cache_limit = bytes;
        self
    }

    /// Why this machine cannot build locally, if it cannot: the tools must be on PATH.
    pub fn missing_tools() -> Option<String> {
        let missing: Vec<&str> = ["buildah", "skopeo"]
            .into_iter()
            .filter(|tool| !on_path(tool))
            .collect();
        if !missing.is_empty() {
            return Some(format!(
                "{} not installed (Debian: apt-get install buildah skopeo)",
                missing.join(" and ")
            ));
        }
        Sandbox::missing_tools().map(|tools| format!("builds need {tools}"))
    }
}

#[async_trait::async_trait]
impl Builder for LocalBuildah {
    fn registry(&self) -> &Registry {
        &self.registry
    }

    async fn build(
        &self,
        job: &BuildJob,
        log: &mut LogWriter,
        stop: &Stop,
    ) -> Result<Built, BuildFailure> {
        let fail = |e: std::io::Error| {
            BuildFailure::new(
                FailReason::Build,
                format!("cannot write the build folder: {e}"),
            )
        };
        let name = format!("build-{}-{}", job.build_id, crate::backend::random_hex(4));
        // The context holds nothing secret; it lives outside Kiln's folders, which the
        // sandbox covers. The auth file's folder is inside them.
        let context_root = std::env::temp_dir().join(format!("kiln-{name}"));
        let auth_dir = self.work_dir.join(&name);
        let running = self.building.clone().read_owned().await;
        let result = match (
            std::fs::create_dir_all(&context_root).map_err(fail),
            std::fs::create_dir_all(&auth_dir).map_err(fail),
        ) {
            (Ok(()), Ok(())) => {
                self.build_in(&context_root, &auth_dir, job, log, stop)
                    .await
            }
            (Err(e), _) | (_, Err(e)) => Err(e),
        };
        let _ = std::fs::remove_dir_all(&context_root);
        let _ = std::fs::remove_dir_all(&auth_dir);
        drop(running);
        // Measuring the cache takes a moment (it walks buildah's storage): not the build's.
        tokio::spawn(keep_cache_bounded(self.building.clone(), self.cache_limit));
        result
    }
}

impl LocalBuildah {
    async fn build_in(
        &self,
        context_root: &Path,
        auth_dir: &Path,
        job: &BuildJob,
        log: &mut LogWriter,
        stop: &Stop,
    ) -> Result<Built, BuildFailure> {
        let fail = |e: std::io::Error| BuildFailure::new(FailReason::Build, e.to_string());
        let context = context_root.join("context");
        std::fs::create_dir_all(&context).map_err(fail)?;
        for (name, content) in &job.context.files {
            std::fs::write(context.join(name), content).map_err(fail)?;
        }
        let authfile = auth_dir.join("auth.json");

        log.note(&format!("pulling {}", job.context.base)).await;
        let mut pull = buildah();
        pull.args(["pull", "--quiet"])
            .arg("--authfile")
            .arg(&authfile)
            .arg(self.registry.tls_verify(&job.base))
            .arg(&job.context.base);
        let code = with_auth(
            &authfile,
            &job.auth,
            run_logged(pull, Place::Host, log, stop),
        )
        .await?;
        if code != 0 {
            return Err(BuildFailure::exited(FailReason::BaseImage, code));
        }

        let cache = match job.cache.as_ref().filter(|_| self.settings.registry_cache) {
            Some(repository) => {
                match cache_proxy::Upstream::connect(&self.settings, repository).await {
                    Ok(upstream) => Some(Arc::new(upstream)),
                    Err(e) => {
                        let note = format!("the registry's layer cache is not used: {e}");
                        log.note(&note).await;
                        None
                    }
                }
            }
            None => None,
        };
        let uses = match &cache {
            Some(upstream) => CacheUse::From(upstream),
            None => CacheUse::None,
        };
        let build = self.build_command(context_root, job, uses).map_err(fail)?;
        log.note(&format!("building {}", job.target)).await;
        let place = match &cache {
            // The steps run beside buildah: they may take layers, never leave one.
            Some(upstream) => Place::SandboxServing(upstream.clone(), cache_proxy::Access::Read),
            None => Place::Sandbox,
        };
        let code = run_logged(build, place, log, stop).await?;
        if code != 0 {
            remove_image(&job.target).await;
            return Err(log.exit_failure(code));
        }

        // One working container of the built image serves the record and then the smoke
        // test (with vfs storage each container is a whole copy of the image): the record
        // is read before any of the image's code runs in it.
        let container = match container_of(&job.target).await {
            Ok(container) => container,
            Err(e) => {
                remove_image(&job.target).await;
                return Err(smoke::failed(&format!(
                    "the image could not be started ({e})"
                )));
            }
        };
        let installed = match read_record(&container).await {
            Ok(record) => record,
            Err(e) => {
                log.note(&format!(
                    "the record of installed packages could not be read: {e}"
                ))
                .await;
                String::new()
            }
        };
        // Started once before anything is pushed: an image that fails is never pushed, so
        // the image's URL stays where it was.
        let smoke = self
            .smoke_test(context_root, &container, job, log, stop)
            .await;
        let mut remove = buildah();
        remove.arg("rm").arg(&container);
        let _ = output(remove).await;
        if let Err(failure) = smoke {
            remove_image(&job.target).await;
            return Err(failure);
        }
        // The built image keeps a name of its own so that removing the target's name below
        // keeps its layers: the next build of this image starts from them.
        keep_as_cache(&job.target).await;
        if let Some(upstream) = cache {
            self.leave_in_registry(context_root, job, upstream, log, stop)
                .await?;
        }
        log.note(&format!("pushing {}", job.target)).await;
        let mut push = buildah();
        push.arg("push")
            .arg("--authfile")
            .arg(&authfile)
            .arg(self.registry.tls_verify(&job.target))
            .arg(&job.target)
            .arg(format!("docker://{}", job.target));
        let pushed = with_auth(
            &authfile,
            &job.auth,
            run_logged(push, Place::Host, log, stop),
        )
        .await;
        // The image is in the registry (or not); locally only its cache name stays.
        remove_image(&job.target).await;
        match pushed? {
            0 => {
                log.note("pushed").await;
                Ok(Built {
                    installed,
                    ..Default::default()
                })
            }
            code => Err(BuildFailure::exited(FailReason::Push, code)),
        }
    }

    /// `buildah build` of the job's context in the sandbox, using the build registry's
    /// layer cache as `cache` says. Only a build that takes from the cache (or none)
    /// names the target; the one leaving layers there builds what is already built.
    fn build_command(
        &self,
        context_root: &Path,
        job: &BuildJob,
        cache: CacheUse<'_>,
    ) -> std::io::Result<Command> {
        let port = match cache {
            CacheUse::None => None,
            CacheUse::From(_) | CacheUse::To(_) => Some(cache_proxy::PORT),
        };
        let mut build = self.sandbox.command_after("buildah", port);
        storage_defaults(&mut build);
        build
            .args(["build", "--layers", "--pull=never"])
            .arg(format!("--dns={}", sandbox::DNS))
            .arg("-f")
            .arg(context_root.join("context/Containerfile"));
        // Plain HTTP to Kiln inside the namespace; the base is never pulled here.
        match cache {
            CacheUse::None => {
                build.arg("-t").arg(&job.target);
            }
            CacheUse::From(upstream) => {
                build.arg("-t").arg(&job.target);
                build.arg(format!("--cache-from={}", upstream.reference()));
                build.arg("--tls-verify=false");
            }
            CacheUse::To(upstream) => {
                // No step runs here: should one miss this host's cache after all, it would
                // be started by `false`, which fails the build before the step starts.
                // (The isolation is not part of a step's cache key.)
                build.args(["--quiet", "--isolation=oci", "--runtime=/bin/false"]);
                build.arg(format!("--cache-to={}", upstream.reference()));
                build.arg("--tls-verify=false");
            }
        }
        if let Some(ca) = &self.settings.ca_bundle {
            // A copy beside the context: the configured file may be in a covered folder.
            let copy = context_root.join("ca.crt");
            std::fs::copy(ca, &copy)?;
            build
                .arg("-v")
                .arg(format!("{}:{CA_PATH}:ro", copy.display()));
        }
        build.arg(context_root.join("context"));
        Ok(build)
    }

    /// Leaves the build's layers in the build registry's cache, for builds on other hosts
    /// and after this host's cache was emptied: the same build again, every step taken
    /// from this host's cache (no step runs), with the cache writable to buildah alone.
    /// A cache that cannot be written never fails the build; a stop does.
    async fn leave_in_registry(
        &self,
        context_root: &Path,
        job: &BuildJob,
        upstream: Arc<cache_proxy::Upstream>,
        log: &mut LogWriter,
        stop: &Stop,
    ) -> Result<(), BuildFailure> {
        log.note("leaving the layers in the build registry's cache")
            .await;
        let written = match self.build_command(context_root, job, CacheUse::To(&upstream)) {
            Ok(export) => {
                let place = Place::SandboxServing(upstream, cache_proxy::Access::ReadWrite);
                run_logged(export, place, log, stop).await
            }
            Err(e) => Err(BuildFailure::new(FailReason::Build, e.to_string())),
        };
        match written {
            Ok(0) => {
                log.note("the layers are in the build registry's cache")
                    .await
            }
            Err(failure) if stop.is_cancelled() || stop.is_detached() => return Err(failure),
            Ok(code) => {
                let note = format!(
                    "the layers could not be left in the build registry's cache (buildah exited {code}); the build goes on"
                );
                log.note(&note).await;
            }
            Err(failure) => {
                let note = format!(
                    "the layers could not be left in the build registry's cache ({}); the build goes on",
                    failure.message
                );
                log.note(&note).await;
            }
        }
        Ok(())
    }

    /// The smoke test ([`smoke`]): the built image's working `container` started once, as
    /// the image's own user, in the sandbox the build ran in (no host loopback, no Kiln
    /// environment, no auth file), the script and names file mounted read-only.
    async fn smoke_test(
        &self,
        context_root: &Path,
        container: &str,
        job: &BuildJob,
        log: &mut LogWriter,
        stop: &Stop,
    ) -> Result<(), BuildFailure> {
        let fail = |e: std::io::Error| {
            BuildFailure::new(
                FailReason::Build,
                format!("cannot write the smoke test: {e}"),
            )
        };
        // Beside the context, outside the folders the sandbox covers.
        let dir = context_root.join("smoke");
        std::fs::create_dir_all(&dir).map_err(fail)?;
        std::fs::write(dir.join(smoke::SCRIPT_FILE), smoke::SCRIPT).map_err(fail)?;
        std::fs::write(dir.join(smoke::PACKAGES_FILE), &job.context.smoke_packages)
            .map_err(fail)?;
        // `buildah run` runs as the image's configured user (the Containerfile's last USER)
        // unless told otherwise.
        log.note(&format!(
            "smoke test: starting the image as {}",
            job.context.user
        ))
        .await;
        let mut run = self.sandbox.command("buildah");
        storage_defaults(&mut run);
        run.arg("run")
            .arg("-v")
            .arg(format!("{}:{}:ro", dir.display(), smoke::DIR))
            .arg(container)
            .arg("--")
            .args(smoke::command());
        let code = run_limited(run, Place::Sandbox, self.settings.smoke_timeout, log, stop).await?;
        match smoke::failure(code, &job.context.smoke_packages) {
            None => {
                log.note("smoke test passed").await;
                Ok(())
            }
            Some(failure) => {
                log.note(&format!("smoke test failed (exit status {code})"))
                    .await;
                Err(failure)
            }
        }
    }
}

/// [`run_logged`], stopped when `stop` fires or after `limit` (then failing the smoke
/// test): the whole process group goes either way.
async fn run_limited(
    cmd: Command,
    place: Place,
    limit: Duration,
    log: &mut LogWriter,
    stop: &Stop,
) -> Result<i32, BuildFailure> {
    let limited = Stop::default();
    let deadline = {
        let (outer, inner) = (stop.clone(), limited.clone());
        tokio::spawn(async move {
            tokio::select! {
                _ = outer.stopped() => {}
                _ = tokio::time::sleep(limit) => {}
            }
            inner.cancel();
        })
    };
    let result = run_logged(cmd, place, log, &limited).await;
    deadline.abort();
    match result {
        Err(_) if limited.is_cancelled() && !stop.is_cancelled() && !stop.is_detached() => {
            let failure = smoke::timed_out(limit);
            log.note(&failure.message).await;
            Err(failure)
        }
        other => other,
    }
}

/// Runs `step` with the auth file written (owner-only) for its duration only: removed
/// after it, also when the step is dropped midway.
async fn with_auth<T>(
    authfile: &Path,
    auth: &RegistryAuth,
    step: impl std::future::Future<Output = Result<T, BuildFailure>>,
) -> Result<T, BuildFailure> {
    struct Removed<'a>(&'a Path);
    impl Drop for Removed<'_> {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(self.0);
        }
    }
    let _removed = Removed(authfile);
    write_private(authfile, &auth.to_json()).map_err(|e| {
        BuildFailure::new(
            FailReason::Build,
            format!("cannot write the auth file: {e}"),
        )
    })?;
    step.await
}

/// The local name under which the last build of `target`'s repository is kept:
/// `kiln-cache/DIGEST` (of the repository), moved to each new build. An image that loses
/// it stays as cache until the cache is emptied.
fn cache_name(target: &str) -> String {
    let repository = target.rsplit_once(':').map_or(target, |(repo, _)| repo);
    format!(
        "localhost/kiln-cache/{}",
        super::context::input_key(repository)
    )
}

async fn keep_as_cache(target: &str) {
    let mut tag = buildah();
    tag.arg("tag").arg(target).arg(cache_name(target));
    if let Err(e) = output(tag).await {
        tracing::warn!(error = %e, "cannot keep the build's layers");
    }
}

/// Empties the layer cache: the kept builds and the layers pulled from the build
/// registry's cache (named after the address builds reach it at), then every image no
/// name holds.
pub async fn empty_cache() -> Result<(), String> {
    let mut list = buildah();
    list.args(["images", "--format", "{{.Name}}:{{.Tag}}"]);
    let kept: Vec<String> = output(list)
        .await?
        .lines()
        .filter(|name| {
            name.starts_with("localhost/kiln-cache/")
                || name.starts_with(&format!("{}/", cache_proxy::ADDRESS))
        })
        .map(str::to_owned)
        .collect();
    if !kept.is_empty() {
        let mut untag = buildah();
        untag.args(["rmi", "--force"]).args(&kept);
        output(untag).await?;
    }
    let mut prune = buildah();
    prune.args(["rmi", "--prune", "--force"]);
    output(prune).await.map(drop)
}

async fn remove_image(target: &str) {
    let mut remove = buildah();
    remove.args(["rmi", "-f"]).arg(target);
    let _ = output(remove).await;
}

/// A working container of the image `target` (local storage); its name.
async fn container_of(target: &str) -> Result<String, String> {
    let mut from = buildah();
    from.args(["from", "--pull=never", "--quiet"]).arg(target);
    Ok(output(from).await?.trim().to_owned())
}

/// The record of installed packages in the built image's working `container`: its file
/// read through a mount, resolved inside the image's root so that no link in it can point
/// Kiln at a file of the host.
async fn read_record(container: &str) -> Result<String, String> {
    let mut mount = buildah();
    mount.arg("mount").arg(container);
    let root = output(mount).await?;
    read_in_root(Path::new(root.trim()), RECORD_PATH, RECORD_LIMIT).map_err(|e| e.to_string())
}

/// Reads at most `limit` bytes of the regular file `path`, resolved as if `root` were `/`
/// (`openat2` with `RESOLVE_IN_ROOT`: `..` and absolute links stay inside `root`).
pub fn read_in_root(root: &Path, path: &str, limit: u64) -> std::io::Result<String> {
    use std::io::Read;
    let c = |p: &[u8]| CString::new(p).map_err(std::io::Error::other);
    let root_path = c(root.as_os_str().as_bytes())?;
    // SAFETY: open(2) of a NUL-terminated path; the descriptor is owned at once.
    let root_fd = unsafe {
        libc::open(
            root_path.as_ptr(),
            libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if root_fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let root_fd = unsafe { OwnedFd::from_raw_fd(root_fd) };
    let relative = c(path.trim_start_matches('/').as_bytes())?;
    // SAFETY: `open_how` is plain integers; all zero is its documented default.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NOCTTY | libc::O_NONBLOCK) as u64;
    how.resolve = libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS;
    // SAFETY: openat2(2) with a valid directory descriptor, path and `open_how` of the
    // size passed.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            root_fd.as_raw_fd(),
            relative.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let file = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd as i32) });
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other(format!("{path} is not a plain file")));
    }
    let mut text = String::new();
    let mut bytes = Vec::new();
    file.take(limit).read_to_end(&mut bytes)?;
    text.push_str(&String::from_utf8_lossy(&bytes));
    Ok(text.trim_end().to_owned())
}

/// Empties the layer cache when buildah's storage holds more than `limit` bytes and no
/// build runs (a build starting meanwhile waits for it).
async fn keep_cache_bounded(building: Arc<RwLock<()>>, limit: u64) {
    let held = match storage_bytes().await {
        Ok(bytes) => bytes,
        Err(e) => {
            tracing::warn!(error = %e, "cannot measure the layer cache");
            return;
        }
    };
    if held <= limit {
        return;
    }
    let Ok(_alone) = building.try_write_owned() else {
        // A build runs: the check after it empties the cache.
        return;
    };
    match empty_cache().await {
        Ok(()) => tracing::info!(
            held,
            limit,
            "the layer cache passed its limit (KILN_BUILD_CACHE_LIMIT) and was emptied"
        ),
        Err(e) => tracing::warn!(error = %e, "cannot empty the layer cache"),
    }
}

/// The bytes in buildah's storage (its graph root), hard links counted once.
async fn storage_bytes() -> Result<u64, String> {
    let mut info = buildah();
    info.args(["info", "--format", "{{.store.GraphRoot}}"]);
    let root = output(info).await?;
    let mut du = Command::new("du");
    du.args(["-sbx", root.trim()]);
    let counted = output(du).await?;
    counted
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("du said {counted:?}"))
}

/// buildah with the storage and isolation this host can use unless configured otherwise.
pub fn buildah() -> Command {
    let mut cmd = Command::new("buildah");
    storage_defaults(&mut cmd);
    cmd
}

/// vfs storage and chroot isolation unless Kiln's environment says otherwise.
fn storage_defaults(cmd: &mut Command) {
    for (name, default) in [("STORAGE_DRIVER", "vfs"), ("BUILDAH_ISOLATION", "chroot")] {
        if std::env::var_os(name).is_none() {
            cmd.env(name, default);
        }
    }
}

/// Where [`run_logged`] runs a command.
enum Place {
    /// On the host, as Kiln.
    Host,
    /// In the [`Sandbox`] (the command was made by it).
    Sandbox,
    /// In the sandbox, with the build registry's layer cache served inside it as the
    /// access says (the command was made by [`Sandbox::command_after`] its port).
    SandboxServing(Arc<cache_proxy::Upstream>, cache_proxy::Access),
}

/// How a `buildah build` uses the build registry's layer cache.
enum CacheUse<'a> {
    None,
    /// Takes unchanged steps from it.
    From(&'a cache_proxy::Upstream),
    /// Leaves every step's layers in it.
    To(&'a cache_proxy::Upstream),
}

/// Runs `cmd` where `place` says, in its own process group, every output line into the
/// log; on stop the group gets SIGTERM, then SIGKILL after 5 s (a build on this host can't
/// outlive its replica's lead: the next leader reports it interrupted). Returns the exit
/// status.
async fn run_logged(
    mut cmd: Command,
    place: Place,
    log: &mut LogWriter,
    stop: &Stop,
) -> Result<i32, BuildFailure> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let cannot = |e: std::io::Error| {
        BuildFailure::new(FailReason::Build, format!("cannot start the builder: {e}"))
    };
    let mut running = match &place {
        Place::Host => cmd.spawn().map(Running::plain),
        Place::Sandbox | Place::SandboxServing(..) => sandbox::start(&mut cmd).await,
    }
    .map_err(cannot)?;
    // Served until the command ends (dropped with this function); the command waits for it.
    let _cache = match (place, running.child.id()) {
        (Place::SandboxServing(upstream, access), Some(pid)) => Some(
            cache_proxy::serve_in(pid, upstream, access)
                .await
                .map_err(|e| {
                    cannot(std::io::Error::other(format!(
                        "the build registry's layer cache could not be served to it: {e}"
                    )))
                })?,
        ),
        _ => None,
    };
    let group = running.child.id().map(|id| id as i32);
    let mut out = BoundedLines::new(
        BufReader::new(running.child.stdout.take().expect("piped")),
        MAX_LINE,
    );
    let mut err = BoundedLines::new(
        BufReader::new(running.child.stderr.take().expect("piped")),
        MAX_LINE,
    );
    let (mut out_open, mut err_open) = (true, true);
    while out_open || err_open {
        tokio::select! {
            line = out.next_line(), if out_open => match line {
                Ok(Some(line)) => log.line(&line).await,
                _ => out_open = false,
            },
            line = err.next_line(), if err_open => match line {
                Ok(Some(line)) => log.line(&line).await,
                _ => err_open = false,
            },
            _ = stop.stopped() => {
                stop_group(group, &mut running.child).await;
                running.wait().await.ok();
                log.note("stopped").await;
                return Err(BuildFailure::new(FailReason::Killed, "The build was stopped."));
            }
        }
    }
    let status = running
        .wait()
        .await
        .map_err(|e| BuildFailure::new(FailReason::Build, e.to_string()))?;
    Ok(status.code().unwrap_or(-1))
}

async fn stop_group(group: Option<i32>, child: &mut tokio::process::Child) {
    if let Some(group) = group {
        // SAFETY: kill(2) on our own child's process group; no memory is involved.
        unsafe { libc::kill(-group, libc::SIGTERM) };
        if tokio::time::timeout(Duration::from_secs(5), child.wait())
            .await
            .is_err()
        {
            unsafe { libc::kill(-group, libc::SIGKILL) };
        }
    }
    let _ = child.kill().await;
    let _ = child.wait().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::builds::{self, testing};

    /// A context of `FROM scratch`, busybox, and one step printing `marker`.
    fn scratch_context(root: &Path, marker: &str) {
        let context = root.join("context");
        std::fs::create_dir_all(&context).unwrap();
        std::fs::copy("/bin/busybox", context.join("busybox")).unwrap();
        std::fs::write(
            context.join("Containerfile"),
            format!(
                "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"echo\", \"{marker}\"]\n"
            ),
        )
        .unwrap();
    }

    #[tokio::test]
    async fn leaving_the_layers_in_the_registry_runs_no_step_and_one_not_built_never_starts() {
        let needs = ["buildah", "slirp4netns", "unshare", "busybox"];
        if !needs.iter().all(|tool| on_path(tool)) || !cache_proxy::testing::available() {
            eprintln!("needs {needs:?} and docker-registry (make test-tools): not checked");
            return;
        }
        let dir =
            std::env::temp_dir().join(format!("kiln-leave-{}", crate::backend::random_hex(4)));
        std::fs::create_dir_all(&dir).unwrap();
        let (_registry, host) =
            cache_proxy::testing::registry(&dir, cache_proxy::testing::Login::None).await;
        let settings = BuildSettings::on_test_registry(&host);
        let builder = LocalBuildah::new(settings.clone(), dir.join("work"), Sandbox::default());
        let job = super::super::kubernetes::objects::sample_job(&settings);
        let cache = job.cache.clone().unwrap();
        let upstream = Arc::new(
            cache_proxy::Upstream::connect(&settings, &cache)
                .await
                .unwrap(),
        );
        let db = crate::backend::db::testing::fresh_db().await;
        let (build, mut log) = testing::logged_build(&db, u64::MAX).await;
        let stop = Stop::default();
        let ran = format!("kiln-step-ran-{}", crate::backend::random_hex(4));
        let built = dir.join("built");
        scratch_context(&built, &ran);
        let first = builder.build_command(&built, &job, CacheUse::None).unwrap();
        assert_eq!(
            run_logged(first, Place::Sandbox, &mut log, &stop)
                .await
                .unwrap(),
            0
        );
        let leave = |root: &Path| {
            let command = builder
                .build_command(root, &job, CacheUse::To(&upstream))
                .unwrap();
            let place = Place::SandboxServing(upstream.clone(), cache_proxy::Access::ReadWrite);
            (command, place)
        };
        let (command, place) = leave(&built);
        assert_eq!(
            run_logged(command, place, &mut log, &stop).await.unwrap(),
            0
        );
        let repository = cache.split_once('/').unwrap().1;
        let tags: serde_json::Value =
            reqwest::get(format!("http://{host}/v2/{repository}/tags/list"))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
        // The copy and the step, one cache image each.
        assert_eq!(tags["tags"].as_array().map(Vec::len), Some(2), "{tags}");

        // A step this host has not built: it is not started, and the pass fails.
        let never = format!("kiln-step-ran-{}", crate::backend::random_hex(4));
        let unbuilt = dir.join("unbuilt");
        scratch_context(&unbuilt, &never);
        let (command, place) = leave(&unbuilt);
        assert_ne!(
            run_logged(command, place, &mut log, &stop).await.unwrap(),
            0
        );
        log.close().await;
        let stored = builds::full_log(&db, build.id).await.unwrap();
        assert_eq!(stored.matches(&format!("\n{ran}\n")).count(), 1, "{stored}");
        assert!(!stored.contains(&format!("\n{never}\n")), "{stored}");
        remove_image(&job.target).await;
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The most memory this process has held, in KiB.
    fn peak_kib() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
            .unwrap()
    }

    #[test]
    fn the_record_is_read_inside_the_image_and_no_link_leads_out_of_it() {
        let base =
            std::env::temp_dir().join(format!("kiln-root-{}", crate::backend::random_hex(4)));
        let root = base.join("root");
        std::fs::create_dir_all(root.join("opt/kiln")).unwrap();
        std::fs::write(base.join("host-secret"), "the host's file").unwrap();
        let record = root.join("opt/kiln/installed.txt");
        std::fs::write(&record, "pip six==1.16.0\n").unwrap();
        assert_eq!(
            read_in_root(&root, RECORD_PATH, 1024).unwrap(),
            "pip six==1.16.0"
        );
        assert_eq!(
            read_in_root(&root, RECORD_PATH, 5).unwrap(),
            "pip s",
            "cut at the limit"
        );

        // An absolute link and a climbing one both stay inside the image's root.
        for target in [base.join("host-secret"), "../../../host-secret".into()] {
            std::fs::remove_file(&record).unwrap();
            std::os::unix::fs::symlink(&target, &record).unwrap();
            let read = read_in_root(&root, RECORD_PATH, 1024);
            assert!(read.is_err(), "{target:?} read {read:?}");
        }
        // A folder where the file should be is not read.
        std::fs::remove_file(&record).unwrap();
        std::fs::create_dir(&record).unwrap();
        assert!(read_in_root(&root, RECORD_PATH, 1024).is_err());
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[tokio::test]
    async fn a_smoke_run_past_its_limit_fails_the_smoke_test_and_a_stop_stops_it() {
        let db = crate::backend::db::testing::fresh_db().await;
        let (build, mut log) = testing::logged_build(&db, u64::MAX).await;
        let hanging = || {
            let mut cmd = Command::new("sh");
            cmd.args(["-c", "echo started; sleep 60"]);
            cmd
        };
        let started = std::time::Instant::now();
        let limit = Duration::from_millis(500);
        let failure = run_limited(hanging(), Place::Host, limit, &mut log, &Stop::default())
            .await
            .unwrap_err();
        assert_eq!(failure.reason, FailReason::SmokeTest, "{failure:?}");
        assert!(
            failure.message.contains("did not finish within"),
            "{failure:?}"
        );
        let stop = Stop::default();
        let stopping = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            stopping.cancel();
        });
        let failure = run_limited(
            hanging(),
            Place::Host,
            Duration::from_secs(60),
            &mut log,
            &stop,
        )
        .await
        .unwrap_err();
        assert_eq!(
            failure.reason,
            FailReason::Killed,
            "the build's stop, not a timeout"
        );
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{:?}",
            started.elapsed()
        );
        log.close().await;
        let stored = builds::full_log(&db, build.id).await.unwrap();
        assert_eq!(stored.matches("started\n").count(), 2, "{stored}");
    }

    #[tokio::test]
    async fn a_builder_printing_a_huge_line_costs_one_line_of_memory() {
        let db = crate::backend::db::testing::fresh_db().await;
        let (build, mut log) = testing::logged_build(&db, u64::MAX).await;
        let mut flood = Command::new("sh");
        flood
            .arg("-c")
            .arg("head -c 268435456 /dev/zero | tr '\\0' x; echo; echo after the flood");
        let before = peak_kib();
        let status = run_logged(flood, Place::Host, &mut log, &Stop::default())
            .await
            .unwrap();
        let grown = peak_kib().saturating_sub(before);
        log.close().await;
        assert_eq!(status, 0);
        // Other tests run alongside (an argon2 hash holds ~19 MiB): the bound leaves room.
        assert!(
            grown < 128 * 1024,
            "a 256 MiB line grew the peak by {grown} KiB"
        );
        let stored = builds::full_log(&db, build.id).await.unwrap();
        let lines: Vec<&str> = stored.lines().collect();
        assert_eq!(lines.len(), 2, "{}", stored.len());
        assert_eq!(lines[0].len(), MAX_LINE);
        assert_eq!(lines[1], "after the flood");
    }
}
