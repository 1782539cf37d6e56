//! Where a URL a registry hands the client may lead: one policy for redirects, token
//! realms and the token server's redirects (upload `Location`s and `Link` pages must
//! stay on the registry's own origin, which is stricter).
//!
//! - Never from `https` to plain `http`.
//! - The registry's own host, any port: always.
//! - Otherwise, when the registry is itself on a loopback, private or link-local
//!   address (spelled so, or connected to there), or when
//!   [`TransportConfig::allow_private_targets`](crate::TransportConfig) says so: anywhere.
//! - Otherwise, never to such an address: an IP literal is refused as written, and a
//!   host name is marked so that the connection made to it is refused when the address
//!   it reached is one. The address actually connected to is checked, whatever the
//!   spelling (`127.1`, `2130706433`, `0x7f.1` and names that resolve inside the
//!   network). Through a proxy that resolves names itself (HTTP proxies, `socks5h://`),
//!   only the spelling can be checked.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};

use http::Uri;
use http::uri::Scheme;

use crate::url::is_loopback_host;

/// The target policy of one client, and what its connections learnt.
#[derive(Debug, Default)]
pub(crate) struct Targets {
    allow_private: bool,
    /// Tests: loopback registries count as public ones, so that scripted registries on
    /// 127.0.0.1 play registries on the internet.
    #[cfg(test)]
    loopback_registries_public: bool,
    /// Authorities (`host:port`, lowercase) a registry sent the client to, whose
    /// connections must not reach an internal address.
    guarded: Mutex<HashSet<String>>,
    /// The address the last direct connection to each authority reached.
    peers: Mutex<HashMap<String, IpAddr>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `host:port` of `uri`, lowercase, with the scheme's default port.
pub(crate) fn authority_key(uri: &Uri) -> Option<String> {
    let host = uri.host()?.to_ascii_lowercase();
    let port = uri.port_u16().or_else(|| match uri.scheme() {
        Some(s) if *s == Scheme::HTTPS => Some(443),
        Some(s) if *s == Scheme::HTTP => Some(80),
        _ => None,
    })?;
    Some(format!("{host}:{port}"))
}

/// A host without IPv6 brackets, lowercase.
fn bare_host(uri: &Uri) -> Option<String> {
    uri.host().map(|h| h.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase())
}

impl Targets {
    /// A policy that lets registries send the client to internal addresses when
    /// `allow_private`, and otherwise only registries that are on one themselves.
    pub(crate) fn new(allow_private: bool) -> Self {
        Self { allow_private, ..Self::default() }
    }

    /// A policy under which registries on loopback count as public (for tests).
    #[cfg(test)]
    pub(crate) fn loopback_registries_public() -> Self {
        Self { loopback_registries_public: true, ..Self::default() }
    }

    /// Whether `registry` (a URL of the registry) is on an internal address: spelled so,
    /// or connected to one.
    fn registry_is_internal(&self, registry: &Uri) -> bool {
        let Some(host) = bare_host(registry) else { return false };
        #[cfg(test)]
        if self.loopback_registries_public && (is_loopback_host(&host) || host.parse::<IpAddr>().is_ok()) {
            return false;
        }
        is_loopback_host(&host)
            || host.parse::<IpAddr>().is_ok_and(is_internal)
            || authority_key(registry)
                .and_then(|k| lock(&self.peers).get(&k).copied())
                .is_some_and(is_internal)
    }

    /// Checks `target`, a URL `registry` handed the client; `Err` says why it is
    /// refused. An accepted target on another host may be marked so that its
    /// connection is checked once made.
    pub(crate) fn check(&self, registry: &Uri, target: &Uri) -> Result<(), &'static str> {
        no_downgrade(registry, target)?;
        let (Some(host), Some(registry_host)) = (bare_host(target), bare_host(registry)) else {
            return Err("no host");
        };
        if host == registry_host || self.allow_private || self.registry_is_internal(registry) {
            return Ok(());
        }
        if is_loopback_host(&host) {
            return Err("a loopback address");
        }
        if host.parse::<IpAddr>().is_ok_and(is_internal) {
            return Err("a private or link-local address");
        }
        let Some(key) = authority_key(target) else { return Err("no host") };
        // A pooled connection made before the mark would skip the connector's check.
        if lock(&self.peers).get(&key).copied().is_some_and(is_internal) {
            return Err("a private or link-local address");
        }
        lock(&self.guarded).insert(key);
        Ok(())
    }

    /// Records that a direct connection to `authority` (see [`authority_key`]) reached
    /// `peer`; `Err` when a registry sent the client there and `peer` is internal.
    pub(crate) fn connected(&self, authority: &str, peer: IpAddr) -> Result<(), Refused> {
        lock(&self.peers).insert(authority.to_owned(), peer);
        if is_internal(peer) && lock(&self.guarded).contains(authority) {
            return Err(Refused(format!(
                "refusing the connection to {authority} at {peer}: a registry sent the client there, \
                 and it is a loopback, private or link-local address"
            )));
        }
        Ok(())
    }
}

/// `Err` when `from` is `https` and `to` is not: each hop of a redirect chain is held to
/// it, besides the registry's own scheme.
pub(crate) fn no_downgrade(from: &Uri, to: &Uri) -> Result<(), &'static str> {
    if from.scheme() == Some(&Scheme::HTTPS) && to.scheme() != Some(&Scheme::HTTPS) {
        return Err("a downgrade from https to plain http");
    }
    Ok(())
}

/// A connection the policy refused once made: not a network failure, so not retried.
#[derive(Debug)]
pub(crate) struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// Loopback, private, link-local, shared (CGNAT), unspecified and broadcast addresses,
/// IPv4-mapped forms included.
pub(crate) fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || v6.to_ipv4_mapped().is_some_and(|v4| is_internal(IpAddr::V4(v4)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Uri {
        s.parse().unwrap()
    }

    #[test]
    fn the_policy() {
        let t = Targets::new(false);
        let public = u("https://registry.example/v2/");
        for (target, want) in [
            ("https://registry.example:8443/token", Ok(())),
            ("https://storage.example/blob?sig=1", Ok(())),
            ("http://storage.example/blob", Err("a downgrade from https to plain http")),
            ("http://registry.example/blob", Err("a downgrade from https to plain http")),
            ("https://127.0.0.1/x", Err("a loopback address")),
            ("https://localhost:5000/x", Err("a loopback address")),
            ("https://[::1]/x", Err("a loopback address")),
            ("https://169.254.169.254/latest/meta-data", Err("a private or link-local address")),
            ("https://10.1.2.3/x", Err("a private or link-local address")),
            ("https://[fd00::1]/x", Err("a private or link-local address")),
            ("https://[::ffff:192.168.0.1]/x", Err("a private or link-local address")),
            ("https://100.64.0.1/x", Err("a private or link-local address")),
            ("https://8.8.8.8/x", Ok(())),
            // Spellings the parser does not read as addresses: checked once connected.
            ("https://127.1/x", Ok(())),
            ("https://2130706433/x", Ok(())),
        ] {
            assert_eq!(t.check(&public, &u(target)), want, "{target}");
        }
        let guarded: Vec<String> = {
            let mut g: Vec<_> = lock(&t.guarded).iter().cloned().collect();
            g.sort();
            g
        };
        assert_eq!(guarded, ["127.1:443", "2130706433:443", "8.8.8.8:443", "storage.example:443"]);

        // What the connection reached decides for names and odd spellings.
        let loopback = IpAddr::from([127, 0, 0, 1]);
        assert_eq!(
            t.connected("2130706433:443", loopback).unwrap_err().to_string(),
            "refusing the connection to 2130706433:443 at 127.0.0.1: a registry sent the client there, \
             and it is a loopback, private or link-local address"
        );
        assert!(t.connected("storage.example:443", IpAddr::from([93, 184, 216, 34])).is_ok());
        assert!(t.connected("storage.example:443", IpAddr::from([169, 254, 169, 254])).is_err());
        assert!(t.connected("registry.example:443", loopback).is_ok(), "not sent there by a registry");
        // Connected to before a registry sent the client there: the pooled connection
        // would not be checked again, so the link is refused as it comes.
        assert!(t.connected("mirror.example:443", IpAddr::from([10, 0, 0, 9])).is_ok());
        assert_eq!(
            t.check(&u("https://other.example/v2/"), &u("https://mirror.example/x")),
            Err("a private or link-local address")
        );

        // A registry on an internal address may send the client next door: spelled so...
        let local = u("http://127.0.0.1:5000/v2/");
        assert_eq!(t.check(&local, &u("http://127.0.0.1:5001/token")), Ok(()));
        assert_eq!(t.check(&local, &u("http://10.0.0.7/token")), Ok(()));
        // ... or found so when connected (registry.example reached 127.0.0.1 above).
        assert_eq!(t.check(&public, &u("https://10.0.0.7/x")), Ok(()));
        // Or when the client allows it.
        let open = Targets::new(true);
        assert_eq!(open.check(&u("https://r.example/"), &u("https://169.254.169.254/")), Ok(()));
        assert_eq!(
            open.check(&u("https://r.example/"), &u("http://r.example/")),
            Err("a downgrade from https to plain http")
        );
    }
}
