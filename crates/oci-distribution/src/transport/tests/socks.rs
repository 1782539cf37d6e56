//! A SOCKS5 proxy (RFC 1928 `CONNECT`, RFC 1929 username/password) for the transport's
//! tests. It records what each client asked for and relays the bytes to the requested
//! port on 127.0.0.1: every host the tests send it (`registry.test`, 192.0.2.1) stands
//! for the loopback servers.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Mutex;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

pub(crate) struct Socks {
    pub(crate) addr: SocketAddr,
    /// One record per request: how the client authenticated (`no-auth` or
    /// `user NAME:PASSWORD`) and what it asked for (`CONNECT domain registry.test:443`,
    /// `CONNECT ipv4 192.0.2.1:443`); `no acceptable method` or `bad password` when the
    /// handshake ended early.
    pub(crate) seen: super::peers::Log,
}

/// A SOCKS5 proxy that requires `credentials` (user, password) when given, and answers
/// every `CONNECT` with `reply` (0 to connect).
pub(crate) async fn socks(credentials: Option<(&'static str, &'static str)>, reply: u8) -> Socks {
    let (addr, seen) =
        super::peers::listen(move |client, log| async move { serve(client, credentials, reply, &log).await })
            .await;
    Socks { addr, seen }
}

async fn read_vec(client: &mut TcpStream, len: usize) -> Vec<u8> {
    let mut bytes = vec![0; len];
    client.read_exact(&mut bytes).await.unwrap();
    bytes
}

async fn read_u8(client: &mut TcpStream) -> u8 {
    client.read_u8().await.unwrap()
}

/// Serves one client, recording what it asked for before answering.
async fn serve(
    mut client: TcpStream,
    credentials: Option<(&str, &str)>,
    reply: u8,
    log: &Mutex<Vec<String>>,
) {
    let record = |line: String| log.lock().unwrap().push(line);
    let mut greeting = [0; 2];
    if client.read_exact(&mut greeting).await.is_err() {
        return;
    }
    assert_eq!(greeting[0], 5, "SOCKS version");
    let methods = read_vec(&mut client, usize::from(greeting[1])).await;
    let wanted = if credentials.is_some() { 2 } else { 0 };
    if !methods.contains(&wanted) {
        record(format!("no acceptable method in {methods:?}"));
        client.write_all(&[5, 0xff]).await.unwrap();
        return;
    }
    client.write_all(&[5, wanted]).await.unwrap();
    let auth = match credentials {
        None => "no-auth".to_owned(),
        Some((user, password)) => {
            assert_eq!(read_u8(&mut client).await, 1, "username/password version");
            let len = read_u8(&mut client).await;
            let got_user = String::from_utf8(read_vec(&mut client, usize::from(len)).await).unwrap();
            let len = read_u8(&mut client).await;
            let got_password = String::from_utf8(read_vec(&mut client, usize::from(len)).await).unwrap();
            if (got_user.as_str(), got_password.as_str()) != (user, password) {
                record(format!("bad password for {got_user}"));
                client.write_all(&[1, 1]).await.unwrap();
                return;
            }
            client.write_all(&[1, 0]).await.unwrap();
            format!("user {got_user}:{got_password}")
        }
    };
    let request = read_vec(&mut client, 4).await;
    assert_eq!(request[..3], [5, 1, 0], "a CONNECT request");
    let host = match request[3] {
        1 => format!("ipv4 {}", Ipv4Addr::from(<[u8; 4]>::try_from(read_vec(&mut client, 4).await).unwrap())),
        3 => {
            let len = read_u8(&mut client).await;
            format!("domain {}", String::from_utf8(read_vec(&mut client, usize::from(len)).await).unwrap())
        }
        4 => {
            let ip = Ipv6Addr::from(<[u8; 16]>::try_from(read_vec(&mut client, 16).await).unwrap());
            format!("ipv6 [{ip}]")
        }
        other => panic!("address type {other}"),
    };
    let port = client.read_u16().await.unwrap();
    record(format!("{auth} | CONNECT {host}:{port}"));
    if reply != 0 {
        client.write_all(&[5, reply, 0, 1, 0, 0, 0, 0, 0, 0]).await.unwrap();
        return;
    }
    let mut upstream = TcpStream::connect((IpAddr::V4(Ipv4Addr::LOCALHOST), port)).await.unwrap();
    let bound = upstream.local_addr().unwrap();
    let mut answer = vec![5, 0, 0, 1, 127, 0, 0, 1];
    answer.extend_from_slice(&bound.port().to_be_bytes());
    client.write_all(&answer).await.unwrap();
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
}
