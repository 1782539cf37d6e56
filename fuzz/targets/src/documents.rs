//! Targets over JSON documents: manifests, indexes and configs, the answers of the list
//! endpoints, the referrers fallback index, and credential files.

use std::path::PathBuf;
use std::sync::OnceLock;

use oci_distribution::auth::credentials::{DockerConfig, HelperRunner};
use oci_distribution::internals;
use oci_spec_types::validate::validate;
use oci_spec_types::{
    Digest, Document, ErrorResponse, ImageConfig, ImageLayout, Manifest, MediaType, RepositoryList, TagList,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::runtime::Runtime;

/// What deserializes serializes, and what that gives deserializes to the same value.
fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(data: &[u8]) {
    let Ok(value) = serde_json::from_slice::<T>(data) else { return };
    let written = serde_json::to_vec(&value).expect("a parsed document serializes");
    let again: T = serde_json::from_slice(&written).expect("a written document parses");
    assert_eq!(again, value, "{}", String::from_utf8_lossy(&written));
}

/// Manifests and indexes (OCI and Docker), configs, the layout header, the list and
/// error answers; and the validator over each media type.
pub(crate) fn manifest(data: &[u8]) {
    if let Ok(doc) = Document::<Manifest>::from_slice(data.to_vec()) {
        let written = serde_json::to_vec(doc.value()).expect("a manifest serializes");
        let again =
            Manifest::from_slice(&written, Some(doc.media_type())).expect("a written manifest parses");
        assert_eq!(&again, doc.value(), "{}", String::from_utf8_lossy(&written));
        assert!(Digest::parse(doc.digest().as_str()).is_ok());
        let _ = (doc.value().references(), doc.value().subject(), doc.descriptor());
    }
    for media_type in [MediaType::IMAGE_MANIFEST, MediaType::IMAGE_INDEX, MediaType::DOCKER_MANIFEST] {
        let _ = Manifest::from_slice(data, Some(&media_type));
    }
    for media_type in [MediaType::IMAGE_MANIFEST, MediaType::IMAGE_INDEX, MediaType::IMAGE_CONFIG] {
        let _ = validate(&media_type, data);
    }
    round_trip::<ImageConfig>(data);
    round_trip::<ImageLayout>(data);
    round_trip::<TagList>(data);
    round_trip::<RepositoryList>(data);
    round_trip::<ErrorResponse>(data);
}

/// A document at a subject's fallback tag: the first byte picks the subject (even: the
/// document itself, as GitLab answers; odd: another manifest), the rest is the document.
pub(crate) fn referrers_fallback(data: &[u8]) {
    let (seed, document) = data.split_at(data.len().min(1));
    let Ok(found) = Document::<Manifest>::from_slice(document.to_vec()) else { return };
    let subject =
        if seed.first().is_some_and(|b| b % 2 == 0) { found.digest().clone() } else { Digest::sha256(seed) };
    if let Some(entries) = internals::fallback_referrers(&subject, &found) {
        assert_ne!(&subject, found.digest(), "the subject itself is no fallback index");
        let Manifest::Index(index) = found.value() else { panic!("entries from something not an index") };
        assert_eq!(entries, index.manifests);
    }
}

/// Runs `future`, which never waits for anything here, on a runtime of its own.
fn block_on<F: Future>(future: F) -> F::Output {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    let runtime = RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime")
    });
    runtime.block_on(future)
}

/// A docker `config.json` or podman `auth.json`, and the lookups a client makes in it
/// (credential helpers are never run: none is on the empty search path).
pub(crate) fn auth_config(data: &[u8]) {
    let Ok(config) = DockerConfig::from_slice(data) else { return };
    let helpers = HelperRunner::new().with_search_path(Vec::<PathBuf>::new());
    let lookups = [
        ("docker.io", Some("library/nginx")),
        ("registry.test:5000", Some("team/app")),
        ("registry.test:5000", None),
        ("[::1]:5000", Some("a/b/c")),
    ];
    for (registry, repository) in lookups {
        let _ = block_on(config.lookup(registry, repository, &helpers));
        let _ = config.credential_helper(registry);
    }
    let _ = config.credentials_store();
    let _ = format!("{config:?}");
}
