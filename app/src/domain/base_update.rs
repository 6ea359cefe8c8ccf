//! Base-image updates: a built image's base image is updated when the tag it was built
//! from now names another image than the one its live build was built on. The leader
//! checks every so often (and a group admin on demand); the images it finds are marked in
//! the list, Build Details and the selection API until a build on the new base succeeds.

use serde::{Deserialize, Serialize};

/// Whether the base image was updated: both digests are known and differ. Unknown (never
/// checked, or a live build from before Kiln recorded its base) is not updated.
pub fn is_updated(built_on: Option<&str>, latest: Option<&str>) -> bool {
    matches!((built_on, latest), (Some(on), Some(latest)) if on != latest)
}

/// What Build Details shows of an image's base image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaseStatus {
    /// The base image as the live build's spec names it.
    pub image: String,
    /// The digest the live build was built on.
    pub built_on: Option<String>,
    /// The digest the tag named at the last check.
    pub latest: Option<String>,
    /// When the last check ran (ms since the epoch), and why it failed ('' if it didn't).
    pub checked_at: Option<i64>,
    pub error: String,
    /// A digest can't move: such a base is never checked.
    pub pinned: bool,
    pub auto_rebuild: bool,
}

impl BaseStatus {
    pub fn updated(&self) -> bool {
        is_updated(self.built_on.as_deref(), self.latest.as_deref())
    }
}

/// `sha256:0123456789ab`: a digest short enough to read, long enough to tell apart.
pub fn short_digest(digest: &str) -> &str {
    let end = digest.find(':').map_or(0, |colon| colon + 1) + 12;
    digest.get(..end).unwrap_or(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_two_known_and_different_digests_mean_updated() {
        assert!(is_updated(Some("sha256:aa"), Some("sha256:bb")));
        assert!(!is_updated(Some("sha256:aa"), Some("sha256:aa")));
        assert!(
            !is_updated(None, Some("sha256:bb")),
            "built before Kiln kept it"
        );
        assert!(!is_updated(Some("sha256:aa"), None), "never checked");
        assert!(!is_updated(None, None));
    }

    #[test]
    fn a_short_digest_keeps_its_algorithm_and_twelve_digits() {
        let digest = format!("sha256:{}", "0123456789abcdef".repeat(4));
        assert_eq!(short_digest(&digest), "sha256:0123456789ab");
        assert_eq!(short_digest("sha256:abc"), "sha256:abc");
        assert_eq!(short_digest("odd"), "odd");
    }
}
