//! How many images a search matches, remembered per catalog change counter.
//!
//! Counting a search's matches reads every image of the group; paging and re-sorting the
//! same search need the same number. The database keeps a change counter per catalog
//! (`catalog_versions`, bumped by triggers), so a remembered count is used only while the
//! counter it was read with is still current: after any write, the next list recounts. Every
//! replica keeps its own cache and reads the shared counter, so none serves a stale total.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Which catalog and which search: the scope id (0 for global images) and the pattern.
pub type CountKey = (i64, String);

/// At most this many searches are remembered; past it the cache starts again empty.
const CAPACITY: usize = 4096;

#[derive(Debug, Clone, Default)]
pub struct CountCache {
    entries: Arc<Mutex<HashMap<CountKey, (i64, i64)>>>,
}

impl CountCache {
    /// The remembered total for `key`, if it was counted at catalog `version`.
    pub fn get(&self, key: &CountKey, version: i64) -> Option<i64> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key)
            .filter(|(counted_at, _)| *counted_at == version)
            .map(|(_, total)| *total)
    }

    /// Remembers `total` for `key`, counted after reading catalog `version`.
    pub fn put(&self, key: CountKey, version: i64, total: i64) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= CAPACITY && !entries.contains_key(&key) {
            entries.clear();
        }
        entries.insert(key, (version, total));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_is_used_only_at_the_version_it_was_read_with() {
        let cache = CountCache::default();
        let key = (7, "tensor".to_owned());
        assert_eq!(cache.get(&key, 3), None);
        cache.put(key.clone(), 3, 42);
        assert_eq!(cache.get(&key, 3), Some(42));
        assert_eq!(cache.get(&key, 4), None, "a write since: recount");
        assert_eq!(
            cache.get(&(8, "tensor".to_owned()), 3),
            None,
            "another group"
        );
        assert_eq!(
            cache.get(&(7, "torch".to_owned()), 3),
            None,
            "another search"
        );
    }

    #[test]
    fn the_cache_stays_bounded() {
        let cache = CountCache::default();
        for i in 0..(CAPACITY as i64 + 10) {
            cache.put((i, String::new()), 1, i);
        }
        let len = cache.entries.lock().unwrap().len();
        assert!(len <= CAPACITY, "{len} entries");
        assert_eq!(
            cache.get(&(CAPACITY as i64 + 9, String::new()), 1),
            Some(CAPACITY as i64 + 9)
        );
    }
}
