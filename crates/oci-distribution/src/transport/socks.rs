//! The client side of a SOCKS5 `CONNECT` (RFC 1928), with username/password
//! authentication (RFC 1929) when the proxy URL carries credentials.

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

const VERSION: u8 = 5;
const NO_AUTH: u8 = 0x00;
const USER_PASSWORD: u8 = 0x02;
const NO_ACCEPTABLE_METHOD: u8 = 0xFF;
const CONNECT: u8 = 0x01;
const IPV4: u8 = 0x01;
const DOMAIN: u8 = 0x03;
const IPV6: u8 = 0x04;

/// Where the proxy is asked to connect to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Target {
    /// An address (resolved by the client, or an IP literal in the URL).
    Addr(SocketAddr),
    /// A host name the proxy resolves (`socks5h://`).
    Domain(String, u16),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Addr(addr) => write!(f, "{addr}"),
            Self::Domain(host, port) => write!(f, "{host}:{port}"),
        }
    }
}

impl Target {
    /// The target for `host` (a URL's host: a name, an IPv4 address or a bracketed
    /// IPv6 address) and `port`: IP literals as they are, names sent to the proxy when
    /// `remote_dns`, else resolved here (the first address wins).
    pub(super) async fn resolve(host: &str, port: u16, remote_dns: bool) -> io::Result<Self> {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Ok(Self::Addr(SocketAddr::new(ip, port)));
        }
        if remote_dns {
            // `connect` refuses a name too long for the protocol.
            return Ok(Self::Domain(bare.to_owned(), port));
        }
        let mut addrs = tokio::net::lookup_host((bare, port))
            .await
            .map_err(|e| io::Error::new(e.kind(), format!("resolving {bare}: {e}")))?;
        addrs.next().map(Self::Addr).ok_or_else(|| io::Error::other(format!("{bare} has no address")))
    }
}

/// A user name and password for RFC 1929 authentication, each at most 255 bytes (the
/// proxy URL's parser checks).
#[derive(Clone, PartialEq, Eq)]
pub(super) struct Credentials {
    pub(super) user: String,
    pub(super) password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials").field("user", &self.user).finish_non_exhaustive()
    }
}

/// Asks the SOCKS5 proxy on `stream` to connect to `target`, authenticating with
/// `credentials` if it asks for them. On success, `stream` is a tunnel to `target` with
/// nothing of the handshake left unread. Errors say what the proxy answered; the
/// caller adds which proxy it was.
pub(super) async fn connect<S>(
    stream: &mut S,
    target: &Target,
    credentials: Option<&Credentials>,
) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let greeting: &[u8] =
        if credentials.is_some() { &[VERSION, 2, NO_AUTH, USER_PASSWORD] } else { &[VERSION, 1, NO_AUTH] };
    stream.write_all(greeting).await?;
    let [version, method] = read_array(stream, "its choice of authentication method").await?;
    check_version(version)?;
    match (method, credentials) {
        (NO_AUTH, _) => {}
        (USER_PASSWORD, Some(credentials)) => authenticate(stream, credentials).await?,
        (NO_ACCEPTABLE_METHOD, None) => {
            return Err(io::Error::other(
                "the proxy accepts no offered authentication method (offered: none): \
                 give credentials in the proxy URL if it needs a username and password",
            ));
        }
        (NO_ACCEPTABLE_METHOD, Some(_)) => {
            return Err(io::Error::other(
                "the proxy accepts no offered authentication method (offered: none, username/password)",
            ));
        }
        (other, _) => {
            return Err(io::Error::other(format!(
                "the proxy chose authentication method {other:#04x}, which was not offered"
            )));
        }
    }

    let mut request = vec![VERSION, CONNECT, 0];
    let port = match target {
        Target::Addr(addr) => {
            match addr.ip() {
                IpAddr::V4(ip) => {
                    request.push(IPV4);
                    request.extend_from_slice(&ip.octets());
                }
                IpAddr::V6(ip) => {
                    request.push(IPV6);
                    request.extend_from_slice(&ip.octets());
                }
            }
            addr.port()
        }
        Target::Domain(host, port) => {
            let len = u8::try_from(host.len())
                .map_err(|_| io::Error::other(format!("the host name {host:?} is too long for SOCKS")))?;
            request.extend_from_slice(&[DOMAIN, len]);
            request.extend_from_slice(host.as_bytes());
            *port
        }
    };
    request.extend_from_slice(&port.to_be_bytes());
    stream.write_all(&request).await?;

    let [version, reply] = read_array(stream, "its reply to CONNECT").await?;
    check_version(version)?;
    if reply != 0 {
        return Err(io::Error::other(format!(
            "the proxy could not connect to {target}: {} (SOCKS reply {reply})",
            reply_message(reply)
        )));
    }
    let [_reserved, address_type] = read_array(stream, "its reply to CONNECT").await?;
    let address_len = match address_type {
        IPV4 => 4,
        IPV6 => 16,
        DOMAIN => usize::from(read_array::<_, 1>(stream, "its reply to CONNECT").await?[0]),
        other => return Err(io::Error::other(format!("the proxy answered with address type {other:#04x}"))),
    };
    // The bound address and port, which a client of CONNECT has no use for.
    let mut bound = vec![0; address_len + 2];
    stream.read_exact(&mut bound).await.map_err(|e| unexpected_end(e, "its reply to CONNECT"))?;
    Ok(())
}

/// RFC 1929: sends the user name and password, fails unless the proxy accepts them.
async fn authenticate<S>(stream: &mut S, credentials: &Credentials) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (user, password) = (credentials.user.as_bytes(), credentials.password.as_bytes());
    let too_long = || io::Error::other("the SOCKS user name and password are at most 255 bytes each");
    let mut request = vec![1, u8::try_from(user.len()).map_err(|_| too_long())?];
    request.extend_from_slice(user);
    request.push(u8::try_from(password.len()).map_err(|_| too_long())?);
    request.extend_from_slice(password);
    stream.write_all(&request).await?;
    let [_version, status] = read_array(stream, "its answer to the username and password").await?;
    if status != 0 {
        return Err(io::Error::other(format!(
            "the proxy rejected the username and password of user {:?} (status {status})",
            credentials.user
        )));
    }
    Ok(())
}

fn check_version(version: u8) -> io::Result<()> {
    if version == VERSION {
        Ok(())
    } else {
        Err(io::Error::other(format!("the proxy does not speak SOCKS5 (it answered with version {version})")))
    }
}

async fn read_array<S, const N: usize>(stream: &mut S, what: &str) -> io::Result<[u8; N]>
where
    S: AsyncRead + Unpin,
{
    let mut bytes = [0; N];
    stream.read_exact(&mut bytes).await.map_err(|e| unexpected_end(e, what))?;
    Ok(bytes)
}

fn unexpected_end(e: io::Error, what: &str) -> io::Error {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        io::Error::new(e.kind(), format!("the proxy closed the connection before sending {what}"))
    } else {
        e
    }
}

/// The meaning of a SOCKS5 reply code (RFC 1928, section 6).
fn reply_message(reply: u8) -> &'static str {
    match reply {
        1 => "general SOCKS server failure",
        2 => "connection not allowed by the proxy's rules",
        3 => "network unreachable",
        4 => "host unreachable",
        5 => "connection refused",
        6 => "TTL expired",
        7 => "command not supported",
        8 => "address type not supported",
        _ => "unknown reply code",
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    /// Runs the handshake for `target` against a proxy that, for each step of `script`,
    /// expects some bytes and answers others; then checks that the tunnel carries bytes
    /// both ways.
    async fn handshake(
        target: &Target,
        credentials: Option<&Credentials>,
        script: &[(&[u8], &[u8])],
    ) -> io::Result<()> {
        let (mut client, mut proxy) = tokio::io::duplex(1024);
        let script: Vec<(Vec<u8>, Vec<u8>)> = script.iter().map(|(e, a)| (e.to_vec(), a.to_vec())).collect();
        let proxy = tokio::spawn(async move {
            for (expect, answer) in script {
                let mut got = vec![0; expect.len()];
                proxy.read_exact(&mut got).await.unwrap();
                assert_eq!(got, expect);
                proxy.write_all(&answer).await.unwrap();
            }
            proxy.write_all(b"tunnel").await.unwrap();
            proxy
        });
        connect(&mut client, target, credentials).await?;
        let mut proxy = proxy.await.unwrap();
        let mut read = [0; 6];
        client.read_exact(&mut read).await.unwrap();
        assert_eq!(&read, b"tunnel", "nothing of the handshake is left unread");
        client.write_all(b"up").await.unwrap();
        proxy.read_exact(&mut read[..2]).await.unwrap();
        assert_eq!(&read[..2], b"up");
        Ok(())
    }

    const NO_AUTH_OFFER: &[u8] = &[5, 1, 0];
    const BOTH_OFFER: &[u8] = &[5, 2, 0, 2];
    const OK_V4: &[u8] = &[5, 0, 0, 1, 10, 0, 0, 1, 0x1f, 0x90];

    fn domain_request(host: &str, port: u16) -> Vec<u8> {
        let len = u8::try_from(host.len()).unwrap();
        [&[5, 1, 0, 3, len][..], host.as_bytes(), &port.to_be_bytes()].concat()
    }

    #[tokio::test]
    async fn connects_to_each_address_type() {
        let v4 = Target::Addr(SocketAddr::new(Ipv4Addr::new(192, 0, 2, 1).into(), 443));
        let request = [5, 1, 0, 1, 192, 0, 2, 1, 1, 187];
        handshake(&v4, None, &[(NO_AUTH_OFFER, &[5, 0]), (&request, OK_V4)]).await.unwrap();

        let v6 = Target::Addr(SocketAddr::new(Ipv6Addr::LOCALHOST.into(), 80));
        let request = [&[5, 1, 0, 4][..], &Ipv6Addr::LOCALHOST.octets(), &[0, 80]].concat();
        // A bound address given as a domain name.
        let answer = [&[5, 0, 0, 3, 4][..], b"host", &[0, 1]].concat();
        handshake(&v6, None, &[(NO_AUTH_OFFER, &[5, 0]), (&request, &answer)]).await.unwrap();

        let name = Target::Domain("registry.test".into(), 5000);
        let answer = [&[5, 0, 0, 4][..], &[0; 18]].concat();
        let request = domain_request("registry.test", 5000);
        handshake(&name, None, &[(NO_AUTH_OFFER, &[5, 0]), (&request, &answer)]).await.unwrap();
    }

    #[tokio::test]
    async fn authenticates_with_a_username_and_password() {
        let credentials = Credentials { user: "us@er".into(), password: "p:ss".into() };
        let target = Target::Domain("r.test".into(), 443);
        let request = domain_request("r.test", 443);
        let auth = [&[1, 5][..], b"us@er", &[4], b"p:ss"].concat();
        let script: &[(&[u8], &[u8])] = &[(BOTH_OFFER, &[5, 2]), (&auth, &[1, 0]), (&request, OK_V4)];
        handshake(&target, Some(&credentials), script).await.unwrap();

        // The proxy may choose no authentication although credentials were offered.
        let script: &[(&[u8], &[u8])] = &[(BOTH_OFFER, &[5, 0]), (&request, OK_V4)];
        handshake(&target, Some(&credentials), script).await.unwrap();

        let script: &[(&[u8], &[u8])] = &[(BOTH_OFFER, &[5, 2]), (&auth, &[1, 1])];
        let e = handshake(&target, Some(&credentials), script).await.unwrap_err();
        assert_eq!(
            e.to_string(),
            "the proxy rejected the username and password of user \"us@er\" (status 1)"
        );
    }

    #[tokio::test]
    async fn explains_a_refused_method_or_version() {
        let target = Target::Domain("r.test".into(), 443);
        let e = handshake(&target, None, &[(NO_AUTH_OFFER, &[5, 0xff])]).await.unwrap_err();
        assert_eq!(
            e.to_string(),
            "the proxy accepts no offered authentication method (offered: none): give credentials in the \
             proxy URL if it needs a username and password"
        );
        let credentials = Credentials { user: "u".into(), password: "p".into() };
        let e = handshake(&target, Some(&credentials), &[(BOTH_OFFER, &[5, 0xff])]).await.unwrap_err();
        assert_eq!(
            e.to_string(),
            "the proxy accepts no offered authentication method (offered: none, username/password)"
        );
        let e = handshake(&target, None, &[(NO_AUTH_OFFER, &[5, 2])]).await.unwrap_err();
        assert_eq!(e.to_string(), "the proxy chose authentication method 0x02, which was not offered");
        let e = handshake(&target, None, &[(NO_AUTH_OFFER, b"HTTP/1.1 400")]).await.unwrap_err();
        assert_eq!(e.to_string(), "the proxy does not speak SOCKS5 (it answered with version 72)");
    }

    #[tokio::test]
    async fn explains_every_reply_code() {
        let target = Target::Domain("r.test".into(), 443);
        let request = domain_request("r.test", 443);
        for (code, want) in [
            (1, "general SOCKS server failure"),
            (2, "connection not allowed by the proxy's rules"),
            (3, "network unreachable"),
            (4, "host unreachable"),
            (5, "connection refused"),
            (6, "TTL expired"),
            (7, "command not supported"),
            (8, "address type not supported"),
            (9, "unknown reply code"),
        ] {
            // The proxy may close right after the reply code.
            let script: &[(&[u8], &[u8])] = &[(NO_AUTH_OFFER, &[5, 0]), (&request, &[5, code])];
            let e = handshake(&target, None, script).await.unwrap_err();
            let want = format!("the proxy could not connect to r.test:443: {want} (SOCKS reply {code})");
            assert_eq!(e.to_string(), want);
        }

        // A proxy that goes away in the middle of its reply.
        let (mut client, mut proxy) = tokio::io::duplex(1024);
        proxy.write_all(&[5, 0, 5, 0, 0]).await.unwrap();
        proxy.shutdown().await.unwrap();
        let e = connect(&mut client, &target, None).await.unwrap_err();
        drop(proxy);
        assert_eq!(e.to_string(), "the proxy closed the connection before sending its reply to CONNECT");
    }

    #[tokio::test]
    async fn names_are_resolved_here_or_by_the_proxy() {
        let resolve = |host: &'static str, remote_dns| Target::resolve(host, 443, remote_dns);
        let v4 = SocketAddr::new(Ipv4Addr::new(192, 0, 2, 1).into(), 443);
        assert_eq!(resolve("192.0.2.1", true).await.unwrap(), Target::Addr(v4));
        let v6 = SocketAddr::new("fd00::1".parse().unwrap(), 443);
        assert_eq!(resolve("[fd00::1]", false).await.unwrap(), Target::Addr(v6));
        assert_eq!(
            resolve("registry.test", true).await.unwrap(),
            Target::Domain("registry.test".into(), 443)
        );
        match resolve("localhost", false).await.unwrap() {
            Target::Addr(addr) => assert!(addr.ip().is_loopback() && addr.port() == 443, "{addr}"),
            other @ Target::Domain(..) => panic!("localhost was not resolved: {other}"),
        }
    }
}
