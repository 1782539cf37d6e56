//! What the registry's tests share: one raw HTTP/1.1 request per connection.

#![allow(dead_code, clippy::unwrap_used)]

use std::fmt::Write as _;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// An answer: status, headers (names lower case), body.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Answer {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The spec error body's `code: message`.
    pub(crate) fn error(&self) -> String {
        let v: serde_json::Value = serde_json::from_slice(&self.body).unwrap_or_default();
        format!(
            "{}: {}",
            v["errors"][0]["code"].as_str().unwrap_or("?"),
            v["errors"][0]["message"].as_str().unwrap_or("?")
        )
    }
}

/// A registry in memory with `limits`, on a free port of loopback.
pub(crate) async fn memory_registry(limits: oci_registry::Limits) -> oci_registry::Registry {
    oci_registry::Registry::builder()
        .storage(oci_registry::MemoryStorage::new())
        .limits(limits)
        .bind("127.0.0.1:0")
        .await
        .expect("bind")
}

/// One HTTP/1.1 request on its own connection.
pub(crate) async fn raw(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Answer {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut head = format!(
        "{method} {target} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        let _ = write!(head, "{name}: {value}\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.expect("write");
    stream.write_all(body).await.expect("write");
    let mut out = Vec::new();
    stream.read_to_end(&mut out).await.expect("read");
    let split = out.windows(4).position(|w| w == b"\r\n\r\n").expect("a response head");
    let text = String::from_utf8_lossy(&out[..split]).into_owned();
    let mut lines = text.split("\r\n");
    let status =
        lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).expect("a status");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Answer { status, headers, body: out[split + 4..].to_vec() }
}
