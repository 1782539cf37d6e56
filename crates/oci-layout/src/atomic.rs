//! Files that appear whole or not at all: a temporary file beside the target, renamed.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use tempfile::NamedTempFile;

use crate::Result;
use crate::error::IoContext;

/// The prefix of every temporary file and directory this crate creates. Names starting
/// with `.` are never blobs, so readers skip them.
pub(crate) const TEMP_PREFIX: &str = ".tmp-";

/// A new temporary file in `dir`, removed when dropped unless persisted.
pub(crate) fn temp_file_in(dir: &Path) -> Result<NamedTempFile> {
    tempfile::Builder::new().prefix(TEMP_PREFIX).tempfile_in(dir).at(dir)
}

/// Sets the Unix permission bits of an open file (exactly, whatever the umask).
pub(crate) fn set_mode(file: &File, mode: u32, path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(mode)).at(path)
    }
    #[cfg(not(unix))]
    {
        let _ = (file, mode, path);
        Ok(())
    }
}

/// Flushes a directory's entries to disk (after a rename), where the platform can.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        File::open(dir).and_then(|d| d.sync_all()).at(dir)
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Moves a finished temporary file to `target`, replacing what was there.
pub(crate) fn persist(tmp: NamedTempFile, target: &Path, mode: u32, fsync: bool) -> Result<()> {
    set_mode(tmp.as_file(), mode, target)?;
    if fsync {
        tmp.as_file().sync_all().at(target)?;
    }
    tmp.persist(target).map_err(|e| e.error).at(target)?;
    if fsync {
        if let Some(parent) = target.parent() {
            sync_dir(parent)?;
        }
    }
    Ok(())
}

/// Writes `bytes` to `dir/name` through a temporary file and a rename.
pub(crate) fn write_file(dir: &Path, name: &str, bytes: &[u8], mode: u32, fsync: bool) -> Result<()> {
    let target = dir.join(name);
    let mut tmp = temp_file_in(dir)?;
    tmp.write_all(bytes).at(&target)?;
    persist(tmp, &target, mode, fsync)
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn writes_whole_files_with_exact_modes() {
        let dir = tempfile::tempdir().unwrap();
        write_file(dir.path(), "oci-layout", b"one", 0o444, false).unwrap();
        write_file(dir.path(), "oci-layout", b"two", 0o444, true).unwrap();
        let path = dir.path().join("oci-layout");
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o444);
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["oci-layout"], "no temporary file left");
    }
}
