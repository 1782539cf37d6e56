//! A cache of responses addressed by digest: manifests fetched by digest and small
//! blobs such as image configurations.
//!
//! Content addressed by digest never changes, so a verified copy can be served again
//! without asking the registry. Entries are kept per registry and repository: having
//! read a digest from one repository says nothing about being allowed to read it from
//! another. The cache is bounded by the total size of the bytes it holds and drops the
//! least recently used entries first.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use bytes::Bytes;
use oci_spec_types::{Digest, MediaType};

/// What a cached response is: the two kinds are kept apart because a manifest entry
/// also remembers the media type it was served with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    Manifest,
    Blob,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    host: String,
    repository: String,
    kind: Kind,
    digest: Digest,
}

/// A cached response: verified bytes and, for manifests, the media type.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) bytes: Bytes,
    pub(crate) media_type: Option<MediaType>,
}

/// Figures of a client's response cache, for monitoring and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStats {
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups the cache could not answer.
    pub misses: u64,
    /// Entries held.
    pub entries: usize,
    /// Bytes held.
    pub bytes: usize,
}

/// A least-recently-used cache bounded by total bytes; a capacity of 0 disables it.
#[derive(Debug)]
pub(crate) struct ResponseCache {
    capacity: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    entries: HashMap<Key, (Entry, u64)>,
    /// Use ticks to keys, oldest first.
    order: BTreeMap<u64, Key>,
    tick: u64,
    bytes: usize,
    hits: u64,
    misses: u64,
}

impl ResponseCache {
    /// A cache holding at most `capacity` bytes.
    pub(crate) fn new(capacity: usize) -> Self {
        Self { capacity, state: Mutex::new(State::default()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent data: every update below is
        // completed before anything that could panic.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The entry for `digest` in `repository` on `host`, marked as recently used.
    pub(crate) fn get(&self, host: &str, repository: &str, kind: Kind, digest: &Digest) -> Option<Entry> {
        if self.capacity == 0 {
            return None;
        }
        let key =
            Key { host: host.to_owned(), repository: repository.to_owned(), kind, digest: digest.clone() };
        let mut state = self.lock();
        state.tick += 1;
        let tick = state.tick;
        let Some((entry, used)) = state.entries.get_mut(&key) else {
            state.misses += 1;
            return None;
        };
        let (entry, old) = (entry.clone(), std::mem::replace(used, tick));
        state.order.remove(&old);
        state.order.insert(tick, key);
        state.hits += 1;
        Some(entry)
    }

    /// Keeps `entry`, whose bytes must have been verified against `digest`; entries
    /// larger than the whole cache are not kept.
    pub(crate) fn insert(&self, host: &str, repository: &str, kind: Kind, digest: &Digest, entry: Entry) {
        let size = entry.bytes.len();
        if self.capacity == 0 || size > self.capacity {
            return;
        }
        let key =
            Key { host: host.to_owned(), repository: repository.to_owned(), kind, digest: digest.clone() };
        let mut state = self.lock();
        state.remove(&key);
        while state.bytes + size > self.capacity {
            let Some((_, oldest)) = state.order.pop_first() else { break };
            if let Some((old, _)) = state.entries.remove(&oldest) {
                state.bytes -= old.bytes.len();
            }
        }
        state.tick += 1;
        let tick = state.tick;
        state.order.insert(tick, key.clone());
        state.entries.insert(key, (entry, tick));
        state.bytes += size;
    }

    /// Forgets `digest` in `repository` on `host` (after it was deleted there).
    pub(crate) fn remove(&self, host: &str, repository: &str, digest: &Digest) {
        let mut state = self.lock();
        for kind in [Kind::Manifest, Kind::Blob] {
            let key = Key {
                host: host.to_owned(),
                repository: repository.to_owned(),
                kind,
                digest: digest.clone(),
            };
            state.remove(&key);
        }
    }

    /// The cache's figures.
    pub(crate) fn stats(&self) -> CacheStats {
        let state = self.lock();
        CacheStats {
            hits: state.hits,
            misses: state.misses,
            entries: state.entries.len(),
            bytes: state.bytes,
        }
    }
}

impl crate::Client {
    /// Figures of the client's cache of responses addressed by digest (see
    /// [`ClientOptions::cache_bytes`](crate::ClientOptions)).
    ///
    /// ```
    /// let client = oci_distribution::Client::builder().build()?;
    /// assert_eq!(client.cache_stats().hits, 0);
    /// # Ok::<(), oci_distribution::Error>(())
    /// ```
    #[must_use]
    pub fn cache_stats(&self) -> CacheStats {
        self.cache().stats()
    }
}

impl State {
    fn remove(&mut self, key: &Key) {
        if let Some((old, tick)) = self.entries.remove(key) {
            self.order.remove(&tick);
            self.bytes -= old.bytes.len();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(bytes: &'static [u8]) -> Entry {
        Entry { bytes: Bytes::from_static(bytes), media_type: None }
    }

    #[test]
    fn keeps_entries_per_repository_and_kind() {
        let cache = ResponseCache::new(100);
        let d = Digest::sha256(b"abc");
        cache.insert(
            "r",
            "a",
            Kind::Manifest,
            &d,
            Entry { media_type: Some(MediaType::IMAGE_INDEX), ..entry(b"abc") },
        );
        let hit = cache.get("r", "a", Kind::Manifest, &d).unwrap();
        assert_eq!((hit.bytes.as_ref(), hit.media_type), (&b"abc"[..], Some(MediaType::IMAGE_INDEX)));
        assert!(cache.get("r", "b", Kind::Manifest, &d).is_none(), "another repository");
        assert!(cache.get("other", "a", Kind::Manifest, &d).is_none(), "another registry");
        assert!(cache.get("r", "a", Kind::Blob, &d).is_none(), "another kind");
        assert_eq!(cache.stats(), CacheStats { hits: 1, misses: 3, entries: 1, bytes: 3 });
        cache.remove("r", "a", &d);
        assert!(cache.get("r", "a", Kind::Manifest, &d).is_none());
        assert_eq!(cache.stats().bytes, 0);
    }

    #[test]
    fn evicts_the_least_recently_used_within_the_byte_bound() {
        let cache = ResponseCache::new(10);
        let (a, b, c) = (Digest::sha256(b"a"), Digest::sha256(b"b"), Digest::sha256(b"c"));
        cache.insert("r", "x", Kind::Blob, &a, entry(b"aaaa"));
        cache.insert("r", "x", Kind::Blob, &b, entry(b"bbbb"));
        assert!(cache.get("r", "x", Kind::Blob, &a).is_some()); // a is now the most recent
        cache.insert("r", "x", Kind::Blob, &c, entry(b"cccc")); // 12 > 10: b goes
        assert!(cache.get("r", "x", Kind::Blob, &b).is_none());
        assert!(
            cache.get("r", "x", Kind::Blob, &a).is_some() && cache.get("r", "x", Kind::Blob, &c).is_some()
        );
        assert_eq!(cache.stats().bytes, 8);
        cache.insert("r", "x", Kind::Blob, &c, entry(b"cccc")); // replacing does not count twice
        assert_eq!(cache.stats().bytes, 8);
        cache.insert("r", "x", Kind::Blob, &b, entry(b"too big for it")); // larger than the cache
        assert_eq!(cache.stats().entries, 2);
    }

    #[test]
    fn zero_capacity_disables() {
        let cache = ResponseCache::new(0);
        let d = Digest::sha256(b"");
        cache.insert("r", "x", Kind::Blob, &d, entry(b""));
        assert!(cache.get("r", "x", Kind::Blob, &d).is_none());
        assert_eq!(cache.stats(), CacheStats::default());
    }
}
