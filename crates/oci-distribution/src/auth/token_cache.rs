//! The bearer token cache: keyed by registry origin, service and normalized scope set;
//! one fetch at a time per key (concurrent requests for the same token wait for it, and
//! share its failure: a token server that fails or never answers costs them one wait,
//! not one each).

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::token::Token;
use crate::{Error, ErrorKind, Result};

/// Slots kept before unused, expired ones are dropped.
const PURGE_ABOVE: usize = 256;

/// What a token is cached under.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct TokenKey {
    /// The registry's origin, `scheme://host:port`.
    pub(crate) origin: String,
    /// The challenge's `service` (empty when it had none).
    pub(crate) service: String,
    /// The scopes, cleaned (`clean_scopes`: merged, sorted).
    pub(crate) scopes: Vec<String>,
}

type Slot = Arc<SlotState>;

/// One key's token, and how its last fetch ended.
#[derive(Debug, Default)]
struct SlotState {
    /// Fetches ended so far: a caller that saw another number before waiting knows a
    /// fetch ended while it waited.
    fetches: AtomicU64,
    cached: tokio::sync::Mutex<Cached>,
}

#[derive(Debug, Default)]
struct Cached {
    token: Option<Token>,
    /// The kind and context of the last fetch's error, when it failed.
    failure: Option<(ErrorKind, String)>,
}

/// Tokens per key, with single-flight fetching.
#[derive(Debug, Default)]
pub(crate) struct TokenCache {
    slots: Mutex<HashMap<TokenKey, Slot>>,
    /// Scope sets that the registry widened in a challenge: requests hinting the first
    /// key use the token of the second.
    aliases: Mutex<HashMap<TokenKey, TokenKey>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl TokenCache {
    fn slot(&self, key: &TokenKey, now: Instant) -> Slot {
        let mut slots = lock(&self.slots);
        if let Some(slot) = slots.get(key) {
            return slot.clone();
        }
        if slots.len() >= PURGE_ABOVE {
            slots.retain(|_, slot| {
                Arc::strong_count(slot) > 1
                    || slot.cached.try_lock().map_or(true, |cached| {
                        cached.token.as_ref().is_some_and(|t| t.is_fresh(now, Duration::ZERO))
                    })
            });
        }
        slots.entry(key.clone()).or_default().clone()
    }

    /// The key whose token serves requests hinting `key`.
    pub(crate) fn resolve(&self, key: TokenKey) -> TokenKey {
        lock(&self.aliases).get(&key).cloned().unwrap_or(key)
    }

    /// Requests hinting `from` use the token of `to` from now on.
    pub(crate) fn alias(&self, from: TokenKey, to: TokenKey) {
        if from != to {
            lock(&self.aliases).insert(from, to);
        }
    }

    /// The cached token of `key` when it is good at `now` for `margin` more; otherwise
    /// `fetch`es one and caches it. Concurrent calls for one key wait for a single fetch;
    /// when it fails, the calls that waited for it fail with its error (kind and
    /// message) without fetching again. A failure is not cached: a later call tries again.
    pub(crate) async fn get_or_fetch<F, Fut>(
        &self,
        key: &TokenKey,
        now: Instant,
        margin: Duration,
        fetch: F,
    ) -> Result<Token>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Token>>,
    {
        let slot = self.slot(key, now);
        let before = slot.fetches.load(Ordering::Acquire);
        let mut cached = slot.cached.lock().await;
        if let Some(token) = cached.token.as_ref().filter(|t| t.is_fresh(now, margin)) {
            return Ok(token.clone());
        }
        if slot.fetches.load(Ordering::Acquire) != before
            && let Some((kind, context)) = &cached.failure
        {
            return Err(Error::new(*kind, context.clone()));
        }
        let fetched = fetch().await;
        cached.failure = fetched.as_ref().err().map(|e| (e.kind(), e.context().to_owned()));
        if let Ok(token) = &fetched {
            cached.token = Some(token.clone());
        }
        slot.fetches.fetch_add(1, Ordering::Release);
        fetched
    }

    /// Drops the token of `key` if it is `value` (a token the registry refused); a token
    /// fetched since, or a fetch under way, is left alone.
    pub(crate) fn invalidate(&self, key: &TokenKey, value: &str) -> bool {
        let Some(slot) = lock(&self.slots).get(key).cloned() else { return false };
        let Ok(mut cached) = slot.cached.try_lock() else { return false };
        if cached.token.as_ref().is_some_and(|t| t.value == value) {
            cached.token = None;
            return true;
        }
        false
    }

    /// How many keys have a slot (for tests of the purge).
    #[cfg(test)]
    fn len(&self) -> usize {
        lock(&self.slots).len()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn key(scope: &str) -> TokenKey {
        TokenKey { origin: "https://r:443".into(), service: "s".into(), scopes: vec![scope.into()] }
    }

    fn token(value: &str, secs: u64) -> Token {
        Token { value: value.into(), expires_at: Instant::now() + Duration::from_secs(secs) }
    }

    // Paused time: the fetch's wait ends only once every task waits for the slot.
    #[tokio::test(start_paused = true)]
    async fn one_fetch_per_key_at_a_time() {
        let cache = Arc::new(TokenCache::default());
        let fetches = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let (cache, fetches) = (cache.clone(), fetches.clone());
                tokio::spawn(async move {
                    cache
                        .get_or_fetch(&key("a"), Instant::now(), Duration::ZERO, || async {
                            fetches.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            Ok(token("t1", 60))
                        })
                        .await
                })
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await.unwrap().unwrap().value, "t1");
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }

    // Paused time: every task waits for the slot before the fetch's wait ends.
    #[tokio::test(start_paused = true)]
    async fn the_calls_that_waited_for_a_failed_fetch_share_its_failure() {
        let cache = Arc::new(TokenCache::default());
        let fetches = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let (cache, fetches) = (cache.clone(), fetches.clone());
                tokio::spawn(async move {
                    cache
                        .get_or_fetch(&key("a"), Instant::now(), Duration::ZERO, || async {
                            fetches.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_secs(60)).await;
                            Err(Error::new(ErrorKind::Timeout, "GET https://auth/token: no answer"))
                        })
                        .await
                })
            })
            .collect();
        let started = tokio::time::Instant::now();
        for task in tasks {
            let e = task.await.unwrap().unwrap_err();
            assert_eq!(e.to_string(), "timed out: GET https://auth/token: no answer");
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        assert_eq!(started.elapsed(), Duration::from_secs(60), "one wait, not ten");
        // A later call tries again.
        let a = key("a");
        let ok = cache.get_or_fetch(&a, Instant::now(), Duration::ZERO, || async { Ok(token("t", 60)) });
        assert_eq!(ok.await.unwrap().value, "t");
    }

    #[tokio::test]
    async fn expiry_invalidation_and_aliases() {
        let cache = TokenCache::default();
        let a = key("a");
        let get = |value: &'static str, secs: u64, margin: u64| {
            cache.get_or_fetch(&a, Instant::now(), Duration::from_secs(margin), move || async move {
                Ok(token(value, secs))
            })
        };
        assert_eq!(get("t1", 10, 5).await.unwrap().value, "t1");
        assert_eq!(get("t2", 10, 5).await.unwrap().value, "t1", "still fresh");
        assert_eq!(get("t3", 10, 10).await.unwrap().value, "t3", "within the refresh margin");
        assert!(!cache.invalidate(&key("a"), "t1"), "not the cached token");
        assert!(cache.invalidate(&key("a"), "t3"));
        assert_eq!(get("t4", 10, 0).await.unwrap().value, "t4");
        assert!(!cache.invalidate(&key("unknown"), "t4"));
        assert_eq!(cache.resolve(key("h")), key("h"));
        cache.alias(key("h"), key("a"));
        assert_eq!(cache.resolve(key("h")), key("a"));
    }

    #[tokio::test]
    async fn failures_are_not_cached_and_old_slots_go() {
        let cache = TokenCache::default();
        let failed = cache
            .get_or_fetch(&key("a"), Instant::now(), Duration::ZERO, || async {
                Err(crate::Error::new(crate::ErrorKind::Auth, "no"))
            })
            .await;
        assert!(failed.is_err());
        let ok = cache
            .get_or_fetch(&key("a"), Instant::now(), Duration::ZERO, || async { Ok(token("t", 60)) })
            .await;
        assert_eq!(ok.unwrap().value, "t");
        for i in 0..PURGE_ABOVE + 10 {
            let _ = cache
                .get_or_fetch(&key(&i.to_string()), Instant::now(), Duration::ZERO, || async {
                    Ok(token("x", 0))
                })
                .await;
        }
        assert!(cache.len() <= PURGE_ABOVE + 1, "{}", cache.len());
    }
}
