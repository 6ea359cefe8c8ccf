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

/// An answer's weight in the cache: about how many bytes of memory it holds.
pub trait Weigh {
    fn weigh(&self) -> usize;
}

/// A [`VersionedCache`] bounded by the bytes its answers hold rather than by their number,
/// for answers whose size varies a thousandfold (a launch list of 2 images or 2,000). The
/// least useful answers go first (moka's TinyLFU); hits and misses are counted for
/// `/metrics`.
#[derive(Clone)]
pub struct BoundedCache<K, V> {
    entries: moka::sync::Cache<K, (i64, V)>,
    pub hits: prometheus_client::metrics::counter::Counter,
    pub misses: prometheus_client::metrics::counter::Counter,
}

impl<K, V> std::fmt::Debug for BoundedCache<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoundedCache").finish_non_exhaustive()
    }
}

impl<K, V> BoundedCache<K, V>
where
    K: Eq + Hash + Send + Sync + Weigh + 'static,
    V: Clone + Send + Sync + Weigh + 'static,
{
    /// A cache that holds at most `capacity` bytes of answers (and their keys).
    pub fn new(capacity: u64) -> Self {
        BoundedCache {
            entries: moka::sync::Cache::builder()
                .max_capacity(capacity)
                .weigher(|key: &K, (_, value): &(i64, V)| {
                    u32::try_from(key.weigh() + value.weigh()).unwrap_or(u32::MAX)
                })
                .build(),
            hits: Default::default(),
            misses: Default::default(),
        }
    }

    /// The answer remembered for `key`, if it was computed at counter `version`.
    pub fn get(&self, key: &K, version: i64) -> Option<V> {
        let found = self
            .entries
            .get(key)
            .filter(|(computed_at, _)| *computed_at == version)
            .map(|(_, value)| value);
        match found {
            Some(_) => self.hits.inc(),
            None => self.misses.inc(),
        };
        found
    }

    /// Remembers `value` for `key`, computed after reading counter `version`.
    pub fn put(&self, key: K, version: i64, value: V) {
        self.entries.insert(key, (version, value));
    }

    /// The answers held now and the bytes they weigh (after pending evictions ran).
    pub fn size(&self) -> (u64, u64) {
        self.entries.run_pending_tasks();
        (self.entries.entry_count(), self.entries.weighted_size())
    }

    pub fn capacity(&self) -> u64 {
        self.entries.policy().max_capacity().unwrap_or(u64::MAX)
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

    impl Weigh for i64 {
        fn weigh(&self) -> usize {
            8
        }
    }

    #[derive(Clone)]
    struct Blob(Vec<u8>);

    impl Weigh for Blob {
        fn weigh(&self) -> usize {
            self.0.len()
        }
    }

    #[test]
    fn the_bounded_cache_stays_under_its_bytes_and_counts_hits() {
        let cache = BoundedCache::<i64, Blob>::new(1_000_000);
        cache.put(-1, 1, Blob(vec![1; 10]));
        assert_eq!(cache.get(&-1, 1).map(|b| b.0), Some(vec![1; 10]));
        assert!(cache.get(&-1, 2).is_none(), "another version");
        assert_eq!((cache.hits.get(), cache.misses.get()), (1, 1));
        // 20,000 answers of 1 KB: twenty times what it may hold.
        for i in 0..20_000 {
            cache.put(i, 1, Blob(vec![0; 1000]));
        }
        let (entries, bytes) = cache.size();
        assert!(bytes <= 1_000_000, "{bytes} bytes");
        assert!(entries > 100 && entries <= 1000, "{entries} answers");
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
