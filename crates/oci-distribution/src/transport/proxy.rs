//! Proxy settings: explicit or from `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY`, and the
//! decision, per request URL, of whether to go through a proxy (Go's `httpproxy` rules).

use std::fmt;
use std::net::IpAddr;

use base64::Engine as _;
use http::{HeaderValue, Uri};

use crate::url::is_loopback_host;
use crate::{Error, ErrorKind, Result};

/// Which proxies the transport uses.
///
/// Requests to `https://` URLs go through the HTTPS proxy in a `CONNECT` tunnel (TLS
/// stays end to end); requests to `http://` URLs go to the HTTP proxy in absolute form.
/// Both proxies are `http://[user:password@]host[:port]` URLs (a URL without a scheme
/// means `http://`); credentials are sent as `Proxy-Authorization: Basic`.
///
/// `localhost` and loopback addresses never use a proxy, and neither does any host that
/// matches a [`no_proxy`](ProxyConfig::no_proxy) entry, as Go's `httpproxy` decides.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProxyConfig {
    /// Read proxies from the environment when they are not given here: `HTTPS_PROXY`
    /// (or `https_proxy`), `HTTP_PROXY` (or `http_proxy`; ignored when `REQUEST_METHOD`
    /// is set, as in a CGI program) and `NO_PROXY` (or `no_proxy`), whose entries are
    /// added to [`no_proxy`](ProxyConfig::no_proxy). Default: `true`.
    pub from_env: bool,
    /// The proxy for `https://` requests; overrides `HTTPS_PROXY`.
    pub https: Option<String>,
    /// The proxy for `http://` requests; overrides `HTTP_PROXY`.
    pub http: Option<String>,
    /// Hosts reached without a proxy. Each entry (entries may also be given comma or
    /// space separated, as `NO_PROXY` is) is `*` (every host), an IP address, a CIDR
    /// range (`10.0.0.0/8`), or a domain that matches itself and its subdomains
    /// (`example.com`, `.example.com` and `*.example.com` all match `r.example.com`;
    /// only the first matches `example.com` itself); an entry may end in `:port` to
    /// match that port only.
    pub no_proxy: Vec<String>,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        Self { from_env: true, https: None, http: None, no_proxy: Vec::new() }
    }
}

impl fmt::Debug for ProxyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = |u: &Option<String>| u.as_deref().map(redact);
        f.debug_struct("ProxyConfig")
            .field("from_env", &self.from_env)
            .field("https", &url(&self.https))
            .field("http", &url(&self.http))
            .field("no_proxy", &self.no_proxy)
            .finish()
    }
}

/// A proxy URL with its password replaced by `***`, for logs and errors.
fn redact(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").map_or(("", url), |(s, r)| (s, r));
    let Some((userinfo, host)) = rest.split_once('@') else { return url.to_owned() };
    let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
    let scheme = if scheme.is_empty() { String::new() } else { format!("{scheme}://") };
    format!("{scheme}{user}:***@{host}")
}

impl ProxyConfig {
    /// No proxy at all, whatever the environment says.
    #[must_use]
    pub fn none() -> Self {
        Self { from_env: false, ..Self::default() }
    }

    /// The same settings with `url` as the proxy for `https://` requests.
    #[must_use]
    pub fn with_https_proxy(mut self, url: impl Into<String>) -> Self {
        self.https = Some(url.into());
        self
    }

    /// The same settings with `url` as the proxy for `http://` requests.
    #[must_use]
    pub fn with_http_proxy(mut self, url: impl Into<String>) -> Self {
        self.http = Some(url.into());
        self
    }

    /// The same settings with one more [`no_proxy`](ProxyConfig::no_proxy) entry.
    #[must_use]
    pub fn with_no_proxy(mut self, entry: impl Into<String>) -> Self {
        self.no_proxy.push(entry.into());
        self
    }
}

/// A proxy to connect to: where, and the `Proxy-Authorization` to send it.
#[derive(Clone)]
pub(super) struct Proxy {
    /// `http://host:port`, without credentials.
    pub(super) uri: Uri,
    pub(super) authorization: Option<HeaderValue>,
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxy").field("uri", &self.uri).field("auth", &self.authorization.is_some()).finish()
    }
}

/// The proxies in effect, resolved once when the transport is built.
#[derive(Debug, Default)]
pub(super) struct Proxies {
    https: Option<Proxy>,
    http: Option<Proxy>,
    no_proxy: NoProxy,
}

impl Proxies {
    /// Resolves `config`, reading the process environment when it says so.
    pub(super) fn from_config(config: &ProxyConfig) -> Result<Self> {
        Self::resolve(config, |name| std::env::var(name).ok())
    }

    fn resolve(config: &ProxyConfig, env: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let env_any = |names: &[&str]| {
            if !config.from_env {
                return None;
            }
            names.iter().find_map(|n| env(n).filter(|v| !v.trim().is_empty()))
        };
        let cgi = config.from_env && env("REQUEST_METHOD").is_some_and(|v| !v.is_empty());
        let https = config.https.clone().or_else(|| env_any(&["HTTPS_PROXY", "https_proxy"]));
        let http = config
            .http
            .clone()
            .or_else(|| if cgi { env_any(&["http_proxy"]) } else { env_any(&["HTTP_PROXY", "http_proxy"]) });
        let mut no_proxy = NoProxy::default();
        for entry in &config.no_proxy {
            no_proxy.add(entry);
        }
        if let Some(entries) = env_any(&["NO_PROXY", "no_proxy"]) {
            no_proxy.add(&entries);
        }
        let parse =
            |url: Option<String>| url.filter(|u| !u.trim().is_empty()).map(|u| parse_proxy(&u)).transpose();
        Ok(Self { https: parse(https)?, http: parse(http)?, no_proxy })
    }

    /// The proxy to reach `uri` through, if any.
    pub(super) fn for_uri(&self, uri: &Uri) -> Option<&Proxy> {
        let (proxy, default_port) = match uri.scheme_str() {
            Some("https") => (self.https.as_ref()?, 443),
            Some("http") => (self.http.as_ref()?, 80),
            _ => return None,
        };
        let host = uri.host()?;
        let port = uri.port_u16().unwrap_or(default_port);
        if is_loopback_host(host) || self.no_proxy.matches(host, port) {
            return None;
        }
        Some(proxy)
    }

    /// Whether any proxy is configured.
    pub(super) fn is_empty(&self) -> bool {
        self.https.is_none() && self.http.is_none()
    }
}

fn parse_proxy(url: &str) -> Result<Proxy> {
    let bad = |why: &str| Error::new(ErrorKind::Config, format!("proxy URL {}: {why}", redact(url)));
    let url = url.trim();
    let full = if url.contains("://") { url.to_owned() } else { format!("http://{url}") };
    let uri: Uri = full.parse().map_err(|e| bad(&format!("{e}")))?;
    if !uri.scheme_str().is_some_and(|s| s.eq_ignore_ascii_case("http")) {
        return Err(bad("only http:// proxies are supported"));
    }
    let authority = uri.authority().ok_or_else(|| bad("no host"))?;
    let (userinfo, hostport) = match authority.as_str().rsplit_once('@') {
        Some((userinfo, hostport)) => (Some(userinfo), hostport),
        None => (None, authority.as_str()),
    };
    let port = authority.port_u16().unwrap_or(80);
    let host = authority.host();
    if host.is_empty() || hostport.is_empty() {
        return Err(bad("no host"));
    }
    let uri = Uri::builder()
        .scheme("http")
        .authority(format!("{host}:{port}"))
        .path_and_query("/")
        .build()
        .map_err(|e| bad(&format!("{e}")))?;
    let authorization = userinfo
        .map(|userinfo| {
            let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
            let credentials = format!("{}:{}", percent_decode(user), percent_decode(password));
            let encoded = base64::engine::general_purpose::STANDARD.encode(credentials.as_bytes());
            HeaderValue::try_from(format!("Basic {encoded}")).map(|mut v| {
                v.set_sensitive(true);
                v
            })
        })
        .transpose()
        .map_err(|_| bad("unusable credentials"))?;
    Ok(Proxy { uri, authorization })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(hi), Some(lo)) => {
                out.push(u8::try_from(hi * 16 + lo).unwrap_or(b'?'));
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The `NO_PROXY` rules.
#[derive(Debug, Default)]
struct NoProxy {
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
    fn add(&mut self, list: &str) {
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

    fn matches(&self, host: &str, port: u16) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(config: &ProxyConfig, env: &[(&str, &str)]) -> Proxies {
        Proxies::resolve(config, |n| env.iter().find(|(k, _)| *k == n).map(|(_, v)| (*v).to_owned())).unwrap()
    }

    fn via(p: &Proxies, url: &str) -> Option<String> {
        p.for_uri(&url.parse().unwrap()).map(|p| p.uri.authority().unwrap().to_string())
    }

    #[test]
    fn no_proxy_matches_like_go() {
        // (NO_PROXY, URL, whether the proxy is used)
        let cases = [
            ("", "https://r.example", true),
            ("*", "https://r.example", false),
            ("r.example", "https://r.example", false),
            ("r.example", "https://sub.r.example", false),
            ("r.example", "https://notr.example", true),
            (".r.example", "https://r.example", true),
            (".r.example", "https://sub.r.example", false),
            ("*.r.example", "https://sub.r.example", false),
            ("*.r.example", "https://r.example", true),
            ("R.Example", "https://r.EXAMPLE", false),
            ("r.example:443", "https://r.example", false),
            ("r.example:5000", "https://r.example", true),
            ("r.example:5000", "https://r.example:5000", false),
            ("10.1.2.3", "https://10.1.2.3:5000", false),
            ("10.1.2.3:5000", "https://10.1.2.3", true),
            ("10.0.0.0/8", "https://10.200.0.1", false),
            ("10.0.0.0/8", "https://11.0.0.1", true),
            // IPv4-mapped IPv6 addresses are their IPv4 address, as in Go.
            ("10.0.0.0/8", "https://[::ffff:10.0.0.1]", false),
            ("10.1.2.3", "https://[::ffff:10.1.2.3]", false),
            ("fd00::/8", "https://[fd12::1]", false),
            ("[fd12::1]:443", "https://[fd12::1]", false),
            ("fd12::1", "https://[fd12::1]:5000", false),
            ("a.example, b.example", "https://b.example", false),
            ("a.example b.example", "https://b.example", false),
            ("a.example,,:80,bad:port", "https://c.example", true),
            // Loopback never uses the proxy, whatever NO_PROXY says.
            ("", "https://localhost:5000", false),
            ("", "https://127.0.0.1", false),
            ("", "https://[::1]:5000", false),
            // A domain rule does not match an IP address textually.
            ("1.2.3.4", "https://11.2.3.4", true),
        ];
        for (no_proxy, url, proxied) in cases {
            let config = ProxyConfig::none().with_https_proxy("proxy.example:3128").with_no_proxy(no_proxy);
            let p = proxies(&config, &[]);
            assert_eq!(via(&p, url).is_some(), proxied, "NO_PROXY={no_proxy:?} {url}");
        }
    }

    #[test]
    fn reads_the_environment_when_asked() {
        let env = [
            ("HTTPS_PROXY", "http://secure.proxy:8443"),
            ("https_proxy", "http://lower.proxy"),
            ("http_proxy", "plain.proxy:3128"),
            ("no_proxy", "internal.example"),
        ];
        let p = proxies(&ProxyConfig::default(), &env);
        assert_eq!(via(&p, "https://r.example").as_deref(), Some("secure.proxy:8443"));
        assert_eq!(via(&p, "http://r.example").as_deref(), Some("plain.proxy:3128"));
        assert_eq!(via(&p, "https://r.internal.example"), None);
        let explicit = ProxyConfig::default().with_https_proxy("http://mine:1");
        assert_eq!(via(&proxies(&explicit, &env), "https://r.example").as_deref(), Some("mine:1"));
        assert!(proxies(&ProxyConfig::none(), &env).is_empty());
        // HTTP_PROXY is not trusted in a CGI program (httpoxy); https_proxy is not used for http.
        let cgi = [("REQUEST_METHOD", "GET"), ("HTTP_PROXY", "http://evil:1"), ("HTTPS_PROXY", "http://p:2")];
        let p = proxies(&ProxyConfig::default(), &cgi);
        assert_eq!(via(&p, "http://r.example"), None);
        assert_eq!(via(&p, "https://r.example").as_deref(), Some("p:2"));
    }

    #[test]
    fn proxy_urls_carry_credentials_and_are_checked() {
        let p = parse_proxy("http://us%40er:p%3Ass@proxy.example:3128").unwrap();
        assert_eq!(p.uri.to_string(), "http://proxy.example:3128/");
        // base64("us@er:p:ss")
        assert_eq!(p.authorization.unwrap(), "Basic dXNAZXI6cDpzcw==");
        assert_eq!(parse_proxy("proxy.example").unwrap().uri.to_string(), "http://proxy.example:80/");
        let e = parse_proxy("socks5://u:secret@proxy.example:1080").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(!e.to_string().contains("secret"), "{e}");
        assert!(e.to_string().contains("only http:// proxies"), "{e}");
        assert_eq!(redact("http://u:pw@h:1"), "http://u:***@h:1");
        let debug = format!("{:?}", ProxyConfig::none().with_http_proxy("u:pw@h"));
        assert!(!debug.contains("pw"), "{debug}");
    }
}
