//! Proxy settings: explicit or from `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY`, and the
//! decision, per request URL, of whether to go through a proxy (Go's `httpproxy` rules).

use std::fmt;

use base64::Engine as _;
use http::{HeaderValue, Uri};

use super::no_proxy::NoProxy;
use super::socks::Credentials;
use crate::url::is_loopback_host;
use crate::{Error, ErrorKind, Result};

/// Which proxies the transport uses.
///
/// Requests to `https://` URLs use the [`https`](ProxyConfig::https) proxy and requests
/// to `http://` URLs the [`http`](ProxyConfig::http) one. Either is a URL
/// `scheme://[user:password@]host[:port]`, with percent-encoded credentials (a URL
/// without a scheme means `http://`), of one of these schemes:
///
/// - `http` (default port 80): `https://` requests go in a `CONNECT` tunnel, TLS staying
///   end to end; `http://` requests go to the proxy in absolute form.
/// - `https` (default port 443): the same, over a TLS connection to the proxy (HTTP/1.1,
///   the proxy's certificate verified with the transport's root certificates); the TLS
///   to an `https://` registry runs inside it.
/// - `socks5` (default port 1080): a SOCKS5 tunnel to the address the client resolves
///   the registry's host name to.
/// - `socks5h` (default port 1080): a SOCKS5 tunnel to the host name, which the proxy
///   resolves.
///
/// Credentials go to HTTP(S) proxies as `Proxy-Authorization: Basic`, to SOCKS proxies
/// by username/password authentication (RFC 1929). Any other scheme makes building the
/// client fail with an error of kind [`Config`](crate::ErrorKind::Config) that names the
/// setting or variable.
///
/// `localhost` and loopback addresses never use a proxy, and neither does any host that
/// matches a [`no_proxy`](ProxyConfig::no_proxy) entry, as Go's `httpproxy` decides.
///
/// ```
/// use oci_distribution::Client;
/// use oci_distribution::transport::{ProxyConfig, TransportConfig};
///
/// let proxy = ProxyConfig::none()
///     .with_https_proxy("socks5h://build:s%40cret@socks.internal")
///     .with_http_proxy("https://proxy.internal:8443")
///     .with_no_proxy("registry.internal");
/// let client = Client::builder().transport(TransportConfig::default().with_proxy(proxy)).build();
/// assert!(client.is_ok());
///
/// let unsupported = ProxyConfig::none().with_https_proxy("socks4://socks.internal");
/// let e = Client::builder().transport(TransportConfig::default().with_proxy(unsupported)).build().unwrap_err();
/// assert!(e.to_string().contains("ProxyConfig::https"));
/// ```
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

/// A proxy URL with its password replaced by `***`, for logs and errors. The userinfo
/// ends at the last `@` of the authority, as the parser reads it (a raw `@` in a
/// password stays hidden).
fn redact(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").map_or(("", url), |(s, r)| (s, r));
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else { return url.to_owned() };
    let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
    let scheme = if scheme.is_empty() { String::new() } else { format!("{scheme}://") };
    format!("{scheme}{user}:***@{host}{path}")
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

/// The protocol spoken to a proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ProxyKind {
    /// HTTP over TCP: `CONNECT` tunnels, absolute-form requests.
    Http,
    /// HTTP over TLS to the proxy: `CONNECT` tunnels, absolute-form requests.
    Https,
    /// SOCKS5; `remote_dns` sends host names to the proxy instead of resolving them.
    Socks5 { remote_dns: bool },
}

impl ProxyKind {
    fn from_scheme(scheme: &str) -> Option<(Self, u16)> {
        Some(match scheme.to_ascii_lowercase().as_str() {
            "http" => (Self::Http, 80),
            "https" => (Self::Https, 443),
            "socks5" => (Self::Socks5 { remote_dns: false }, 1080),
            "socks5h" => (Self::Socks5 { remote_dns: true }, 1080),
            _ => return None,
        })
    }

    fn scheme(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Https => "https",
            Self::Socks5 { remote_dns: false } => "socks5",
            Self::Socks5 { remote_dns: true } => "socks5h",
        }
    }
}

/// A proxy to connect to: how, where, and the credentials to give it.
#[derive(Clone)]
pub(super) struct Proxy {
    pub(super) kind: ProxyKind,
    /// `scheme://host:port/`, without credentials.
    pub(super) uri: Uri,
    /// The URL for errors and logs: `scheme://[user:***@]host:port`.
    pub(super) name: String,
    /// The `Proxy-Authorization` header for an HTTP(S) proxy.
    pub(super) authorization: Option<HeaderValue>,
    /// The username and password for a SOCKS proxy.
    pub(super) socks_credentials: Option<Credentials>,
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
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
        // The value and where it came from (for errors).
        let env_any = |names: &[&'static str]| {
            if !config.from_env {
                return None;
            }
            names.iter().find_map(|n| env(n).filter(|v| !v.trim().is_empty()).map(|v| (v, *n)))
        };
        let field = |url: &Option<String>, name| url.clone().map(|u| (u, name));
        let cgi = config.from_env && env("REQUEST_METHOD").is_some_and(|v| !v.is_empty());
        let https =
            field(&config.https, "ProxyConfig::https").or_else(|| env_any(&["HTTPS_PROXY", "https_proxy"]));
        let http = field(&config.http, "ProxyConfig::http")
            .or_else(|| if cgi { env_any(&["http_proxy"]) } else { env_any(&["HTTP_PROXY", "http_proxy"]) });
        let mut no_proxy = NoProxy::default();
        for entry in &config.no_proxy {
            no_proxy.add(entry);
        }
        if let Some((entries, _)) = env_any(&["NO_PROXY", "no_proxy"]) {
            no_proxy.add(&entries);
        }
        let parse = |url: Option<(String, &str)>| {
            url.filter(|(u, _)| !u.trim().is_empty()).map(|(u, from)| parse_proxy(&u, from)).transpose()
        };
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

/// Parses the proxy URL `url`, which comes from the setting or variable `from`.
fn parse_proxy(url: &str, from: &str) -> Result<Proxy> {
    let bad = |why: &str| {
        Error::new(ErrorKind::Config, format!("proxy URL {} in {from}: {why}", redact(url.trim())))
    };
    let url = url.trim();
    let full = if url.contains("://") { url.to_owned() } else { format!("http://{url}") };
    let uri: Uri = full.parse().map_err(|e| bad(&format!("{e}")))?;
    let scheme = uri.scheme_str().unwrap_or_default();
    let Some((kind, default_port)) = ProxyKind::from_scheme(scheme) else {
        return Err(bad(&format!(
            "unsupported scheme {scheme:?}: use http://, https://, socks5:// or socks5h://"
        )));
    };
    let authority = uri.authority().ok_or_else(|| bad("no host"))?;
    let (userinfo, hostport) = match authority.as_str().rsplit_once('@') {
        Some((userinfo, hostport)) => (Some(userinfo), hostport),
        None => (None, authority.as_str()),
    };
    let port = authority.port_u16().unwrap_or(default_port);
    let host = authority.host();
    if host.is_empty() || hostport.is_empty() {
        return Err(bad("no host"));
    }
    let uri = Uri::builder()
        .scheme(kind.scheme())
        .authority(format!("{host}:{port}"))
        .path_and_query("/")
        .build()
        .map_err(|e| bad(&format!("{e}")))?;
    let credentials = userinfo.map(|userinfo| {
        let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
        (user, Credentials { user: percent_decode(user), password: percent_decode(password) })
    });
    let name = match &credentials {
        Some((user, _)) => format!("{}://{user}:***@{host}:{port}", kind.scheme()),
        None => format!("{}://{host}:{port}", kind.scheme()),
    };
    let credentials = credentials.map(|(_, credentials)| credentials);
    let (authorization, socks_credentials) = match kind {
        ProxyKind::Http | ProxyKind::Https => {
            let header = credentials.map(|c| basic_authorization(&c)).transpose();
            (header.map_err(|_| bad("unusable credentials"))?, None)
        }
        ProxyKind::Socks5 { .. } => {
            if credentials
                .as_ref()
                .is_some_and(|c| c.user.is_empty() || c.user.len() > 255 || c.password.len() > 255)
            {
                return Err(bad("a SOCKS user name is 1 to 255 bytes long, a password at most 255"));
            }
            (None, credentials)
        }
    };
    Ok(Proxy { kind, uri, name, authorization, socks_credentials })
}

fn basic_authorization(
    credentials: &Credentials,
) -> std::result::Result<HeaderValue, http::header::InvalidHeaderValue> {
    let joined = format!("{}:{}", credentials.user, credentials.password);
    let encoded = base64::engine::general_purpose::STANDARD.encode(joined.as_bytes());
    let mut value = HeaderValue::try_from(format!("Basic {encoded}"))?;
    value.set_sensitive(true);
    Ok(value)
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

    fn parse(url: &str) -> Proxy {
        parse_proxy(url, "test").unwrap()
    }

    #[test]
    fn proxy_urls_carry_credentials_and_are_checked() {
        let p = parse("http://us%40er:p%3Ass@proxy.example:3128");
        assert_eq!(p.uri.to_string(), "http://proxy.example:3128/");
        assert_eq!(p.name, "http://us%40er:***@proxy.example:3128");
        // base64("us@er:p:ss")
        assert_eq!(p.authorization.unwrap(), "Basic dXNAZXI6cDpzcw==");
        assert_eq!(parse("proxy.example").uri.to_string(), "http://proxy.example:80/");
        assert_eq!(redact("http://u:pw@h:1"), "http://u:***@h:1");
        // A raw `@` in the password: hidden whole, wherever the authority ends.
        assert_eq!(redact("http://u:p@ss@h:1"), "http://u:***@h:1");
        assert_eq!(redact("u:p@ss@h:1/x@y"), "u:***@h:1/x@y");
        let debug = format!("{:?}", ProxyConfig::none().with_https_proxy("http://u:p@ss@h:1"));
        assert!(!debug.contains("ss"), "{debug}");
        let e = parse_proxy("ftp://u:p@ss@h:1", "test").unwrap_err().to_string();
        assert!(e.contains("ftp://u:***@h:1") && !e.contains("ss@"), "{e}");
        let debug = format!("{:?}", ProxyConfig::none().with_http_proxy("u:pw@h"));
        assert!(!debug.contains("pw"), "{debug}");
        let debug = format!("{:?}", parse("socks5://u:pw@h"));
        assert_eq!(debug, "socks5://u:***@h:1080");
    }

    #[test]
    fn proxy_schemes_and_default_ports() {
        // (URL, kind, URI, name)
        let cases = [
            ("http://p.example", ProxyKind::Http, "http://p.example:80/", "http://p.example:80"),
            ("HTTP://p.example:8080", ProxyKind::Http, "http://p.example:8080/", "http://p.example:8080"),
            ("https://p.example", ProxyKind::Https, "https://p.example:443/", "https://p.example:443"),
            (
                "https://u:pw@p.example:8443",
                ProxyKind::Https,
                "https://p.example:8443/",
                "https://u:***@p.example:8443",
            ),
            (
                "socks5://p.example",
                ProxyKind::Socks5 { remote_dns: false },
                "socks5://p.example:1080/",
                "socks5://p.example:1080",
            ),
            (
                "SOCKS5H://p.example:9050",
                ProxyKind::Socks5 { remote_dns: true },
                "socks5h://p.example:9050/",
                "socks5h://p.example:9050",
            ),
            (
                "socks5h://[::1]",
                ProxyKind::Socks5 { remote_dns: true },
                "socks5h://[::1]:1080/",
                "socks5h://[::1]:1080",
            ),
            (
                "socks5://a:b@10.0.0.1:1",
                ProxyKind::Socks5 { remote_dns: false },
                "socks5://10.0.0.1:1/",
                "socks5://a:***@10.0.0.1:1",
            ),
        ];
        for (url, kind, uri, name) in cases {
            let p = parse(url);
            assert_eq!((p.kind, p.uri.to_string().as_str(), p.name.as_str()), (kind, uri, name), "{url}");
        }
    }

    #[test]
    fn socks_credentials_are_decoded_and_not_sent_as_a_header() {
        let p = parse("socks5h://us%40er:p%3Ass@p.example");
        assert!(p.authorization.is_none());
        let c = p.socks_credentials.unwrap();
        assert_eq!((c.user.as_str(), c.password.as_str()), ("us@er", "p:ss"));
        let c = parse("socks5://user@p.example").socks_credentials.unwrap();
        assert_eq!((c.user.as_str(), c.password.as_str()), ("user", ""));
        assert!(parse("socks5://p.example").socks_credentials.is_none());
        assert!(parse("https://u:pw@p.example").socks_credentials.is_none());
        let long = "x".repeat(256);
        for (url, shown) in [
            (format!("socks5://{long}:pw@p.example"), format!("socks5://{long}:***@p.example")),
            (format!("socks5://u:{long}@p.example"), "socks5://u:***@p.example".into()),
            ("socks5://:pw@p".into(), "socks5://:***@p".into()),
        ] {
            let e = parse_proxy(&url, "test").unwrap_err();
            assert_eq!(
                e.to_string(),
                format!(
                    "invalid client configuration: proxy URL {shown} in test: a SOCKS user name is 1 to 255 \
                     bytes long, a password at most 255"
                )
            );
        }
    }

    #[test]
    fn bad_proxy_urls_name_their_setting_and_hide_the_password() {
        for (config, env, want) in [
            (
                ProxyConfig::none().with_https_proxy("socks4://u:secret@p.example:1080"),
                vec![],
                "socks4://u:***@p.example:1080 in ProxyConfig::https: unsupported scheme \"socks4\"",
            ),
            (
                ProxyConfig::none().with_http_proxy("ftp://u:secret@p.example"),
                vec![],
                "ftp://u:***@p.example in ProxyConfig::http: unsupported scheme \"ftp\"",
            ),
            (
                ProxyConfig::default(),
                vec![("HTTPS_PROXY", "socks://u:secret@p.example")],
                "socks://u:***@p.example in HTTPS_PROXY: unsupported scheme \"socks\"",
            ),
            (
                ProxyConfig::default(),
                vec![("http_proxy", "quic://u:secret@p.example")],
                "quic://u:***@p.example in http_proxy: unsupported scheme \"quic\"",
            ),
        ] {
            let e = Proxies::resolve(&config, |n| {
                env.iter().find(|(k, _)| *k == n).map(|(_, v)| (*v).to_owned())
            })
            .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Config);
            let message = e.to_string();
            assert_eq!(
                message,
                format!(
                    "invalid client configuration: proxy URL {want}: use http://, https://, socks5:// or socks5h://"
                )
            );
            assert!(!message.contains("secret"), "{message}");
        }
        let e = parse_proxy("socks5://", "NO_SUCH").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid client configuration: proxy URL socks5:// in NO_SUCH: empty string"
        );
    }
}
