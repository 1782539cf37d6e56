//! The store on disk: a directory of OCI image layouts, one per repository.
//!
//! ```text
//! DIR/<repository>/          an OCI image layout (oci-layout, index.json, blobs/)
//! DIR/.oci-registry/blobs/   one copy of every uploaded blob; repositories hard-link it
//! DIR/.oci-registry/uploads/ upload sessions: <id>/data and <id>/repository
//! ```
//!
//! No repository name starts with `.`, so the registry's own directory is never one.
//! Tags are `org.opencontainers.image.ref.name` entries of the layout's `index.json`,
//! beside one untagged entry per manifest (a manifest stays reachable by digest when
//! its tags go), so a stopped server's repository opens with `skopeo copy
//! oci:DIR/<repository>:<tag>` and `umoci ls`.

use std::collections::{BTreeSet, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use oci_layout::{Directory, Driver as _, Layout, LayoutFile, WriteOptions};
use oci_spec_types::{Descriptor, Digest, ImageIndex};

use super::entries::{self, plain};
use super::{BlobRead, ManifestRef, Storage, StoredManifest, UploadInfo};
use crate::gc::{GcOptions, GcReport, Need};
use crate::{Error, ErrorKind, Result};

/// The registry's own directory inside the served one.
const STATE_DIR: &str = ".oci-registry";
/// How deep repositories are looked for (`a/b/c/...`).
const MAX_DEPTH: usize = 16;

/// Repositories as OCI image layouts in one directory (see the module docs).
#[derive(Debug)]
pub struct DiskStorage {
    root: PathBuf,
    state: PathBuf,
    fsync: bool,
    repositories: Mutex<HashMap<String, Arc<Repo>>>,
}

/// One repository's layout, and the lock that serializes its `index.json` updates.
#[derive(Debug)]
struct Repo {
    dir: Directory,
    layout: Layout,
    index: Mutex<()>,
}

impl DiskStorage {
    /// Serves (and creates if needed) the directory `root`. With `fsync`, every blob,
    /// `index.json` and rename is flushed to disk before a request that wrote it is
    /// answered (see the crate docs' durability contract). Nothing is read up front.
    pub fn open(root: impl Into<PathBuf>, fsync: bool) -> Result<Self> {
        let root = root.into();
        let state = root.join(STATE_DIR);
        for dir in [state.join("uploads"), state.join("blobs")] {
            fs::create_dir_all(&dir).map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        }
        Ok(Self { root, state, fsync, repositories: Mutex::new(HashMap::new()) })
    }

    /// The directory served.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The repository's layout: `None` when it does not exist and `create` is false.
    fn repo(&self, name: &str, create: bool) -> Result<Option<Arc<Repo>>> {
        let mut repos = self.repositories.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(repo) = repos.get(name) {
            return Ok(Some(repo.clone()));
        }
        let path = self.root.join(name);
        let dir = Directory::with_options(&path, WriteOptions::default().with_fsync(self.fsync));
        let layout = if path.join(LayoutFile::ImageLayout.name()).is_file() {
            Layout::open(dir.clone())?
        } else if create {
            Layout::open_or_init(dir.clone())?
        } else {
            return Ok(None);
        };
        let repo = Arc::new(Repo { dir, layout, index: Mutex::new(()) });
        repos.insert(name.to_owned(), repo.clone());
        Ok(Some(repo))
    }

    fn upload_dir(&self, id: &str) -> Result<PathBuf> {
        if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::new(ErrorKind::Io, format!("{id:?} is not an upload id")));
        }
        Ok(self.state.join("uploads").join(id))
    }

    /// The session's data file, after checking it belongs to `repository`.
    fn upload_data(&self, repository: &str, id: &str) -> Result<Option<PathBuf>> {
        let dir = self.upload_dir(id)?;
        match fs::read_to_string(dir.join("repository")) {
            Ok(owner) if owner == repository => Ok(Some(dir.join("data"))),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(format!("reading upload session {id}"), e)),
        }
    }

    fn content_path(&self, digest: &Digest) -> PathBuf {
        self.state.join("blobs").join(digest.algorithm_str()).join(digest.encoded())
    }

    /// A read-modify-write of the repository's `index.json`, serialized per repository.
    fn update_index<T>(repo: &Repo, f: impl FnOnce(&mut ImageIndex) -> T) -> Result<T> {
        let _guard = repo.index.lock().unwrap_or_else(PoisonError::into_inner);
        let mut index = repo.layout.read_index()?;
        let out = f(&mut index);
        repo.layout.write_index(&index)?;
        Ok(out)
    }

    fn sync_dir(&self, dir: &Path) -> Result<()> {
        if self.fsync {
            File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| Error::io(format!("syncing {}", dir.display()), e))?;
        }
        Ok(())
    }

    fn find_repositories(dir: &Path, prefix: &str, depth: usize, out: &mut Vec<String>) -> Result<()> {
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(Error::io(format!("listing {}", dir.display()), e)),
        };
        let is_layout = !prefix.is_empty() && dir.join(LayoutFile::ImageLayout.name()).is_file();
        if is_layout {
            out.push(prefix.to_owned());
        }
        if depth >= MAX_DEPTH {
            return Ok(());
        }
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
            let Ok(name) = entry.file_name().into_string() else { continue };
            let skip = name.starts_with('.') || (is_layout && name == oci_layout::BLOBS_DIR);
            if skip || !entry.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let child = if prefix.is_empty() { name.clone() } else { format!("{prefix}/{name}") };
            if oci_reference::validate_repository(&child).is_ok() {
                Self::find_repositories(&entry.path(), &child, depth + 1, out)?;
            }
        }
        Ok(())
    }
}

/// Opens a file without following a symbolic link in its last component.
fn open_nofollow(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    options.open(path)
}

impl Storage for DiskStorage {
    fn repositories(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        Self::find_repositories(&self.root, "", 0, &mut out)?;
        out.sort();
        Ok(out)
    }

    fn repository_exists(&self, repository: &str) -> Result<bool> {
        Ok(self.repo(repository, false)?.is_some())
    }

    fn blob_size(&self, repository: &str, digest: &Digest) -> Result<Option<u64>> {
        let Some(repo) = self.repo(repository, false)? else { return Ok(None) };
        Ok(repo.layout.blob_size(digest)?)
    }

    fn blob_reader(&self, repository: &str, digest: &Digest) -> Result<Option<(Box<dyn BlobRead>, u64)>> {
        let Some(repo) = self.repo(repository, false)? else { return Ok(None) };
        // Checks the directories and the file (no links) before opening it.
        if repo.layout.blob_size(digest)?.is_none() {
            return Ok(None);
        }
        let path = repo.dir.blob_file(digest);
        let file = match open_nofollow(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(format!("opening {}", path.display()), e)),
        };
        let meta = file.metadata().map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        if !meta.is_file() {
            return Err(Error::new(ErrorKind::Corrupt, format!("{} is not a regular file", path.display())));
        }
        Ok(Some((Box::new(file), meta.len())))
    }

    fn delete_blob(&self, repository: &str, digest: &Digest) -> Result<bool> {
        let Some(repo) = self.repo(repository, false)? else { return Ok(false) };
        // A manifest's bytes are a blob of the layout: without them `index.json` would
        // name a manifest that is not there. Checked under the index's lock.
        let _guard = repo.index.lock().unwrap_or_else(PoisonError::into_inner);
        if repo.layout.read_index()?.manifests.iter().any(|d| &d.digest == digest) {
            return Err(super::manifest_in_use(repository, digest));
        }
        Ok(repo.dir.delete_blob(digest)?)
    }

    fn mount_blob(&self, from: Option<&str>, repository: &str, digest: &Digest) -> Result<bool> {
        let source = if let Some(from) = from {
            match self.repo(from, false)? {
                Some(source) if source.layout.blob_size(digest)?.is_some() => source.dir.blob_file(digest),
                _ => return Ok(false),
            }
        } else {
            let path = self.content_path(digest);
            if !path.is_file() {
                return Ok(false);
            }
            path
        };
        let Some(repo) = self.repo(repository, true)? else { return Ok(false) };
        repo.dir.link_blob(&source, digest)?;
        Ok(true)
    }

    fn upload_start(&self, repository: &str) -> Result<String> {
        let id = crate::sessions::new_id();
        let dir = self.upload_dir(&id)?;
        let io = |e| Error::io(format!("creating upload session {id}"), e);
        fs::create_dir(&dir).map_err(io)?;
        File::create(dir.join("data")).map_err(io)?;
        fs::write(dir.join("repository"), repository).map_err(io)?;
        Ok(id)
    }

    fn upload_info(&self, repository: &str, id: &str) -> Result<Option<UploadInfo>> {
        let Some(data) = self.upload_data(repository, id)? else { return Ok(None) };
        match fs::metadata(&data) {
            Ok(meta) => Ok(Some(UploadInfo {
                repository: repository.to_owned(),
                id: id.to_owned(),
                size: meta.len(),
                modified: meta.modified().unwrap_or_else(|_| std::time::SystemTime::now()),
            })),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(format!("reading upload session {id}"), e)),
        }
    }

    fn upload_writer(&self, repository: &str, id: &str, offset: u64) -> Result<Box<dyn Write + Send>> {
        let data = self
            .upload_data(repository, id)?
            .ok_or_else(|| Error::new(ErrorKind::Io, format!("no upload session {id}")))?;
        let io = |e| Error::io(format!("writing upload session {id}"), e);
        let mut file = OpenOptions::new().write(true).open(&data).map_err(io)?;
        file.set_len(offset).map_err(io)?;
        file.seek(SeekFrom::Start(offset)).map_err(io)?;
        Ok(Box::new(BufWriter::with_capacity(256 * 1024, file)))
    }

    fn upload_reader(&self, repository: &str, id: &str) -> Result<Box<dyn Read + Send>> {
        let data = self
            .upload_data(repository, id)?
            .ok_or_else(|| Error::new(ErrorKind::Io, format!("no upload session {id}")))?;
        let file = File::open(&data).map_err(|e| Error::io(format!("reading upload session {id}"), e))?;
        Ok(Box::new(io::BufReader::with_capacity(256 * 1024, file)))
    }

    fn upload_commit(&self, repository: &str, id: &str, digest: &Digest) -> Result<()> {
        let data = self
            .upload_data(repository, id)?
            .ok_or_else(|| Error::new(ErrorKind::Io, format!("no upload session {id}")))?;
        let content = self.content_path(digest);
        let io = |what: &str, e| Error::io(format!("{what} blob {digest} of upload session {id}"), e);
        let repo =
            self.repo(repository, true)?.ok_or_else(|| Error::new(ErrorKind::Io, "repository vanished"))?;
        // In an order that a crash at any point leaves either the session (its PUT can
        // be sent again) or the blob in the repository, never neither: the repository
        // links the stored copy (or the session's file, which then becomes the stored
        // copy), and only then does the session go.
        if content.is_file() {
            repo.dir.link_blob(&content, digest)?;
        } else {
            if self.fsync {
                File::open(&data).and_then(|f| f.sync_all()).map_err(|e| io("syncing", e))?;
            }
            repo.dir.link_blob(&data, digest)?;
            let parent = content.parent().unwrap_or(&self.state);
            fs::create_dir_all(parent).map_err(|e| io("storing", e))?;
            fs::rename(&data, &content).map_err(|e| io("storing", e))?;
            self.sync_dir(parent)?;
        }
        let dir = self.upload_dir(id)?;
        fs::remove_dir_all(&dir).map_err(|e| io("ending the session of", e))?;
        Ok(())
    }

    fn upload_cancel(&self, repository: &str, id: &str) -> Result<bool> {
        if self.upload_data(repository, id)?.is_none() {
            return Ok(false);
        }
        let dir = self.upload_dir(id)?;
        fs::remove_dir_all(&dir).map_err(|e| Error::io(format!("removing upload session {id}"), e))?;
        Ok(true)
    }

    fn uploads(&self) -> Result<Vec<UploadInfo>> {
        let dir = self.state.join("uploads");
        let entries = fs::read_dir(&dir).map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let Ok(id) = entry.file_name().into_string() else { continue };
            let Ok(repository) = fs::read_to_string(entry.path().join("repository")) else { continue };
            if let Some(info) = self.upload_info(&repository, &id)? {
                out.push(info);
            }
        }
        Ok(out)
    }

    fn manifest(&self, repository: &str, reference: &ManifestRef) -> Result<Option<StoredManifest>> {
        let Some(repo) = self.repo(repository, false)? else { return Ok(None) };
        let index = repo.layout.read_index()?;
        let found = match reference {
            ManifestRef::Tag(tag) => index.find_ref_name(tag),
            ManifestRef::Digest(digest) => index.manifests.iter().find(|d| &d.digest == digest),
        };
        let Some(found) = found else { return Ok(None) };
        let bytes = repo.layout.read_blob(&found.digest)?;
        Ok(Some(StoredManifest { descriptor: plain(found), bytes: bytes.into() }))
    }

    fn put_manifest(
        &self,
        repository: &str,
        descriptor: &Descriptor,
        bytes: &[u8],
        tags: &[String],
        needs: &[Need],
    ) -> Result<Option<Need>> {
        let repo =
            self.repo(repository, true)?.ok_or_else(|| Error::new(ErrorKind::Io, "repository vanished"))?;
        // Checked and stored under the lock a collection of the repository holds.
        let _guard = repo.index.lock().unwrap_or_else(PoisonError::into_inner);
        let mut index = repo.layout.read_index()?;
        for need in needs {
            let present = match need {
                Need::Blob(digest) => repo.layout.blob_size(digest)?.is_some(),
                Need::Manifest(digest) => index.manifests.iter().any(|d| &d.digest == digest),
            };
            if !present {
                return Ok(Some(need.clone()));
            }
        }
        if repo.layout.blob_size(&descriptor.digest)?.is_none() {
            repo.layout.write_blob(bytes, descriptor)?;
        }
        entries::put(&mut index.manifests, descriptor, tags);
        repo.layout.write_index(&index)?;
        Ok(None)
    }

    fn delete_manifest(&self, repository: &str, digest: &Digest) -> Result<bool> {
        let Some(repo) = self.repo(repository, false)? else { return Ok(false) };
        Self::update_index(&repo, |index| {
            let before = index.manifests.len();
            index.manifests.retain(|d| &d.digest != digest);
            index.manifests.len() != before
        })
    }

    fn delete_tag(&self, repository: &str, tag: &str) -> Result<bool> {
        let Some(repo) = self.repo(repository, false)? else { return Ok(false) };
        Self::update_index(&repo, |index| entries::untag(&mut index.manifests, tag))
    }

    fn tags(&self, repository: &str) -> Result<Option<Vec<String>>> {
        let Some(repo) = self.repo(repository, false)? else { return Ok(None) };
        Ok(Some(repo.layout.tags()?))
    }

    fn manifests(&self, repository: &str) -> Result<Vec<Descriptor>> {
        let Some(repo) = self.repo(repository, false)? else { return Ok(Vec::new()) };
        let index = repo.layout.read_index()?;
        let mut seen = BTreeSet::new();
        Ok(index.manifests.iter().filter(|d| seen.insert(d.digest.clone())).map(plain).collect())
    }

    fn gc(&self, options: &GcOptions) -> Result<GcReport> {
        let mut report = GcReport::default();
        for name in self.repositories()? {
            if let Some(repo) = self.repo(&name, false)? {
                report.add(&collect_repository(&name, &repo, options)?);
            }
        }
        // The stored copies no repository links any more.
        let blobs = self.state.join("blobs");
        for alg in
            fs::read_dir(&blobs).map_err(|e| Error::io(format!("listing {}", blobs.display()), e))?.flatten()
        {
            for entry in fs::read_dir(alg.path()).into_iter().flatten().flatten() {
                let path = entry.path();
                let Ok(meta) = fs::symlink_metadata(&path) else { continue };
                if meta.is_file() && links(&meta) == 1 && idle(&meta, options.grace) {
                    match fs::remove_file(&path) {
                        Ok(()) => {
                            report.content_removed += 1;
                            report.bytes_freed += meta.len();
                        }
                        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                        Err(e) => return Err(Error::io(format!("removing {}", path.display()), e)),
                    }
                }
            }
        }
        Ok(report)
    }
}

/// Collects one repository under its lock: untagged manifests (when asked), then the
/// blobs none of its manifests reaches, each only once idle past the grace period.
fn collect_repository(name: &str, repo: &Repo, options: &GcOptions) -> Result<GcReport> {
    let mut report = GcReport { repositories: 1, ..GcReport::default() };
    let _guard = repo.index.lock().unwrap_or_else(PoisonError::into_inner);
    let mut index = repo.layout.read_index()?;
    let read = |d: &Descriptor| repo.layout.read_blob(&d.digest).ok();
    let idle_blob = |digest: &Digest| {
        fs::symlink_metadata(repo.dir.blob_file(digest)).is_ok_and(|m| idle(&m, options.grace))
    };
    if options.untagged {
        let drop: BTreeSet<Digest> = crate::gc::unreferenced_untagged(&index.manifests, read)
            .into_iter()
            .filter(|d| idle_blob(d))
            .collect();
        if !drop.is_empty() {
            index.manifests.retain(|d| !drop.contains(&d.digest));
            repo.layout.write_index(&index)?;
            report.manifests_removed += drop.len();
            report.removed.extend(drop.into_iter().map(|d| (name.to_owned(), d)));
        }
    }
    let live = crate::gc::reachable(&index.manifests, read);
    for (digest, size) in repo.dir.list_blobs()?.blobs {
        if live.contains(&digest) || !idle_blob(&digest) {
            continue;
        }
        let last_link = fs::symlink_metadata(repo.dir.blob_file(&digest)).is_ok_and(|m| links(&m) == 1);
        if repo.dir.delete_blob(&digest)? {
            report.blobs_removed += 1;
            if last_link {
                report.bytes_freed += size;
            }
        }
    }
    Ok(report)
}

/// The file's hard links.
fn links(meta: &fs::Metadata) -> u64 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        meta.nlink()
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        1
    }
}

/// Whether the file was last linked (its change time: a new link renews it) at least
/// `grace` ago.
fn idle(meta: &fs::Metadata, grace: std::time::Duration) -> bool {
    #[cfg(unix)]
    let changed = {
        use std::os::unix::fs::MetadataExt as _;
        let secs = u64::try_from(meta.ctime()).unwrap_or(0);
        let nanos = u32::try_from(meta.ctime_nsec()).unwrap_or(0);
        std::time::UNIX_EPOCH + std::time::Duration::new(secs, nanos)
    };
    #[cfg(not(unix))]
    let changed = meta.modified().unwrap_or_else(|_| std::time::SystemTime::now());
    std::time::SystemTime::now().duration_since(changed).unwrap_or_default() >= grace
}
