//! What the registry's tests share: one raw HTTP/1.1 request per connection.

#![allow(dead_code, clippy::unwrap_used)]

use std::fmt::Write as _;
use std::net::SocketAddr;

use oci_spec_types::{Descriptor, Digest, Document, ImageConfig, ImageManifest, MediaType, Platform};
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

/// Pushes `bytes` as one blob with POST + PUT; returns its digest.
pub(crate) async fn push_blob(addr: SocketAddr, repo: &str, bytes: &[u8]) -> Digest {
    let digest = Digest::sha256(bytes);
    let post = raw(addr, "POST", &format!("/v2/{repo}/blobs/uploads/"), &[], &[]).await;
    assert_eq!(post.status, 202, "{}", post.error());
    let location = post.header("location").expect("a Location").to_owned();
    let put = raw(addr, "PUT", &format!("{location}?digest={digest}"), &[], bytes).await;
    assert_eq!(put.status, 201, "{}", put.error());
    digest
}

/// An image (a config, with `author` when given, and one layer) pushed and tagged
/// `tag`; its manifest's descriptor.
pub(crate) async fn push_image(
    addr: SocketAddr,
    repo: &str,
    tag: &str,
    layer: &[u8],
    author: Option<&str>,
) -> Descriptor {
    let layer_digest = push_blob(addr, repo, layer).await;
    let mut config = ImageConfig::new(&"linux/amd64".parse::<Platform>().expect("platform"));
    config.author = author.map(str::to_owned);
    let config = Document::new(config).expect("config");
    push_blob(addr, repo, config.bytes()).await;
    let layer = Descriptor::new(MediaType::LAYER_TAR, layer_digest, layer.len() as u64);
    let manifest = Document::new(ImageManifest::new(config.descriptor(), vec![layer])).expect("manifest");
    let ct = manifest.media_type().to_string();
    let put =
        raw(addr, "PUT", &format!("/v2/{repo}/manifests/{tag}"), &[("content-type", &ct)], manifest.bytes())
            .await;
    assert_eq!(put.status, 201, "{}", put.error());
    assert_eq!(put.header("docker-content-digest"), Some(manifest.digest().as_str()));
    manifest.descriptor()
}
