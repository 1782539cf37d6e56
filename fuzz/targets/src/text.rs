//! Targets over one line of text: references, digests, media types and the headers a
//! registry answers with. Besides "no panic", each checks that what parses writes back
//! to something that parses to the same value.

use std::time::{Duration, SystemTime};

use http::{HeaderValue, Uri};
use oci_distribution::auth::challenge::parse_challenges;
use oci_distribution::internals;
use oci_reference::{Reference, Repository, UnnormalizedReference, name_from_api};
use oci_spec_types::{Digest, MediaType};

/// The input as text; inputs that are not UTF-8 cannot reach these parsers.
fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// Both grammars and every entry point; `Display` must write back the same reference.
pub(crate) fn reference(data: &[u8]) {
    let Some(s) = text(data) else { return };
    if let Ok(r) = Reference::parse(s) {
        let again = Reference::parse(r.as_str()).expect("a normalized reference re-parses");
        assert_eq!(again, r, "{s:?} writes back as {r}");
        let _ = (r.familiar_string(), r.api_reference(), r.endpoint_host(), r.repository(), r.registry());
        let _ = r.with_default_tag();
        let _ = r.familiar_match(s);
    }
    if let Ok(r) = Reference::parse_strict(s) {
        let again = Reference::parse_strict(r.as_str()).expect("a strict reference re-parses");
        assert_eq!(again, r, "{s:?} writes back as {r}");
    }
    if let Ok(u) = UnnormalizedReference::parse(s) {
        let again = UnnormalizedReference::parse(u.as_str()).expect("an unnormalized reference re-parses");
        assert_eq!(again.as_str(), u.as_str());
        let _ = (u.domain(), u.path(), u.tag(), u.digest(), u.familiar_string());
    }
    let _ = (Reference::parse_docker_ref(s), Reference::parse_any(s), Reference::parse_fully_qualified(s));
    let _ = (UnnormalizedReference::parse_name(s), Repository::parse(s), Repository::parse_strict(s));
    let _ = name_from_api(s);
}

/// Lenient and strict digests; a parsed digest is its own text.
pub(crate) fn digest(data: &[u8]) {
    let Some(s) = text(data) else { return };
    for parsed in [Digest::parse(s), Digest::parse_strict(s)].into_iter().flatten() {
        assert_eq!(parsed.as_str(), s);
        assert_eq!(Digest::parse(parsed.as_str()).as_ref(), Ok(&parsed));
        let _ = (parsed.algorithm(), parsed.encoded(), parsed.is_verifiable(), parsed.verify(data));
    }
}

/// Media types (with parameters); a parsed one re-parses to itself.
pub(crate) fn media_type(data: &[u8]) {
    let Some(s) = text(data) else { return };
    if let Ok(m) = s.parse::<MediaType>() {
        let again: MediaType = m.as_str().parse().expect("a media type re-parses");
        assert_eq!(again, m);
        let _ = (m.essence(), m.is_valid(), m.is_manifest(), m.is_layer(), m.matches(&again));
    }
}

/// `WWW-Authenticate`: every challenge written back parses to the same challenge.
pub(crate) fn www_authenticate(data: &[u8]) {
    let Some(s) = text(data) else { return };
    for challenge in parse_challenges(s) {
        let _ = (challenge.scheme(), challenge.realm(), challenge.service(), challenge.scopes().count());
        let written = challenge.to_string();
        let again = parse_challenges(&written);
        let Some(first) = again.first() else { panic!("{written:?} (from {s:?}) parses to nothing") };
        assert!(first.scheme_name().eq_ignore_ascii_case(challenge.scheme_name()), "{written:?}");
        assert_eq!(first.token68(), challenge.token68(), "{written:?}");
        let params = |c: &oci_distribution::auth::challenge::Challenge| {
            c.params().map(|(n, v)| (n.to_ascii_lowercase(), v.to_owned())).collect::<Vec<_>>()
        };
        assert_eq!(params(first), params(&challenge), "{written:?} from {s:?}");
    }
}

/// `Link`, and the next page resolved against a list request.
pub(crate) fn link(data: &[u8]) {
    let Some(s) = text(data) else { return };
    if let Ok(links) = internals::parse_link(s) {
        for (_, params) in &links {
            assert!(params.iter().all(|(name, _)| !name.bytes().any(|b| b.is_ascii_uppercase())));
        }
    }
    let Ok(value) = HeaderValue::from_str(s) else { return };
    let request = Uri::from_static("http://registry.test:5000/v2/team/app/tags/list?n=10");
    if let Ok(Some(next)) = internals::next_page(&value, &request) {
        assert_eq!(next.authority(), request.authority(), "{s:?} left the registry");
        assert_eq!(next.scheme(), request.scheme(), "{s:?} changed the scheme");
    }
}

/// `Retry-After`: seconds or an HTTP date, never a panic on huge numbers.
pub(crate) fn retry_after(data: &[u8]) {
    let Some(s) = text(data) else { return };
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let _ = internals::parse_retry_after(s, now);
    let _ = internals::parse_retry_after(s, SystemTime::UNIX_EPOCH);
    let _ = internals::parse_rfc3339(s);
}

/// `Content-Range`: what parses is a well-formed range.
pub(crate) fn content_range(data: &[u8]) {
    let Some(s) = text(data) else { return };
    if let Some((first, last, complete)) = internals::parse_content_range(s) {
        assert!(first <= last, "{s:?}");
        assert!(complete.is_none_or(|len| last < len), "{s:?}");
    }
}
