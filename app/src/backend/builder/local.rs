//! The single-machine backend: `skopeo` reads registries (base image digests, whether a
//! target exists; see [`super::registry`]) and `buildah` builds and pushes, as child
//! processes in their own process group so that cancel and timeout stop the whole tree.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::BufReader;
use tokio::process::Command;

use super::context::CA_PATH;
use super::lines::{BoundedLines, MAX_LINE};
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
    let mut out = BoundedLines::new(
        BufReader::new(child.stdout.take().expect("piped")),
        MAX_LINE,
    );
    let mut err = BoundedLines::new(
        BufReader::new(child.stderr.take().expect("piped")),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::builds::{self, testing};

    /// The most memory this process has held, in KiB.
    fn peak_kib() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
            .unwrap()
    }

    #[tokio::test]
    async fn a_builder_printing_a_huge_line_costs_one_line_of_memory() {
        let db = crate::backend::db::testing::fresh_db().await;
        let (scope, image) = testing::image(&db, "ml").await;
        let build = testing::enqueued(&db, scope, &image).await;
        let mut log = LogWriter::continuing(db.clone(), build.id, u64::MAX)
            .await
            .unwrap();
        let mut flood = Command::new("sh");
        flood
            .arg("-c")
            .arg("head -c 268435456 /dev/zero | tr '\\0' x; echo; echo after the flood");
        let before = peak_kib();
        let status = run_logged(flood, &mut log, &Stop::default()).await.unwrap();
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
