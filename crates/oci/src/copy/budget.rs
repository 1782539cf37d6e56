//! The concurrency budget of a copy: so many requests at once per registry host (and
//! per layout file), both ends counted against the same budget.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// One semaphore per key, made on first use.
#[derive(Debug)]
pub(crate) struct Budgets {
    per_key: usize,
    semaphores: Mutex<HashMap<String, Arc<Semaphore>>>,
}

/// Permits held for one request or transfer; released when dropped.
#[derive(Debug)]
pub(crate) struct Permits(#[allow(dead_code)] Vec<OwnedSemaphorePermit>);

impl Budgets {
    pub(crate) fn new(per_key: usize) -> Self {
        Self { per_key: per_key.max(1), semaphores: Mutex::new(HashMap::new()) }
    }

    fn semaphore(&self, key: &str) -> Arc<Semaphore> {
        let mut map = self.semaphores.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(map.entry(key.to_owned()).or_insert_with(|| Arc::new(Semaphore::new(self.per_key))))
    }

    /// A permit of each key (once per distinct key), taken in a fixed order so that two
    /// transfers between the same hosts cannot each hold what the other waits for.
    pub(crate) async fn acquire(&self, keys: &[String]) -> Permits {
        let mut keys: Vec<&String> = keys.iter().collect();
        keys.sort();
        keys.dedup();
        let mut permits = Vec::with_capacity(keys.len());
        for key in keys {
            // The semaphores are never closed.
            if let Ok(permit) = self.semaphore(key).acquire_owned().await {
                permits.push(permit);
            }
        }
        Permits(permits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_key_admits_its_budget_and_shared_keys_are_taken_once() {
        let budgets = Budgets::new(2);
        let a = budgets.acquire(&["a".into(), "a".into()]).await;
        let b = budgets.acquire(&["a".into(), "b".into()]).await;
        // "a" is spent: a third request waits until one is dropped.
        let third =
            tokio::time::timeout(std::time::Duration::from_millis(20), budgets.acquire(&["a".into()])).await;
        assert!(third.is_err());
        drop(a);
        let _third = budgets.acquire(&["a".into()]).await;
        drop(b);
        let _b = budgets.acquire(&["b".into(), "b".into()]).await;
    }
}
