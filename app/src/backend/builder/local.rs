//! The single-machine backend: `skopeo` reads registries (base image digests, whether a
//! target exists; see [`super::registry`]) and `buildah` builds and pushes, as child
//! processes in their own process group so that cancel and timeout stop the whole tree.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use super::context::CA_PATH;
use super::registry::{Registry, on_path, output};
use super::{BuildFailure, BuildJob, BuildSettings, Builder, LogWriter, Stop};
use crate::backend::builds::FailReason;

pub struct LocalBuildah {
    settings: BuildSettings,
    /// Reads registries, and holds the folder build contexts are written under.
    registry: Registry,
}

impl LocalBuildah {
    pub fn new(settings: BuildSettings, work_dir: PathBuf) -> Self {
        let registry = Registry::new(settings.clone(), work_dir);
        LocalBuildah { settings, registry }
    }

    /// Why this machine cannot build locally, if it cannot: both tools must be on PATH.
    pub fn missing_tools() -> Option<String> {
        let missing: Vec<&str> = ["buildah", "skopeo"]
            .into_iter()
            .filter(|tool| !on_path(tool))
            .collect();
        (!missing.is_empty()).then(|| {
            format!(
                "{} not installed (Debian: apt-get install buildah skopeo)",
                missing.join(" and ")
            )
        })
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
    ) -> Result<(), BuildFailure> {
        let dir = self
            .registry
            .prepare(&format!("build-{}", job.build_id), &job.auth)?;
        let result = self.build_in(&dir, job, log, stop).await;
        let _ = std::fs::remove_dir_all(&dir);
        result
    }
}

impl LocalBuildah {
    async fn build_in(
        &self,
        dir: &Path,
        job: &BuildJob,
        log: &mut LogWriter,
        stop: &Stop,
    ) -> Result<(), BuildFailure> {
        let context = dir.join("context");
        std::fs::create_dir_all(&context)
            .map_err(|e| BuildFailure::new(FailReason::Build, e.to_string()))?;
        for (name, content) in &job.context.files {
            std::fs::write(context.join(name), content)
                .map_err(|e| BuildFailure::new(FailReason::Build, e.to_string()))?;
        }
        let authfile = dir.join("auth.json");

        let mut build = buildah();
        build
            .args(["build", "--layers=false", "--pull=missing"])
            .arg("--authfile")
            .arg(&authfile)
            .arg(self.registry.tls_verify(&job.base))
            .arg("-f")
            .arg(context.join("Containerfile"))
            .arg("-t")
            .arg(&job.target);
        if let Some(ca) = &self.settings.ca_bundle {
            build
                .arg("-v")
                .arg(format!("{}:{CA_PATH}:ro", ca.display()));
        }
        build.arg(&context);
        log.note(&format!("building {}", job.target)).await;
        let code = run_logged(build, log, stop).await?;
        if code != 0 {
            return Err(log.exit_failure(code));
        }

        log.note(&format!("pushing {}", job.target)).await;
        let mut push = buildah();
        push.arg("push")
            .arg("--authfile")
            .arg(&authfile)
            .arg(self.registry.tls_verify(&job.target))
            .arg(&job.target)
            .arg(format!("docker://{}", job.target));
        let pushed = run_logged(push, log, stop).await;
        // The image is in the registry (or not); the local copy only takes space.
        let mut remove = buildah();
        remove.args(["rmi", "-f"]).arg(&job.target);
        let _ = output(remove).await;
        match pushed? {
            0 => {
                log.note("pushed").await;
                Ok(())
            }
            code => Err(BuildFailure::exited(FailReason::Push, code)),
        }
    }
}

/// buildah with the storage and isolation this host can use unless configured otherwise.
pub fn buildah() -> Command {
    let mut cmd = Command::new("buildah");
    for (name, default) in [("STORAGE_DRIVER", "vfs"), ("BUILDAH_ISOLATION", "chroot")] {
        if std::env::var_os(name).is_none() {
            cmd.env(name, default);
        }
    }
    cmd
}

/// Runs `cmd` in its own process group, every output line into the log; on stop the group
/// gets SIGTERM, then SIGKILL after 5 s (a build on this host can't outlive its replica's
/// lead: the next leader reports it interrupted). Returns the exit status.
async fn run_logged(
    mut cmd: Command,
    log: &mut LogWriter,
    stop: &Stop,
) -> Result<i32, BuildFailure> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|e| {
        BuildFailure::new(FailReason::Build, format!("cannot start the builder: {e}"))
    })?;
    let group = child.id().map(|id| id as i32);
    let mut out = BufReader::new(child.stdout.take().expect("piped")).lines();
    let mut err = BufReader::new(child.stderr.take().expect("piped")).lines();
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
                stop_group(group, &mut child).await;
                log.note("stopped").await;
                return Err(BuildFailure::new(FailReason::Killed, "The build was stopped."));
            }
        }
    }
    let status = child
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
