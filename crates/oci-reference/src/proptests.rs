//! Property tests: generated valid references round-trip through `Display`, and no
//! input makes any entry point panic.

use proptest::prelude::*;

use crate::{Reference, StrictParts, UnnormalizedReference, grammar, name_from_api};

const CASES: u32 = 256;

fn alnum(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(prop::sample::select(b"abcdefghijklmnopqrstuvwxyz0123456789".to_vec()), 1..=max)
        .prop_map(|b| String::from_utf8(b).unwrap_or_default())
}

fn path_component() -> impl Strategy<Value = String> {
    let separator = prop::sample::select(vec![".", "_", "__", "-", "--"]);
    (alnum(8), proptest::collection::vec((separator, alnum(6)), 0..3)).prop_map(|(first, more)| {
        more.into_iter().fold(first, |mut c, (sep, part)| {
            c.push_str(sep);
            c.push_str(&part);
            c
        })
    })
}

fn path() -> impl Strategy<Value = String> {
    proptest::collection::vec(path_component(), 1..4).prop_map(|c| c.join("/"))
}

fn domain() -> impl Strategy<Value = String> {
    let label = (alnum(6), prop::option::of(alnum(4))).prop_map(|(a, b)| match b {
        Some(b) => format!("{a}-{b}"),
        None => a,
    });
    let dns = proptest::collection::vec(label, 1..4).prop_map(|l| l.join("."));
    let ipv6 =
        proptest::collection::vec(prop::sample::select(vec!["2001", "db8", "", "1", "fe80", "ABCD"]), 2..6)
            .prop_map(|g| format!("[{}]", g.join(":")));
    let host = prop_oneof![dns, ipv6, Just("localhost".to_owned()), Just("docker.io".to_owned())];
    (host, prop::option::of(1u32..65536)).prop_map(|(h, port)| match port {
        Some(p) => format!("{h}:{p}"),
        None => h,
    })
}

fn tag() -> impl Strategy<Value = String> {
    let first = prop::sample::select(b"abcXYZ019_".to_vec());
    let rest = proptest::collection::vec(prop::sample::select(b"abcXYZ019_.-".to_vec()), 0..20);
    (first, rest).prop_map(|(f, r)| {
        let mut b = vec![f];
        b.extend(r);
        String::from_utf8(b).unwrap_or_default()
    })
}

fn digest() -> impl Strategy<Value = String> {
    let hex = |n| proptest::collection::vec(prop::sample::select(b"0123456789abcdef".to_vec()), n);
    prop_oneof![
        hex(64).prop_map(|h| format!("sha256:{}", String::from_utf8(h).unwrap_or_default())),
        hex(128).prop_map(|h| format!("sha512:{}", String::from_utf8(h).unwrap_or_default())),
    ]
}

/// A valid reference and its parts.
fn parts() -> impl Strategy<Value = (Option<String>, String, Option<String>, Option<String>)> {
    (prop::option::of(domain()), path(), prop::option::of(tag()), prop::option::of(digest()))
}

fn compose(domain: Option<&str>, path: &str, tag: Option<&str>, digest: Option<&str>) -> String {
    let mut s = domain.map(|d| format!("{d}/")).unwrap_or_default();
    s.push_str(path);
    if let Some(t) = tag {
        s.push(':');
        s.push_str(t);
    }
    if let Some(d) = digest {
        s.push('@');
        s.push_str(d);
    }
    s
}

/// Offsets are inside the input, on a character boundary.
fn check_error(input: &str, err: &crate::Error) {
    assert!(err.offset() <= input.len() && input.is_char_boundary(err.offset()), "{input:?}: {err:?}");
    let _ = err.to_string();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn generated_references_round_trip((domain, path, tag, digest) in parts()) {
        let s = compose(domain.as_deref(), &path, tag.as_deref(), digest.as_deref());
        let r = UnnormalizedReference::parse(&s).unwrap_or_else(|e| panic!("{s:?}: {e}"));
        prop_assert_eq!(r.to_string(), s.clone());
        prop_assert_eq!(&UnnormalizedReference::parse(r.as_str()).unwrap(), &r);
        if let Some(d) = &domain {
            prop_assert_eq!((r.domain(), r.path()), (Some(d.as_str()), path.as_str()));
        } else {
            prop_assert_eq!(r.name(), path.as_str());
        }
        prop_assert_eq!((r.tag(), r.digest()), (tag.as_deref(), digest.as_deref()));

        let n = match Reference::parse(&s) {
            Ok(n) => n,
            // Upstream reads a host-like first component that is no host (`a_b.c/d`) as a
            // path with no domain; a `Reference` always has a domain and refuses it.
            Err(e) => {
                prop_assert!(domain.is_none() && e.part() == crate::Part::Registry, "{:?}: {}", s, e);
                return Ok(());
            }
        };
        prop_assert_eq!(&Reference::parse(n.as_str()).unwrap(), &n);
        prop_assert_eq!(&r.normalize().unwrap(), &n);
        prop_assert_eq!(n.digest().map(oci_spec_types::Digest::as_str), digest.as_deref());
        // A familiar string whose first component looks like a host (`docker.io/a.b/c`
        // is `a.b/c`) reads back differently, in Docker too.
        let familiar = n.familiar_string();
        let host_like = familiar
            .split_once('/')
            .is_some_and(|(first, _)| first == "localhost" || first.contains(['.', ':']));
        if !host_like {
            prop_assert_eq!(&Reference::parse(familiar).unwrap(), &n);
        }
        prop_assert_eq!(&UnnormalizedReference::parse(n.as_str()).unwrap().normalize().unwrap(), &n);
        prop_assert_eq!(&n.as_str().parse::<Reference>().unwrap(), &n);
        let json = serde_json::to_string(&n).unwrap();
        prop_assert_eq!(&serde_json::from_str::<Reference>(&json).unwrap(), &n);

        if let Some(d) = &domain {
            let strict = Reference::parse_strict(&s).unwrap_or_else(|e| panic!("{s:?}: {e}"));
            prop_assert_eq!((strict.domain(), strict.path()), (d.as_str(), path.as_str()));
            prop_assert_eq!(&Reference::parse_strict(strict.as_str()).unwrap(), &strict);
            prop_assert_eq!(strict.strict_parts().to_string(), strict.to_string());
        }
    }

    #[test]
    fn no_panic_on_any_string(s in "\\PC*", pattern in "[a-z*?\\[\\]^\\\\/-]{0,8}") {
        for result in [
            UnnormalizedReference::parse(&s),
            UnnormalizedReference::parse_name(&s),
        ] {
            match result {
                Ok(r) => prop_assert_eq!(UnnormalizedReference::parse(r.as_str()).map(|p| p.to_string()), Ok(r.to_string())),
                Err(e) => check_error(&s, &e),
            }
        }
        for result in [
            Reference::parse(&s),
            Reference::parse_docker_ref(&s),
            Reference::parse_fully_qualified(&s),
            Reference::parse_strict(&s),
        ] {
            match result {
                Ok(r) => prop_assert_eq!(UnnormalizedReference::parse(r.as_str()).map(|p| p.to_string()), Ok(r.to_string())),
                Err(e) => check_error(&s, &e),
            }
        }
        let _ = Reference::parse_any(&s).map(|a| a.familiar_match(&pattern));
        let _ = grammar::reference(&s);
        let _ = grammar::name(&s);
        let _ = grammar::identifier(&s);
        let _ = name_from_api(&s);
        let _ = StrictParts::new(&s, &s, &s).to_string();
        if let Ok(r) = UnnormalizedReference::parse("a/b") {
            let _ = r.with_tag(&s);
            let _ = r.with_digest(&s);
            let _ = r.normalize().map(|n| n.familiar_match(&s));
        }
    }

    #[test]
    fn no_panic_on_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..96)) {
        let s = String::from_utf8_lossy(&bytes);
        if let Err(e) = UnnormalizedReference::parse(&s) {
            check_error(&s, &e);
            if let Some(c) = e.found() {
                prop_assert!(s[e.offset()..].starts_with(c), "{:?}: {:?}", s, e);
            }
        }
        if let Err(e) = Reference::parse(&s) {
            check_error(&s, &e);
        }
    }
}
