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
pub use checked::*;

#[cfg(feature = "ssr")]
mod checked {
    use serde::{Deserialize, Serialize};
    use sha2::{Digest, Sha256};

    use super::BuildForm;
    use crate::domain::image_form::{check_description, keep, pull_secret_choice};
    use crate::domain::packages::Packages;
    use crate::domain::{DisplayName, FieldError, ImageName, ImageRef, ImageType};

    /// Bumped whenever the Containerfile (`backend/builder/context.rs`) changes: a new
    /// template makes new tags.
    pub const TEMPLATE_VERSION: u32 = 2;

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
    pub(crate) fn conda_lines(packages: &Packages) -> Vec<String> {
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
}
