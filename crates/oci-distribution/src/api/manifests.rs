//! Manifests: GET, HEAD, PUT and DELETE, with the full `Accept` list, a size cap and
//! digest checks; small verified blob reads.
//!
//! Digests are computed over the bytes received. A reference's digest is an assertion:
//! the bytes must hash to it, and so must the `Docker-Content-Digest` header. For a tag
//! the header is only a hint (registries have sent wrong or malformed ones): a
//! disagreement is logged and the bytes are trusted.

use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use oci_reference::{Reference, Repository};
use oci_spec_types::{Descriptor, Digest, Document, MANIFEST_ACCEPT, MediaType, Typed};

use super::digests::{pinned, verify};
use super::headers::{content_type, docker_content_digest, header_str};
use super::referrers::Upkeep;
use crate::client::repository_scopes;
use crate::response_cache::{Entry, Kind};
use crate::{Body, Client, Error, ErrorKind, Result};

/// Parses manifest bytes a registry served (or a caller gave) whose digest is known:
/// a [`Document`] with that digest's algorithm, the media type from `header` when it
/// names a manifest type.
fn parse_document(
    bytes: Bytes,
    header: Option<&MediaType>,
    digest: &Digest,
    context: &str,
) -> Result<Document> {
    let invalid = |e: Box<dyn std::error::Error + Send + Sync>| {
        Error::new(ErrorKind::InvalidResponse, format!("{context}: the manifest")).with_source(e)
    };
    let doc = Document::manifest(bytes, header).map_err(|e| invalid(e.into()))?;
    let doc = doc.with_digest_algorithm(&digest.algorithm()).map_err(|e| invalid(e.into()))?;
    debug_assert_eq!(doc.digest(), digest, "the digest was computed over these bytes");
    Ok(doc)
}

/// The `Accept` header of manifest requests: the four manifest types, no `q=`
/// parameters (GCR refused them).
fn manifest_accept() -> HeaderValue {
    let list: Vec<&str> = MANIFEST_ACCEPT.iter().map(MediaType::as_str).collect();
    HeaderValue::from_str(&list.join(", ")).unwrap_or(HeaderValue::from_static("*/*"))
}

/// The digest of manifest bytes a GET received: checked against the reference's digest
/// and `Docker-Content-Digest` when the reference has one; for a tag the header is a
/// hint, and a disagreement only logs a warning.
fn received_digest(
    headers: &HeaderMap,
    bytes: &[u8],
    expected: Option<&Digest>,
    context: &str,
) -> Result<Digest> {
    let header = docker_content_digest(headers);
    if let Some(expected) = expected {
        verify(expected, bytes, context)?;
        return match header {
            Some(Ok(h)) if &h != expected => Err(Error::new(
                ErrorKind::DigestMismatch,
                format!("{context}: Docker-Content-Digest is {h}, the requested digest is {expected}"),
            )),
            Some(Err(text)) => Err(Error::new(
                ErrorKind::InvalidResponse,
                format!("{context}: Docker-Content-Digest {text:?} is not a digest"),
            )),
            _ => Ok(expected.clone()),
        };
    }
    let sha256 = Digest::sha256(bytes);
    match header {
        Some(Ok(h)) if h == sha256 => {}
        // A registry announcing another algorithm: keep its digest when the bytes match it.
        Some(Ok(h)) if h.algorithm() != sha256.algorithm() && h.verify(bytes).unwrap_or(false) => {
            return Ok(h);
        }
        Some(Ok(h)) => {
            let what = "Docker-Content-Digest disagrees with the bytes; trusting the bytes";
            tracing::warn!(header = %h, computed = %sha256, "{context}: {what}");
        }
        Some(Err(text)) => {
            tracing::warn!(header = %text, "{context}: Docker-Content-Digest is not a digest; ignored");
        }
        None => {}
    }
    Ok(sha256)
}

/// The descriptor a HEAD answer describes: the digest from `Docker-Content-Digest`
/// (required unless the reference has a digest, and equal to it when both are there),
/// the size from `Content-Length`, the media type from `Content-Type`.
fn head_descriptor(headers: &HeaderMap, expected: Option<&Digest>, context: &str) -> Result<Descriptor> {
    let invalid = |what: &str| Error::new(ErrorKind::InvalidResponse, format!("{context}: {what}"));
    let digest = match (docker_content_digest(headers), expected) {
        (Some(Err(text)), _) => {
            return Err(invalid(&format!("Docker-Content-Digest {text:?} is not a digest")));
        }
        (Some(Ok(h)), Some(e)) if &h != e => {
            let why = format!("{context}: Docker-Content-Digest is {h}, the requested digest is {e}");
            return Err(Error::new(ErrorKind::DigestMismatch, why));
        }
        (Some(Ok(h)), _) => h,
        (None, Some(e)) => e.clone(),
        (None, None) => return Err(invalid("no Docker-Content-Digest for a tag")),
    };
    let size = header_str(headers, CONTENT_LENGTH.as_str())
        .and_then(|v| v.parse::<u64>().ok())
        .ok_or_else(|| invalid("no valid Content-Length"))?;
    let media_type = content_type(headers).ok_or_else(|| invalid("no Content-Type"))?;
    Ok(Descriptor::new(media_type, digest, size))
}

impl Client {
    async fn manifest_url(&self, reference: &Reference) -> Result<http::Uri> {
        let api_reference = reference.reference_or_default();
        let repository = reference.repository();
        self.url(&repository, &format!("/v2/{}/manifests/{api_reference}", reference.path())).await
    }

    /// Fetches the manifest `reference` names (its digest when it has one, else its tag,
    /// else `latest`), accepting the OCI and Docker image and index types.
    ///
    /// The body is read up to [`ClientOptions::max_manifest_bytes`](crate::ClientOptions)
    /// (a larger `Content-Length` is refused before reading). When the reference has a
    /// digest the bytes must hash to it (else an error of kind
    /// [`DigestMismatch`](ErrorKind::DigestMismatch)), and the answer may come from the
    /// client's cache of responses addressed by digest.
    ///
    /// ```no_run
    /// use oci_reference::Reference;
    /// use oci_spec_types::Manifest;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let url = std::env::var("OCI_TEST_REGISTRY_PLAIN")?; // a registry: compiled here, not run
    /// # let registry = url.trim_start_matches("http://").trim_end_matches('/');
    /// # let client = oci_distribution::Client::builder().build()?;
    /// # let config = oci_spec_types::Descriptor::for_bytes(oci_spec_types::MediaType::EMPTY, b"{}");
    /// # let repository: oci_reference::Repository = format!("{registry}/docs/get-manifest").parse()?;
    /// # client.push_blob(&repository, &config, b"{}".to_vec(), Default::default()).await?;
    /// # let pushed = oci_spec_types::Document::new(oci_spec_types::ImageManifest::new(config.clone(), vec![]))?;
    /// # client.put_manifest(&repository.with_tag("1.0")?, &pushed).await?;
    /// let reference: Reference = format!("{registry}/docs/get-manifest:1.0").parse()?;
    /// let manifest = client.get_manifest(&reference).await?;
    /// println!("{} {} ({} bytes)", manifest.media_type(), manifest.digest(), manifest.size());
    /// if let Manifest::Index(index) = manifest.value() {
    ///     println!("{} platforms", index.manifests.len());
    /// }
    /// assert_eq!(manifest.digest(), pushed.digest()); // the bytes as pushed
    /// # Ok(()) }
    /// ```
    pub async fn get_manifest(&self, reference: &Reference) -> Result<Document> {
        let expected = reference.digest();
        let (host, repository) = (reference.endpoint_host(), reference.path());
        let uri = self.manifest_url(reference).await?;
        let context = format!("GET {uri}");
        if let Some(digest) = expected {
            if let Some(hit) = self.cache().get(host, repository, Kind::Manifest, digest) {
                return parse_document(hit.bytes, hit.media_type.as_ref(), digest, &context);
            }
        }
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, manifest_accept());
        let scopes = repository_scopes(&reference.repository(), false);
        let response = self.send(Method::GET, uri, headers, Body::empty(), &scopes).await?;
        let response = Self::expect(response, &[StatusCode::OK], &context).await?;
        let (parts, body) = response.into_parts();
        let bytes = body.bytes(self.options().max_manifest_bytes).await?;
        let digest = received_digest(&parts.headers, &bytes, expected, &context)?;
        let doc = parse_document(bytes, content_type(&parts.headers).as_ref(), &digest, &context)?;
        let entry = Entry { bytes: doc.bytes().clone(), media_type: Some(doc.media_type().clone()) };
        self.cache().insert(host, repository, Kind::Manifest, doc.digest(), entry);
        Ok(doc)
    }

    /// Asks whether the manifest `reference` names exists (`HEAD`), without counting as
    /// a pull on registries that rate-limit GETs. `None` when the registry answers 404;
    /// otherwise its descriptor (digest from `Docker-Content-Digest`; size from
    /// `Content-Length`; media type from `Content-Type`). For a tag answered without
    /// `Docker-Content-Digest`, the manifest is read (`GET`) and its bytes give the digest.
    pub async fn head_manifest(&self, reference: &Reference) -> Result<Option<Descriptor>> {
        let uri = self.manifest_url(reference).await?;
        let context = format!("HEAD {uri}");
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, manifest_accept());
        let scopes = repository_scopes(&reference.repository(), false);
        let response = self.send(Method::HEAD, uri, headers, Body::empty(), &scopes).await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let response = Self::expect(response, &[StatusCode::OK], &context).await?;
        if reference.digest().is_none() && docker_content_digest(response.headers()).is_none() {
            // Registries and proxies that drop the header: the digest of the bytes.
            tracing::debug!("{context}: no Docker-Content-Digest for a tag; reading the manifest");
            return Ok(Some(self.get_manifest(reference).await?.descriptor()));
        }
        head_descriptor(response.headers(), reference.digest(), &context).map(Some)
    }

    /// Pushes the manifest `document` to `reference` (its digest when it has one, which
    /// the bytes must hash to, else its tag) with the document's media type as
    /// `Content-Type`, and returns the digest of its bytes.
    ///
    /// Manifests larger than [`ClientOptions::max_manifest_bytes`](crate::ClientOptions)
    /// are refused before sending (an error of kind [`Limit`](ErrorKind::Limit)). A
    /// `Docker-Content-Digest` answer must agree with the bytes. When the manifest has a
    /// `subject`, a registry answering with `OCI-Subject` is known to have the referrers
    /// API; when it does not have it, the manifest is added to the index at the
    /// subject's fallback tag (unless
    /// [`ClientOptions::referrers_tag_writes`](crate::ClientOptions) is off): see
    /// [`Client::referrers`].
    ///
    /// ```no_run
    /// use oci_reference::Reference;
    /// use oci_spec_types::{Descriptor, Document, ImageManifest, MediaType};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let url = std::env::var("OCI_TEST_REGISTRY_PLAIN")?; // a registry: compiled here, not run
    /// # let registry = url.trim_start_matches("http://").trim_end_matches('/');
    /// # let client = oci_distribution::Client::builder().build()?;
    /// # let config = Descriptor::for_bytes(MediaType::EMPTY, b"{}");
    /// let reference: Reference = format!("{registry}/docs/put-manifest:1.0").parse()?;
    /// # client.push_blob(&reference.repository(), &config, b"{}".to_vec(), Default::default()).await?;
    /// let manifest = Document::new(ImageManifest::new(config, vec![]))?; // its media type comes along
    /// let digest = client.put_manifest(&reference, &manifest).await?;
    /// assert_eq!(&digest, manifest.digest());
    /// # Ok(()) }
    /// ```
    pub async fn put_manifest<T: Typed>(
        &self,
        reference: &Reference,
        document: &Document<T>,
    ) -> Result<Digest> {
        let bytes = document.bytes().clone();
        let media_type = document.media_type();
        let (digest, answer) = self.put_manifest_only(reference, bytes.clone(), media_type).await?;
        if let Some(subject) = document.value().subject() {
            let put = Upkeep::Put { bytes: &bytes, media_type, digest: &digest, answer: &answer };
            self.referrers_upkeep(&reference.repository(), subject, put).await?;
        }
        Ok(digest)
    }

    /// The PUT alone: no referrers bookkeeping. Returns the digest and the answer's headers.
    pub(super) async fn put_manifest_only(
        &self,
        reference: &Reference,
        bytes: Bytes,
        media_type: &MediaType,
    ) -> Result<(Digest, HeaderMap)> {
        let uri = self.manifest_url(reference).await?;
        let context = format!("PUT {uri}");
        let max = self.options().max_manifest_bytes;
        if bytes.len() > max {
            let why =
                format!("{context}: the manifest is {} bytes, more than the limit of {max}", bytes.len());
            return Err(Error::new(ErrorKind::Limit, why));
        }
        let digest = match reference.digest() {
            Some(expected) => {
                verify(expected, &bytes, &context)?;
                expected.clone()
            }
            None => Digest::sha256(&bytes),
        };
        let content_type = HeaderValue::from_str(media_type.as_str()).map_err(|e| {
            Error::new(ErrorKind::InvalidInput, format!("{context}: media type {media_type:?}"))
                .with_source(e)
        })?;
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, content_type);
        let scopes = repository_scopes(&reference.repository(), true);
        let body = Body::from_bytes(bytes.clone());
        let response = self.send(Method::PUT, uri, headers, body, &scopes).await?;
        let response = Self::expect(response, &[StatusCode::CREATED, StatusCode::OK], &context).await?;
        match docker_content_digest(response.headers()) {
            Some(Ok(h))
                if h != digest
                    && !(h.algorithm() != digest.algorithm() && h.verify(&bytes).unwrap_or(false)) =>
            {
                let why = format!("{context}: the registry stored {h}, the manifest is {digest}");
                return Err(Error::new(ErrorKind::DigestMismatch, why));
            }
            Some(Err(text)) => {
                tracing::warn!(header = %text, "{context}: Docker-Content-Digest is not a digest");
            }
            _ => {}
        }
        let entry = Entry { bytes, media_type: Some(media_type.clone()) };
        self.cache().insert(reference.endpoint_host(), reference.path(), Kind::Manifest, &digest, entry);
        Ok((digest, response.headers().clone()))
    }

    /// Deletes the manifest `reference` pins by digest (a registry answers 202; some
    /// forbid deleting, which is an error with [`Error::is_unsupported`]).
    ///
    /// When the manifest has a `subject` and the registry lacks the referrers API, it is
    /// also taken out of the subject's fallback-tag index (unless
    /// [`ClientOptions::referrers_tag_writes`](crate::ClientOptions) is off); finding the
    /// subject costs one manifest GET, often answered by the cache.
    pub async fn delete_manifest(&self, reference: &Reference) -> Result<()> {
        let Some(digest) = reference.digest().cloned() else {
            let why = format!("{reference}: deleting a manifest needs its digest, not a tag");
            return Err(Error::new(ErrorKind::InvalidInput, why));
        };
        let subject = self.subject_to_upkeep(reference).await;
        let repository = reference.repository();
        self.delete_manifest_only(&repository, &digest).await?;
        if let Some(subject) = subject {
            self.referrers_upkeep(&repository, &subject, Upkeep::Delete(digest)).await?;
        }
        Ok(())
    }

    /// The DELETE alone: no referrers bookkeeping.
    pub(super) async fn delete_manifest_only(&self, repository: &Repository, digest: &Digest) -> Result<()> {
        let reference = pinned(repository, digest)?;
        let uri = self.manifest_url(&reference).await?;
        let context = format!("DELETE {uri}");
        let scopes = vec![format!("repository:{}:delete", reference.path())];
        let response = self.send(Method::DELETE, uri, HeaderMap::new(), Body::empty(), &scopes).await?;
        Self::expect(response, &[StatusCode::ACCEPTED, StatusCode::OK], &context).await?;
        self.cache().remove(reference.endpoint_host(), reference.path(), digest);
        Ok(())
    }

    /// The whole content of a small blob of `repository`, verified against
    /// `descriptor`'s size and digest; blobs larger than `limit` are refused before the
    /// request (an error of kind [`Limit`](ErrorKind::Limit)). Embedded `data` that
    /// matches the descriptor is returned without a request, and verified blobs are kept
    /// in the client's cache of responses addressed by digest. Stream large blobs instead.
    pub async fn get_blob_bytes(
        &self,
        repository: &Repository,
        descriptor: &Descriptor,
        limit: usize,
    ) -> Result<Bytes> {
        let digest = &descriptor.digest;
        let uri = super::blobs::blob_url(self, repository, digest).await?;
        let context = format!("GET {uri}");
        let size = usize::try_from(descriptor.size).unwrap_or(usize::MAX);
        if size > limit {
            let why = format!("{context}: the blob is {size} bytes, more than the limit of {limit}");
            return Err(Error::new(ErrorKind::Limit, why));
        }
        if let (Some(data), Some(true)) = (&descriptor.data, descriptor.data_matches()) {
            return Ok(Bytes::from(data.clone()));
        }
        let (host, path) = (repository.endpoint_host(), repository.path());
        if let Some(hit) = self.cache().get(host, path, Kind::Blob, digest) {
            return Ok(hit.bytes);
        }
        let scopes = repository_scopes(repository, false);
        let response = self.send(Method::GET, uri, HeaderMap::new(), Body::empty(), &scopes).await?;
        let response = Self::expect(response, &[StatusCode::OK], &context).await?;
        // More bytes than the descriptor's size are content that does not match it.
        let bytes = response.into_body().bytes(size).await.map_err(|e| match e.kind() {
            ErrorKind::Limit => {
                let why = format!("{context}: the body is longer than the descriptor's {size} bytes");
                Error::new(ErrorKind::SizeMismatch, why)
            }
            _ => e,
        })?;
        if bytes.len() != size {
            let why = format!("{context}: received {} bytes, the descriptor says {size}", bytes.len());
            return Err(Error::new(ErrorKind::SizeMismatch, why));
        }
        verify(digest, &bytes, &context)?;
        self.cache().insert(host, path, Kind::Blob, digest, Entry { bytes: bytes.clone(), media_type: None });
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use oci_spec_types::{DigestAlgorithm, Manifest};

    use super::super::headers::DOCKER_CONTENT_DIGEST;
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.append(http::HeaderName::from_bytes(name.as_bytes()).unwrap(), value.parse().unwrap());
        }
        h
    }

    #[test]
    fn accept_lists_the_four_types_without_q() {
        assert_eq!(
            manifest_accept().to_str().unwrap(),
            "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, \
             application/vnd.docker.distribution.manifest.v2+json, \
             application/vnd.docker.distribution.manifest.list.v2+json"
        );
    }

    #[test]
    fn content_type_keeps_the_essence() {
        let h = headers(&[("content-type", " application/vnd.oci.image.index.v1+json; charset=utf-8")]);
        assert_eq!(content_type(&h), Some(MediaType::IMAGE_INDEX));
        assert_eq!(content_type(&headers(&[("content-type", "")])), None);
        assert_eq!(content_type(&HeaderMap::new()), None);
    }

    #[test]
    fn the_digest_header_asserts_for_digests_and_hints_for_tags() {
        let bytes = b"{}";
        let right = Digest::sha256(bytes);
        let wrong = Digest::sha256(b"other");
        let header = |d: &str| headers(&[(DOCKER_CONTENT_DIGEST, d)]);
        // By digest: the bytes and the header must both agree.
        assert_eq!(received_digest(&header(right.as_str()), bytes, Some(&right), "GET x").unwrap(), right);
        assert_eq!(received_digest(&HeaderMap::new(), bytes, Some(&right), "GET x").unwrap(), right);
        let e = received_digest(&header(wrong.as_str()), bytes, Some(&right), "GET x").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::DigestMismatch);
        assert_eq!(
            e.to_string(),
            format!(
                "digest mismatch: GET x: Docker-Content-Digest is {wrong}, the requested digest is {right}"
            )
        );
        let e = received_digest(&HeaderMap::new(), b"tampered", Some(&right), "GET x").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::DigestMismatch);
        let e = received_digest(&header(right.encoded()), bytes, Some(&right), "GET x").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidResponse, "Huawei's header without sha256:");
        // By tag: the bytes win over a wrong or malformed header.
        for h in [header(wrong.as_str()), header(right.encoded()), HeaderMap::new()] {
            assert_eq!(received_digest(&h, bytes, None, "GET x").unwrap(), right);
        }
        let sha512 = Digest::compute(&DigestAlgorithm::SHA512, bytes).unwrap();
        assert_eq!(received_digest(&header(sha512.as_str()), bytes, None, "GET x").unwrap(), sha512);
        assert_eq!(received_digest(&HeaderMap::new(), bytes, Some(&sha512), "GET x").unwrap(), sha512);
    }

    #[test]
    fn head_needs_a_digest_for_tags_a_size_and_a_type() {
        let d = Digest::sha256(b"m");
        let full = [
            ("docker-content-digest", d.as_str()),
            ("content-length", "1"),
            ("content-type", "application/vnd.oci.image.manifest.v1+json"),
        ];
        let got = head_descriptor(&headers(&full), None, "HEAD x").unwrap();
        assert_eq!(got, Descriptor::new(MediaType::IMAGE_MANIFEST, d.clone(), 1));
        assert_eq!(head_descriptor(&headers(&full[1..]), Some(&d), "HEAD x").unwrap().digest, d);
        let e = head_descriptor(&headers(&full[1..]), None, "HEAD x").unwrap_err();
        assert_eq!(e.to_string(), "invalid response: HEAD x: no Docker-Content-Digest for a tag");
        let other = Digest::sha256(b"n");
        let e = head_descriptor(&headers(&full), Some(&other), "HEAD x").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::DigestMismatch);
        let e = head_descriptor(&headers(&[full[0], full[2]]), None, "HEAD x").unwrap_err();
        assert_eq!(e.to_string(), "invalid response: HEAD x: no valid Content-Length");
        let e = head_descriptor(&headers(&full[..2]), None, "HEAD x").unwrap_err();
        assert_eq!(e.to_string(), "invalid response: HEAD x: no Content-Type");
    }

    #[test]
    fn parses_any_manifest_type_and_falls_back_to_the_body() {
        let index = br#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[]}"#;
        let bytes = Bytes::from_static(index);
        let d = Digest::sha256(index);
        // No useful header: the document's mediaType.
        for header in [None, Some(MediaType::JSON), Some(MediaType::from("text/plain"))] {
            let r = parse_document(bytes.clone(), header.as_ref(), &d, "GET x").unwrap();
            assert_eq!(r.media_type(), &MediaType::DOCKER_MANIFEST_LIST);
            assert!(matches!(r.value(), Manifest::Index(_)));
        }
        // No mediaType in the body either: the header, else the OCI type of its kind.
        let bare = Bytes::from_static(br#"{"schemaVersion":2,"manifests":[]}"#);
        let d = Digest::sha256(&bare);
        let r = parse_document(bare.clone(), Some(&MediaType::DOCKER_MANIFEST_LIST), &d, "x").unwrap();
        assert_eq!(r.media_type(), &MediaType::DOCKER_MANIFEST_LIST);
        let r = parse_document(bare.clone(), None, &d, "x").unwrap();
        assert_eq!((r.media_type().clone(), r.descriptor().size), (MediaType::IMAGE_INDEX, 34));
        let sha512 = Digest::compute(&DigestAlgorithm::SHA512, &bare).unwrap();
        assert_eq!(parse_document(bare, None, &sha512, "x").unwrap().digest(), &sha512);
        let v1 = Bytes::from_static(br#"{"schemaVersion":1,"fsLayers":[]}"#);
        let e = parse_document(v1, Some(&MediaType::DOCKER_MANIFEST_V1_SIGNED), &d, "GET x").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidResponse);
        let cause = std::error::Error::source(&e).unwrap().to_string();
        assert_eq!(
            cause,
            "unsupported manifest media type application/vnd.docker.distribution.manifest.v1+prettyjws"
        );
    }

    #[test]
    fn pinning_names_the_digest() {
        let r = Repository::parse_strict("r.example/a/b").unwrap();
        let d = Digest::sha256(b"x");
        assert_eq!(pinned(&r, &d).unwrap().as_str(), format!("r.example/a/b@{d}"));
        assert_eq!(pinned(&r, &d).unwrap().digest(), Some(&d));
    }
}
