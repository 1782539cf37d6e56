use super::*;

type Production = fn(&str) -> Result<(&str, &str), Error>;

#[test]
fn productions_match_prefixes() {
    let ok: &[(Production, &str, &str)] = &[
        (domain_component, "a-b.c", "a-b"),
        (domain_component, "a--b", "a--b"),
        (domain_name, "a.b.c/x", "a.b.c"),
        (domain_name, "Asdf.com", "Asdf.com"),
        (ipv6_literal, "[::1]:5000", "[::1]"),
        (host, "[fd00123123123]", "[fd00123123123]"),
        (port, ":5000/x", ":5000"),
        (domain_and_port, "localhost:8080/x", "localhost:8080"),
        (domain_and_port, "test.com", "test.com"),
        (separator, "__a", "__"),
        (separator, "---a", "---"),
        (separator, "_a", "_"),
        (path_component, "foo__bar-baz.qux/x", "foo__bar-baz.qux"),
        (path_component, "ver---sion", "ver---sion"),
        (path, "a/b/c:tag", "a/b/c"),
        (tag, "v1.0-rc_1@", "v1.0-rc_1"),
        (
            digest,
            "sha256+b64u.x:0123456789abcdef0123456789ABCDEF",
            "sha256+b64u.x:0123456789abcdef0123456789ABCDEF",
        ),
    ];
    for (production, input, matched) in ok {
        let (value, rest) = production(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(value, *matched, "{input:?}");
        assert_eq!(format!("{value}{rest}"), *input);
    }
}

#[test]
fn productions_fail_where_the_input_stops_matching() {
    let bad: &[(Production, &str, usize, &str)] = &[
        (domain_component, "-ab", 0, "invalid character '-' in registry at byte 0"),
        (domain_component, "ab-.com", 3, "invalid character '.' in registry at byte 3"),
        (domain_name, "ab.-com", 3, "invalid character '-' in registry at byte 3"),
        (domain_name, "ab.com-", 7, "unexpected end of input in registry at byte 7"),
        (ipv6_literal, "[fe80::1%eth0]", 8, "invalid character '%' in registry at byte 8"),
        (ipv6_literal, "[]", 1, "invalid character ']' in registry at byte 1"),
        (domain_and_port, "test.com:http", 9, "invalid character 'h' in registry port at byte 9"),
        (path_component, "a___b", 3, "invalid character '_' in repository path at byte 3"),
        (path_component, "dock..er", 5, "invalid character '.' in repository path at byte 5"),
        (path_component, "Foo", 0, "invalid character 'F' in repository path at byte 0"),
        (path, "a//b", 2, "invalid character '/' in repository path at byte 2"),
        (path, "docker/", 7, "unexpected end of input in repository path at byte 7"),
        (tag, "-foo", 0, "invalid character '-' in tag at byte 0"),
        (tag, &"a".repeat(129), 128, "tag longer than 128 bytes at byte 128"),
        (digest, "sha256:abc", 10, "digest shorter than 32 characters at byte 10"),
        (digest, "2bad", 0, "invalid character '2' in digest at byte 0"),
        (digest, "sha256+:x", 7, "invalid character ':' in digest at byte 7"),
        (identifier, "abc", 3, "unexpected end of input in reference at byte 3"),
    ];
    for (production, input, offset, message) in bad {
        let err = production(input).expect_err(input);
        assert_eq!((err.offset(), err.to_string().as_str()), (*offset, *message), "{input:?}");
    }
}

#[test]
fn names_choose_domain_or_path_like_the_regexp() {
    let cases: &[(&str, Option<&str>, &str)] = &[
        ("short", None, "short"),
        ("simple/name", Some("simple"), "name"),
        ("a/a/a/a", Some("a"), "a/a/a"),
        ("foo.com", None, "foo.com"),
        ("do__cker/docker", None, "do__cker/docker"),
        ("foo_bar.com/x", None, "foo_bar.com/x"),
        ("[::1]:5000/repo", Some("[::1]:5000"), "repo"),
        ("Asdf.com/foo/bar", Some("Asdf.com"), "foo/bar"),
    ];
    for (input, domain, path) in cases {
        let n = name(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!((n.domain, n.path), (*domain, *path), "{input:?}");
    }
    let errors: &[(&str, &str)] = &[
        ("foo_bar.com:8080/app", "invalid character '_' in registry at byte 3"),
        ("do__cker:8080/docker", "invalid character '_' in registry at byte 2"),
        ("-docker/docker", "invalid character '-' in repository path at byte 0"),
        ("Foo/FarB", "invalid character 'F' in repository path at byte 4"),
        ("a^a", "invalid character '^' in repository path at byte 1"),
        ("", "unexpected end of input in repository path at byte 0"),
    ];
    for (input, message) in errors {
        assert_eq!(name(input).expect_err(input).to_string(), *message, "{input:?}");
    }
}

#[test]
fn references_split_into_components() {
    let d = "sha256:be178c0543eb17f5f3043021c9e5fcf30285e557a4fc309cce97ff9ca6182912";
    let input = format!("localhost:8080@{d}");
    let c = reference(&input).unwrap();
    assert_eq!((c.domain, c.path, c.tag, c.digest), (None, "localhost", Some("8080"), Some(d)));
    assert_eq!(c.name, "localhost");
    let input = format!("r.io:1/a/b:t@{d}");
    let c = reference(&input).unwrap();
    assert_eq!((c.domain, c.path, c.tag), (Some("r.io:1"), "a/b", Some("t")));
    assert_eq!(c.name, "r.io:1/a/b");
    for (input, message) in [
        ("registry.com:8080/myapp:invalid~tag", "invalid character '~' in tag at byte 31"),
        ("foo$", "invalid character '$' in repository path at byte 3"),
        ("foo@sha256:abc", "digest shorter than 32 characters at byte 14"),
    ] {
        assert_eq!(reference(input).expect_err(input).to_string(), message, "{input:?}");
    }
}

#[test]
fn productions_split_what_they_match() {
    assert_eq!(domain_and_port("[::1]:5000/repo").unwrap(), ("[::1]:5000", "/repo"));
    assert_eq!(tag("v1.2@sha256:…").unwrap(), ("v1.2", "@sha256:…"));
    let c = reference("localhost:5000/a/b:v1").unwrap();
    assert_eq!((c.domain, c.path, c.tag, c.digest), (Some("localhost:5000"), "a/b", Some("v1"), None));
    assert_eq!(path_component("a___b").unwrap_err().offset(), 3);
}
