//! Users of an htpasswd file: bcrypt hashes (`$2y$`, `$2b$`, `$2a$`), as distribution and
//! zot read them. A password checked once is remembered by its SHA-256, so bcrypt's
//! cost is paid once per user and password, not per request.

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Mutex, PoisonError};

use sha2::{Digest as _, Sha256};

use crate::{Error, ErrorKind, Result};

/// The users of an htpasswd file.
#[derive(Debug, Default)]
pub struct Htpasswd {
    entries: Vec<(String, String)>,
    verified: Mutex<HashSet<[u8; 32]>>,
}

impl Clone for Htpasswd {
    fn clone(&self) -> Self {
        Self { entries: self.entries.clone(), verified: Mutex::default() }
    }
}

impl Htpasswd {
    /// Parses the text of an htpasswd file: `user:hash` per line; blank lines and `#`
    /// comments are skipped; hashes other than bcrypt are refused.
    pub fn parse(text: &str) -> Result<Self> {
        let mut entries = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (user, hash) = line.split_once(':').ok_or_else(|| {
                Error::new(ErrorKind::Config, format!("htpasswd line {}: no `:`", index + 1))
            })?;
            if !hash.starts_with("$2") {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!("htpasswd line {}: only bcrypt hashes are supported", index + 1),
                ));
            }
            entries.push((user.to_owned(), hash.to_owned()));
        }
        Ok(Self { entries, verified: Mutex::default() })
    }

    /// Reads and parses an htpasswd file.
    pub fn read(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text =
            std::fs::read_to_string(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        Self::parse(&text).map_err(|e| Error::new(ErrorKind::Config, format!("{}: {e}", path.display())))
    }

    /// One htpasswd line `user:$2y$...\n` for `user` with `password`, hashed at `cost`.
    pub fn line(user: &str, password: &str, cost: u32) -> Result<String> {
        if user.contains(':') || user.contains('\n') {
            return Err(Error::new(
                ErrorKind::Config,
                format!("htpasswd user name `{user}` must not contain `:` or a newline"),
            ));
        }
        let hash = bcrypt::hash_with_result(password, cost)
            .map_err(|e| Error::new(ErrorKind::Config, format!("hashing the password of {user}: {e}")))?
            .format_for_version(bcrypt::Version::TwoY);
        Ok(format!("{user}:{hash}\n"))
    }

    /// Whether `user` exists and `password` matches its hash.
    pub fn verify(&self, user: &str, password: &str) -> bool {
        let Some((_, hash)) = self.entries.iter().find(|(name, _)| name == user) else { return false };
        let mut key = Sha256::new();
        key.update(hash.as_bytes());
        key.update([0]);
        key.update(password.as_bytes());
        let key: [u8; 32] = key.finalize().into();
        let mut verified = self.verified.lock().unwrap_or_else(PoisonError::into_inner);
        if verified.contains(&key) {
            return true;
        }
        let ok = bcrypt::verify(password, hash).unwrap_or(false);
        if ok {
            verified.insert(key);
        }
        ok
    }
}
