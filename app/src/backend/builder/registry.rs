//! Reading registries with `skopeo`: a base image's digest and configured user, and whether
//! a build's target exists already. Both backends use it: the local one on this host, the
//! Kubernetes one from Kiln's own container (its image ships skopeo).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

use super::{BaseImage, BuildFailure, BuildSettings, RegistryAuth};
use crate::backend::builds::FailReason;
use crate::domain::{FieldError, ImageRef, messages};

/// How long a registry may take to answer one question about an image.
pub const REGISTRY_TIMEOUT: Duration = Duration::from_secs(20);

pub struct Registry {
    /// Which registries are spoken to over plain HTTP or with unverified TLS.
    settings: BuildSettings,
    /// Auth files are written under here, one folder per call, removed afterwards.
    work_dir: PathBuf,
    timeout: Duration,
}

impl Registry {
    pub fn new(settings: BuildSettings, work_dir: PathBuf) -> Self {
        Registry {
            settings,
            work_dir,
            timeout: REGISTRY_TIMEOUT,
        }
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
    ) -> Result<BaseImage, FieldError> {
        let failed = |why: String| {
            FieldError::coded(
                "base_image",
                messages::BASE_IMAGE_UNREADABLE,
                &[("base", base.as_str()), ("why", &why)],
            )
        };
        let dir = self
            .prepare(&format!("inspect-{}", crate::backend::random_hex(6)), auth)
            .map_err(|e| failed(e.message))?;
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
        let answers = tokio::time::timeout(self.timeout, async {
            tokio::join!(output(inspect(&[])), output(inspect(&["--config"])))
        })
        .await;
        let _ = std::fs::remove_dir_all(&dir);
        let Ok((manifest, config)) = answers else {
            return Err(failed(format!(
                "its registry did not answer within {} s.",
                self.timeout.as_secs()
            )));
        };
        // The tool's own words name hosts and addresses: they go to Kiln's log, and the
        // user gets Kiln's.
        let said = |stderr: String| {
            tracing::info!(base = base.as_str(), %stderr, "a base image could not be read");
            failed(reason_in_words(&stderr).to_owned())
        };
        let unreadable =
            || failed("its registry answered with something that is not an image.".into());
        let manifest: serde_json::Value =
            serde_json::from_str(&manifest.map_err(said)?).map_err(|_| unreadable())?;
        let config: serde_json::Value =
            serde_json::from_str(&config.map_err(said)?).map_err(|_| unreadable())?;
        let digest = manifest["Digest"].as_str().unwrap_or_default().to_owned();
        let user = config["config"]["User"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        Ok(BaseImage { digest, user })
    }

    /// The manifest of `target` as its registry has it (`None`: not there, or no answer
    /// in time).
    pub async fn manifest(&self, target: &str, auth: &RegistryAuth) -> Option<String> {
        let Ok(dir) = self.prepare(&format!("manifest-{}", crate::backend::random_hex(6)), auth)
        else {
            return None;
        };
        let mut cmd = Command::new("skopeo");
        cmd.arg("inspect")
            .arg("--raw")
            .arg("--authfile")
            .arg(dir.join("auth.json"))
            .arg(self.tls_verify(target))
            .arg(format!("docker://{target}"));
        let found = tokio::time::timeout(self.timeout, output(cmd))
            .await
            .ok()
            .and_then(Result::ok);
        let _ = std::fs::remove_dir_all(&dir);
        found
    }

    /// The compressed size of `target` (see [`compressed_size`]), if its registry says.
    pub async fn compressed_size(&self, target: &str, auth: &RegistryAuth) -> Option<i64> {
        compressed_size(&self.manifest(target, auth).await?)
    }
}

/// What an image costs to pull: the sizes its manifest gives for its config and layers
/// (compressed, as stored in the registry). `None` for anything but one image's manifest
/// (an index of several platforms, or not a manifest at all). The registry's answer is
/// not trusted to be sane: negative sizes, and sums past what the database stores (an
/// `i64`), make `None`.
pub fn compressed_size(manifest: &str) -> Option<i64> {
    let manifest: serde_json::Value = serde_json::from_str(manifest).ok()?;
    let config = manifest.get("config")?.get("size")?.as_u64()?;
    let sum = manifest
        .get("layers")?
        .as_array()?
        .iter()
        .try_fold(config, |sum, layer| {
            sum.checked_add(layer.get("size")?.as_u64()?)
        })?;
    i64::try_from(sum).ok()
}

/// Why a registry question failed, in Kiln's words, from what the tool said: never the
/// tool's own text, which may name internal hosts and addresses.
pub fn reason_in_words(stderr: &str) -> &'static str {
    let said = stderr.to_ascii_lowercase();
    let any = |words: &[&str]| words.iter().any(|w| said.contains(w));
    if any(&[
        "manifest unknown",
        "not found",
        "name unknown",
        "no such image",
    ]) {
        "it is not in its registry; check the name and the tag."
    } else if any(&[
        "unauthorized",
        "authentication required",
        "denied",
        "forbidden",
    ]) {
        "its registry refused access; choose a pull secret that may read it."
    } else if any(&["x509", "certificate", "tls"]) {
        "its registry's TLS certificate is not trusted here."
    } else if any(&[
        "no such host",
        "connection refused",
        "dial tcp",
        "i/o timeout",
        "network is unreachable",
        "lookup ",
    ]) {
        "its registry could not be reached."
    } else {
        "its registry did not hand it out."
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_images_compressed_size_is_its_config_and_layers_and_nothing_else_has_one() {
        let manifest = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
            "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:c","size":1469},
            "layers":[{"digest":"sha256:a","size":29126484},{"digest":"sha256:b","size":311}]}"#;
        assert_eq!(compressed_size(manifest), Some(1469 + 29126484 + 311));
        let index = r#"{"schemaVersion":2,"manifests":[{"digest":"sha256:a","size":1000}]}"#;
        assert_eq!(
            compressed_size(index),
            None,
            "several platforms: no one size"
        );
        assert_eq!(compressed_size("not json"), None);
        let overflowing = format!(
            r#"{{"config":{{"size":1}},"layers":[{{"size":{}}}]}}"#,
            u64::MAX
        );
        assert_eq!(compressed_size(&overflowing), None);
        let past_the_database = format!(
            r#"{{"config":{{"size":1}},"layers":[{{"size":{}}}]}}"#,
            i64::MAX
        );
        assert_eq!(compressed_size(&past_the_database), None);
        let negative = r#"{"config":{"size":1},"layers":[{"size":-5}]}"#;
        assert_eq!(compressed_size(negative), None);
    }

    #[test]
    fn a_registry_failure_is_told_in_kilns_words_never_the_tools() {
        let cases = [
            (
                "time=\"…\" level=fatal msg=\"Error parsing image name: reading manifest no-such-tag in 10.1.2.3:5000/base/debian: manifest unknown\"",
                "it is not in its registry; check the name and the tag.",
            ),
            (
                "reading manifest 1 in ghcr.io/acme/x: unauthorized: authentication required",
                "its registry refused access; choose a pull secret that may read it.",
            ),
            (
                "pinging container registry 10.0.0.7:443: Get \"https://10.0.0.7/v2/\": dial tcp 10.0.0.7:443: connect: connection refused",
                "its registry could not be reached.",
            ),
            (
                "Get \"https://registry.internal/v2/\": x509: certificate signed by unknown authority",
                "its registry's TLS certificate is not trusted here.",
            ),
            (
                "something else entirely at 192.168.1.9",
                "its registry did not hand it out.",
            ),
        ];
        for (stderr, words) in cases {
            let told = reason_in_words(stderr);
            assert_eq!(told, words, "{stderr}");
            assert!(!told.contains("10.") && !told.contains("192.168"));
        }
    }

    #[tokio::test]
    async fn a_registry_that_never_answers_fails_within_the_time_limit() {
        if !on_path("skopeo") {
            eprintln!("skopeo is not installed here (make test installs it): not checked");
            return;
        }
        // A tarpit: accepts connections and never says a word.
        let tarpit = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let host = tarpit.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = tarpit.accept().await {
                held.push(socket);
            }
        });
        let settings = BuildSettings::on_test_registry(&host);
        let work =
            std::env::temp_dir().join(format!("kiln-tarpit-{}", crate::backend::random_hex(4)));
        let registry = Registry {
            timeout: Duration::from_secs(2),
            ..Registry::new(settings, work)
        };
        let base = ImageRef::parse("base_image", &format!("{host}/base/debian:12")).unwrap();
        let started = std::time::Instant::now();
        let failure = registry
            .inspect_base(&base, &RegistryAuth::default())
            .await
            .unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(failure.field, "base_image");
        assert_eq!(failure.code, "base_image.unreadable");
        assert!(
            failure
                .message
                .ends_with("its registry did not answer within 2 s."),
            "{}",
            failure.message
        );
        // "Is the image there already?" gives up in time too (as "no").
        let started = std::time::Instant::now();
        let target = format!("{host}/kiln/ml/tools:1");
        assert!(
            registry
                .manifest(&target, &RegistryAuth::default())
                .await
                .is_none()
        );
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
    }
}
