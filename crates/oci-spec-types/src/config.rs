//! Image configurations.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Annotations, Digest, Extra, Platform, Timestamp};

/// An image configuration: the platform, the runtime defaults and the layer history.
///
/// Docker's extra fields (`container_config`, `docker_version`, ...) survive a round
/// trip in [`extra`](Self::extra).
///
/// ```
/// use oci_spec_types::ImageConfig;
///
/// let c: ImageConfig = serde_json::from_str(r#"{
///     "architecture": "arm64", "variant": "v8", "os": "linux",
///     "config": {"Env": ["PATH=/bin"], "Labels": {"org.opencontainers.image.version": "1.0"}},
///     "rootfs": {"type": "layers", "diff_ids": []}
/// }"#).unwrap();
/// assert_eq!(c.platform().to_string(), "linux/arm64/v8");
/// assert_eq!(c.labels().and_then(|l| l.version()), Some("1.0"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ImageConfig {
    /// When the image was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<Timestamp>,
    /// Who created the image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// CPU architecture.
    #[serde(default)]
    pub architecture: String,
    /// Operating system.
    #[serde(default)]
    pub os: String,
    /// Operating system version.
    #[serde(rename = "os.version", default, skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
    /// Required operating system features.
    #[serde(rename = "os.features", default, skip_serializing_if = "Vec::is_empty")]
    pub os_features: Vec<String>,
    /// CPU variant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Runtime defaults for containers of this image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<ExecConfig>,
    /// The uncompressed layer digests.
    #[serde(default)]
    pub rootfs: RootFs,
    /// How each layer was made.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<History>,
    /// Fields this version of the spec does not define, kept for round trips.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ImageConfig {
    /// A minimal configuration for `platform` with no layers.
    #[must_use]
    pub fn new(platform: &Platform) -> Self {
        Self {
            created: None,
            author: None,
            architecture: platform.architecture.clone(),
            os: platform.os.clone(),
            os_version: platform.os_version.clone(),
            os_features: platform.os_features.clone(),
            variant: platform.variant.clone(),
            config: None,
            rootfs: RootFs::default(),
            history: Vec::new(),
            extra: Extra::new(),
        }
    }

    /// The platform this image is for.
    #[must_use]
    pub fn platform(&self) -> Platform {
        Platform {
            architecture: self.architecture.clone(),
            os: self.os.clone(),
            os_version: self.os_version.clone(),
            os_features: self.os_features.clone(),
            variant: self.variant.clone(),
            ..Platform::default()
        }
    }

    /// The image's labels, when it has any.
    #[must_use]
    pub fn labels(&self) -> Option<&Annotations> {
        self.config.as_ref()?.labels.as_ref()
    }
}

/// Runtime defaults (`config` in the image configuration; Docker's field names).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[non_exhaustive]
pub struct ExecConfig {
    /// User (name or UID, with an optional group).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Ports to expose (`8080/tcp`), each mapped to an empty object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposed_ports: Option<BTreeMap<String, Extra>>,
    /// Environment entries, `NAME=value`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<String>>,
    /// The entry point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    /// Default arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    /// Volumes, each mapped to an empty object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<BTreeMap<String, Extra>>,
    /// Working directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    /// Labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Annotations>,
    /// Signal to stop the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    /// Windows-specific: the command line is already escaped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args_escaped: Option<bool>,
    /// Fields this version of the spec does not define (Docker's `Hostname`, ...).
    #[serde(flatten)]
    pub extra: Extra,
}

/// The root filesystem: the uncompressed digests of the layers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RootFs {
    /// Always `layers`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Digests of the uncompressed layers, base first.
    #[serde(default)]
    pub diff_ids: Vec<Digest>,
    /// Fields this version of the spec does not define, kept for round trips.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Default for RootFs {
    fn default() -> Self {
        Self { kind: "layers".to_owned(), diff_ids: Vec::new(), extra: Extra::new() }
    }
}

/// How one layer was made.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct History {
    /// When.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<Timestamp>,
    /// The command that made it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// Who.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// A comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Whether the step made no layer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub empty_layer: Option<bool>,
    /// Fields this version of the spec does not define, kept for round trips.
    #[serde(flatten)]
    pub extra: Extra,
}

#[cfg(test)]
mod tests {
    use super::ImageConfig;

    /// Found by the `manifest` fuzz target: without `serde_json`'s `float_roundtrip`, a
    /// float among the unknown fields came back as a neighbouring float.
    #[test]
    fn unknown_fields_are_written_back_as_read_floats_included() {
        let text = r#"{"architecture":"amd64","os":"linux","x":{"size":1.1111111111111111e+23,"f":0.1}}"#;
        let config: ImageConfig = serde_json::from_str(text).expect("a config");
        let written = serde_json::to_string(&config).expect("written");
        let again: ImageConfig = serde_json::from_str(&written).expect("read again");
        assert_eq!(again, config);
        assert!(written.contains("1.1111111111111111e+23"), "{written}");
    }
}
