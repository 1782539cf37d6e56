//! A misbehaving registry, for tests (feature `faults`, off by default): rules that make
//! the server drop, reset, stall or corrupt what it sends, answer 429, 503, 500 or 416,
//! bend its headers, send blob downloads to a second listener that stands for a
//! storage host, or expire its tokens early, each at a chosen rate, seeded, for the
//! requests a [`Matcher`] picks; and the quirks of real registries, one [`Fault`] each
//! (ECR, GCR, Quay, Harbor, Nexus, GitLab, Docker Hub, zot, ACR), which a rule applies
//! to every request it matches when its rate is 1.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> oci_registry::Result<()> {
//! use oci_registry::faults::{Fault, Faults, Matcher, PathKind, RetryAfter, Rule};
//! use oci_registry::Registry;
//!
//! let faults = Faults::new(7)
//!     .rule(Rule::new(Matcher::kind(PathKind::Blob), Fault::DropAfter(1000)).one_in(2))
//!     .rule(Rule::new(Matcher::any(), Fault::TooManyRequests(RetryAfter::Seconds(1))).one_in(5));
//! let registry = Registry::builder().faults(faults.clone()).bind("127.0.0.1:0").await?;
//! assert_eq!(faults.injected(), 0);
//! # registry.shutdown().await; Ok(()) }
//! ```

mod apply;
mod quirks;
mod storage_host;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use http::Method;

pub(crate) use apply::{Before, after, before};
pub(crate) use storage_host::StorageHost;

/// What a request is, for a [`Matcher`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PathKind {
    /// `/v2/`.
    Base,
    /// `/v2/_catalog`.
    Catalog,
    /// `/v2/<name>/tags/list`.
    Tags,
    /// `/v2/<name>/manifests/<reference>`.
    Manifest,
    /// `/v2/<name>/blobs/<digest>`.
    Blob,
    /// `POST /v2/<name>/blobs/uploads/` (starting an upload, or a mount).
    UploadStart,
    /// `/v2/<name>/blobs/uploads/<id>` (a chunk, the closing `PUT`, the status).
    Upload,
    /// `/v2/<name>/referrers/<digest>`.
    Referrers,
    /// The token endpoint.
    Token,
}

/// Which requests a [`Rule`] may hit.
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    /// Only this method.
    pub method: Option<Method>,
    /// Only this kind of path.
    pub kind: Option<PathKind>,
    /// Only the `nth` request the method and kind match (1 for the first).
    pub nth: Option<usize>,
}

impl Matcher {
    /// Every request.
    #[must_use]
    pub fn any() -> Self {
        Self::default()
    }

    /// Requests of one kind.
    #[must_use]
    pub fn kind(kind: PathKind) -> Self {
        Self { kind: Some(kind), ..Self::default() }
    }

    /// The same matcher, for one method only.
    #[must_use]
    pub fn method(mut self, method: Method) -> Self {
        self.method = Some(method);
        self
    }

    /// The same matcher, for its `nth` request only (1 for the first).
    #[must_use]
    pub fn nth(mut self, nth: usize) -> Self {
        self.nth = Some(nth);
        self
    }

    fn matches(&self, method: &Method, kind: Option<PathKind>) -> bool {
        self.method.as_ref().is_none_or(|m| m == method) && self.kind.is_none_or(|k| Some(k) == kind)
    }
}

/// The `Retry-After` of a 429 or 503.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAfter {
    /// None.
    None,
    /// In seconds.
    Seconds(u64),
    /// As an HTTP date, this many seconds from now.
    Date(u64),
}

/// The form of the `Location` of an upload session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocationForm {
    /// A path only (`/v2/<name>/blobs/uploads/<id>`).
    Relative,
    /// `http://<host>/...`, the registry's own host.
    Absolute,
    /// Another name of the same server (`localhost` for `127.0.0.1`, and the reverse):
    /// another origin, to which credentials must not go unasked.
    OtherHost,
}

/// What goes wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// The response body stops after this many bytes and the connection is closed (its
    /// length header was right).
    DropAfter(u64),
    /// The connection is closed with no answer.
    Reset,
    /// The response body stops after this many bytes for this long, then goes on.
    Stall(u64, Duration),
    /// The body is served with one byte changed (a blob's or a manifest's, under its
    /// digest).
    WrongBytes,
    /// `429 Too Many Requests`.
    TooManyRequests(RetryAfter),
    /// `503 Service Unavailable`.
    Unavailable(RetryAfter),
    /// `500 Internal Server Error`, before anything is done.
    ServerError,
    /// `416 Range Not Satisfiable`, before anything is done.
    RangeNotSatisfiable,
    /// No `Docker-Content-Digest` header.
    DigestMissing,
    /// A `Docker-Content-Digest` header naming other content.
    DigestWrong,
    /// The upload session's `Location` in another form.
    Location(LocationForm),
    /// `404` with a plain-text body, as a registry without the endpoint answers (the
    /// quirk of registries without the referrers API).
    NoSuchEndpoint,
    /// No `OCI-Subject` header on a manifest push (a registry without the referrers API
    /// does not send it).
    SubjectMissing,
    /// Blob downloads answered `307` to the storage host (a second listener), which
    /// serves them without credentials and records whether any reached it.
    RedirectToStorage,
    /// A list request asking for more than this many entries (`n`) is refused with 400
    /// (ECR: 1000).
    PageLimit(u32),
    /// A chunk's `PATCH` answered `201 Created` instead of `202 Accepted` (ECR).
    PatchCreated,
    /// A `401` outside `/v2/` without `WWW-Authenticate` (GCR): the challenge is only
    /// learnt from the base endpoint.
    ChallengeOnlyOnBase,
    /// Every upload `Location` works once (GCR): each answer gives a new one, and a
    /// request to an older one gets 404 `BLOB_UPLOAD_UNKNOWN`.
    SingleUseLocation,
    /// A mount without `from` is refused with 400 (Quay).
    MountNeedsFrom,
    /// The next page of a list is named by an opaque `next_page` token, not by `last`
    /// (Quay).
    OpaquePageTokens,
    /// A mount is answered `401` (Harbor, for a source repository it does not have).
    MountUnauthorized,
    /// A mount's `mount` and `from` are ignored: a new upload session instead (Docker
    /// Hub).
    MountIgnored,
    /// `404` answers carry the non-spec error code `NOT_FOUND` (Harbor).
    NotFoundCode,
    /// Tag lists carry JSON `null` entries (Nexus).
    NullTags,
    /// The tag `sha256-<hex>` resolves to the manifest `sha256:<hex>` (GitLab), so the
    /// referrers fallback tag of a subject is the subject itself.
    FallbackTagIsSubject,
    /// `DELETE` answered `405` (Docker Hub).
    DeleteNotAllowed,
    /// The `Range` of a `PATCH` answer one byte short of what was stored (zot, Aliyun).
    RangeShortAfterPatch,
    /// A `PATCH` whose `Content-Range` has the RFC 9110 form (`bytes a-b/*`) is refused
    /// with 400 (ACR).
    ContentRangeUnitRefused,
    /// A `401` challenges with several schemes, over two headers (one the client does not
    /// know first).
    SeveralSchemes,
    /// The token endpoint refuses `POST` with 404: tokens come from `GET` only.
    TokenGetOnly,
    /// Every bearer token stops working after this many requests (it expires early,
    /// as with a registry whose tokens live shorter than their `expires_in` says):
    /// later requests carrying it are answered as if they had none (401 with the
    /// registry's challenge).
    TokenExpiresAfter(u64),
}

impl Fault {
    /// A short name, for tables.
    #[must_use]
    pub fn name(&self) -> String {
        match self {
            Self::DropAfter(n) => format!("drop-after-{n}"),
            Self::Reset => "reset".into(),
            Self::Stall(n, d) => format!("stall-{n}-{}ms", d.as_millis()),
            Self::WrongBytes => "wrong-bytes".into(),
            Self::TooManyRequests(r) => format!("429{}", retry_name(*r)),
            Self::Unavailable(r) => format!("503{}", retry_name(*r)),
            Self::ServerError => "500".into(),
            Self::RangeNotSatisfiable => "416".into(),
            Self::DigestMissing => "digest-missing".into(),
            Self::DigestWrong => "digest-wrong".into(),
            Self::Location(LocationForm::Relative) => "location-relative".into(),
            Self::Location(LocationForm::Absolute) => "location-absolute".into(),
            Self::Location(LocationForm::OtherHost) => "location-other-host".into(),
            Self::RedirectToStorage => "redirect-307".into(),
            Self::NoSuchEndpoint => "no-such-endpoint".into(),
            Self::SubjectMissing => "subject-missing".into(),
            Self::PageLimit(n) => format!("page-limit-{n}"),
            Self::PatchCreated => "patch-201".into(),
            Self::ChallengeOnlyOnBase => "challenge-only-on-base".into(),
            Self::SingleUseLocation => "single-use-location".into(),
            Self::MountNeedsFrom => "mount-needs-from".into(),
            Self::OpaquePageTokens => "opaque-page-tokens".into(),
            Self::MountUnauthorized => "mount-401".into(),
            Self::MountIgnored => "mount-ignored".into(),
            Self::NotFoundCode => "not-found-code".into(),
            Self::NullTags => "null-tags".into(),
            Self::FallbackTagIsSubject => "fallback-tag-is-subject".into(),
            Self::DeleteNotAllowed => "delete-405".into(),
            Self::RangeShortAfterPatch => "range-short-after-patch".into(),
            Self::ContentRangeUnitRefused => "content-range-unit-refused".into(),
            Self::SeveralSchemes => "several-schemes".into(),
            Self::TokenGetOnly => "token-get-only".into(),
            Self::TokenExpiresAfter(n) => format!("token-expires-after-{n}"),
        }
    }
}

fn retry_name(r: RetryAfter) -> &'static str {
    match r {
        RetryAfter::None => "",
        RetryAfter::Seconds(_) => "-retry-after-seconds",
        RetryAfter::Date(_) => "-retry-after-date",
    }
}

/// A fault, the requests it may hit, and how often: one in `one_in` of them.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Which requests.
    pub on: Matcher,
    /// What happens.
    pub fault: Fault,
    /// One in how many of the matching requests (1: each).
    pub one_in: u32,
}

impl Rule {
    /// `fault` on every request `on` matches.
    #[must_use]
    pub fn new(on: Matcher, fault: Fault) -> Self {
        Self { on, fault, one_in: 1 }
    }

    /// The same rule for one in `n` of the requests (chosen by the seeded generator).
    #[must_use]
    pub fn one_in(mut self, n: u32) -> Self {
        self.one_in = n.max(1);
        self
    }
}

/// The rules of a registry, and what they did. Clones share their counters.
#[derive(Debug, Clone)]
pub struct Faults {
    rules: Arc<Vec<Rule>>,
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    rng: Mutex<fastrand::Rng>,
    /// Requests each rule's method and kind matched.
    seen: Mutex<Vec<usize>>,
    injected: AtomicUsize,
    storage_saw_authorization: AtomicBool,
    /// The token of each upload session's last `Location` (`SingleUseLocation`).
    upload_tokens: Mutex<HashMap<String, u64>>,
    /// How many requests carried each bearer token (`TokenExpiresAfter`).
    bearer_tokens: Mutex<HashMap<String, u64>>,
}

impl Faults {
    /// No rules yet; `seed` seeds the choice of the requests a rule hits.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        let shared = Shared {
            rng: Mutex::new(fastrand::Rng::with_seed(seed)),
            seen: Mutex::new(Vec::new()),
            injected: AtomicUsize::new(0),
            storage_saw_authorization: AtomicBool::new(false),
            upload_tokens: Mutex::new(HashMap::new()),
            bearer_tokens: Mutex::new(HashMap::new()),
        };
        Self { rules: Arc::new(Vec::new()), shared: Arc::new(shared) }
    }

    /// The same faults with another rule (rules are tried in order; the first that
    /// hits a request wins).
    #[must_use]
    pub fn rule(mut self, rule: Rule) -> Self {
        Arc::make_mut(&mut self.rules).push(rule);
        self
    }

    /// How many requests a fault hit so far.
    #[must_use]
    pub fn injected(&self) -> usize {
        self.shared.injected.load(Ordering::SeqCst)
    }

    /// Whether a request to the storage host carried an `Authorization` header
    /// (credentials of the registry sent to another origin).
    #[must_use]
    pub fn storage_saw_authorization(&self) -> bool {
        self.shared.storage_saw_authorization.load(Ordering::SeqCst)
    }

    /// Whether a rule sends blob downloads to the storage host.
    pub(crate) fn redirects(&self) -> bool {
        self.rules.iter().any(|r| r.fault == Fault::RedirectToStorage)
    }

    pub(crate) fn saw_authorization(&self) {
        self.shared.storage_saw_authorization.store(true, Ordering::SeqCst);
    }

    /// The token of the last `Location` given for the upload session at `path`.
    pub(crate) fn upload_token(&self, path: &str) -> Option<String> {
        let tokens = self.shared.upload_tokens.lock().unwrap_or_else(PoisonError::into_inner);
        tokens.get(path).map(u64::to_string)
    }

    /// A new token for the upload session at `path`; older ones stop working.
    pub(crate) fn new_upload_token(&self, path: &str) -> String {
        let mut tokens = self.shared.upload_tokens.lock().unwrap_or_else(PoisonError::into_inner);
        let next = tokens.get(path).map_or(1, |n| n + 1);
        tokens.insert(path.to_owned(), next);
        next.to_string()
    }

    /// After how many requests a bearer token stops working, if a rule says so.
    pub(crate) fn token_uses(&self) -> Option<u64> {
        self.rules.iter().find_map(|r| match r.fault {
            Fault::TokenExpiresAfter(n) => Some(n),
            _ => None,
        })
    }

    /// Counts a use of `token`; whether it is over `limit` (then it counts as injected).
    pub(crate) fn use_bearer_token(&self, token: &str, limit: u64) -> bool {
        let mut tokens = self.shared.bearer_tokens.lock().unwrap_or_else(PoisonError::into_inner);
        let count = tokens.entry(token.to_owned()).or_default();
        *count += 1;
        let expired = *count > limit;
        if expired {
            self.shared.injected.fetch_add(1, Ordering::SeqCst);
        }
        expired
    }

    /// The fault that hits this request, if one does.
    pub(crate) fn pick(&self, method: &Method, kind: Option<PathKind>) -> Option<Fault> {
        let mut seen = self.shared.seen.lock().unwrap_or_else(PoisonError::into_inner);
        seen.resize(self.rules.len(), 0);
        let mut rng = self.shared.rng.lock().unwrap_or_else(PoisonError::into_inner);
        let mut hit = None;
        for (i, rule) in self.rules.iter().enumerate() {
            if !rule.on.matches(method, kind) {
                continue;
            }
            seen[i] += 1;
            let chosen = rule.on.nth.map_or_else(|| rng.u32(..rule.one_in) == 0, |nth| nth == seen[i]);
            if chosen && hit.is_none() {
                hit = Some(rule.fault.clone());
            }
        }
        if hit.is_some() {
            self.shared.injected.fetch_add(1, Ordering::SeqCst);
        }
        hit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_hit_their_requests_at_their_rate_and_the_nth_once() {
        let faults = Faults::new(1)
            .rule(Rule::new(Matcher::kind(PathKind::Blob).method(Method::GET), Fault::Reset).one_in(2))
            .rule(Rule::new(Matcher::kind(PathKind::Manifest).nth(3), Fault::ServerError));
        let blob_hits =
            (0..1000).filter(|_| faults.pick(&Method::GET, Some(PathKind::Blob)).is_some()).count();
        assert!((400..600).contains(&blob_hits), "{blob_hits}");
        assert!(faults.pick(&Method::HEAD, Some(PathKind::Blob)).is_none());
        let manifest: Vec<bool> =
            (0..5).map(|_| faults.pick(&Method::GET, Some(PathKind::Manifest)).is_some()).collect();
        assert_eq!(manifest, [false, false, true, false, false]);
        assert_eq!(faults.injected(), blob_hits + 1);
        // The same seed picks the same requests.
        let again = Faults::new(1).rule(Rule::new(Matcher::kind(PathKind::Blob), Fault::Reset).one_in(2));
        let first = Faults::new(1).rule(Rule::new(Matcher::kind(PathKind::Blob), Fault::Reset).one_in(2));
        let picks = |f: &Faults| {
            (0..50).map(|_| f.pick(&Method::GET, Some(PathKind::Blob)).is_some()).collect::<Vec<_>>()
        };
        assert_eq!(picks(&again), picks(&first));
    }
}
