//! What a test's code logs through `tracing`, captured on the test's thread.
//!
//! ```
//! let capture = oci_test_support::logs::Logs::warnings();
//! tracing::warn!(entry = "x", "skipping an entry");
//! tracing::info!("not a warning");
//! assert_eq!(capture.lines(), ["skipping an entry entry=\"x\""]);
//! ```

use std::fmt::Write as _;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::{DefaultGuard, Interest};
use tracing::{Dispatch, Event, Level, Metadata, Subscriber};

/// Captures the events logged on this thread until dropped.
pub struct Logs {
    lines: Arc<Mutex<Vec<String>>>,
    _guard: DefaultGuard,
}

impl Logs {
    /// Starts capturing warnings and errors on this thread (a current-thread runtime
    /// runs every task here).
    #[must_use]
    pub fn warnings() -> Self {
        Self::at(Level::WARN)
    }

    /// Starts capturing the events of `level` and above (`DEBUG`: debug, info, warnings
    /// and errors) on this thread.
    #[must_use]
    pub fn at(level: Level) -> Self {
        // tracing-core computes a new callsite's interest from the registering thread's
        // default alone while at most one dispatcher is registered: a callsite first hit
        // on another test's thread would be cached as never enabled, for every thread. A
        // second dispatcher that lives for the process keeps it asking all of them.
        static ANCHOR: OnceLock<Dispatch> = OnceLock::new();
        ANCHOR.get_or_init(|| Dispatch::new(Anchor));
        let lines = Arc::new(Mutex::new(Vec::new()));
        let guard = tracing::subscriber::set_default(Capture { lines: Arc::clone(&lines), level });
        Self { lines, _guard: guard }
    }

    /// The events so far, each as its message followed by its other fields
    /// (`name=value`, values in their `Debug` form), space-separated.
    #[must_use]
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

struct Capture {
    lines: Arc<Mutex<Vec<String>>>,
    level: Level,
}

#[derive(Default)]
struct Fields {
    message: String,
    rest: String,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.rest, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            self.record_debug(field, &value);
        }
    }
}

impl Subscriber for Capture {
    /// Decided per event: a callsite's cached interest is shared by every thread, and
    /// other tests capture other levels (or nothing) at the same time.
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        Interest::sometimes()
    }
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        *metadata.level() <= self.level
    }
    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::TRACE)
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let line = format!("{}{}", fields.message, fields.rest);
        self.lines.lock().unwrap_or_else(PoisonError::into_inner).push(line);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

/// A subscriber that takes nothing, registered once (see [`Logs::at`]).
struct Anchor;

impl Subscriber for Anchor {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        false
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, _: &Event<'_>) {}
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}
