//! Retries, the layer above the transport ([`Retrying`]): which requests are sent again,
//! after how long, and the per-host holds that make every request to a registry that
//! asked for a pause wait.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use http::header::RETRY_AFTER;
use http::{HeaderMap, Method, Request, Response, StatusCode, Uri};

use crate::clock::Clock;
use crate::transport::{ResponseBody, Transport};
use crate::{Body, Result};

/// When and how often a failed request is sent again.
///
/// A request is retried only when sending it again is safe and possible: its method is
/// idempotent (GET, HEAD, PUT, DELETE, OPTIONS), or it is a `POST` that opens an upload
/// session, mounts a blob or uploads one whole (sending it again creates nothing
/// twice: at worst an abandoned session the registry expires, or the same
/// content-addressed blob), and its body can be replayed ([`Body::try_clone`]; a stream
/// is never sent twice). It is retried after a
/// connection error or timeout before any response, and after a response with status
/// 408, 429, 500, 502, 503 or 504.
///
/// The delay before retry `n` (counting from 0) is `initial_backoff * backoff_factor^n`,
/// at most `max_backoff`, varied by ±`jitter`; a `Retry-After` header (seconds or an
/// HTTP date) replaces it, capped at `max_retry_after`. A retry whose delay would end
/// more than `max_elapsed` after the first attempt is not made: the last response (or
/// error) is returned at once.
///
/// A registry that answers `429 Too Many Requests`, or any retryable status with a
/// `Retry-After`, is paused for the whole transport: until that delay has passed, every
/// request to the same scheme, host and port waits before it is sent, first attempts
/// included, instead of spending the registry's patience on requests bound to be
/// refused too.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Retries after the first attempt. Default: 4.
    pub max_retries: u32,
    /// The delay before the first retry. Default: 250 ms.
    pub initial_backoff: Duration,
    /// What each further delay is multiplied by. Default: 2.
    pub backoff_factor: u32,
    /// The longest delay, before jitter. Default: 3 s.
    pub max_backoff: Duration,
    /// How much delays vary at random, as a fraction (0.1 is ±10 %). Default: 0.1.
    pub jitter: f64,
    /// The longest `Retry-After` honored; longer ones wait this long. Default: 60 s.
    pub max_retry_after: Duration,
    /// The longest time from a request's first attempt to its last retry, delays
    /// included. Default: 2 min.
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 4,
            initial_backoff: Duration::from_millis(250),
            backoff_factor: 2,
            max_backoff: Duration::from_secs(3),
            jitter: 0.1,
            max_retry_after: Duration::from_secs(60),
            max_elapsed: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// Never retry.
    #[must_use]
    pub fn none() -> Self {
        Self { max_retries: 0, ..Self::default() }
    }

    /// The same policy with at most `max_retries` retries.
    #[must_use]
    pub fn with_max_retries(mut self, max_retries: u32) -> Self {
        self.max_retries = max_retries;
        self
    }

    /// The same policy with another backoff: the first delay, and the longest.
    #[must_use]
    pub fn with_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max;
        self
    }

    /// The same policy with another cap on `Retry-After`.
    #[must_use]
    pub fn with_max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    /// The same policy with another limit on the time spent retrying a request.
    #[must_use]
    pub fn with_max_elapsed(mut self, max: Duration) -> Self {
        self.max_elapsed = max;
        self
    }

    /// The delay before retry `retry` (0 for the first), with jitter: what the client
    /// waits, and what a caller that starts a whole operation again should wait.
    #[must_use]
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = self.backoff_factor.saturating_pow(retry);
        let delay = self.initial_backoff.saturating_mul(factor).min(self.max_backoff);
        let jitter = self.jitter.clamp(0.0, 1.0);
        delay.mul_f64(1.0 + jitter * (2.0 * fastrand::f64() - 1.0))
    }

    /// The delay before retry `retry` after a response with `headers`: its
    /// `Retry-After` (capped), or the backoff.
    pub(crate) fn delay(&self, retry: u32, headers: Option<&HeaderMap>) -> Duration {
        match self.retry_after(headers) {
            Some(after) => after,
            None => self.backoff(retry),
        }
    }

    /// The `Retry-After` of `headers`, capped at `max_retry_after`.
    fn retry_after(&self, headers: Option<&HeaderMap>) -> Option<Duration> {
        let value = headers?.get(RETRY_AFTER)?.to_str().ok()?;
        Some(parse_retry_after(value, SystemTime::now())?.min(self.max_retry_after))
    }

    /// How long the registry that answered `status` with `headers` asks every client
    /// request to wait: `Retry-After` on a retryable status, or the backoff of retry
    /// `retry` on a `429` without one; `None` when it does not ask.
    fn pause(&self, retry: u32, status: StatusCode, headers: &HeaderMap) -> Option<Duration> {
        if !is_retryable_status(status) {
            return None;
        }
        match self.retry_after(Some(headers)) {
            Some(after) => Some(after),
            None => (status == StatusCode::TOO_MANY_REQUESTS).then(|| self.backoff(retry)),
        }
    }
}

/// Instants before which no request goes to a registry (scheme, host and port) that asked
/// for a pause.
#[derive(Debug, Default)]
struct HostHolds {
    until: Mutex<HashMap<String, Instant>>,
}

impl HostHolds {
    /// The key of `uri`'s registry.
    fn key(uri: &Uri) -> String {
        format!("{}://{}", uri.scheme_str().unwrap_or(""), uri.authority().map_or("", |a| a.as_str()))
    }

    /// Holds requests to `uri`'s registry for `pause` from `now` (a later hold already
    /// there stays).
    fn hold(&self, uri: &Uri, pause: Duration, now: Instant) {
        let until = now + pause;
        let mut holds = self.until.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = holds.entry(Self::key(uri)).or_insert(until);
        *entry = (*entry).max(until);
    }

    /// How long a request to `uri` must still wait at `now` (expired holds are
    /// forgotten).
    fn remaining(&self, uri: &Uri, now: Instant) -> Option<Duration> {
        let mut holds = self.until.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if holds.is_empty() {
            return None; // every request asks: no key is made unless a registry asked for a pause
        }
        holds.retain(|_, until| *until > now);
        holds.get(&Self::key(uri)).map(|until| *until - now)
    }
}

/// A `Retry-After` value: delay-seconds or an HTTP date (a past date is no delay).
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Whether sending a request with `method` twice has the effect of sending it once.
fn is_idempotent(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS)
}

/// Marks a request whose method is not idempotent as safe to send again (an upload
/// `POST`), in its extensions.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RetrySafe;

/// The statuses worth trying again.
pub(crate) fn is_retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504)
}

/// The retry layer: sends requests through the transport, again when they fail in a way
/// the policy retries (see [`RetryPolicy`]), and holds every request to a registry that
/// asked for a pause. Cheap to clone: clones share the transport and the holds.
#[derive(Debug, Clone)]
pub(crate) struct Retrying {
    transport: Transport,
    holds: Arc<HostHolds>,
    clock: Clock,
}

impl Retrying {
    /// Retries over `transport`, on the system's clock.
    pub(crate) fn new(transport: Transport) -> Self {
        Self::with_clock(transport, Clock::system())
    }

    /// Retries over `transport`, waiting and measuring on `clock`.
    pub(crate) fn with_clock(transport: Transport, clock: Clock) -> Self {
        Self { transport, holds: Arc::default(), clock }
    }

    /// The transport underneath.
    pub(crate) fn transport(&self) -> &Transport {
        &self.transport
    }

    /// Sends `request`, again when it fails in a way `policy` retries. Every attempt
    /// first waits for a hold on the registry. When the retries (or the time for them)
    /// are used up on a retryable status, the last response is returned.
    pub(crate) async fn send(
        &self,
        request: Request<Body>,
        policy: &RetryPolicy,
    ) -> Result<Response<ResponseBody>> {
        let (parts, body) = request.into_parts();
        let idempotent = is_idempotent(&parts.method) || parts.extensions.get::<RetrySafe>().is_some();
        let mut body = Some(body);
        let mut retry = 0;
        let started = self.clock.now();
        loop {
            if let Some(wait) = self.holds.remaining(&parts.uri, self.clock.now()) {
                tracing::debug!(?wait, "the registry asked for a pause; waiting");
                self.clock.sleep_until(self.clock.now() + wait).await;
            }
            let replay = if idempotent && retry < policy.max_retries {
                body.as_ref().and_then(Body::try_clone)
            } else {
                None
            };
            let can_retry = replay.is_some();
            let this_body = match replay {
                Some(copy) => copy,
                None => body.take().unwrap_or_default(),
            };
            let mut request = Request::new(this_body);
            *request.method_mut() = parts.method.clone();
            *request.uri_mut() = parts.uri.clone();
            *request.version_mut() = parts.version;
            *request.headers_mut() = parts.headers.clone();
            *request.extensions_mut() = parts.extensions.clone();

            let in_time = |delay: Duration| self.clock.now() - started + delay <= policy.max_elapsed;
            let wake = match self.transport.send(request).await {
                Ok(response) => {
                    let pause = policy.pause(retry, response.status(), response.headers());
                    if let Some(pause) = pause {
                        self.holds.hold(&parts.uri, pause, self.clock.now());
                    }
                    let delay = pause.unwrap_or_else(|| policy.delay(retry, Some(response.headers())));
                    if !can_retry || !is_retryable_status(response.status()) || !in_time(delay) {
                        return Ok(response);
                    }
                    tracing::debug!(
                        status = response.status().as_u16(),
                        ?delay,
                        retry,
                        "retrying after a status"
                    );
                    // Read the (small) error body while waiting, so the connection can be
                    // reused.
                    let wake = self.clock.now() + delay;
                    let _ = tokio::time::timeout(delay, response.into_body().bytes(64 * 1024)).await;
                    wake
                }
                Err(e) => {
                    let delay = policy.backoff(retry);
                    let retryable = e.is_transient();
                    if !can_retry || !retryable || !in_time(delay) {
                        return Err(e);
                    }
                    tracing::debug!(error = %e, ?delay, retry, "retrying after an error");
                    self.clock.now() + delay
                }
            };
            self.clock.sleep_until(wake).await;
            retry += 1;
        }
    }
}

#[cfg(test)]
mod tests;
