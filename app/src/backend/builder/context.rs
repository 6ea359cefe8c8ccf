//! A build's context: the package lists as files and the fixed Containerfile that reads
//! them, `FROM` the base image pinned by digest. Nothing typed ever reaches an instruction.

use crate::domain::build::BuildSpec;
use crate::domain::packages::Packages;
use crate::domain::{FieldError, ImageRef};

/// The files of a build context, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildContext {
    /// The base image pinned by digest, as `FROM` names it (pulled before the build).
    pub base: String,
    pub files: Vec<(&'static str, String)>,
}

/// How many steps the Containerfile has, for the progress bar.
pub const BUILD_STEPS: u32 = 8;

/// Where build steps find the optional CA bundle (mounted read-only when configured).
pub const CA_PATH: &str = "/run/kiln/ca.crt";

/// Where the last build step writes the record of installed packages, one per line
/// (`apt NAME\tVERSION`, `conda …`, `pip NAME==VERSION`). Kiln reads it from the built
/// image, never from the log, which any package can print into.
pub const RECORD_PATH: &str = "/opt/kiln/installed.txt";

/// The most of the record Kiln keeps.
pub const RECORD_LIMIT: u64 = 1024 * 1024;

/// The build context for `spec` on the base image pinned by digest. `base_user` is the
/// base image's configured user, restored at the end; it comes from the image's config,
/// so it is checked like user input.
pub fn build_context(
    spec: &BuildSpec,
    base_digest: &str,
    base_user: &str,
) -> Result<BuildContext, FieldError> {
    let pinned = pinned_base(&spec.base_image, base_digest)?;
    let user = if base_user.is_empty() {
        "root"
    } else {
        base_user
    };
    let user_ok = user
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_.:-".contains(c));
    if !user_ok {
        return Err(FieldError::coded(
            "base_image",
            crate::domain::messages::BASE_IMAGE_USER,
            &[],
        ));
    }
    let containerfile = CONTAINERFILE
        .replace("{base}", &pinned)
        .replace("{user}", user)
        .replace("{ca}", CA_PATH)
        .replace("{record}", RECORD_PATH);
    Ok(BuildContext {
        base: pinned,
        files: vec![
            ("Containerfile", containerfile),
            ("apt.txt", lines(&spec.packages.apt)),
            ("environment.yml", environment_yml(&spec.packages)),
            ("requirements.txt", lines(&spec.packages.pip)),
        ],
    })
}

/// `registry/repo@sha256:…`: the base image exactly as resolved.
fn pinned_base(base: &ImageRef, digest: &str) -> Result<String, FieldError> {
    let hex = digest.strip_prefix("sha256:").unwrap_or_default();
    if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(FieldError::coded(
            "base_image",
            crate::domain::messages::BASE_IMAGE_DIGEST,
            &[],
        ));
    }
    Ok(match base.registry() {
        Some(registry) => format!("{registry}/{}@{digest}", base.repository()),
        None => format!("{}@{digest}", base.repository()),
    })
}

fn lines(items: &[String]) -> String {
    items.iter().map(|l| format!("{l}\n")).collect()
}

/// The Conda packages as an environment file; empty when there are none. Each entry is
/// a JSON string, which YAML reads as a quoted scalar.
fn environment_yml(packages: &Packages) -> String {
    if packages.conda.is_empty() {
        return String::new();
    }
    let quoted = |s: &String| serde_json::to_string(s).unwrap_or_default();
    let mut out = String::from("channels:\n");
    for channel in &packages.conda_channels {
        out.push_str(&format!("  - {}\n", quoted(channel)));
    }
    out.push_str("dependencies:\n");
    for spec in &packages.conda {
        out.push_str(&format!("  - {}\n", quoted(spec)));
    }
    out
}

/// The Containerfile. Nothing a user typed is in it: `{base}` is a digest-pinned
/// reference that passed the grammar, `{user}` a checked user name, `{ca}` and `{record}`
/// constants. The steps run as uid 0 by number: an image without `/etc/passwd` has no
/// user named root to look up.
/// Each step prints `kiln-error: REASON:` before failing for a reason Kiln names.
const CONTAINERFILE: &str = r#"FROM {base}
USER 0
COPY apt.txt environment.yml requirements.txt /tmp/kiln/
RUN set -eu; \
if [ -s /tmp/kiln/apt.txt ]; then \
  command -v apt-get >/dev/null 2>&1 || { echo "kiln-error: no-apt: the base image has no apt-get, which the APT packages need" >&2; exit 1; }; \
  if [ -f {ca} ]; then echo 'Acquire::https::CAInfo "{ca}";' > /etc/apt/apt.conf.d/99kiln-ca; fi; \
  apt-get update; \
  DEBIAN_FRONTEND=noninteractive xargs -a /tmp/kiln/apt.txt apt-get install -y --no-install-recommends; \
  rm -rf /var/lib/apt/lists/* /etc/apt/apt.conf.d/99kiln-ca; \
fi
RUN set -eu; \
if [ -s /tmp/kiln/environment.yml ]; then \
  if [ -f {ca} ]; then export CONDA_SSL_VERIFY={ca} MAMBA_SSL_VERIFY={ca} REQUESTS_CA_BUNDLE={ca}; fi; \
  if command -v micromamba >/dev/null 2>&1; then micromamba install -y -n base -f /tmp/kiln/environment.yml; \
  elif command -v mamba >/dev/null 2>&1; then mamba env update -n base -f /tmp/kiln/environment.yml; \
  elif command -v conda >/dev/null 2>&1; then conda env update -n base -f /tmp/kiln/environment.yml; \
  else echo "kiln-error: no-conda: the base image has no conda, mamba or micromamba, which the Conda packages need" >&2; exit 1; fi; \
fi
RUN set -eu; \
if [ -s /tmp/kiln/requirements.txt ]; then \
  if [ -f {ca} ]; then export PIP_CERT={ca}; fi; \
  py=$(command -v python3 || command -v python || true); \
  [ -n "$py" ] || { echo "kiln-error: no-python: the base image has no python3, which the Pip packages need" >&2; exit 1; }; \
  PIP_BREAK_SYSTEM_PACKAGES=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore \
    "$py" -m pip install --no-input -r /tmp/kiln/requirements.txt; \
fi
RUN set -u; mkdir -p /opt/kiln; \
(dpkg-query -W 2>/dev/null || true) > /opt/kiln/apt-installed.txt; \
( (command -v micromamba >/dev/null 2>&1 && micromamba list -n base) || (command -v conda >/dev/null 2>&1 && conda list -n base) || true) > /opt/kiln/conda-installed.txt 2>/dev/null; \
py=$(command -v python3 || command -v python || true); \
( [ -n "$py" ] && "$py" -m pip freeze 2>/dev/null || true) > /opt/kiln/pip-installed.txt; \
{ sed 's/^/apt /' /opt/kiln/apt-installed.txt; sed 's/^/conda /' /opt/kiln/conda-installed.txt; sed 's/^/pip /' /opt/kiln/pip-installed.txt; } > {record}; \
rm -rf /tmp/kiln
USER {user}
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::build::*;
    use proptest::prelude::*;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn form() -> BuildForm {
        BuildForm {
            display_name: "torch.2".into(),
            image_type: "gpu".into(),
            base_image: "127.0.0.1:5000/base/debian:12".into(),
            apt: "curl\n".into(),
            conda: "-c conda-forge::numpy==1.17*".into(),
            pip: "torch==2.3.0+cu121\n".into(),
            ..Default::default()
        }
    }

    fn containerfile(spec: &BuildSpec) -> String {
        build_context(spec, DIGEST, "jovyan").unwrap().files[0]
            .1
            .clone()
    }

    #[test]
    fn a_valid_form_becomes_a_spec_and_a_fixed_context() {
        let build = form().validate().unwrap();
        assert_eq!(build.name.as_str(), "torch-2");
        let context = build_context(&build.spec, DIGEST, "jovyan").unwrap();
        let file = |name: &str| {
            context
                .files
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, c)| c.clone())
                .unwrap()
        };
        assert!(file("Containerfile").starts_with(&format!(
            "FROM 127.0.0.1:5000/base/debian@{DIGEST}\nUSER 0\n"
        )));
        assert!(file("Containerfile").ends_with("USER jovyan\n"));
        assert_eq!(
            file("Containerfile")
                .lines()
                .filter(|l| l.starts_with(|c: char| c.is_ascii_uppercase()))
                .count(),
            BUILD_STEPS as usize
        );
        assert_eq!(file("apt.txt"), "curl\n");
        assert_eq!(file("requirements.txt"), "torch==2.3.0+cu121\n");
        assert_eq!(
            file("environment.yml"),
            "channels:\n  - \"conda-forge\"\ndependencies:\n  - \"conda-forge::numpy 1.17.*\"\n"
        );
    }

    #[test]
    fn errors_name_their_fields_and_nothing_is_built_from_a_bad_form() {
        let bad = BuildForm {
            display_name: "Bad".into(),
            base_image: "not an image".into(),
            apt: "ok\nBAD".into(),
            ..form()
        };
        let errors = bad.validate().unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["display_name", "base_image", "apt"]);
        assert!(
            errors[2].message.starts_with("APT line 2:"),
            "{}",
            errors[2].message
        );
    }

    #[test]
    fn the_tag_follows_spec_base_digest_and_nothing_else() {
        let spec = form().validate_spec().unwrap();
        let tag = spec.content_tag(DIGEST);
        assert_eq!(tag.len(), 16);
        assert_eq!(tag, spec.content_tag(DIGEST), "stable");
        let spaced = BuildForm {
            apt: "  curl  \n\n".into(),
            ..form()
        };
        assert_eq!(
            spaced.validate_spec().unwrap().content_tag(DIGEST),
            tag,
            "whitespace is not content"
        );
        let more = BuildForm {
            apt: "curl\ngit".into(),
            ..form()
        };
        assert_ne!(more.validate_spec().unwrap().content_tag(DIGEST), tag);
        assert_ne!(
            spec.content_tag(&DIGEST.replace('0', "f")),
            tag,
            "a new base digest"
        );
    }

    #[test]
    fn rebuild_shows_the_spec_as_it_was_parsed() {
        let spec = form().validate_spec().unwrap();
        let again = BuildForm {
            display_name: "torch.2".into(),
            image_type: "gpu".into(),
            ..spec.to_form()
        };
        assert_eq!(again.validate_spec().unwrap(), spec);
    }

    #[test]
    fn a_base_user_that_is_not_a_name_is_refused() {
        let spec = form().validate_spec().unwrap();
        assert!(build_context(&spec, DIGEST, "root\nRUN evil").is_err());
        assert!(build_context(&spec, DIGEST, "1000:1000").is_ok());
        assert!(build_context(&spec, "sha256:short", "root").is_err());
    }

    proptest! {
        /// Whatever the boxes hold, either the spec is refused or the Containerfile is the
        /// same one: user strings only ever reach the package files.
        #[test]
        fn no_input_changes_the_build_instructions(
            apt in "(\\PC|[\n\r\t;&|$`'\"\\\\])*",
            conda in "(\\PC|[\n\r\t;&|$`'\"\\\\])*",
            pip in "(\\PC|[\n\r\t;&|$`'\"\\\\])*",
        ) {
            let reference = containerfile(&form().validate_spec().unwrap());
            let hostile = BuildForm { apt: format!("curl\n{apt}"), conda, pip, ..form() };
            if let Ok(spec) = hostile.validate_spec() {
                prop_assert_eq!(containerfile(&spec), reference.clone());
                let context = build_context(&spec, DIGEST, "jovyan").unwrap();
                for (name, content) in &context.files[1..] {
                    for line in content.lines() {
                        prop_assert!(!line.contains('\r'), "{} has a CR", name);
                        prop_assert!(!line.starts_with('-'), "{}: option line {:?}", name, line);
                    }
                }
            }
        }

        #[test]
        fn hostile_package_lines_never_reach_the_files_unparsed(line in "[ -~]{1,40}") {
            let hostile = BuildForm { apt: line.clone(), conda: String::new(), pip: String::new(), ..form() };
            if let Ok(spec) = hostile.validate_spec() {
                let apt = &spec.packages.apt[0];
                prop_assert!(apt.chars().all(|c| c.is_ascii_alphanumeric() || "+-.=:~".contains(c)), "{:?}", apt);
            }
        }
    }
}
