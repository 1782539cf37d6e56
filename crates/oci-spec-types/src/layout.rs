//! The `oci-layout` file of an image layout.

use serde::{Deserialize, Serialize};

use crate::Extra;

/// The content of an image layout's `oci-layout` file.
///
/// ```
/// use oci_spec_types::ImageLayout;
///
/// let l = ImageLayout::default();
/// assert_eq!(serde_json::to_string(&l).unwrap(), r#"{"imageLayoutVersion":"1.0.0"}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ImageLayout {
    /// The layout version; `1.0.0` is the only one defined.
    pub image_layout_version: String,
    /// Fields this version of the spec does not define, kept for round trips.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ImageLayout {
    /// The one layout version the image-spec defines.
    pub const VERSION: &'static str = "1.0.0";

    /// Whether this is a version this crate understands.
    #[must_use]
    pub fn is_supported(&self) -> bool {
        self.image_layout_version == Self::VERSION
    }
}

impl Default for ImageLayout {
    fn default() -> Self {
        Self { image_layout_version: Self::VERSION.to_owned(), extra: Extra::new() }
    }
}
