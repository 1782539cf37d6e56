//! The time the client measures its waits and expiries on: the system's, or in the
//! crate's tests a manual one that moves only when a wait or the test moves it, so that
//! tests of pauses, backoff and token lifetimes are exact and take no time.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// A source of `now` and of waits. Cheap to clone; clones share a manual clock.
#[derive(Debug, Clone, Default)]
pub(crate) struct Clock {
    manual: Option<Arc<Manual>>,
}

impl Clock {
    /// The system's clock (tokio's timers for the waits).
    #[must_use]
    pub(crate) fn system() -> Self {
        Self::default()
    }

    /// The current instant.
    #[must_use]
    pub(crate) fn now(&self) -> Instant {
        match &self.manual {
            None => Instant::now(),
            Some(manual) => manual.now(),
        }
    }

    /// Waits until `deadline` (at once when it has passed).
    pub(crate) async fn sleep_until(&self, deadline: Instant) {
        let wait = deadline.saturating_duration_since(self.now());
        match &self.manual {
            None => tokio::time::sleep(wait).await,
            Some(manual) => {
                manual.wait(wait);
                // Let other tasks run, as a real wait would.
                tokio::task::yield_now().await;
            }
        }
    }

    /// A manual clock, and the handle that moves it and reports the waits.
    #[cfg(test)]
    #[must_use]
    pub(crate) fn manual() -> (Self, Arc<Manual>) {
        let manual = Arc::new(Manual { start: Instant::now(), state: Mutex::default() });
        (Self { manual: Some(Arc::clone(&manual)) }, manual)
    }
}

/// A clock that stands still but for the waits made on it and [`advance`](Self::advance).
#[derive(Debug)]
pub(crate) struct Manual {
    start: Instant,
    state: Mutex<ManualState>,
}

#[derive(Debug, Default)]
struct ManualState {
    elapsed: Duration,
    waits: Vec<Duration>,
}

impl Manual {
    fn state(&self) -> std::sync::MutexGuard<'_, ManualState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn now(&self) -> Instant {
        self.start + self.state().elapsed
    }

    /// A wait of `wait`: recorded, and the clock moved past it.
    fn wait(&self, wait: Duration) {
        let mut state = self.state();
        state.elapsed += wait;
        state.waits.push(wait);
    }

    /// Moves the clock `by` forward, as time passing between two calls.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn advance(&self, by: Duration) {
        self.state().elapsed += by;
    }

    /// Every wait made on the clock so far, in order.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn waits(&self) -> Vec<Duration> {
        self.state().waits.clone()
    }

    /// How far the clock has moved.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn elapsed(&self) -> Duration {
        self.state().elapsed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_manual_clock_moves_only_by_waits_and_advances() {
        let (clock, manual) = Clock::manual();
        let start = clock.now();
        clock.sleep_until(start + Duration::from_secs(2)).await;
        assert_eq!(clock.now() - start, Duration::from_secs(2));
        clock.sleep_until(start).await; // in the past: no wait
        manual.advance(Duration::from_millis(500));
        assert_eq!(manual.waits(), [Duration::from_secs(2), Duration::ZERO]);
        assert_eq!(manual.elapsed(), Duration::from_millis(2500));
        let system = Clock::system();
        let before = system.now();
        system.sleep_until(before).await;
        assert!(system.now() >= before);
    }
}
