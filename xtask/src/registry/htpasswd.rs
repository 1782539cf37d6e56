//! The htpasswd file of the test user: bcrypt hashes (`$2y$`, the only scheme the
//! registry's htpasswd access controller accepts), written and read with the registry
//! crate's [`Htpasswd`].

use oci_registry::auth::Htpasswd;

use crate::Result;

/// The bcrypt cost of the test user's hash: low, since the registry checks it on every
/// request and the issuer runs unoptimized; this is a test secret, not a stored one.
const COST: u32 = 5;

/// `n` random bytes from the system's generator, hex-encoded (`2 * n` characters).
pub(crate) fn random_hex(n: usize) -> Result<String> {
    oci_registry::auth::jwt::random_hex(n).map_err(|e| e.to_string())
}

/// `bytes` in lowercase hex.
#[cfg(test)]
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
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
    Htpasswd::line(user, password, COST).map_err(|e| e.to_string())
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

        let users = Htpasswd::parse(&format!("# comment\n\n{line}")).unwrap();
        assert!(users.verify("oci-test", &password));
        assert!(users.verify("oci-test", &password), "remembered");
        assert!(!users.verify("oci-test", "wrong"));
        assert!(!users.verify("someone-else", &password));
    }

    #[test]
    fn bad_files_and_names_are_errors() {
        assert_eq!(Htpasswd::parse("alice\n").unwrap_err().to_string(), "htpasswd line 1: no `:`");
        assert_eq!(
            Htpasswd::parse("\nalice:{SHA}abc\n").unwrap_err().to_string(),
            "htpasswd line 2: only bcrypt hashes are supported"
        );
        assert!(line("a:b", "pw").is_err());
    }
}
