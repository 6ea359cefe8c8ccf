//! Builds as Build Details and the API show them.

use serde::{Deserialize, Serialize};

use crate::domain::sbom::PackageDiff;
use crate::domain::{BuildForm, BuildState};

/// One build, as the details page shows it (and the API, with its image and group).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BuildView {
    pub id: i64,
    /// 1 for the image's first build, then counting up.
    pub revision: i64,
    pub state: BuildState,
    /// Why it failed: `base-image`, `package-not-found`, `no-apt`, `timeout`, ...
    pub reason: String,
    pub message: String,
    pub step: i64,
    pub steps: i64,
    /// The image it pushes (or pushed).
    pub target: String,
    /// The same spec was built before; its image was used again.
    pub reused: bool,
    pub created_by: String,
    /// Milliseconds since the Unix epoch.
    pub queued_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    /// Builds ahead of this one in the queue, while it waits.
    pub queue_position: Option<i64>,
    /// What got installed, as recorded by the build.
    pub installed: String,
    /// The pushed image's compressed size in bytes, when its registry said.
    #[serde(default)]
    pub compressed_size: Option<u64>,
}

/// The Build Details page of an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildsPage {
    pub name: String,
    pub display_name: String,
    pub image_type: String,
    /// The image's URL now: the last successful build's, or '' before the first.
    pub url: String,
    /// Newest first.
    pub builds: Vec<BuildView>,
    /// The end of the newest build's log, and the number of its last chunk.
    pub log_tail: String,
    pub log_seq: i64,
    /// The newest build's spec, to edit for Rebuild.
    pub rebuild: BuildForm,
    pub pull_secrets: Vec<String>,
    /// Images to offer as base images (not-ready ones disabled).
    pub bases: Vec<crate::domain::LaunchableImage>,
    /// Why builds cannot start here, when they cannot.
    pub builds_disabled: Option<String>,
    /// The packages of the newest successful build against the previous one, when a
    /// successful build has a record of them.
    pub changes: Option<PackageChanges>,
    /// The live build's base image, and whether its tag names a newer one; `None` before
    /// the first success.
    pub base: Option<crate::domain::base_update::BaseStatus>,
}

/// What changed in the packages of a successful build since the previous successful build
/// of the same image; its SBOM is at `sbom_url`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageChanges {
    pub revision: i64,
    /// Where its CycloneDX SBOM downloads from (the REST API; the session is enough).
    pub sbom_url: String,
    /// The previous successful build's revision; `None`: this is the first.
    pub previous: Option<i64>,
    /// At most [`SHOWN_CHANGES`] of each kind.
    pub diff: PackageDiff,
    /// Changes beyond those (the SBOMs have them all).
    pub left_out: usize,
}

/// Changes of each kind (added, removed, version) the page lists.
pub const SHOWN_CHANGES: usize = 200;

/// Lines of log the page shows before the live view takes over.
pub const TAIL_LINES: i64 = 500;

/// The last `n` lines of `text`.
pub fn last_lines(text: &str, n: usize) -> &str {
    let body = text.trim_end_matches('\n');
    match body.rmatch_indices('\n').nth(n.saturating_sub(1)) {
        Some((i, _)) => &text[i + 1..],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::last_lines;

    #[test]
    fn last_lines_keeps_the_end() {
        assert_eq!(last_lines("a\nb\nc\n", 2), "b\nc\n");
        assert_eq!(last_lines("a\nb\nc\n", 5), "a\nb\nc\n");
        assert_eq!(last_lines("a\nb\nc", 1), "c");
        assert_eq!(last_lines("", 3), "");
    }
}
