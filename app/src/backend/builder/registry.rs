//! Reading registries with `skopeo`: a base image's digest and configured user, and whether
//! a build's target exists already. Both backends use it: the local one on this host, the
//! Kubernetes one from Kiln's own container (its image ships skopeo).

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::process::Command;

use super::{BaseImage, BuildFailure, BuildSettings, RegistryAuth};
use crate::backend::builds::FailReason;
use crate::domain::ImageRef;

pub struct Registry {
    /// Which registries are spoken to over plain HTTP or with unverified TLS.
    settings: BuildSettings,
    /// Auth files are written under here, one folder per call, removed afterwards.
    work_dir: PathBuf,
}

impl Registry {
    pub fn new(settings: BuildSettings, work_dir: PathBuf) -> Self {
        Registry { settings, work_dir }
    }

    pub fn tls_verify(&self, reference: &str) -> String {
        format!("--tls-verify={}", !self.settings.is_insecure(reference))
    }

    /// A folder for one build's files, the auth file in it readable by the owner only.
    pub fn prepare(&self, name: &str, auth: &RegistryAuth) -> Result<PathBuf, BuildFailure> {
        let dir = self.work_dir.join(name);
        let fail = |e: std::io::Error| {
            BuildFailure::new(
                FailReason::Build,
                format!("cannot write the build folder: {e}"),
            )
        };
        std::fs::create_dir_all(&dir).map_err(fail)?;
        write_private(&dir.join("auth.json"), &auth.to_json()).map_err(fail)?;
        Ok(dir)
    }

    /// The digest and configured user of a base image: `skopeo inspect`, with `auth`.
    pub async fn inspect_base(
        &self,
        base: &ImageRef,
        auth: &RegistryAuth,
    ) -> Result<BaseImage, BuildFailure> {
        let dir = self.prepare(&format!("inspect-{}", crate::backend::random_hex(6)), auth)?;
        let authfile = dir.join("auth.json");
        let reference = format!("docker://{}", base.as_str());
        let inspect = |extra: &'static [&'static str]| {
            let mut cmd = Command::new("skopeo");
            cmd.arg("inspect")
                .args(extra)
                .arg("--authfile")
                .arg(&authfile)
                .arg(self.tls_verify(base.as_str()))
                .arg(&reference);
            cmd
        };
        let (manifest, config) = tokio::join!(output(inspect(&[])), output(inspect(&["--config"])));
        let _ = std::fs::remove_dir_all(&dir);
        let failed = |e: String| {
            BuildFailure::new(
                FailReason::BaseImage,
                format!("The base image {} could not be read: {e}", base.as_str()),
            )
        };
        let manifest: serde_json::Value =
            serde_json::from_str(&manifest.map_err(failed)?).map_err(|e| failed(e.to_string()))?;
        let config: serde_json::Value =
            serde_json::from_str(&config.map_err(failed)?).map_err(|e| failed(e.to_string()))?;
        let digest = manifest["Digest"].as_str().unwrap_or_default().to_owned();
        let user = config["config"]["User"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        Ok(BaseImage { digest, user })
    }

    /// Whether `target` is in its registry.
    pub async fn exists(&self, target: &str, auth: &RegistryAuth) -> bool {
        let Ok(dir) = self.prepare(&format!("exists-{}", crate::backend::random_hex(6)), auth)
        else {
            return false;
        };
        let mut cmd = Command::new("skopeo");
        cmd.arg("inspect")
            .arg("--raw")
            .arg("--authfile")
            .arg(dir.join("auth.json"))
            .arg(self.tls_verify(target))
            .arg(format!("docker://{target}"));
        let found = output(cmd).await.is_ok();
        let _ = std::fs::remove_dir_all(&dir);
        found
    }
}

/// Runs `cmd` to its end: its stdout, or its stderr's last line as the error.
pub async fn output(mut cmd: Command) -> Result<String, String> {
    cmd.stdin(Stdio::null()).kill_on_drop(true);
    let out = cmd.output().await.map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        let stderr = String::from_utf8_lossy(&out.stderr);
        Err(stderr
            .lines()
            .rfind(|l| !l.trim().is_empty())
            .unwrap_or("failed")
            .trim()
            .to_owned())
    }
}

pub fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(content.as_bytes())
}

pub fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(tool).is_file()))
}
