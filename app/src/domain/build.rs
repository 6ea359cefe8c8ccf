//! "Build custom image": the form, the build spec it becomes, and (on the server) the build
//! context made from it: a fixed Containerfile that never contains a user's string, plus
//! the package lists as files that the Containerfile's fixed instructions read.

use serde::{Deserialize, Serialize};

/// The fields of a build spec, as its errors name them (a rebuild may change only these).
pub const SPEC_FIELDS: [&str; 6] = [
    "base_image",
    "pull_secret",
    "apt",
    "conda",
    "pip",
    "packages",
];

/// What the build form sends, as typed. Rebuild sends the same form, its name fixed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildForm {
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub description: String,
    pub image_type: String,
    pub base_image: String,
    #[serde(default)]
    pub use_pull_secret: bool,
    #[serde(default)]
    pub pull_secret: String,
    #[serde(default)]
    pub apt: String,
    #[serde(default)]
    pub conda: String,
    #[serde(default)]
    pub pip: String,
}

/// The states of a build, in the order they happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum BuildState {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl BuildState {
    pub fn as_str(self) -> &'static str {
        match self {
            BuildState::Queued => "queued",
            BuildState::Running => "running",
            BuildState::Succeeded => "succeeded",
            BuildState::Failed => "failed",
            BuildState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<BuildState> {
        [
            BuildState::Queued,
            BuildState::Running,
            BuildState::Succeeded,
            BuildState::Failed,
            BuildState::Cancelled,
        ]
        .into_iter()
        .find(|state| state.as_str() == s)
    }

    /// Still going: queued or running.
    pub fn is_active(self) -> bool {
        matches!(self, BuildState::Queued | BuildState::Running)
    }
}

#[cfg(feature = "ssr")]
pub use server::*;

#[cfg(feature = "ssr")]
mod server {
    use serde::{Deserialize, Serialize};
    use sha2::{Digest, Sha256};

    use super::BuildForm;
    use crate::domain::image_form::{check_description, keep, pull_secret_choice};
    use crate::domain::packages::Packages;
    use crate::domain::{DisplayName, FieldError, ImageName, ImageRef, ImageType};

    /// Bumped whenever the Containerfile below changes: a new template makes new tags.
    pub const TEMPLATE_VERSION: u32 = 1;

    /// A build form that passed every rule.
    #[derive(Debug, Clone, PartialEq)]
    pub struct ValidBuild {
        pub display_name: DisplayName,
        pub name: ImageName,
        pub description: String,
        pub image_type: ImageType,
        pub spec: BuildSpec,
    }

    /// What to build: the base image, its pull secret and the packages, in normal form.
    /// Stored with every build, and what its tag is a hash of.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct BuildSpec {
        pub base_image: ImageRef,
        pub pull_secret: Option<String>,
        pub packages: Packages,
    }

    impl BuildForm {
        /// Every broken rule, each naming its field (package errors name box and line).
        pub fn validate(&self) -> Result<ValidBuild, Vec<FieldError>> {
            let mut errors = Vec::new();
            let e = &mut errors;
            let display_name = keep(e, DisplayName::parse("display_name", &self.display_name));
            let description = keep(e, check_description(&self.description));
            let image_type = keep(e, ImageType::parse("type", &self.image_type));
            let spec = self.validate_spec();
            let spec = spec.map_err(|mut errors| e.append(&mut errors)).ok();
            match (display_name, description, image_type, spec) {
                (Some(display_name), Some(description), Some(image_type), Some(spec))
                    if errors.is_empty() =>
                {
                    Ok(ValidBuild {
                        name: display_name.image_name(),
                        display_name,
                        description,
                        image_type,
                        spec,
                    })
                }
                _ => Err(errors),
            }
        }

        /// The base image, pull secret and packages alone: what a rebuild checks.
        pub fn validate_spec(&self) -> Result<BuildSpec, Vec<FieldError>> {
            let mut errors = Vec::new();
            let e = &mut errors;
            let base_image = keep(e, ImageRef::parse("base_image", &self.base_image));
            let pull_secret = keep(
                e,
                pull_secret_choice(self.use_pull_secret, &self.pull_secret),
            );
            let packages = Packages::parse(&self.apt, &self.conda, &self.pip)
                .map_err(|mut errors| e.append(&mut errors))
                .ok();
            match (base_image, pull_secret, packages) {
                (Some(base_image), Some(pull_secret), Some(packages)) if errors.is_empty() => {
                    Ok(BuildSpec {
                        base_image,
                        pull_secret,
                        packages,
                    })
                }
                _ => Err(errors),
            }
        }
    }

    impl BuildSpec {
        /// The form showing this spec again, for Rebuild.
        pub fn to_form(&self) -> BuildForm {
            BuildForm {
                base_image: self.base_image.as_str().to_owned(),
                use_pull_secret: self.pull_secret.is_some(),
                pull_secret: self.pull_secret.clone().unwrap_or_default(),
                apt: self.packages.apt.join("\n"),
                conda: conda_lines(&self.packages).join("\n"),
                pip: self.packages.pip.join("\n"),
                ..Default::default()
            }
        }

        /// The image tag: a hash of the spec in normal form, the base image's digest and
        /// the template version. The same spec on the same base makes the same tag.
        pub fn content_tag(&self, base_digest: &str) -> String {
            let normal = serde_json::json!({
                "template": TEMPLATE_VERSION,
                "base": self.base_image.as_str(),
                "base_digest": base_digest,
                "packages": self.packages,
            });
            let hash = Sha256::digest(normal.to_string().as_bytes());
            hash.iter().take(8).map(|b| format!("{b:02x}")).collect()
        }
    }

    /// The Conda box's lines from parsed packages: extra channels first, as `-c` lines.
    fn conda_lines(packages: &Packages) -> Vec<String> {
        let named: Vec<&str> = packages
            .conda
            .iter()
            .filter_map(|spec| spec.split_once("::").map(|(channel, _)| channel))
            .collect();
        packages
            .conda_channels
            .iter()
            .filter(|c| !named.contains(&c.as_str()))
            .map(|c| format!("-c {c}"))
            .chain(packages.conda.iter().cloned())
            .collect()
    }

    /// The files of a build context, by name.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct BuildContext {
        pub files: Vec<(&'static str, String)>,
    }

    /// How many steps the Containerfile has, for the progress bar.
    pub const BUILD_STEPS: u32 = 8;

    /// Where build steps find the optional CA bundle (mounted read-only when configured).
    pub const CA_PATH: &str = "/run/kiln/ca.crt";

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
            return Err(FieldError::new(
                "base_image",
                "has a configured user that is not a plain user name or id",
            ));
        }
        let containerfile = CONTAINERFILE
            .replace("{base}", &pinned)
            .replace("{user}", user)
            .replace("{ca}", CA_PATH);
        Ok(BuildContext {
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
            return Err(FieldError::new(
                "base_image",
                "resolved to a digest that is not sha256",
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
    /// reference that passed the grammar, `{user}` a checked user name, `{ca}` a constant.
    /// Each step prints `kiln-error: REASON:` before failing for a reason Kiln names.
    const CONTAINERFILE: &str = r#"FROM {base}
USER root
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
    echo "kiln-installed-begin"; \
    sed 's/^/apt /' /opt/kiln/apt-installed.txt; sed 's/^/conda /' /opt/kiln/conda-installed.txt; sed 's/^/pip /' /opt/kiln/pip-installed.txt; \
    echo "kiln-installed-end"; \
    rm -rf /tmp/kiln
USER {user}
"#;

    #[cfg(test)]
    mod tests {
        use super::*;
        use proptest::prelude::*;

        const DIGEST: &str =
            "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

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
                "FROM 127.0.0.1:5000/base/debian@{DIGEST}\nUSER root\n"
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
}
