//! Validation equal to the image-spec's schema validator.
//!
//! The image-spec validator first unmarshals a document into its Go type (wrong JSON
//! types and bad base64 fail there), checks descriptor digests against the digest
//! grammar (accepting algorithms it does not know) and config `Env` entries against
//! `^[^=]+=.*$`, then validates the JSON schema with format assertions (`uri`,
//! `date-time`). This module walks the same rules by hand over the parsed JSON and
//! reports every problem with its JSON path.

use std::fmt;
use std::fmt::Write as _;

use serde_json::{Map, Value};

use crate::{Digest, MediaType, Timestamp};

/// Validates `bytes` as the document `media_type` names: a descriptor, image
/// manifest, image index, image config or `oci-layout` file (Docker schema 2
/// manifests, manifest lists and configs use the OCI schemas).
///
/// ```
/// use oci_spec_types::{validate::validate, MediaType};
///
/// let ok = br#"{"mediaType":"text/plain","size":5,"digest":"sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"}"#;
/// assert!(validate(&MediaType::DESCRIPTOR, ok).is_ok());
/// let bad = br#"{"mediaType":"text/plain","size":-1,"digest":"sha256:00","urls":["value"]}"#;
/// let err = validate(&MediaType::DESCRIPTOR, bad).unwrap_err();
/// assert_eq!(err.to_string(), "invalid application/vnd.oci.descriptor.v1+json: \
///     size: -1 is less than the minimum of 0; \
///     digest: invalid checksum digest length: sha256 takes 64 hex characters, found 2; \
///     urls[0]: \"value\" is not an absolute URI");
/// ```
pub fn validate(media_type: &MediaType, bytes: &[u8]) -> Result<(), ValidationError> {
    #[derive(Clone, Copy)]
    enum Schema {
        Descriptor,
        Manifest,
        Index,
        Config,
        Layout,
    }
    let schema = match media_type.essence() {
        e if e == MediaType::DESCRIPTOR.as_str() => Schema::Descriptor,
        e if e == MediaType::IMAGE_MANIFEST.as_str() || e == MediaType::DOCKER_MANIFEST.as_str() => {
            Schema::Manifest
        }
        e if e == MediaType::IMAGE_INDEX.as_str() || e == MediaType::DOCKER_MANIFEST_LIST.as_str() => {
            Schema::Index
        }
        e if e == MediaType::IMAGE_CONFIG.as_str() || e == MediaType::DOCKER_CONFIG.as_str() => {
            Schema::Config
        }
        e if e == MediaType::LAYOUT_HEADER.as_str() => Schema::Layout,
        _ => {
            return Err(ValidationError {
                media_type: media_type.clone(),
                problems: vec![Problem {
                    path: String::new(),
                    message: "no schema for this media type".to_owned(),
                }],
            });
        }
    };
    let mut checker = Checker { path: Vec::new(), problems: Vec::new() };
    let parsed = serde_json::from_slice::<Value>(bytes);
    match &parsed {
        Ok(value) => match schema {
            Schema::Descriptor => checker.descriptor(value),
            Schema::Manifest => checker.manifest(value),
            Schema::Index => checker.index(value),
            Schema::Config => checker.config(value),
            Schema::Layout => checker.layout(value),
        },
        Err(e) => checker.problem(format!("not JSON: {e}")),
    }
    if checker.problems.is_empty() {
        Ok(())
    } else {
        Err(ValidationError { media_type: media_type.clone(), problems: checker.problems })
    }
}

/// A document that breaks the image-spec: every problem found, with its JSON path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    media_type: MediaType,
    problems: Vec<Problem>,
}

/// One rule a document breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Problem {
    /// Where, as a JSON path like `layers[0].size` (empty for the whole document).
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl ValidationError {
    /// Every problem found.
    #[must_use]
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {}: ", self.media_type)?;
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            if p.path.is_empty() {
                f.write_str(&p.message)?;
            } else {
                write!(f, "{}: {}", p.path, p.message)?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for ValidationError {}

enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

struct Checker<'a> {
    path: Vec<Seg<'a>>,
    problems: Vec<Problem>,
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Whether `s` is an absolute URI (RFC 3986: a scheme, `:`, no white space or
/// control characters, well-formed percent escapes), as the schema's `uri` format.
fn is_absolute_uri(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    let mut sb = scheme.bytes();
    let scheme_ok = sb.next().is_some_and(|b| b.is_ascii_alphabetic())
        && sb.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    let bytes = rest.as_bytes();
    let escapes_ok = bytes.iter().enumerate().all(|(i, &b)| {
        b != b'%'
            || (bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    });
    scheme_ok
        && escapes_ok
        && !rest.bytes().any(|b| b.is_ascii_control() || b == b' ' || b == b'"' || b == b'<' || b == b'>')
}

impl<'a> Checker<'a> {
    fn problem(&mut self, message: String) {
        let mut path = String::new();
        for seg in &self.path {
            match seg {
                Seg::Key(k) if path.is_empty() => path.push_str(k),
                Seg::Key(k) => {
                    path.push('.');
                    path.push_str(k);
                }
                Seg::Index(i) => {
                    let _ = write!(path, "[{i}]");
                }
            }
        }
        self.problems.push(Problem { path, message });
    }

    fn at<T>(&mut self, seg: Seg<'a>, f: impl FnOnce(&mut Self) -> T) -> T {
        self.path.push(seg);
        let out = f(self);
        self.path.pop();
        out
    }

    fn object<'v>(&mut self, v: &'v Value) -> Option<&'v Map<String, Value>> {
        let o = v.as_object();
        if o.is_none() {
            self.problem(format!("expected an object, found {}", type_name(v)));
        }
        o
    }

    fn required(&mut self, o: &Map<String, Value>, keys: &[&str]) {
        for k in keys {
            if !o.contains_key(*k) {
                self.problem(format!("missing required field {k:?}"));
            }
        }
    }

    /// Runs `check` on `o[key]` when present, with the path extended.
    fn field(&mut self, o: &'a Map<String, Value>, key: &'a str, check: impl FnOnce(&mut Self, &'a Value)) {
        if let Some(v) = o.get(key) {
            self.at(Seg::Key(key), |c| check(c, v));
        }
    }

    fn string<'v>(&mut self, v: &'v Value) -> Option<&'v str> {
        let s = v.as_str();
        if s.is_none() {
            self.problem(format!("expected a string, found {}", type_name(v)));
        }
        s
    }

    fn strings(&mut self, v: &'a Value) {
        self.array(v, |c, item| {
            c.string(item);
        });
    }

    fn array(&mut self, v: &'a Value, mut each: impl FnMut(&mut Self, &'a Value)) {
        let Some(items) = v.as_array() else {
            self.problem(format!("expected an array, found {}", type_name(v)));
            return;
        };
        for (i, item) in items.iter().enumerate() {
            self.at(Seg::Index(i), |c| each(c, item));
        }
    }

    fn nullable(&mut self, v: &'a Value, check: impl FnOnce(&mut Self, &'a Value)) {
        if !v.is_null() {
            check(self, v);
        }
    }

    fn boolean(&mut self, v: &Value) {
        if !v.is_boolean() {
            self.problem(format!("expected a boolean, found {}", type_name(v)));
        }
    }

    /// An object whose values (under non-empty keys) all pass `each`.
    fn map_of(&mut self, v: &'a Value, each: fn(&mut Self, &'a Value)) {
        let Some(o) = self.object(v) else { return };
        for (k, item) in o {
            if !k.is_empty() {
                self.at(Seg::Key(k), |c| each(c, item));
            }
        }
    }

    fn map_string_string(&mut self, v: &'a Value) {
        self.map_of(v, |c, item| {
            c.string(item);
        });
    }

    fn map_string_object(&mut self, v: &'a Value) {
        self.map_of(v, |c, item| {
            c.object(item);
        });
    }

    fn media_type(&mut self, v: &Value) {
        if let Some(s) = self.string(v) {
            if !MediaType::from(s).is_valid() {
                self.problem(format!("{s:?} is not a media type (type/subtype per RFC 6838)"));
            }
        }
    }

    fn date_time(&mut self, v: &Value) {
        if let Some(s) = self.string(v) {
            if let Err(e) = s.parse::<Timestamp>() {
                self.problem(e.to_string());
            }
        }
    }

    fn schema_version(&mut self, v: &Value) {
        match v.as_i64() {
            Some(2) => {}
            Some(n) => self.problem(format!("schemaVersion must be 2, found {n}")),
            None => self.problem(format!("expected an integer, found {}", type_name(v))),
        }
    }

    fn descriptor(&mut self, v: &'a Value) {
        let Some(o) = self.object(v) else { return };
        self.required(o, &["mediaType", "size", "digest"]);
        self.field(o, "mediaType", Self::media_type);
        self.field(o, "artifactType", Self::media_type);
        self.field(o, "size", |c, v| match (v.as_i64(), v.as_u64()) {
            (Some(n), _) if n < 0 => c.problem(format!("{n} is less than the minimum of 0")),
            (Some(_), _) => {}
            (None, Some(n)) => c.problem(format!("{n} is more than the maximum of {}", i64::MAX)),
            (None, None) => c.problem(format!("expected an integer, found {}", type_name(v))),
        });
        self.field(o, "digest", |c, v| {
            if let Some(s) = c.string(v) {
                if let Err(e) = Digest::parse(s) {
                    c.problem(e.to_string());
                }
            }
        });
        self.field(o, "urls", |c, v| {
            c.array(v, |c, item| {
                if let Some(s) = c.string(item) {
                    if !is_absolute_uri(s) {
                        c.problem(format!("{s:?} is not an absolute URI"));
                    }
                }
            });
        });
        self.field(o, "data", |c, v| {
            use base64::Engine as _;
            if let Some(s) = c.string(v) {
                if let Err(e) = base64::engine::general_purpose::STANDARD.decode(s) {
                    c.problem(format!("not standard base64: {e}"));
                }
            }
        });
        self.field(o, "annotations", Self::map_string_string);
        self.field(o, "platform", Self::platform);
    }

    fn platform(&mut self, v: &'a Value) {
        let Some(o) = self.object(v) else { return };
        self.required(o, &["architecture", "os"]);
        for key in ["architecture", "os", "os.version", "variant"] {
            self.field(o, key, |c, v| {
                c.string(v);
            });
        }
        self.field(o, "os.features", Self::strings);
        self.field(o, "features", Self::strings);
    }

    fn manifest(&mut self, v: &'a Value) {
        let Some(o) = self.object(v) else { return };
        self.required(o, &["schemaVersion", "config", "layers"]);
        self.field(o, "schemaVersion", Self::schema_version);
        self.field(o, "mediaType", Self::media_type);
        self.field(o, "artifactType", Self::media_type);
        self.field(o, "config", Self::descriptor);
        self.field(o, "subject", Self::descriptor);
        self.field(o, "layers", |c, v| {
            if v.as_array().is_some_and(Vec::is_empty) {
                c.problem("must have at least one layer".to_owned());
            }
            c.array(v, Self::descriptor);
        });
        self.field(o, "annotations", Self::map_string_string);
    }

    fn index(&mut self, v: &'a Value) {
        let Some(o) = self.object(v) else { return };
        self.required(o, &["schemaVersion", "manifests"]);
        self.field(o, "schemaVersion", Self::schema_version);
        self.field(o, "mediaType", Self::media_type);
        self.field(o, "artifactType", Self::media_type);
        self.field(o, "manifests", |c, v| c.array(v, Self::descriptor));
        self.field(o, "subject", Self::descriptor);
        self.field(o, "annotations", Self::map_string_string);
    }

    fn layout(&mut self, v: &'a Value) {
        let Some(o) = self.object(v) else { return };
        self.required(o, &["imageLayoutVersion"]);
        self.field(o, "imageLayoutVersion", |c, v| {
            if let Some(s) = c.string(v) {
                if s != crate::ImageLayout::VERSION {
                    c.problem(format!("{s:?} is not a known layout version (\"1.0.0\")"));
                }
            }
        });
    }

    fn config(&mut self, v: &'a Value) {
        let Some(o) = self.object(v) else { return };
        self.required(o, &["architecture", "os", "rootfs"]);
        self.field(o, "created", Self::date_time);
        for key in ["author", "architecture", "variant", "os", "os.version"] {
            self.field(o, key, |c, v| {
                c.string(v);
            });
        }
        self.field(o, "os.features", Self::strings);
        self.field(o, "config", Self::exec_config);
        self.field(o, "rootfs", |c, v| {
            let Some(o) = c.object(v) else { return };
            c.required(o, &["diff_ids", "type"]);
            c.field(o, "diff_ids", Self::strings);
            c.field(o, "type", |c, v| {
                if let Some(s) = c.string(v) {
                    if s != "layers" {
                        c.problem(format!("{s:?} is not \"layers\""));
                    }
                }
            });
        });
        self.field(o, "history", |c, v| {
            c.array(v, |c, item| {
                let Some(o) = c.object(item) else { return };
                c.field(o, "created", Self::date_time);
                for key in ["author", "created_by", "comment"] {
                    c.field(o, key, |c, v| {
                        c.string(v);
                    });
                }
                c.field(o, "empty_layer", Self::boolean);
            });
        });
    }

    fn exec_config(&mut self, v: &'a Value) {
        let Some(o) = self.object(v) else { return };
        for key in ["User", "WorkingDir", "StopSignal"] {
            self.field(o, key, |c, v| {
                c.string(v);
            });
        }
        self.field(o, "ExposedPorts", Self::map_string_object);
        self.field(o, "Env", |c, v| {
            c.array(v, |c, item| {
                if let Some(s) = c.string(item) {
                    if s.split_once('=').is_none_or(|(name, _)| name.is_empty()) {
                        c.problem(format!("{s:?} is not NAME=value"));
                    }
                }
            });
        });
        self.field(o, "Entrypoint", |c, v| c.nullable(v, Self::strings));
        self.field(o, "Cmd", |c, v| c.nullable(v, Self::strings));
        self.field(o, "Volumes", |c, v| c.nullable(v, Self::map_string_object));
        self.field(o, "Labels", |c, v| c.nullable(v, Self::map_string_string));
        self.field(o, "ArgsEscaped", Self::boolean);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(mt: &MediaType, json: &str) -> Vec<String> {
        match validate(mt, json.as_bytes()) {
            Ok(()) => Vec::new(),
            Err(e) => e.problems().iter().map(|p| format!("{}: {}", p.path, p.message)).collect(),
        }
    }

    #[test]
    fn paths_point_at_the_problem() {
        let m = r#"{"schemaVersion":3,"config":{"mediaType":"a/b","size":"1","digest":"sha256+b64:abc="},
                   "layers":[{"mediaType":".x/y","size":1,"digest":"x:y"}],"annotations":{"k":1}}"#;
        assert_eq!(
            problems(&MediaType::IMAGE_MANIFEST, m),
            [
                "schemaVersion: schemaVersion must be 2, found 3",
                "config.size: expected an integer, found string",
                "layers[0].mediaType: \".x/y\" is not a media type (type/subtype per RFC 6838)",
                "annotations.k: expected a string, found integer",
            ]
        );
    }

    #[test]
    fn config_rules_beyond_types() {
        let c = r#"{"architecture":"amd64","os":"linux","created":"yesterday",
                    "config":{"Env":["=x","A=","B"],"Cmd":null,"Volumes":null},
                    "rootfs":{"type":"tarballs","diff_ids":[]}}"#;
        assert_eq!(
            problems(&MediaType::IMAGE_CONFIG, c),
            [
                "created: invalid RFC 3339 date-time \"yesterday\": expected a four-digit year",
                "config.Env[0]: \"=x\" is not NAME=value",
                "config.Env[2]: \"B\" is not NAME=value",
                "rootfs.type: \"tarballs\" is not \"layers\"",
            ]
        );
    }

    #[test]
    fn uri_format() {
        for (s, ok) in [
            ("https://example.com/foo", true),
            ("urn:isbn:0451450523", true),
            ("value", false),
            ("1http://x", false),
            ("http://a b", false),
            ("http://x/%zz", false),
        ] {
            assert_eq!(is_absolute_uri(s), ok, "{s}");
        }
    }

    #[test]
    fn unknown_media_types_have_no_schema() {
        let err = validate(&MediaType::from("text/plain"), b"{}").unwrap_err();
        assert_eq!(err.to_string(), "invalid text/plain: no schema for this media type");
    }
}
