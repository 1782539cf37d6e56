//! `NO_PROXY` entries and whether a host matches one of them, as Go's `httpproxy`
//! decides: `*`, IP addresses, CIDR ranges and domains, each with an optional port.

use std::net::IpAddr;

/// The `NO_PROXY` rules.
#[derive(Debug, Default)]
pub(super) struct NoProxy {
    rules: Vec<Rule>,
}

#[derive(Debug)]
enum Rule {
    All,
    Ip {
        ip: IpAddr,
        port: Option<u16>,
    },
    Cidr {
        net: IpAddr,
        prefix: u8,
    },
    /// `suffix` starts with a dot; `exact` also matches the domain itself.
    Domain {
        suffix: String,
        exact: bool,
        port: Option<u16>,
    },
}

impl NoProxy {
    /// Adds the entries of `list` (comma or white space separated); malformed entries
    /// are ignored, as Go does.
    pub(super) fn add(&mut self, list: &str) {
        for entry in list.split(|c: char| c == ',' || c.is_whitespace()) {
            let entry = entry.trim().to_ascii_lowercase();
            if entry.is_empty() {
                continue;
            }
            if let Some(rule) = parse_rule(&entry) {
                self.rules.push(rule);
            } else {
                tracing::debug!(entry, "ignoring a malformed no_proxy entry");
            }
        }
    }

    pub(super) fn matches(&self, host: &str, port: u16) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
        let ip = host.parse::<IpAddr>().ok().map(|ip| ip.to_canonical());
        self.rules.iter().any(|rule| match rule {
            Rule::All => true,
            Rule::Ip { ip: want, port: p } => ip == Some(*want) && p.is_none_or(|p| p == port),
            Rule::Cidr { net, prefix } => ip.is_some_and(|ip| in_cidr(ip, *net, *prefix)),
            Rule::Domain { suffix, exact, port: p } => {
                ip.is_none()
                    && (host.ends_with(suffix.as_str()) || (*exact && host == suffix[1..]))
                    && p.is_none_or(|p| p == port)
            }
        })
    }
}

fn parse_rule(entry: &str) -> Option<Rule> {
    if entry == "*" {
        return Some(Rule::All);
    }
    if let Some((addr, prefix)) = entry.split_once('/') {
        let net = addr.parse::<IpAddr>().ok()?;
        let prefix: u8 = prefix.parse().ok()?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        return (prefix <= max).then_some(Rule::Cidr { net, prefix });
    }
    let (host, port) = split_host_port(entry)?;
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Some(Rule::Ip { ip: ip.to_canonical(), port });
    }
    let host = host.strip_prefix('*').filter(|h| h.starts_with('.')).unwrap_or(host);
    if host.is_empty() || host == "." {
        return None;
    }
    let exact = !host.starts_with('.');
    let suffix = if exact { format!(".{host}") } else { host.to_owned() };
    Some(Rule::Domain { suffix, exact, port })
}

/// Splits `host[:port]`, `[v6]:port`, `[v6]` or a bare IPv6 address; `None` for a bad port.
fn split_host_port(entry: &str) -> Option<(&str, Option<u16>)> {
    if let Some(rest) = entry.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return match after.strip_prefix(':') {
            Some(port) => Some((host, Some(port.parse().ok()?))),
            None if after.is_empty() => Some((host, None)),
            None => None,
        };
    }
    match entry.split_once(':') {
        Some((host, port)) if !port.contains(':') => Some((host, Some(port.parse().ok()?))),
        _ => Some((entry, None)),
    }
}

fn in_cidr(ip: IpAddr, net: IpAddr, prefix: u8) -> bool {
    let (ip, net, bits) = match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u128::from(a.to_bits()), u128::from(b.to_bits()), 32),
        (IpAddr::V6(a), IpAddr::V6(b)) => (a.to_bits(), b.to_bits(), 128),
        _ => return false,
    };
    let shift = bits - u32::from(prefix);
    shift >= bits || (ip >> shift) == (net >> shift)
}
