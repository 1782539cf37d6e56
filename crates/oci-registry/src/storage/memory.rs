//! A store in memory, for tests: the same behaviour as the disk store, nothing kept.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{self, Cursor, Read, Write};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use bytes::Bytes;
use oci_spec_types::{Descriptor, Digest};

use super::entries::{self, plain};
use super::{BlobRead, ManifestRef, Storage, StoredManifest, UploadInfo};
use crate::gc::{self, GcOptions, GcReport, Need};
use crate::{Error, ErrorKind, Result};

/// Repositories, blobs and uploads in memory. Each blob's bytes are held once, however
/// many repositories have it. Cheap to clone: clones share the same content.
#[derive(Debug, Clone, Default)]
pub struct MemoryStorage {
    state: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    content: HashMap<Digest, Bytes>,
    repositories: BTreeMap<String, Repository>,
    uploads: HashMap<String, Upload>,
}

#[derive(Debug, Default)]
struct Repository {
    /// Each blob and when it was last linked in (committed or mounted).
    blobs: BTreeMap<Digest, SystemTime>,
    /// As `index.json` holds them: one descriptor per tag (with `ref.name`), one
    /// untagged per manifest pushed by digest.
    entries: Vec<Descriptor>,
}

#[derive(Debug)]
struct Upload {
    repository: String,
    data: Vec<u8>,
    modified: SystemTime,
}

impl MemoryStorage {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl State {
    fn upload(&mut self, repository: &str, id: &str) -> Result<&mut Upload> {
        match self.uploads.get_mut(id) {
            Some(upload) if upload.repository == repository => Ok(upload),
            _ => Err(Error::new(ErrorKind::Io, format!("no upload session {id} for {repository}"))),
        }
    }

    /// Makes `digest` a blob of `repository`, linked now.
    fn link(&mut self, repository: &str, digest: &Digest) {
        self.repositories
            .entry(repository.to_owned())
            .or_default()
            .blobs
            .insert(digest.clone(), SystemTime::now());
    }

    fn has_blob(&self, repository: &str, digest: &Digest) -> bool {
        self.repositories.get(repository).is_some_and(|r| r.blobs.contains_key(digest))
    }
}

impl Storage for MemoryStorage {
    fn repositories(&self) -> Result<Vec<String>> {
        Ok(self.lock().repositories.keys().cloned().collect())
    }

    fn repository_exists(&self, repository: &str) -> Result<bool> {
        Ok(self.lock().repositories.contains_key(repository))
    }

    fn blob_size(&self, repository: &str, digest: &Digest) -> Result<Option<u64>> {
        let state = self.lock();
        Ok(state
            .has_blob(repository, digest)
            .then(|| state.content.get(digest).map_or(0, |b| b.len() as u64)))
    }

    fn blob_reader(&self, repository: &str, digest: &Digest) -> Result<Option<(Box<dyn BlobRead>, u64)>> {
        let state = self.lock();
        if !state.has_blob(repository, digest) {
            return Ok(None);
        }
        Ok(state.content.get(digest).map(|bytes| {
            let size = bytes.len() as u64;
            (Box::new(Cursor::new(bytes.clone())) as Box<dyn BlobRead>, size)
        }))
    }

    fn delete_blob(&self, repository: &str, digest: &Digest) -> Result<bool> {
        let mut state = self.lock();
        let Some(repo) = state.repositories.get_mut(repository) else { return Ok(false) };
        if repo.entries.iter().any(|d| &d.digest == digest) {
            return Err(super::manifest_in_use(repository, digest));
        }
        Ok(repo.blobs.remove(digest).is_some())
    }

    fn mount_blob(&self, from: Option<&str>, repository: &str, digest: &Digest) -> Result<bool> {
        let mut state = self.lock();
        let found = match from {
            Some(from) => state.has_blob(from, digest),
            None => state.content.contains_key(digest),
        };
        if found {
            state.link(repository, digest);
        }
        Ok(found)
    }

    fn upload_start(&self, repository: &str) -> Result<String> {
        let id = crate::sessions::new_id();
        let upload =
            Upload { repository: repository.to_owned(), data: Vec::new(), modified: SystemTime::now() };
        self.lock().uploads.insert(id.clone(), upload);
        Ok(id)
    }

    fn upload_info(&self, repository: &str, id: &str) -> Result<Option<UploadInfo>> {
        let state = self.lock();
        Ok(state.uploads.get(id).filter(|u| u.repository == repository).map(|u| UploadInfo {
            repository: u.repository.clone(),
            id: id.to_owned(),
            size: u.data.len() as u64,
            modified: u.modified,
        }))
    }

    fn upload_writer(&self, repository: &str, id: &str, offset: u64) -> Result<Box<dyn Write + Send>> {
        let mut state = self.lock();
        let upload = state.upload(repository, id)?;
        upload.data.truncate(usize::try_from(offset).unwrap_or(usize::MAX));
        Ok(Box::new(MemoryWriter { store: self.clone(), id: id.to_owned() }))
    }

    fn upload_reader(&self, repository: &str, id: &str) -> Result<Box<dyn Read + Send>> {
        let mut state = self.lock();
        let data = state.upload(repository, id)?.data.clone();
        Ok(Box::new(Cursor::new(data)))
    }

    fn upload_commit(&self, repository: &str, id: &str, digest: &Digest) -> Result<()> {
        let mut state = self.lock();
        state.upload(repository, id)?;
        let upload = state.uploads.remove(id).map(|u| u.data).unwrap_or_default();
        state.content.entry(digest.clone()).or_insert_with(|| Bytes::from(upload));
        state.link(repository, digest);
        Ok(())
    }

    fn upload_cancel(&self, repository: &str, id: &str) -> Result<bool> {
        let mut state = self.lock();
        let found = state.uploads.get(id).is_some_and(|u| u.repository == repository);
        if found {
            state.uploads.remove(id);
        }
        Ok(found)
    }

    fn uploads(&self) -> Result<Vec<UploadInfo>> {
        let state = self.lock();
        Ok(state
            .uploads
            .iter()
            .map(|(id, u)| UploadInfo {
                repository: u.repository.clone(),
                id: id.clone(),
                size: u.data.len() as u64,
                modified: u.modified,
            })
            .collect())
    }

    fn manifest(&self, repository: &str, reference: &ManifestRef) -> Result<Option<StoredManifest>> {
        let state = self.lock();
        let Some(repo) = state.repositories.get(repository) else { return Ok(None) };
        let found = match reference {
            ManifestRef::Tag(tag) => repo.entries.iter().find(|d| d.annotations.ref_name() == Some(tag)),
            ManifestRef::Digest(digest) => repo.entries.iter().find(|d| &d.digest == digest),
        };
        Ok(found.and_then(|d| {
            let bytes = state.content.get(&d.digest)?.clone();
            Some(StoredManifest { descriptor: plain(d), bytes })
        }))
    }

    fn put_manifest(
        &self,
        repository: &str,
        descriptor: &Descriptor,
        bytes: &[u8],
        tags: &[String],
        needs: &[Need],
    ) -> Result<Option<Need>> {
        let mut state = self.lock();
        let missing = needs.iter().find(|need| match need {
            Need::Blob(digest) => !state.has_blob(repository, digest),
            Need::Manifest(digest) => !state
                .repositories
                .get(repository)
                .is_some_and(|r| r.entries.iter().any(|d| &d.digest == digest)),
        });
        if let Some(missing) = missing {
            return Ok(Some(missing.clone()));
        }
        state.content.entry(descriptor.digest.clone()).or_insert_with(|| Bytes::copy_from_slice(bytes));
        let repo = state.repositories.entry(repository.to_owned()).or_default();
        repo.blobs.insert(descriptor.digest.clone(), SystemTime::now());
        entries::put(&mut repo.entries, descriptor, tags);
        Ok(None)
    }

    fn delete_manifest(&self, repository: &str, digest: &Digest) -> Result<bool> {
        let mut state = self.lock();
        let Some(repo) = state.repositories.get_mut(repository) else { return Ok(false) };
        let before = repo.entries.len();
        repo.entries.retain(|d| &d.digest != digest);
        let found = repo.entries.len() != before;
        if found {
            repo.blobs.remove(digest);
        }
        Ok(found)
    }

    fn delete_tag(&self, repository: &str, tag: &str) -> Result<bool> {
        let mut state = self.lock();
        let Some(repo) = state.repositories.get_mut(repository) else { return Ok(false) };
        Ok(entries::untag(&mut repo.entries, tag))
    }

    fn tags(&self, repository: &str) -> Result<Option<Vec<String>>> {
        let state = self.lock();
        Ok(state.repositories.get(repository).map(|repo| {
            let tags: BTreeSet<&str> = repo.entries.iter().filter_map(|d| d.annotations.ref_name()).collect();
            tags.into_iter().map(str::to_owned).collect()
        }))
    }

    fn manifests(&self, repository: &str) -> Result<Vec<Descriptor>> {
        let state = self.lock();
        let Some(repo) = state.repositories.get(repository) else { return Ok(Vec::new()) };
        let mut seen = BTreeSet::new();
        Ok(repo.entries.iter().filter(|d| seen.insert(d.digest.clone())).map(plain).collect())
    }

    fn gc(&self, options: &GcOptions) -> Result<GcReport> {
        let mut state = self.lock();
        let state = &mut *state;
        let mut report = GcReport::default();
        let now = SystemTime::now();
        let old = |at: &SystemTime| now.duration_since(*at).unwrap_or_default() >= options.grace;
        let content = &state.content;
        let read = |d: &Descriptor| content.get(&d.digest).map(|b| b.to_vec());
        for (name, repo) in &mut state.repositories {
            report.repositories += 1;
            if options.untagged {
                let drop: BTreeSet<Digest> = gc::unreferenced_untagged(&repo.entries, read)
                    .into_iter()
                    .filter(|d| repo.blobs.get(d).is_none_or(old))
                    .collect();
                repo.entries.retain(|d| !drop.contains(&d.digest));
                report.manifests_removed += drop.len();
                report.removed.extend(drop.into_iter().map(|d| (name.clone(), d)));
            }
            let live = gc::reachable(&repo.entries, read);
            let before = repo.blobs.len();
            repo.blobs.retain(|digest, at| live.contains(digest) || !old(at));
            report.blobs_removed += before - repo.blobs.len();
        }
        let held: BTreeSet<&Digest> = state.repositories.values().flat_map(|r| r.blobs.keys()).collect();
        let unheld: Vec<Digest> = state.content.keys().filter(|d| !held.contains(d)).cloned().collect();
        for digest in unheld {
            if let Some(bytes) = state.content.remove(&digest) {
                report.content_removed += 1;
                report.bytes_freed += bytes.len() as u64;
            }
        }
        Ok(report)
    }
}

/// Appends to an upload session held in memory.
struct MemoryWriter {
    store: MemoryStorage,
    id: String,
}

impl Write for MemoryWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut state = self.store.lock();
        let upload =
            state.uploads.get_mut(&self.id).ok_or_else(|| io::Error::other("the upload session ended"))?;
        upload.data.extend_from_slice(buf);
        upload.modified = SystemTime::now();
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
