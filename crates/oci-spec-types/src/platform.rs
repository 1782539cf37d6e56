//! Platforms: parsing `os/arch[/variant]`, normalization and matching.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Extra;

/// The platform an image runs on.
///
/// Matching normalizes the usual aliases first: `x86_64` = `amd64`, `aarch64` =
/// `arm64` (with `v8` its default variant), `armhf` = `arm/v7`, `armel` = `arm/v6`,
/// `i386` = `386`, `macos` = `darwin`.
///
/// ```
/// use oci_spec_types::Platform;
///
/// let wanted: Platform = "linux/aarch64".parse()?;
/// assert_eq!(wanted.normalized().to_string(), "linux/arm64");
/// assert!(wanted.matches(&"linux/arm64/v8".parse()?));
/// // an arm/v7 machine also runs arm/v6 images, but not the reverse
/// let v7: Platform = "linux/armhf".parse()?;
/// assert!(v7.compatible(&"linux/arm/v6".parse()?));
/// assert!(!"linux/arm/v6".parse::<Platform>()?.compatible(&v7));
/// # Ok::<(), oci_spec_types::platform::PlatformError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Platform {
    /// CPU architecture (`amd64`, `arm64`, ...; Go's `GOARCH` values).
    pub architecture: String,
    /// Operating system (`linux`, `windows`, ...; Go's `GOOS` values).
    pub os: String,
    /// Operating system version (`10.0.14393.1066` on Windows).
    #[serde(rename = "os.version", default, skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
    /// Required operating system features (`win32k` on Windows).
    #[serde(rename = "os.features", default, skip_serializing_if = "Vec::is_empty")]
    pub os_features: Vec<String>,
    /// CPU variant (`v7` for `arm`, `v8` for `arm64`, `v2` for `amd64`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Reserved by the image-spec for future use.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<String>,
    /// Fields this version of the spec does not define, kept for round trips.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A platform string that is not `os/arch[/variant]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformError {
    input: String,
    kind: PlatformErrorKind,
    what: &'static str,
}

/// Which part of a platform string is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PlatformErrorKind {
    /// Not two or three `/`-separated parts.
    Shape,
    /// The os part is empty or has characters other than `[A-Za-z0-9_.-]`, or its
    /// `(version)` is not closed.
    Os,
    /// The architecture part is empty or has characters other than `[A-Za-z0-9_.-]`.
    Architecture,
    /// The variant part is empty or has characters other than `[A-Za-z0-9_.-]`.
    Variant,
}

impl PlatformError {
    /// Which part is wrong.
    #[must_use]
    pub fn kind(&self) -> PlatformErrorKind {
        self.kind
    }
}

impl fmt::Display for PlatformError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid platform {:?}: {}", self.input, self.what)
    }
}

impl std::error::Error for PlatformError {}

impl Platform {
    /// A platform for `os` and `architecture`.
    pub fn new(os: impl Into<String>, architecture: impl Into<String>) -> Self {
        Self { os: os.into(), architecture: architecture.into(), ..Self::default() }
    }

    /// The same platform with a variant.
    #[must_use]
    pub fn with_variant(mut self, variant: impl Into<String>) -> Self {
        self.variant = Some(variant.into());
        self
    }

    /// The same platform with an OS version.
    #[must_use]
    pub fn with_os_version(mut self, os_version: impl Into<String>) -> Self {
        self.os_version = Some(os_version.into());
        self
    }

    /// The platform with aliases resolved and the default variant dropped
    /// (`linux/aarch64/v8` -> `linux/arm64`, `linux/armhf` -> `linux/arm/v7`).
    #[must_use]
    pub fn normalized(&self) -> Self {
        let mut p = self.clone();
        p.os = p.os.to_ascii_lowercase();
        if p.os == "macos" {
            "darwin".clone_into(&mut p.os);
        }
        let arch = p.architecture.to_ascii_lowercase();
        let variant = p.variant.take().map(|v| v.to_ascii_lowercase());
        let (arch, variant) = match arch.as_str() {
            "i386" => ("386".to_owned(), variant),
            "x86_64" | "x86-64" | "amd64" => ("amd64".to_owned(), variant.filter(|v| v != "v1")),
            "aarch64" | "arm64" => {
                ("arm64".to_owned(), variant.filter(|v| !matches!(v.as_str(), "8" | "v8" | "v8.0")))
            }
            "armhf" => ("arm".to_owned(), Some("v7".to_owned())),
            "armel" => ("arm".to_owned(), Some("v6".to_owned())),
            "arm" => {
                let v = match variant.as_deref() {
                    None | Some("" | "7" | "v7") => "v7".to_owned(),
                    Some(v @ ("5" | "6" | "8")) => format!("v{v}"),
                    Some(v) => v.to_owned(),
                };
                ("arm".to_owned(), Some(v))
            }
            _ => (arch, variant),
        };
        p.architecture = arch;
        p.variant = variant.filter(|v| !v.is_empty());
        p
    }

    /// Whether `candidate` is the same platform, after normalization. When `self`
    /// names an OS version, the candidate must have the same one.
    #[must_use]
    pub fn matches(&self, candidate: &Platform) -> bool {
        let (a, b) = (self.normalized(), candidate.normalized());
        a.os == b.os
            && a.architecture == b.architecture
            && a.variant == b.variant
            && a.os_version.as_ref().is_none_or(|v| b.os_version.as_ref() == Some(v))
    }

    /// The platforms a machine of this platform runs, best first: itself, then the
    /// older variants of its architecture (`amd64/v3` runs `v2` and `v1`; `arm/v7`
    /// runs `v6` and `v5`; `arm64` runs `arm/v8` down to `arm/v5`).
    #[must_use]
    pub fn runnable(&self) -> Vec<Platform> {
        let me = self.normalized();
        let mut out = vec![me.clone()];
        let variant_number = |v: &Option<String>| {
            v.as_deref().and_then(|v| v.strip_prefix('v')).and_then(|n| n.parse::<u32>().ok())
        };
        let with = |arch: &str, variant: Option<String>| Platform {
            architecture: arch.to_owned(),
            variant,
            ..me.clone()
        };
        match me.architecture.as_str() {
            "amd64" => {
                let top = variant_number(&me.variant).unwrap_or(1);
                // `v1` is the baseline and normalizes to no variant.
                out.extend((1..top).rev().map(|n| with("amd64", (n > 1).then(|| format!("v{n}")))));
            }
            "arm" => {
                let top = variant_number(&me.variant).unwrap_or(7);
                out.extend((5..top).rev().map(|n| with("arm", Some(format!("v{n}")))));
            }
            "arm64" if me.variant.is_none() => {
                out.extend((5..=8).rev().map(|n| with("arm", Some(format!("v{n}")))));
            }
            _ => {}
        }
        out
    }

    /// Whether a machine of this platform runs images built for `candidate`.
    #[must_use]
    pub fn compatible(&self, candidate: &Platform) -> bool {
        self.rank(candidate).is_some()
    }

    /// How good a match `candidate` is (0 best), `None` when it cannot run here.
    #[must_use]
    pub fn rank(&self, candidate: &Platform) -> Option<usize> {
        self.runnable().iter().position(|p| p.matches(candidate))
    }
}

impl FromStr for Platform {
    type Err = PlatformError;

    /// Parses `os/arch[/variant]`, where `os` may carry a version in parentheses
    /// (`windows(10.0.17763)/amd64`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        use PlatformErrorKind::{Architecture, Os, Shape, Variant};
        let err = |kind, what| PlatformError { input: s.to_owned(), kind, what };
        let mut parts = s.split('/');
        let os_part = parts.next().unwrap_or_default();
        let arch = parts.next().ok_or_else(|| err(Shape, "expected os/arch[/variant]"))?;
        let variant = parts.next();
        if parts.next().is_some() {
            return Err(err(Shape, "too many '/'-separated parts: expected os/arch[/variant]"));
        }
        let (os, os_version) = match os_part.split_once('(') {
            Some((os, rest)) => {
                let version =
                    rest.strip_suffix(')').ok_or_else(|| err(Os, "unclosed '(' in the os version"))?;
                (os, Some(version.to_owned()))
            }
            None => (os_part, None),
        };
        let good =
            |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
        if !good(os) {
            return Err(err(Os, "the os part is empty or has characters other than [A-Za-z0-9_.-]"));
        }
        if !good(arch) {
            return Err(err(
                Architecture,
                "the architecture part is empty or has characters other than [A-Za-z0-9_.-]",
            ));
        }
        if variant.is_some_and(|v| !good(v)) {
            return Err(err(
                Variant,
                "the variant part is empty or has characters other than [A-Za-z0-9_.-]",
            ));
        }
        Ok(Self {
            os: os.to_owned(),
            architecture: arch.to_owned(),
            variant: variant.map(str::to_owned),
            os_version,
            ..Self::default()
        })
    }
}

impl fmt::Display for Platform {
    /// Writes `os[(version)]/arch[/variant]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.os)?;
        if let Some(v) = &self.os_version {
            write!(f, "({v})")?;
        }
        write!(f, "/{}", self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Platform {
        s.parse().unwrap()
    }

    #[test]
    fn normalization() {
        for (input, want) in [
            ("linux/x86_64", "linux/amd64"),
            ("linux/amd64/v1", "linux/amd64"),
            ("linux/amd64/v3", "linux/amd64/v3"),
            ("linux/aarch64", "linux/arm64"),
            ("linux/arm64/v8", "linux/arm64"),
            ("linux/arm64/v8.2", "linux/arm64/v8.2"),
            ("linux/armhf", "linux/arm/v7"),
            ("linux/armel", "linux/arm/v6"),
            ("linux/arm", "linux/arm/v7"),
            ("linux/arm/6", "linux/arm/v6"),
            ("Linux/i386", "linux/386"),
            ("macos/arm64", "darwin/arm64"),
            ("windows(10.0.17763)/amd64", "windows(10.0.17763)/amd64"),
        ] {
            assert_eq!(p(input).normalized().to_string(), want, "{input}");
        }
    }

    #[test]
    fn parse_errors_say_what_is_wrong() {
        assert_eq!(p("linux/arm/v7").variant.as_deref(), Some("v7"));
        for bad in ["linux", "linux/", "/amd64", "linux/amd64/v1/x", "li nux/amd64", "windows(10/amd64"] {
            assert!(bad.parse::<Platform>().is_err(), "{bad}");
        }
        assert_eq!(
            "linux".parse::<Platform>().unwrap_err().to_string(),
            "invalid platform \"linux\": expected os/arch[/variant]"
        );
        for (bad, kind) in [
            ("linux", PlatformErrorKind::Shape),
            ("windows(10/amd64", PlatformErrorKind::Os),
            ("linux/am d64", PlatformErrorKind::Architecture),
            ("linux/arm/", PlatformErrorKind::Variant),
        ] {
            assert_eq!(bad.parse::<Platform>().unwrap_err().kind(), kind, "{bad}");
        }
    }

    #[test]
    fn compatibility_ranks_best_first() {
        let v3 = p("linux/amd64/v3");
        assert_eq!(v3.rank(&p("linux/amd64/v3")), Some(0));
        assert_eq!(v3.rank(&p("linux/amd64/v2")), Some(1));
        assert_eq!(v3.rank(&p("linux/amd64")), Some(2));
        assert_eq!(p("linux/amd64").rank(&p("linux/amd64/v2")), None);
        assert!(p("linux/arm64").compatible(&p("linux/arm/v7")));
        assert!(!p("linux/arm/v7").compatible(&p("linux/arm64")));
        assert!(!p("linux/amd64").compatible(&p("windows/amd64")));
        let win = p("windows/amd64").with_os_version("10.0.1");
        assert!(!win.matches(&p("windows/amd64")));
        assert!(p("windows/amd64").matches(&win));
    }

    #[test]
    fn json_names() {
        let mut plat = p("windows/amd64").with_os_version("10.0.14393.1066");
        plat.os_features.push("win32k".into());
        let json = serde_json::to_string(&plat).unwrap();
        assert_eq!(
            json,
            r#"{"architecture":"amd64","os":"windows","os.version":"10.0.14393.1066","os.features":["win32k"]}"#
        );
        assert_eq!(serde_json::from_str::<Platform>(&json).unwrap(), plat);
    }
}
