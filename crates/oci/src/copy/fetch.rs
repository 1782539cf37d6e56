//! Reading what a location names without copying it: the root manifest as its exact
//! bytes, and the blobs it names (a configuration, a layer), each checked against its
//! digest.

use std::sync::Arc;

use bytes::Bytes;
use oci_distribution::Client;
use oci_spec_types::{Descriptor, Digest, Manifest};

use super::endpoint::{Endpoint, document};
use crate::{Error, ErrorKind, Location, Result};

/// The manifest (or index) a location names, as [`fetch_manifest`] read it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Fetched {
    /// Its descriptor: digest, size and media type.
    pub descriptor: Descriptor,
    /// Its exact bytes.
    pub bytes: Bytes,
    /// The bytes, parsed.
    pub manifest: Manifest,
}

/// The manifest `location` names (its tag, `latest` when it names none, or its digest),
/// read from a registry with `client` or from a layout or archive, its bytes checked
/// against the digest.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// # let layout = oci::Layout::init_dir(dir.path().join("in"))?;
/// # let config = layout.add_blob(&b"{}"[..], oci::MediaType::EMPTY)?;
/// # let image = oci::Document::new(oci::spec::ImageManifest::new(config, vec![]))?;
/// # layout.tag("v1", layout.write_document(&image)?)?;
/// let location: oci::Location = format!("oci:{}:v1", dir.path().join("in").display()).parse()?;
/// let found = oci::fetch_manifest(&location, &oci::Client::builder().build()?).await?;
/// assert_eq!(found.descriptor.digest, *image.digest());
/// assert_eq!(found.bytes.as_ref(), image.bytes().as_ref());
/// # Ok(()) }
/// ```
pub async fn fetch_manifest(location: &Location, client: &Client) -> Result<Fetched> {
    let end = Endpoint::open(location, client, false, false).await?;
    let descriptor = end.resolve(location).await?;
    let bytes = end.manifest(&descriptor).await?.ok_or_else(|| {
        Error::new(ErrorKind::NotFound, format!("{location}: no manifest {}", descriptor.digest))
    })?;
    let manifest = document(&descriptor, &bytes)?.into_parts().0;
    Ok(Fetched { descriptor, bytes, manifest })
}

/// The blob `descriptor` names in the repository or layout of `location`, whole, its
/// size and digest checked. Meant for small blobs (a configuration): it is held in
/// memory.
pub async fn fetch_blob(location: &Location, client: &Client, descriptor: &Descriptor) -> Result<Bytes> {
    let end = Endpoint::open(location, client, false, false).await?;
    let ignore = Arc::new(|_: &Digest, _: u64, _: Option<u64>| {});
    let mut source = end.read_blob(descriptor, ignore).await?;
    let mut bytes = Vec::with_capacity(usize::try_from(descriptor.size).unwrap_or(0));
    while let Some(chunk) = source.next_chunk().await? {
        if (bytes.len() + chunk.len()) as u64 > descriptor.size {
            break;
        }
        bytes.extend_from_slice(&chunk);
    }
    let whole = bytes.len() as u64 == descriptor.size && descriptor.digest.verify(&bytes).unwrap_or(false);
    if !whole {
        return Err(Error::new(
            ErrorKind::Integrity,
            format!(
                "{}: the content is not the blob's {} bytes",
                end.at(&descriptor.digest),
                descriptor.size
            ),
        ));
    }
    Ok(Bytes::from(bytes))
}
