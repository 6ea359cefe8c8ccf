//! What this process remembers about service tokens between requests: who each speaks for
//! (by its hash, against `launch_version`) and when each one's use was last written. A leaf:
//! the database handle holds these, and identity and tokens fill them.

use crate::domain::Actor;

/// Who a token speaks for, and until when its user's groups hold.
#[derive(Debug, Clone)]
pub struct TokenActor {
    pub actor: Actor,
    pub token_id: i64,
    pub token_name: String,
    /// When the token stops working (ms), if ever.
    pub expires_at: Option<i64>,
    /// For a user whose identity provider owns their groups: when the provider last
    /// confirmed them (ms); the token acts with them for `external_groups_ttl` after.
    pub groups_confirmed_at: Option<Option<i64>>,
    pub user: String,
}

/// When this process last wrote each token's use.
#[derive(Debug, Default)]
pub struct Uses(std::sync::Mutex<std::collections::HashMap<i64, std::time::Instant>>);

impl Uses {
    const EVERY: std::time::Duration = std::time::Duration::from_secs(60);

    /// Whether a use of `token_id` should be written now (and notes that it will be).
    pub fn due(&self, token_id: i64) -> bool {
        let now = std::time::Instant::now();
        let mut seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match seen.get(&token_id) {
            Some(at) if now.duration_since(*at) < Self::EVERY => false,
            _ => {
                seen.insert(token_id, now);
                true
            }
        }
    }
}
