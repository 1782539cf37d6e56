//! The referrers of each subject, indexed: read once per repository (the first time
//! its referrers are asked for), then kept up to date as manifests are stored and
//! deleted, so a referrers request never reads every manifest of a repository.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use oci_spec_types::{Descriptor, Digest, Manifest};

use crate::Result;
use crate::storage::{ManifestRef, Storage};

/// Per repository, `None` until it is first read.
#[derive(Debug, Default)]
pub(crate) struct Referrers {
    repositories: Mutex<HashMap<String, Arc<Mutex<Option<Index>>>>>,
}

/// A repository's referrers by subject.
type Index = HashMap<Digest, Vec<Descriptor>>;

impl Referrers {
    fn repository(&self, name: &str) -> Arc<Mutex<Option<Index>>> {
        let mut repos = self.repositories.lock().unwrap_or_else(PoisonError::into_inner);
        repos.entry(name.to_owned()).or_default().clone()
    }

    /// The referrers of `subject` in the repository (blocking: may read the repository
    /// once).
    pub(crate) fn list(
        &self,
        storage: &dyn Storage,
        repository: &str,
        subject: &Digest,
    ) -> Result<Vec<Descriptor>> {
        let repo = self.repository(repository);
        let mut index = repo.lock().unwrap_or_else(PoisonError::into_inner);
        if index.is_none() {
            *index = Some(load(storage, repository)?);
        }
        Ok(index.as_ref().and_then(|i| i.get(subject)).cloned().unwrap_or_default())
    }

    /// Records a manifest with a subject just stored (after the store has it).
    pub(crate) fn added(&self, repository: &str, subject: &Digest, referrer: Descriptor) {
        let repo = self.repository(repository);
        let mut index = repo.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(index) = index.as_mut() {
            let list = index.entry(subject.clone()).or_default();
            list.retain(|d| d.digest != referrer.digest);
            list.push(referrer);
        }
    }

    /// Forgets a manifest just deleted.
    pub(crate) fn removed(&self, repository: &str, digest: &Digest) {
        let repo = self.repository(repository);
        let mut index = repo.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(index) = index.as_mut() {
            for list in index.values_mut() {
                list.retain(|d| &d.digest != digest);
            }
        }
    }
}

/// Reads every manifest of the repository once for its subject.
fn load(storage: &dyn Storage, repository: &str) -> Result<Index> {
    let mut index = Index::new();
    for descriptor in storage.manifests(repository)? {
        let Some(stored) = storage.manifest(repository, &ManifestRef::Digest(descriptor.digest.clone()))?
        else {
            continue;
        };
        let Ok(manifest) = Manifest::from_slice(&stored.bytes, Some(&stored.descriptor.media_type)) else {
            continue;
        };
        if let Some(subject) = manifest.subject() {
            index.entry(subject.digest.clone()).or_default().push(manifest.as_referrer(&stored.descriptor));
        }
    }
    Ok(index)
}
