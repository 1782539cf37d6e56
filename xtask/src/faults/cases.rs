//! The faults of the matrix: each a set of rules for the embedded registry, and what a
//! correct client must do under it.

use std::time::Duration;

use oci_distribution::http::Method;
use oci_registry::faults::{Fault, LocationForm, Matcher, PathKind, RetryAfter, Rule};

/// What a correct client does under a fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Expect {
    /// Survives it: the fault is transient (a network failure, 429, 5xx) or a registry
    /// behaviour the protocol allows (no digest header, another form of `Location`, a
    /// redirect to a storage host).
    Survive,
    /// Survives it, or fails with an error that names the cause: no client can know the
    /// right content when a registry keeps serving wrong bytes or a wrong digest.
    SurviveOrFailCleanly,
}

/// How the registry of a case asks for credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Credentials {
    /// It does not.
    None,
    /// HTTP Basic.
    Basic,
    /// Bearer tokens from its token endpoint (the client answers with Basic there).
    Bearer,
}

/// One fault of the matrix.
#[derive(Debug, Clone)]
pub(super) struct Case {
    /// Its name in the table.
    pub(super) name: String,
    /// The rules, each at the run's rate.
    pub(super) rules: Vec<(Matcher, Fault)>,
    pub(super) expect: Expect,
    /// Whether and how the registry asks for credentials (to see where they go).
    pub(super) auth: Credentials,
    /// A quirk: the rules hit every request they match, whatever the rate.
    pub(super) always: bool,
    /// The registry makes referrers pushed through the fallback tag unreadable (the
    /// tag resolves to the subject): the right list of referrers is empty.
    pub(super) hides_fallback: bool,
}

impl Case {
    fn new(name: &str, rules: Vec<(Matcher, Fault)>, expect: Expect) -> Self {
        Self {
            name: name.to_owned(),
            rules,
            expect,
            auth: Credentials::None,
            always: false,
            hides_fallback: false,
        }
    }

    fn with_auth(mut self, auth: Credentials) -> Self {
        self.auth = auth;
        self
    }

    /// A quirk: on every request its rules match.
    fn always(mut self) -> Self {
        self.always = true;
        self
    }

    /// The rules at one in `rate` of their requests; with `first_too`, also on the
    /// first request each matches (so that a short run meets every fault).
    pub(super) fn rules(&self, rate: u32, first_too: bool) -> Vec<Rule> {
        let mut rules = Vec::new();
        let rate = if self.always { 1 } else { rate };
        for (on, fault) in &self.rules {
            if first_too {
                rules.push(Rule::new(on.clone().nth(1), fault.clone()));
            }
            rules.push(Rule::new(on.clone(), fault.clone()).one_in(rate));
        }
        rules
    }
}

/// Every case, in the table's order.
pub(super) fn all() -> Vec<Case> {
    use Expect::{Survive, SurviveOrFailCleanly};
    let get = || Matcher::any().method(Method::GET);
    let one = |name: &str, on: Matcher, fault: Fault, expect| Case::new(name, vec![(on, fault)], expect);
    let mut cases = vec![
        one("drop-after-1000", get(), Fault::DropAfter(1000), Survive),
        one("reset", Matcher::any(), Fault::Reset, Survive),
        one("stall-300ms", get(), Fault::Stall(1000, Duration::from_millis(300)), Survive),
        one(
            "truncated-blob",
            Matcher::kind(PathKind::Blob).method(Method::GET),
            Fault::DropAfter(4096),
            Survive,
        ),
        one(
            "wrong-bytes",
            Matcher::kind(PathKind::Blob).method(Method::GET),
            Fault::WrongBytes,
            SurviveOrFailCleanly,
        ),
        one("429-seconds", Matcher::any(), Fault::TooManyRequests(RetryAfter::Seconds(1)), Survive),
        one("429-date", Matcher::any(), Fault::TooManyRequests(RetryAfter::Date(1)), Survive),
        one("503-seconds", Matcher::any(), Fault::Unavailable(RetryAfter::Seconds(1)), Survive),
        one("503", Matcher::any(), Fault::Unavailable(RetryAfter::None), Survive),
        Case::new(
            "500-put-patch",
            vec![
                (Matcher::any().method(Method::PUT), Fault::ServerError),
                (Matcher::any().method(Method::PATCH), Fault::ServerError),
            ],
            Survive,
        ),
        // Not transient (a registry that refuses the range it asked for): the client
        // resyncs and goes on, and gives up after 5 resyncs in a row, saying so.
        one(
            "416-patch",
            Matcher::kind(PathKind::Upload).method(Method::PATCH),
            Fault::RangeNotSatisfiable,
            SurviveOrFailCleanly,
        ),
        one("digest-missing", Matcher::any(), Fault::DigestMissing, Survive),
        one("digest-wrong", Matcher::kind(PathKind::Manifest), Fault::DigestWrong, SurviveOrFailCleanly),
        one(
            "location-relative",
            Matcher::kind(PathKind::UploadStart),
            Fault::Location(LocationForm::Relative),
            Survive,
        ),
        one(
            "location-absolute",
            Matcher::kind(PathKind::UploadStart),
            Fault::Location(LocationForm::Absolute),
            Survive,
        ),
        // Refused by design: an upload's bytes (and credentials) stay on the origin of
        // the registry asked; the error names the location.
        one(
            "location-other-host",
            Matcher::kind(PathKind::UploadStart),
            Fault::Location(LocationForm::OtherHost),
            SurviveOrFailCleanly,
        ),
    ];
    cases.push(one("redirect-307", get(), Fault::RedirectToStorage, Survive).with_auth(Credentials::Basic));
    // Tokens that stop working after 10 requests: the client fetches a new one and
    // sends the refused request again.
    let token_expires =
        Case::new("token-expires-early", vec![(Matcher::any(), Fault::TokenExpiresAfter(10))], Survive);
    cases.push(token_expires.with_auth(Credentials::Bearer).always());
    cases.extend(quirks());
    cases
}

/// Quirks of real registries, each on every request it concerns.
fn quirks() -> Vec<Case> {
    use Expect::Survive;
    let quirk = |name: &str, rules: Vec<(Matcher, Fault)>| Case::new(name, rules, Survive).always();
    let kind = Matcher::kind;
    let lists = |fault: Fault| vec![(kind(PathKind::Tags), fault.clone()), (kind(PathKind::Catalog), fault)];
    let patch = || kind(PathKind::Upload).method(Method::PATCH);
    let post = || kind(PathKind::UploadStart).method(Method::POST);
    let uploads =
        |fault: Fault| vec![(kind(PathKind::UploadStart), fault.clone()), (kind(PathKind::Upload), fault)];
    // No referrers API: the endpoint is not there, and a manifest push says nothing of a
    // subject.
    let no_referrers_api = || {
        vec![
            (kind(PathKind::Referrers), Fault::NoSuchEndpoint),
            (kind(PathKind::Manifest).method(Method::PUT), Fault::SubjectMissing),
        ]
    };
    let mut gitlab = no_referrers_api();
    gitlab.push((kind(PathKind::Manifest).method(Method::GET), Fault::FallbackTagIsSubject));
    gitlab.push((kind(PathKind::Manifest).method(Method::HEAD), Fault::FallbackTagIsSubject));
    let mut gitlab = quirk("gitlab-fallback-tag", gitlab);
    gitlab.hides_fallback = true;
    vec![
        quirk("no-referrers-api", no_referrers_api()),
        quirk("ecr-page-limit", lists(Fault::PageLimit(1000))),
        quirk("ecr-patch-201", vec![(patch(), Fault::PatchCreated)]),
        quirk("gcr-challenge-on-base-only", vec![(Matcher::any(), Fault::ChallengeOnlyOnBase)])
            .with_auth(Credentials::Basic),
        quirk("gcr-single-use-location", uploads(Fault::SingleUseLocation)),
        quirk("quay-mount-needs-from", vec![(post(), Fault::MountNeedsFrom)]),
        quirk("quay-opaque-page-tokens", lists(Fault::OpaquePageTokens)),
        quirk("harbor-mount-401", vec![(post(), Fault::MountUnauthorized)]),
        quirk("harbor-not-found-code", vec![(Matcher::any(), Fault::NotFoundCode)]),
        quirk("nexus-null-tags", vec![(kind(PathKind::Tags), Fault::NullTags)]),
        gitlab,
        // No client can delete where the registry refuses: the error must say so.
        Case::new(
            "dockerhub-delete-405",
            vec![(Matcher::any().method(Method::DELETE), Fault::DeleteNotAllowed)],
            Expect::SurviveOrFailCleanly,
        )
        .always(),
        quirk("dockerhub-mount-ignored", vec![(post(), Fault::MountIgnored)]),
        quirk("range-short-after-patch", vec![(patch(), Fault::RangeShortAfterPatch)]),
        quirk("acr-content-range", vec![(patch(), Fault::ContentRangeUnitRefused)]),
        quirk("several-schemes", vec![(Matcher::any(), Fault::SeveralSchemes)]).with_auth(Credentials::Basic),
        quirk("token-get-only", vec![(kind(PathKind::Token), Fault::TokenGetOnly)])
            .with_auth(Credentials::Bearer),
    ]
}
