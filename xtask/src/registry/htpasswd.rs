//! The htpasswd file of the test user: bcrypt hashes (`$2y$`, the only scheme the
//! registry's htpasswd access controller accepts), read back by the token issuer.

use std::fmt::Write as _;

use ring::rand::{SecureRandom as _, SystemRandom};

use crate::Result;

/// The bcrypt cost of the test user's hash: low, since the registry checks it on every
/// request and the issuer runs unoptimized; this is a test secret, not a stored one.
const COST: u32 = 5;

/// `n` random bytes from the system's generator, hex-encoded (`2 * n` characters).
pub(crate) fn random_hex(n: usize) -> Result<String> {
    let mut bytes = vec![0u8; n];
    SystemRandom::new().fill(&mut bytes).map_err(|_| "the system random generator failed".to_owned())?;
    Ok(hex(&bytes))
}

/// `bytes` in lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(2 * bytes.len()), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// A fresh random password (128 bits, hex).
pub(crate) fn random_password() -> Result<String> {
    random_hex(16)
}

/// One htpasswd line `user:$2y$...` for `user` with `password`.
pub(crate) fn line(user: &str, password: &str) -> Result<String> {
    if user.contains(':') || user.contains('\n') {
        return Err(format!("htpasswd user name `{user}` must not contain `:` or a newline"));
    }
    let hash = bcrypt::hash_with_result(password, COST)
        .map_err(|e| format!("hashing the password of {user}: {e}"))?
        .format_for_version(bcrypt::Version::TwoY);
    Ok(format!("{user}:{hash}\n"))
}

/// The users of an htpasswd file: `(name, bcrypt hash)` per non-empty, non-comment line.
#[derive(Debug, Clone, Default)]
pub(crate) struct Users {
    entries: Vec<(String, String)>,
}

impl Users {
    /// Parses the text of an htpasswd file.
    pub(crate) fn parse(text: &str) -> Result<Self> {
        let mut entries = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (user, hash) =
                line.split_once(':').ok_or_else(|| format!("htpasswd line {}: no `:`", index + 1))?;
            if !hash.starts_with("$2") {
                return Err(format!("htpasswd line {}: only bcrypt hashes are supported", index + 1));
            }
            entries.push((user.to_owned(), hash.to_owned()));
        }
        Ok(Self { entries })
    }

    /// Whether `user` exists and `password` matches its hash.
    pub(crate) fn verify(&self, user: &str, password: &str) -> bool {
        self.entries
            .iter()
            .find(|(name, _)| name == user)
            .is_some_and(|(_, hash)| bcrypt::verify(password, hash).unwrap_or(false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_verify_only_the_right_password() {
        let password = random_password().unwrap();
        assert_eq!(password.len(), 32);
        assert_ne!(password, random_password().unwrap());
        let line = line("oci-test", &password).unwrap();
        assert!(line.starts_with("oci-test:$2y$05$"), "{line}");
        assert!(line.ends_with('\n'));

        let users = Users::parse(&format!("# comment\n\n{line}")).unwrap();
        assert!(users.verify("oci-test", &password));
        assert!(!users.verify("oci-test", "wrong"));
        assert!(!users.verify("someone-else", &password));
    }

    #[test]
    fn bad_files_and_names_are_errors() {
        assert_eq!(Users::parse("alice\n").unwrap_err(), "htpasswd line 1: no `:`");
        assert_eq!(
            Users::parse("\nalice:{SHA}abc\n").unwrap_err(),
            "htpasswd line 2: only bcrypt hashes are supported"
        );
        assert!(line("a:b", "pw").is_err());
    }
}
