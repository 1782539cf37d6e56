//! URL helpers: resolving `Location`, `Link` and `realm` values against the URL of the
//! request that produced them, and the same-origin rule that keeps credentials and
//! content from being sent to another host.

use http::Uri;
use http::uri::{Authority, PathAndQuery, Scheme};

use crate::{Error, ErrorKind, Result};

/// Resolves `reference` (absolute URL, `//authority/path`, absolute path, relative path
/// or query-only) against `base`, as RFC 3986 section 5.2 does for the forms registries
/// send. Dot segments are not removed: registries do not send them.
pub(crate) fn resolve(base: &Uri, reference: &str) -> Result<Uri> {
    let bad = |why: &str| {
        Error::new(ErrorKind::InvalidResponse, format!("resolving {reference:?} against {base}: {why}"))
    };
    let reference = reference.trim();
    if reference.is_empty() {
        return Err(bad("empty URL"));
    }
    let scheme = base.scheme().cloned().ok_or_else(|| bad("the base URL has no scheme"))?;
    let authority = base.authority().cloned().ok_or_else(|| bad("the base URL has no host"))?;
    if let Some(rest) = reference.strip_prefix("//") {
        let uri = format!("{scheme}://{rest}");
        return uri.parse().map_err(|e| bad(&format!("{e}")));
    }
    if has_scheme(reference) {
        let uri: Uri = reference.parse().map_err(|e| bad(&format!("{e}")))?;
        let web = uri.scheme().is_some_and(|s| *s == Scheme::HTTP || *s == Scheme::HTTPS);
        if !web || uri.authority().is_none() {
            return Err(bad("only http and https URLs with a host are followed"));
        }
        return Ok(uri);
    }
    let path_and_query = if reference.starts_with('/') {
        reference.to_owned()
    } else if let Some(query) = reference.strip_prefix('?') {
        format!("{}?{query}", base.path())
    } else {
        let dir = base.path().rsplit_once('/').map_or("", |(dir, _)| dir);
        format!("{dir}/{reference}")
    };
    let pq: PathAndQuery = path_and_query.parse().map_err(|e| bad(&format!("{e}")))?;
    Uri::builder()
        .scheme(scheme)
        .authority(authority)
        .path_and_query(pq)
        .build()
        .map_err(|e| bad(&format!("{e}")))
}

fn has_scheme(s: &str) -> bool {
    let Some((scheme, _)) = s.split_once(':') else { return false };
    let mut bytes = scheme.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

/// The port of `uri`, with the scheme's default filled in.
fn port_or_default(uri: &Uri) -> Option<u16> {
    uri.port_u16().or_else(|| match uri.scheme() {
        Some(s) if *s == Scheme::HTTPS => Some(443),
        Some(s) if *s == Scheme::HTTP => Some(80),
        _ => None,
    })
}

/// Whether `a` and `b` have the same origin: scheme, host (ignoring ASCII case) and port,
/// with default ports normalized (`https://r` == `https://r:443`).
pub(crate) fn same_origin(a: &Uri, b: &Uri) -> bool {
    let host = |u: &Uri| u.authority().map(Authority::host).map(str::to_ascii_lowercase);
    a.scheme() == b.scheme()
        && host(a).is_some()
        && host(a) == host(b)
        && port_or_default(a) == port_or_default(b)
}

/// Whether `host` (a host name or IP literal, IPv6 with or without brackets) is a
/// loopback address or `localhost`.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") || host.to_ascii_lowercase().ends_with(".localhost") {
        return true;
    }
    match host.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        Ok(ip) => ip.is_loopback(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Uri {
        s.parse().unwrap()
    }

    #[test]
    fn resolves_the_forms_registries_send() {
        let base = u("https://r.example:5000/v2/a/blobs/uploads/?x=1");
        for (reference, want) in [
            (
                "/v2/a/blobs/uploads/123?_state=abc",
                "https://r.example:5000/v2/a/blobs/uploads/123?_state=abc",
            ),
            ("123?_state=abc", "https://r.example:5000/v2/a/blobs/uploads/123?_state=abc"),
            ("?n=10", "https://r.example:5000/v2/a/blobs/uploads/?n=10"),
            ("https://storage.example/blob?sig=1", "https://storage.example/blob?sig=1"),
            ("//other.example/x", "https://other.example/x"),
            ("  /v2/_catalog?last=b&n=2 ", "https://r.example:5000/v2/_catalog?last=b&n=2"),
        ] {
            assert_eq!(resolve(&base, reference).unwrap().to_string(), want, "{reference}");
        }
        assert!(resolve(&base, "").is_err());
        assert!(resolve(&base, "mailto:x").is_err());
    }

    #[test]
    fn origins_normalize_default_ports() {
        assert!(same_origin(&u("https://r/v2/"), &u("https://R:443/x")));
        assert!(same_origin(&u("http://127.0.0.1:5000/a"), &u("http://127.0.0.1:5000/b")));
        assert!(!same_origin(&u("https://r/v2/"), &u("http://r/v2/")));
        assert!(!same_origin(&u("https://r/v2/"), &u("https://r:5000/v2/")));
        assert!(!same_origin(&u("https://r/v2/"), &u("https://s/v2/")));
    }

    #[test]
    fn loopback_hosts() {
        for (h, want) in [
            ("localhost", true),
            ("127.0.0.1", true),
            ("127.1.2.3", true),
            ("[::1]", true),
            ("::1", true),
            ("[::ffff:127.0.0.1]", true),
            ("::ffff:10.0.0.1", false),
            ("registry.localhost", true),
            ("10.0.0.1", false),
            ("example.com", false),
        ] {
            assert_eq!(is_loopback_host(h), want, "{h}");
        }
    }
}
