//! Referrers: the manifests whose `subject` is a given manifest (signatures, SBOMs,
//! attestations), through the referrers API or, for registries without it, the index
//! at the subject's fallback tag (`<alg>-<hex>`, the distribution-spec tag schema).
//!
//! Whether a repository's registry has the API is learned once per client and
//! repository: a `200` answer of type `application/vnd.oci.image.index.v1+json` means
//! yes; a `404` that is not `NAME_UNKNOWN`, a `405` or `406`, or a `200` of another
//! type (false positives seen in the wild) means no.
//!
//! Writing for a registry without the API: [`Client::put_manifest`] of a manifest with
//! a subject, when the registry did not answer with `OCI-Subject`, fetches the
//! fallback index (none yet is an empty one), adds a descriptor of the new manifest
//! with its `artifactType` (else its config's media type) and annotations, and pushes
//! the index back to the tag. Updates of one tag are serialized inside a client; two
//! processes updating the same tag at once can still lose an entry, as with every
//! other client (the protocol has no conditional writes).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use http::header::ACCEPT;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use oci_reference::{Reference, Repository};
use oci_spec_types::distribution::referrers_tag;
use oci_spec_types::{Descriptor, Digest, Document, ErrorCode, ImageIndex, Manifest, MediaType};

use super::headers::{OCI_SUBJECT, content_type, header_str};
use super::pages::Pager;
use super::tags::query_escape;
use crate::client::repository_scopes;
use crate::link::next_page;
use crate::{Body, Client, Error, ErrorKind, Result};

/// The header a registry sets when it applied filters of the referrers request.
const OCI_FILTERS_APPLIED: &str = "oci-filters-applied";

/// Where [`Client::referrers`] looks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum FallbackPolicy {
    /// The referrers API, and the fallback tag when the registry does not have it.
    #[default]
    Auto,
    /// Only the referrers API; a registry without it is an error: its answer (a 404
    /// status, say), or one of kind [`InvalidResponse`](ErrorKind::InvalidResponse) for
    /// a `200` that is not an index.
    ApiOnly,
    /// Only the fallback tag, never the API.
    TagOnly,
}

/// Options of [`Client::referrers`].
///
/// ```
/// use oci_distribution::{FallbackPolicy, ReferrersOptions};
/// use oci_spec_types::MediaType;
///
/// let sboms = ReferrersOptions::default()
///     .with_artifact_type(MediaType::from("application/spdx+json"))
///     .with_fallback(FallbackPolicy::Auto);
/// assert_eq!(sboms.artifact_type.as_ref().map(MediaType::as_str), Some("application/spdx+json"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReferrersOptions {
    /// Only referrers of this artifact type (filtered by the registry when it says it
    /// did, by the client otherwise).
    pub artifact_type: Option<MediaType>,
    /// Where to look.
    pub fallback: FallbackPolicy,
}

impl ReferrersOptions {
    /// The same options, keeping only referrers of `artifact_type`.
    #[must_use]
    pub fn with_artifact_type(mut self, artifact_type: MediaType) -> Self {
        self.artifact_type = Some(artifact_type);
        self
    }

    /// The same options with another fallback policy.
    #[must_use]
    pub fn with_fallback(mut self, fallback: FallbackPolicy) -> Self {
        self.fallback = fallback;
        self
    }
}

type RepositoryKey = (String, String);
type TagKey = (String, String, String);

/// What the client learned about the referrers API of each repository, and the locks
/// that serialize fallback-tag updates.
#[derive(Debug, Default)]
pub(crate) struct ReferrersState {
    /// Absent: not known yet.
    supported: Mutex<HashMap<RepositoryKey, bool>>,
    /// One lock per (registry, repository, fallback tag).
    locks: Mutex<HashMap<TagKey, Arc<tokio::sync::Mutex<()>>>>,
}

/// What happened to a manifest with a subject, for [`Client::referrers_upkeep`].
pub(super) enum Upkeep<'a> {
    /// It was pushed: its bytes, media type and digest, and the registry's answer.
    Put { bytes: &'a Bytes, media_type: &'a MediaType, digest: &'a Digest, answer: &'a HeaderMap },
    /// It was deleted.
    Delete(Digest),
}

/// A change of a fallback index.
enum Change {
    Add(Box<Descriptor>),
    Remove(Digest),
}

/// The answer of the referrers API.
enum ApiAnswer {
    Supported(Vec<Descriptor>),
    /// The registry lacks the API; the answer that says so.
    Unsupported(Error),
}

fn repository_key(repository: &Repository) -> RepositoryKey {
    (repository.endpoint_host().to_owned(), repository.path().to_owned())
}

/// The referrers a fallback index lists, or `None` when what the tag resolved to is not
/// a usable fallback index: not an index, or the subject itself (GitLab resolves the tag
/// `sha256-<hex>` to the manifest `sha256:<hex>`).
pub(crate) fn fallback_entries(subject: &Digest, found: &Document) -> Option<Vec<Descriptor>> {
    let Manifest::Index(index) = found.value() else {
        tracing::warn!(%subject, digest = %found.digest(), "the referrers tag names an image manifest, not an index; ignored");
        return None;
    };
    if found.digest() == subject || subject.verify(found.bytes()).unwrap_or(false) {
        tracing::warn!(%subject, "the referrers tag resolves to the subject itself (GitLab); ignored");
        return None;
    }
    Some(index.manifests.clone())
}

/// The reference of `subject`'s fallback tag in `repository`.
fn fallback_reference(repository: &Repository, subject: &Digest) -> Result<Reference> {
    let tag = referrers_tag(subject);
    repository.with_tag(&tag).map_err(|e| {
        Error::new(ErrorKind::InvalidInput, format!("{repository}: the referrers tag {tag}")).with_source(e)
    })
}

/// Whether `descriptor` is of `artifact_type` (always, without a filter).
fn of_type(descriptor: &Descriptor, artifact_type: Option<&MediaType>) -> bool {
    artifact_type.is_none_or(|t| descriptor.artifact_type.as_ref().is_some_and(|a| a.matches(t)))
}

/// Whether `OCI-Filters-Applied` lists `filter`.
fn filter_applied(headers: &HeaderMap, filter: &str) -> bool {
    headers
        .get_all(OCI_FILTERS_APPLIED)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|f| f.trim().eq_ignore_ascii_case(filter))
}

/// Whether an error answer of the referrers endpoint means the registry lacks the API.
fn means_unsupported(e: &Error) -> bool {
    match e.status().map(|s| s.as_u16()) {
        Some(404) => !e.registry_errors().iter().any(|r| r.code == ErrorCode::NAME_UNKNOWN),
        Some(405 | 406) => true,
        _ => false,
    }
}

impl Client {
    pub(super) fn set_referrers_supported(&self, repository: &Repository, supported: bool) {
        let state = self.referrers_state();
        let mut map = state.supported.lock().unwrap_or_else(PoisonError::into_inner);
        map.insert(repository_key(repository), supported);
    }

    fn referrers_supported(&self, repository: &Repository) -> Option<bool> {
        let state = self.referrers_state();
        let map = state.supported.lock().unwrap_or_else(PoisonError::into_inner);
        map.get(&repository_key(repository)).copied()
    }

    /// The referrers of the manifest `subject` names (by digest; a tag is resolved with
    /// a HEAD request), in the order the registry or the fallback index lists them.
    ///
    /// With [`FallbackPolicy::Auto`] the referrers API is asked first; for registries
    /// without it (remembered per repository) the index at the fallback tag is read,
    /// and a tag that names nothing gives no referrers. A fallback tag that resolves to
    /// something other than an index, or to the subject itself, is ignored.
    ///
    /// ```no_run
    /// use oci_distribution::ReferrersOptions;
    /// use oci_spec_types::{Document, ImageManifest, MediaType};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let url = std::env::var("OCI_TEST_REGISTRY_PLAIN")?; // a registry: compiled here, not run
    /// # let registry = url.trim_start_matches("http://").trim_end_matches('/');
    /// # let client = oci_distribution::Client::builder().build()?;
    /// # let config = oci_spec_types::Descriptor::for_bytes(oci_spec_types::MediaType::EMPTY, b"{}");
    /// # let repository: oci_reference::Repository = format!("{registry}/docs/referrers").parse()?;
    /// # client.push_blob(&repository, &config, b"{}".to_vec(), Default::default()).await?;
    /// # let pushed = oci_spec_types::Document::new(oci_spec_types::ImageManifest::new(config.clone(), vec![]))?;
    /// # client.put_manifest(&repository.with_tag("1.0")?, &pushed).await?;
    /// let image = repository.with_digest(pushed.digest())?;
    /// // A signature about the image: an artifact whose subject it is.
    /// let sig_type = MediaType::from("application/vnd.dev.cosign.artifact.sig.v1+json");
    /// let signature = ImageManifest::new(config.clone(), vec![config.clone()])
    ///     .with_artifact_type(sig_type.clone())
    ///     .with_subject(pushed.descriptor());
    /// let signature = Document::new(signature)?;
    /// client.put_manifest(&repository.with_digest(signature.digest())?, &signature).await?;
    ///
    /// let signatures = ReferrersOptions::default().with_artifact_type(sig_type);
    /// let found = client.referrers(&image, signatures).await?; // the API, or the fallback tag
    /// assert_eq!(found.len(), 1);
    /// assert_eq!(&found[0].digest, signature.digest());
    /// # Ok(()) }
    /// ```
    pub async fn referrers(&self, subject: &Reference, options: ReferrersOptions) -> Result<Vec<Descriptor>> {
        let digest = if let Some(d) = subject.digest() {
            d.clone()
        } else {
            let Some(found) = self.head_manifest(subject).await? else {
                let context = format!("HEAD {subject}: the subject of the referrers");
                return Err(Error::from_status(StatusCode::NOT_FOUND, b"", context));
            };
            found.digest
        };
        let artifact_type = options.artifact_type.as_ref();
        let repository = subject.repository();
        let use_api = match options.fallback {
            FallbackPolicy::TagOnly => false,
            FallbackPolicy::ApiOnly => true,
            FallbackPolicy::Auto => self.referrers_supported(&repository) != Some(false),
        };
        if use_api {
            match self.referrers_api(&repository, &digest, artifact_type).await? {
                ApiAnswer::Supported(found) => return Ok(found),
                ApiAnswer::Unsupported(e) if options.fallback == FallbackPolicy::ApiOnly => return Err(e),
                ApiAnswer::Unsupported(_) => {}
            }
        }
        let found = self.referrers_tag_index(&repository, &digest).await?;
        let entries = found.as_ref().and_then(|f| fallback_entries(&digest, f)).unwrap_or_default();
        Ok(entries.into_iter().filter(|d| of_type(d, artifact_type)).collect())
    }

    /// `GET /v2/<name>/referrers/<digest>[?artifactType=]`, every page; records whether
    /// the repository's registry has the API.
    async fn referrers_api(
        &self,
        repository: &Repository,
        subject: &Digest,
        artifact_type: Option<&MediaType>,
    ) -> Result<ApiAnswer> {
        let mut path = format!("/v2/{}/referrers/{subject}", repository.path());
        if let Some(t) = artifact_type {
            path = format!("{path}?artifactType={}", query_escape(t.as_str()));
        }
        let mut uri = self.url(repository, &path).await?;
        let scopes = repository_scopes(repository, false);
        let mut found = Vec::new();
        let mut pager = Pager::new(self.options(), &uri);
        let mut first = true;
        loop {
            let context = format!("GET {uri}");
            let mut headers = HeaderMap::new();
            headers.insert(ACCEPT, HeaderValue::from_static("application/vnd.oci.image.index.v1+json"));
            let response = self.send(Method::GET, uri.clone(), headers, Body::empty(), &scopes).await?;
            let response = match Self::expect(response, &[StatusCode::OK], &context).await {
                Ok(r) => r,
                Err(e) if first && means_unsupported(&e) => {
                    tracing::debug!(registry = repository.endpoint_host(), "no referrers API: {e}");
                    self.set_referrers_supported(repository, false);
                    return Ok(ApiAnswer::Unsupported(e));
                }
                Err(e) => return Err(e),
            };
            if !content_type(response.headers()).is_some_and(|t| t.matches(&MediaType::IMAGE_INDEX)) {
                let got = header_str(response.headers(), "content-type").unwrap_or("none");
                let e = Error::new(
                    ErrorKind::InvalidResponse,
                    format!("{context}: a referrers answer of type {got}"),
                );
                if !first {
                    return Err(e);
                }
                tracing::debug!("{e}; taken as no referrers API");
                self.set_referrers_supported(repository, false);
                return Ok(ApiAnswer::Unsupported(e));
            }
            self.set_referrers_supported(repository, true);
            let filtered = filter_applied(response.headers(), "artifactType");
            let next = next_page(response.headers(), &uri)?;
            let bytes = response.into_body().bytes(self.options().max_list_bytes).await?;
            let index: ImageIndex = serde_json::from_slice(&bytes).map_err(|e| {
                Error::new(ErrorKind::InvalidResponse, format!("{context}: the referrers index"))
                    .with_source(e)
            })?;
            let before = found.len();
            found.extend(index.manifests.into_iter().filter(|d| filtered || of_type(d, artifact_type)));
            pager.took(bytes.len(), found.len() - before, &context)?;
            first = false;
            match next {
                Some(next) => uri = pager.follow(&uri, next)?,
                None => return Ok(ApiAnswer::Supported(found)),
            }
        }
    }

    /// The manifest at `subject`'s fallback tag, `None` when there is none.
    async fn referrers_tag_index(
        &self,
        repository: &Repository,
        subject: &Digest,
    ) -> Result<Option<Document>> {
        let tagged = fallback_reference(repository, subject)?;
        match self.get_manifest(&tagged).await {
            Ok(found) => Ok(Some(found)),
            Err(e) if e.is_unknown_resource() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The one hook of the manifest endpoints: keeps the referrers of `subject` in step
    /// with a manifest PUT or DELETE. A PUT answered with `OCI-Subject` says the
    /// registry has the referrers API; otherwise, unless
    /// [`ClientOptions::referrers_tag_writes`](crate::ClientOptions) is off, the
    /// subject's fallback index gains the manifest (or loses it, after a DELETE).
    pub(super) async fn referrers_upkeep(
        &self,
        repository: &Repository,
        subject: &Descriptor,
        upkeep: Upkeep<'_>,
    ) -> Result<()> {
        let change = match upkeep {
            Upkeep::Put { answer, .. } if answer.contains_key(OCI_SUBJECT) => {
                self.set_referrers_supported(repository, true);
                return Ok(());
            }
            _ if !self.options().referrers_tag_writes => return Ok(()),
            Upkeep::Put { bytes, media_type, digest, .. } => {
                let hint = Some(media_type).filter(|m| m.is_manifest());
                let Ok(manifest) = Manifest::from_slice(bytes, hint) else { return Ok(()) };
                let size = bytes.len() as u64;
                Change::Add(Box::new(manifest.as_referrer(&Descriptor::new(
                    media_type.clone(),
                    digest.clone(),
                    size,
                ))))
            }
            Upkeep::Delete(digest) => Change::Remove(digest),
        };
        self.update_referrers_tag(repository, subject, change).await
    }

    /// Before a DELETE of `reference`: the subject whose fallback index lists it, when
    /// fallback tags are kept (one manifest GET, often answered by the cache).
    pub(super) async fn subject_to_upkeep(&self, reference: &Reference) -> Option<Descriptor> {
        if !self.options().referrers_tag_writes {
            return None;
        }
        match self.get_manifest(reference).await {
            Ok(m) => m.value().subject().cloned(),
            Err(e) => {
                tracing::debug!(error = %e, "looking for the subject of a manifest before deleting it");
                None
            }
        }
    }

    /// Applies `change` to the fallback index of `subject` in `repository`, unless the
    /// registry has the referrers API (asked once when not known yet).
    async fn update_referrers_tag(
        &self,
        repository: &Repository,
        subject: &Descriptor,
        change: Change,
    ) -> Result<()> {
        let supported = if let Some(known) = self.referrers_supported(repository) {
            known
        } else {
            let answer = self.referrers_api(repository, &subject.digest, None).await?;
            matches!(answer, ApiAnswer::Supported(_))
        };
        if supported {
            return Ok(());
        }
        let tag = referrers_tag(&subject.digest);
        let key = (repository.endpoint_host().to_owned(), repository.path().to_owned(), tag.clone());
        let lock = {
            let mut locks = self.referrers_state().locks.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(locks.entry(key.clone()).or_default())
        };
        let result = {
            let _guard = lock.lock().await;
            self.update_referrers_tag_locked(repository, &subject.digest, change).await
        };
        drop(lock);
        let mut locks = self.referrers_state().locks.lock().unwrap_or_else(PoisonError::into_inner);
        if locks.get(&key).is_some_and(|l| Arc::strong_count(l) == 1) {
            locks.remove(&key);
        }
        result
    }

    async fn update_referrers_tag_locked(
        &self,
        repository: &Repository,
        subject: &Digest,
        change: Change,
    ) -> Result<()> {
        let current = self.referrers_tag_index(repository, subject).await?;
        let old = current.as_ref().and_then(|c| Some((c.digest().clone(), fallback_entries(subject, c)?)));
        let (old_digest, mut entries) = old.map_or((None, Vec::new()), |(d, e)| (Some(d), e));
        match change {
            Change::Add(entry) => {
                if entries.iter().any(|e| e.digest == entry.digest) {
                    return Ok(());
                }
                entries.push(*entry);
            }
            Change::Remove(digest) => {
                let before = entries.len();
                entries.retain(|e| e.digest != digest);
                if entries.len() == before {
                    return Ok(());
                }
            }
        }
        let gc = self.options().referrers_tag_gc;
        if entries.is_empty() && gc {
            if let Some(old) = &old_digest {
                self.delete_manifest_only(repository, old).await?;
            }
            return Ok(());
        }
        let bytes = serde_json::to_vec(&ImageIndex::new(entries)).map_err(|e| {
            Error::new(ErrorKind::InvalidInput, "serializing a referrers index").with_source(e)
        })?;
        let tagged = fallback_reference(repository, subject)?;
        let (new_digest, _) =
            self.put_manifest_only(&tagged, Bytes::from(bytes), &MediaType::IMAGE_INDEX).await?;
        if let Some(old) = old_digest.filter(|old| gc && old != &new_digest) {
            if let Err(e) = self.delete_manifest_only(repository, &old).await {
                tracing::warn!(error = %e, "deleting the replaced referrers index {old}");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec_types::{Annotations, ImageManifest};

    fn response(bytes: &[u8]) -> Document {
        Document::manifest(Bytes::copy_from_slice(bytes), None).unwrap()
    }

    #[test]
    fn the_fallback_ignores_the_subject_itself_and_non_indexes() {
        let referrer = Descriptor::for_bytes(MediaType::IMAGE_MANIFEST, b"sig")
            .with_artifact_type(MediaType::from("application/example.sig"));
        let index = serde_json::to_vec(&ImageIndex::new(vec![referrer.clone()])).unwrap();
        let subject = Digest::sha256(b"the image");
        assert_eq!(fallback_entries(&subject, &response(&index)), Some(vec![referrer]));
        // GitLab: the tag `sha256-<hex>` resolved to the subject, here an index.
        assert_eq!(fallback_entries(&Digest::sha256(&index), &response(&index)), None);
        let sha512 = Digest::compute(&oci_spec_types::DigestAlgorithm::SHA512, &index).unwrap();
        assert_eq!(fallback_entries(&sha512, &response(&index)), None, "a sha512 subject too");
        // ... or to an image manifest.
        let image = serde_json::to_vec(&ImageManifest::new(Descriptor::empty(), vec![])).unwrap();
        assert_eq!(fallback_entries(&subject, &response(&image)), None);
    }

    #[test]
    fn referrer_descriptors_lift_artifact_type_and_annotations() {
        let mut m = ImageManifest::new(Descriptor::empty(), vec![]).with_subject(Descriptor::empty());
        m.annotations.insert("org.example.signer", "ci");
        let digest = Digest::sha256(b"m");
        let d = Manifest::Image(m.clone()).as_referrer(&Descriptor::new(
            MediaType::IMAGE_MANIFEST,
            digest.clone(),
            9,
        ));
        assert_eq!(d.artifact_type, Some(MediaType::EMPTY), "the config's media type, as the API reports it");
        assert_eq!(d.annotations.get("org.example.signer"), Some("ci"));
        assert_eq!(
            (d.digest.clone(), d.size, d.media_type.clone()),
            (digest.clone(), 9, MediaType::IMAGE_MANIFEST)
        );
        let typed = m.with_artifact_type(MediaType::from("application/example.sbom"));
        let d = Manifest::Image(typed).as_referrer(&Descriptor::new(
            MediaType::IMAGE_MANIFEST,
            digest.clone(),
            9,
        ));
        assert_eq!(d.artifact_type, Some(MediaType::from("application/example.sbom")));
        let index = ImageIndex::new(vec![]);
        let d = Manifest::Index(index).as_referrer(&Descriptor::new(MediaType::IMAGE_INDEX, digest, 2));
        assert_eq!((d.artifact_type, d.annotations), (None, Annotations::new()));
    }

    #[test]
    fn filters_and_support_answers() {
        let mut h = HeaderMap::new();
        assert!(!filter_applied(&h, "artifactType"));
        h.insert(OCI_FILTERS_APPLIED, HeaderValue::from_static("foo, artifactType"));
        assert!(filter_applied(&h, "artifactType") && !filter_applied(&h, "bar"));
        let sig = Descriptor::empty().with_artifact_type(MediaType::from("application/x.sig"));
        assert!(of_type(&sig, None) && of_type(&sig, Some(&MediaType::from("application/x.sig"))));
        assert!(!of_type(&sig, Some(&MediaType::from("application/x.sbom"))));
        assert!(!of_type(&Descriptor::empty(), Some(&MediaType::from("application/x.sig"))));

        let name_unknown = br#"{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known"}]}"#;
        for (status, body, unsupported) in [
            (404, &b"404 page not found"[..], true),
            (404, &b""[..], true),
            (404, &name_unknown[..], false),
            (405, &b""[..], true),
            (406, &b""[..], true),
            (401, &b""[..], false),
            (500, &b""[..], false),
        ] {
            let e = Error::from_status(StatusCode::from_u16(status).unwrap(), body, "GET x");
            assert_eq!(means_unsupported(&e), unsupported, "{status} {body:?}");
        }
    }
}
