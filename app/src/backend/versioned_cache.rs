//! Answers remembered against a change counter kept in the database.
//!
//! Some answers are costly to compute and asked for often: a search's total count, a
//! user's launch list, who a service token speaks for. The database keeps change counters
//! that triggers bump on every write that can change such an answer (`catalog_versions` per
//! catalog, `launch_version` for launch lists and tokens). An answer is remembered together
//! with the counter it was computed after, and used only while the counter still reads the
//! same: after any write, the next ask computes it again. Every replica keeps its own cache
//! and reads the shared counter, so none serves a stale answer.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

/// At most this many answers are remembered per cache; past it the cache starts again empty.
pub const CAPACITY: usize = 8192;

#[derive(Debug)]
pub struct VersionedCache<K, V> {
    entries: Arc<Mutex<HashMap<K, (i64, V)>>>,
}

impl<K, V> Clone for VersionedCache<K, V> {
    fn clone(&self) -> Self {
        VersionedCache {
            entries: self.entries.clone(),
        }
    }
}

impl<K, V> Default for VersionedCache<K, V> {
    fn default() -> Self {
        VersionedCache {
            entries: Arc::default(),
        }
    }
}

impl<K: Eq + Hash, V: Clone> VersionedCache<K, V> {
    /// The answer remembered for `key`, if it was computed at counter `version`.
    pub fn get(&self, key: &K, version: i64) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key)
            .filter(|(computed_at, _)| *computed_at == version)
            .map(|(_, value)| value.clone())
    }

    /// Remembers `value` for `key`, computed after reading counter `version`.
    pub fn put(&self, key: K, version: i64, value: V) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= CAPACITY && !entries.contains_key(&key) {
            entries.clear();
        }
        entries.insert(key, (version, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_used_only_at_the_version_it_was_computed_at() {
        let cache = VersionedCache::<(i64, String), i64>::default();
        let key = (7, "tensor".to_owned());
        assert_eq!(cache.get(&key, 3), None);
        cache.put(key.clone(), 3, 42);
        assert_eq!(cache.get(&key, 3), Some(42));
        assert_eq!(cache.get(&key, 4), None, "a write since: compute again");
        assert_eq!(cache.get(&(8, "tensor".to_owned()), 3), None, "another key");
    }

    #[test]
    fn the_cache_stays_bounded() {
        let cache = VersionedCache::<i64, i64>::default();
        for i in 0..(CAPACITY as i64 + 10) {
            cache.put(i, 1, i);
        }
        let len = cache.entries.lock().unwrap().len();
        assert!(len <= CAPACITY, "{len} entries");
        assert_eq!(
            cache.get(&(CAPACITY as i64 + 9), 1),
            Some(CAPACITY as i64 + 9)
        );
    }
}
