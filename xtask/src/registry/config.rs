//! The `config.yml` of one distribution registry instance (format of registry 2.8).

use std::fmt::Write as _;
use std::path::Path;

/// How an instance authenticates clients.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Auth<'a> {
    /// No authentication.
    None,
    /// HTTP Basic against a bcrypt htpasswd file.
    Htpasswd {
        /// The realm of the `WWW-Authenticate: Basic` challenge.
        realm: &'a str,
        /// The htpasswd file.
        path: &'a Path,
    },
    /// Bearer tokens from an external issuer.
    Token {
        /// The issuer's token endpoint, sent in the challenge.
        realm: &'a str,
        /// The `service` of the challenge and the tokens' `aud`.
        service: &'a str,
        /// The tokens' `iss`.
        issuer: &'a str,
        /// PEM certificates that sign (or chain to the signer of) the tokens.
        rootcertbundle: &'a Path,
    },
}

/// The certificate and key of a TLS instance.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tls<'a> {
    /// PEM certificate (chain).
    pub(crate) certificate: &'a Path,
    /// PEM private key.
    pub(crate) key: &'a Path,
}

/// How much an instance logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Logging {
    /// Every request (`info`, with the access log): what the tests' logs show.
    Requests,
    /// Errors only, no access log: for the benches, where two log lines per request
    /// would cost the server more than serving a small blob.
    Errors,
}

/// What varies between instances.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Config<'a> {
    /// The loopback port to listen on (127.0.0.1 only).
    pub(crate) port: u16,
    /// The filesystem storage root.
    pub(crate) storage: &'a Path,
    /// `http.secret`, which signs upload state.
    pub(crate) secret: &'a str,
    /// Authentication.
    pub(crate) auth: Auth<'a>,
    /// TLS, or plain HTTP when `None`.
    pub(crate) tls: Option<Tls<'a>>,
    /// What it logs.
    pub(crate) logging: Logging,
}

/// Renders `config` as YAML. Logs go to stderr (the server's log file); there is no redis
/// and no debug/metrics listener; deletes are enabled; upload purging is off so nothing
/// happens behind the tests' backs.
pub(crate) fn render(config: &Config<'_>) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "\
version: 0.1
log:
  level: {level}
  formatter: text
  accesslog:
    disabled: {quiet}
  fields:
    service: registry
storage:
  filesystem:
    rootdirectory: {storage}
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:{port}
  secret: {secret}
  headers:
    X-Content-Type-Options: [nosniff]
",
        storage = quote(&config.storage.to_string_lossy()),
        port = config.port,
        secret = quote(config.secret),
        level = if config.logging == Logging::Errors { "error" } else { "info" },
        quiet = config.logging == Logging::Errors,
    );
    if let Some(tls) = config.tls {
        let _ = write!(
            out,
            "  tls:\n    certificate: {}\n    key: {}\n",
            quote(&tls.certificate.to_string_lossy()),
            quote(&tls.key.to_string_lossy())
        );
    }
    match config.auth {
        Auth::None => {}
        Auth::Htpasswd { realm, path } => {
            let _ = write!(
                out,
                "auth:\n  htpasswd:\n    realm: {}\n    path: {}\n",
                quote(realm),
                quote(&path.to_string_lossy())
            );
        }
        Auth::Token { realm, service, issuer, rootcertbundle } => {
            let _ = write!(
                out,
                "auth:\n  token:\n    realm: {}\n    service: {}\n    issuer: {}\n    rootcertbundle: {}\n",
                quote(realm),
                quote(service),
                quote(issuer),
                quote(&rootcertbundle.to_string_lossy())
            );
        }
    }
    out
}

/// A YAML double-quoted scalar.
fn quote(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_each_kind_of_instance() {
        let plain = render(&Config {
            port: 5001,
            storage: Path::new("/w/plain/storage"),
            secret: "s3cret",
            auth: Auth::None,
            tls: None,
            logging: Logging::Requests,
        });
        assert!(plain.contains("  addr: 127.0.0.1:5001\n  secret: \"s3cret\"\n"), "{plain}");
        assert!(plain.contains("    rootdirectory: \"/w/plain/storage\"\n  delete:\n    enabled: true\n"));
        assert!(!plain.contains("auth:") && !plain.contains("tls:") && !plain.contains("redis"));
        assert!(plain.contains("  level: info\n  formatter: text\n  accesslog:\n    disabled: false\n"));

        let token = render(&Config {
            port: 5002,
            storage: Path::new("/w/token/storage"),
            secret: "x",
            auth: Auth::Token {
                realm: "http://127.0.0.1:9/token",
                service: "svc",
                issuer: "iss",
                rootcertbundle: Path::new("/w/certs/issuer.pem"),
            },
            tls: Some(Tls { certificate: Path::new("/c.pem"), key: Path::new("/k.pem") }),
            logging: Logging::Errors,
        });
        assert!(token.contains("  level: error\n  formatter: text\n  accesslog:\n    disabled: true\n"));
        assert!(token.ends_with(
            "  tls:\n    certificate: \"/c.pem\"\n    key: \"/k.pem\"\nauth:\n  token:\n    \
             realm: \"http://127.0.0.1:9/token\"\n    service: \"svc\"\n    issuer: \"iss\"\n    \
             rootcertbundle: \"/w/certs/issuer.pem\"\n"
        ));
    }

    #[test]
    fn quotes_yaml_scalars() {
        assert_eq!(quote(r#"a "b" \c"#), r#""a \"b\" \\c""#);
    }
}
