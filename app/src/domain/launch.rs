//! What a launch page may offer (SPEC §5): the image to run for a CPU or GPU launch, or why
//! an image cannot be launched, or what to warn about. One rule for the selection API, the
//! picker in Kiln's pages and anything else that asks.

use serde::{Deserialize, Serialize};

use super::{BuildState, Deprecation, ImageType, Said, Standing, messages};

/// What the launch runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Accelerator {
    #[default]
    Cpu,
    Gpu,
}

impl Accelerator {
    pub fn as_str(self) -> &'static str {
        match self {
            Accelerator::Cpu => "cpu",
            Accelerator::Gpu => "gpu",
        }
    }
}

/// Whose image it is: the `i` marker's "Group" or "System".
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Owner {
    /// `{"group": "ml"}`
    Group(String),
    /// `"system"`: a global image.
    System,
}

impl Owner {
    /// The marker's words: "Group ml" or "System".
    pub fn label(&self) -> String {
        match self {
            Owner::Group(group) => format!("Group {group}"),
            Owner::System => "System".to_owned(),
        }
    }
}

/// One image a user may launch, resolved for one accelerator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LaunchableImage {
    pub name: String,
    pub display_name: String,
    pub description: String,
    #[serde(rename = "type")]
    pub image_type: ImageType,
    /// The image for CPU launches; none for `gpu` images.
    pub cpu_url: Option<String>,
    /// The image for GPU launches; none for `cpu` images.
    pub gpu_url: Option<String>,
    /// The name of the registry credential to pull it with.
    pub pull_secret: Option<String>,
    /// The compressed size in bytes of the image it runs (its layers and config, as its
    /// manifest says), for images built by Kiln.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compressed_size: Option<u64>,
    /// For images built by Kiln: the tag of the base image it was built on names a newer
    /// image now (a rebuild takes its fixes).
    #[serde(default)]
    pub base_updated: bool,
    pub owner: Owner,
    /// Has a URL to launch: always for registered images, after a success for built ones.
    pub ready: bool,
    /// The newest build's state, for images built by Kiln.
    pub build_state: Option<BuildState>,
    /// The image this launch runs, when it can run.
    pub url: Option<String>,
    pub available: bool,
    /// Why it cannot be launched, when it cannot.
    pub reason: Option<String>,
    /// What to know before launching it anyway.
    pub warning: Option<String>,
    /// `reason` as a coded message (its code and values), for pages in other languages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_message: Option<Said>,
    /// `warning`'s sentences as coded messages, in its order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warning_messages: Vec<Said>,
    /// Set while the image is deprecated: since when, its successor, when it retires.
    pub deprecated: Option<Deprecation>,
}

/// The stored facts about an image that the launch rule needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub name: String,
    pub display_name: String,
    pub description: String,
    pub image_type: ImageType,
    /// '' for a built image before its first successful build.
    pub url: String,
    /// The same as `url` unless a universal image names its own GPU image.
    pub gpu_url: String,
    /// Of the build its URL names (Kiln's builds only).
    pub compressed_size: Option<u64>,
    /// Of the build its URL names (Kiln's builds only): see `domain::base_update`.
    pub base_updated: bool,
    pub pull_secret: Option<String>,
    pub owner: Owner,
    pub build_state: Option<BuildState>,
    pub standing: Standing,
}

impl Candidate {
    fn ready(&self) -> bool {
        !self.url.is_empty()
    }

    /// The image as a launch on `accelerator` sees it.
    pub fn resolve(self, accelerator: Accelerator) -> LaunchableImage {
        if self.standing.retired_since().is_some() {
            return self.entry(None, Some(said(messages::LAUNCH_RETIRED)), None);
        }
        let (run, reason, warning) = match (self.ready(), accelerator, self.image_type) {
            (false, _, _) => (None, Some(not_ready_reason(self.build_state)), None),
            (true, Accelerator::Cpu, ImageType::Gpu) => {
                (None, Some(said(messages::LAUNCH_NEEDS_GPU)), None)
            }
            (true, Accelerator::Cpu, _) => (Some(self.url.clone()), None, None),
            (true, Accelerator::Gpu, ImageType::Cpu) => (
                Some(self.url.clone()),
                None,
                Some(said(messages::LAUNCH_CPU_ONLY)),
            ),
            (true, Accelerator::Gpu, _) => (Some(self.gpu_url.clone()), None, None),
        };
        self.entry(run, reason, warning)
    }

    /// The image offered as a base image to build on: any ready image will do, whatever
    /// it runs on; one without a successful build cannot be built on yet.
    pub fn as_base(self) -> LaunchableImage {
        match self.ready() {
            _ if self.standing.retired_since().is_some() => {
                self.entry(None, Some(said(messages::LAUNCH_RETIRED)), None)
            }
            true => {
                let url = Some(self.url.clone());
                self.entry(url, None, None)
            }
            false => {
                let reason = Some(not_ready_reason(self.build_state));
                self.entry(None, reason, None)
            }
        }
    }

    /// The entry: `url` is what would run (none when it cannot), `reason` why not.
    fn entry(
        self,
        url: Option<String>,
        reason: Option<Said>,
        warning: Option<Said>,
    ) -> LaunchableImage {
        let ready = self.ready();
        let deprecated = self.standing.deprecation().cloned();
        // A deprecation is something to know before launching: its note leads the warning.
        let warnings: Vec<Said> = deprecated
            .iter()
            .map(Deprecation::note)
            .chain(warning)
            .collect();
        let words = warnings
            .iter()
            .map(|w| w.message.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        LaunchableImage {
            deprecated,
            cpu_url: (self.image_type != ImageType::Gpu && ready).then(|| self.url.clone()),
            gpu_url: (self.image_type != ImageType::Cpu && ready).then(|| self.gpu_url.clone()),
            available: url.is_some(),
            name: self.name,
            display_name: self.display_name,
            description: self.description,
            image_type: self.image_type,
            pull_secret: self.pull_secret,
            compressed_size: ready.then_some(self.compressed_size).flatten(),
            base_updated: ready && self.base_updated,
            owner: self.owner,
            ready,
            build_state: self.build_state,
            url,
            reason: reason.as_ref().map(|r| r.message.clone()),
            warning: (!warnings.is_empty()).then_some(words),
            reason_message: reason,
            warning_messages: warnings,
        }
    }
}

fn said(message: super::Message) -> Said {
    Said::coded(message, &[])
}

fn not_ready_reason(state: Option<BuildState>) -> Said {
    said(match state {
        Some(BuildState::Queued | BuildState::Running) => messages::LAUNCH_FIRST_BUILD_RUNNING,
        _ => messages::LAUNCH_NO_SUCCESSFUL_BUILD,
    })
}

/// The launch list's stable order: by display name, then owner (groups before the system's,
/// by name), then image name.
pub fn launch_order(a: &LaunchableImage, b: &LaunchableImage) -> std::cmp::Ordering {
    let owner = |o: &Owner| match o {
        Owner::Group(g) => (0, g.clone()),
        Owner::System => (1, String::new()),
    };
    a.display_name
        .cmp(&b.display_name)
        .then_with(|| owner(&a.owner).cmp(&owner(&b.owner)))
        .then_with(|| a.name.cmp(&b.name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(image_type: ImageType, url: &str, gpu_url: &str) -> Candidate {
        Candidate {
            name: "torch".into(),
            display_name: "torch".into(),
            description: String::new(),
            image_type,
            url: url.into(),
            gpu_url: gpu_url.into(),
            compressed_size: None,
            base_updated: false,
            pull_secret: None,
            owner: Owner::Group("ml".into()),
            build_state: None,
            standing: Standing::Current,
        }
    }

    #[test]
    fn a_gpu_launch_runs_the_gpu_url_of_a_universal_image() {
        let universal = image(ImageType::Universal, "r/t:cpu", "r/t:gpu");
        let on_gpu = universal.clone().resolve(Accelerator::Gpu);
        assert_eq!(on_gpu.url.as_deref(), Some("r/t:gpu"));
        assert!(on_gpu.available && on_gpu.warning.is_none());
        let on_cpu = universal.resolve(Accelerator::Cpu);
        assert_eq!(on_cpu.url.as_deref(), Some("r/t:cpu"));
        assert_eq!(
            (on_cpu.cpu_url.as_deref(), on_cpu.gpu_url.as_deref()),
            (Some("r/t:cpu"), Some("r/t:gpu"))
        );
    }

    #[test]
    fn a_cpu_launch_cannot_run_a_gpu_image() {
        let gpu = image(ImageType::Gpu, "r/g:1", "r/g:1").resolve(Accelerator::Cpu);
        assert!(!gpu.available);
        assert_eq!(gpu.url, None);
        assert_eq!(gpu.cpu_url, None);
        assert_eq!(gpu.gpu_url.as_deref(), Some("r/g:1"));
        assert!(gpu.reason.unwrap().contains("needs a launch with a GPU"));
    }

    #[test]
    fn a_gpu_launch_may_run_a_cpu_image_with_a_warning() {
        let cpu = image(ImageType::Cpu, "r/c:1", "r/c:1").resolve(Accelerator::Gpu);
        assert!(cpu.available);
        assert_eq!(cpu.url.as_deref(), Some("r/c:1"));
        assert_eq!(cpu.gpu_url, None);
        assert!(cpu.warning.unwrap().contains("CPU-only"));
    }

    #[test]
    fn an_image_without_a_successful_build_is_not_available() {
        let mut built = image(ImageType::Cpu, "", "");
        built.build_state = Some(BuildState::Running);
        let seen = built.resolve(Accelerator::Cpu);
        assert!(!seen.ready && !seen.available);
        assert_eq!((seen.url, seen.cpu_url), (None, None));
        assert_eq!(
            seen.reason.as_deref(),
            Some("Not ready: its first build is still running.")
        );
    }

    #[test]
    fn any_ready_image_can_be_a_base_image() {
        let gpu = image(ImageType::Gpu, "r/g:1", "r/g:1").as_base();
        assert!(gpu.available && gpu.reason.is_none());
        assert_eq!(gpu.url.as_deref(), Some("r/g:1"));
        let unbuilt = image(ImageType::Cpu, "", "").as_base();
        assert!(!unbuilt.available && unbuilt.reason.is_some());
    }

    #[test]
    fn a_deprecated_image_launches_with_its_note_and_a_retired_one_does_not() {
        let mut old = image(ImageType::Cpu, "r/c:1", "r/c:1");
        let deprecation = Deprecation {
            since: 1,
            successor: None,
            retire_at: None,
        };
        old.standing = Standing::Deprecated(deprecation.clone());
        let on_gpu = old.clone().resolve(Accelerator::Gpu);
        assert!(on_gpu.available);
        assert_eq!(on_gpu.deprecated, Some(deprecation.clone()));
        assert_eq!(
            on_gpu.warning.as_deref(),
            Some("Deprecated. A CPU-only image: it will not use the GPU.")
        );
        old.standing = Standing::Retired {
            since: 2,
            deprecation: Some(deprecation),
        };
        let retired = old.clone().resolve(Accelerator::Cpu);
        assert!(!retired.available && retired.url.is_none());
        assert_eq!(
            retired.reason.as_deref(),
            Some("Retired: launch pages no longer offer it.")
        );
        assert_eq!(
            retired.reason_message.map(|m| m.code),
            Some("launch.retired".to_owned())
        );
        assert!(!old.as_base().available);
    }

    #[test]
    fn owners_serialize_as_the_api_documents() {
        assert_eq!(
            serde_json::to_string(&Owner::Group("ml".into())).unwrap(),
            r#"{"group":"ml"}"#
        );
        assert_eq!(
            serde_json::to_string(&Owner::System).unwrap(),
            r#""system""#
        );
    }
}
