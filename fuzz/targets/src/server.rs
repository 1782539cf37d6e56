//! The embedded registry under random request sequences: methods, paths (names, digests
//! and upload sessions, traversal attempts and percent-encodings among them), queries,
//! headers and bodies, each step able to use what earlier answers gave (the last upload
//! `Location`, the digests seen). A correct registry never answers 5xx other than 503,
//! never serves a blob that is not its digest's bytes, never writes outside its root,
//! never panics, and answers every request in time.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};
use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use oci_registry::{DiskStorage, Registry};
use oci_spec_types::{Digest, MediaType};
use serde_json::json;
use tokio::runtime::Runtime;

/// The runtime and the directory under which each input's registry keeps its store,
/// made once per process. Each input gets a registry of its own over a new store, so
/// that a crash replays from its input alone.
struct Harness {
    runtime: Runtime,
    home: PathBuf,
    runs: AtomicU64,
}

static HARNESS: OnceLock<Harness> = OnceLock::new();
static PANICKED: AtomicBool = AtomicBool::new(false);

fn harness() -> &'static Harness {
    HARNESS.get_or_init(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICKED.store(true, Ordering::SeqCst);
            // Under AFL++ nothing shows stderr: `OCI_FUZZ_PANIC_LOG` keeps the message.
            if let Some(log) = std::env::var_os("OCI_FUZZ_PANIC_LOG") {
                let file = std::fs::OpenOptions::new().create(true).append(true).open(log);
                let _ = file.map(|mut f| std::io::Write::write_all(&mut f, format!("{info}\n").as_bytes()));
            }
            previous(info);
        }));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let home = std::env::temp_dir().join(format!("oci-fuzz-server-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&home);
        std::fs::create_dir_all(&home).expect("the registries' home");
        Harness { runtime, home, runs: AtomicU64::new(0) }
    })
}

#[derive(Debug, Arbitrary)]
enum Verb {
    Get,
    Head,
    Put,
    Post,
    Patch,
    Delete,
    Options,
    Other(String),
}

#[derive(Debug, Arbitrary)]
enum Name {
    Plain,
    Nested,
    Traversal,
    Encoded,
    Raw(String),
}

#[derive(Debug, Arbitrary)]
enum DigestPick {
    OfBody,
    Seen(u8),
    Sha512OfBody,
    Traversal,
    Raw(String),
}

#[derive(Debug, Arbitrary)]
enum Route {
    Base,
    Catalog,
    Tags,
    Manifest(Option<String>),
    ManifestByDigest(DigestPick),
    Blob(DigestPick),
    Uploads,
    LastUpload,
    Upload(String),
    Referrers(DigestPick),
    Raw(String),
}

#[derive(Debug, Arbitrary)]
enum Header {
    ContentType(bool),
    ContentRange(u32, u32),
    RawContentRange(String),
    Range(String),
    Accept(String),
    Authorization(String),
    Raw(String, String),
}

#[derive(Debug, Arbitrary)]
enum Payload {
    Empty,
    Bytes(Vec<u8>),
    Manifest { config: DigestPick, layers: Vec<DigestPick>, subject: Option<DigestPick> },
    Index(Vec<DigestPick>),
}

#[derive(Debug, Arbitrary)]
struct Step {
    verb: Verb,
    name: Name,
    route: Route,
    query: Vec<(String, Option<DigestPick>)>,
    headers: Vec<Header>,
    payload: Payload,
}

/// The registry of this input, and what earlier answers gave.
struct Memory {
    addr: SocketAddr,
    location: Option<String>,
    seen: Vec<Digest>,
}

impl Memory {
    fn digest(&self, pick: &DigestPick, body: &[u8]) -> String {
        match pick {
            DigestPick::OfBody => Digest::sha256(body).to_string(),
            DigestPick::Sha512OfBody => Digest::compute(&oci_spec_types::DigestAlgorithm::SHA512, body)
                .map(|d| d.to_string())
                .unwrap_or_default(),
            DigestPick::Seen(n) if !self.seen.is_empty() => {
                self.seen[usize::from(*n) % self.seen.len()].to_string()
            }
            DigestPick::Seen(_) => Digest::sha256(b"").to_string(),
            DigestPick::Traversal => "sha256:..%2F..%2F..%2Fetc".to_owned(),
            DigestPick::Raw(s) => s.clone(),
        }
    }
}

fn name(name: &Name) -> String {
    match name {
        Name::Plain => "fuzz".to_owned(),
        Name::Nested => "team/app/x".to_owned(),
        Name::Traversal => "../../outside".to_owned(),
        Name::Encoded => "%2e%2e/%2e%2e/outside".to_owned(),
        Name::Raw(s) => s.clone(),
    }
}

/// The request body, and the value a `Content-Type` header of the step would have.
fn payload(memory: &Memory, payload: &Payload) -> (Vec<u8>, &'static str) {
    let descriptor = |pick: &DigestPick, media_type: &str| json!({"mediaType": media_type, "digest": memory.digest(pick, b""), "size": 0});
    match payload {
        Payload::Empty => (Vec::new(), "application/octet-stream"),
        Payload::Bytes(bytes) => (bytes.clone(), "application/octet-stream"),
        Payload::Manifest { config, layers, subject } => {
            let mut manifest = json!({
                "schemaVersion": 2, "mediaType": MediaType::IMAGE_MANIFEST,
                "config": descriptor(config, MediaType::IMAGE_CONFIG.as_str()),
                "layers": layers.iter().take(8).map(|l| descriptor(l, MediaType::LAYER_TAR_GZIP.as_str())).collect::<Vec<_>>(),
            });
            if let Some(subject) = subject {
                manifest["subject"] = descriptor(subject, MediaType::IMAGE_MANIFEST.as_str());
            }
            (manifest.to_string().into_bytes(), "application/vnd.oci.image.manifest.v1+json")
        }
        Payload::Index(entries) => {
            let manifests: Vec<_> =
                entries.iter().take(8).map(|e| descriptor(e, MediaType::IMAGE_MANIFEST.as_str())).collect();
            let index =
                json!({"schemaVersion": 2, "mediaType": MediaType::IMAGE_INDEX, "manifests": manifests});
            (index.to_string().into_bytes(), "application/vnd.oci.image.index.v1+json")
        }
    }
}

/// Every byte outside `A-Za-z0-9-._~/:%` percent-encoded.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' | b':' | b'%' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn path(memory: &Memory, step: &Step, body: &[u8]) -> String {
    let name = name(&step.name);
    let mut path = match &step.route {
        Route::Base => "/v2/".to_owned(),
        Route::Catalog => "/v2/_catalog".to_owned(),
        Route::Tags => format!("/v2/{name}/tags/list"),
        Route::Manifest(tag) => format!("/v2/{name}/manifests/{}", tag.as_deref().unwrap_or("latest")),
        Route::ManifestByDigest(pick) => format!("/v2/{name}/manifests/{}", memory.digest(pick, body)),
        Route::Blob(pick) => format!("/v2/{name}/blobs/{}", memory.digest(pick, body)),
        Route::Uploads => format!("/v2/{name}/blobs/uploads/"),
        Route::LastUpload => {
            memory.location.clone().unwrap_or_else(|| format!("/v2/{name}/blobs/uploads/none"))
        }
        Route::Upload(id) => format!("/v2/{name}/blobs/uploads/{id}"),
        Route::Referrers(pick) => format!("/v2/{name}/referrers/{}", memory.digest(pick, body)),
        Route::Raw(raw) => raw.clone(),
    };
    for (i, (key, value)) in step.query.iter().take(4).enumerate() {
        let separator = if i == 0 && !path.contains('?') { '?' } else { '&' };
        let value = value.as_ref().map(|pick| memory.digest(pick, body)).unwrap_or_default();
        let _ = write!(path, "{separator}{}={}", encode(key), encode(&value));
    }
    path
}

fn request(memory: &Memory, step: &Step) -> Option<Request<Full<Bytes>>> {
    let method = match &step.verb {
        Verb::Get => Method::GET,
        Verb::Head => Method::HEAD,
        Verb::Put => Method::PUT,
        Verb::Post => Method::POST,
        Verb::Patch => Method::PATCH,
        Verb::Delete => Method::DELETE,
        Verb::Options => Method::OPTIONS,
        Verb::Other(m) => Method::from_bytes(m.as_bytes()).ok()?,
    };
    let (body, content_type) = payload(memory, &step.payload);
    let path = path(memory, step, &body);
    let uri = path.parse::<Uri>().or_else(|_| encode(&path).parse::<Uri>()).ok()?;
    let mut builder = Request::builder().method(method).uri(uri).header("host", memory.addr.to_string());
    for header in step.headers.iter().take(8) {
        let (name, value) = match header {
            Header::ContentType(true) => ("content-type".to_owned(), content_type.to_owned()),
            Header::ContentType(false) => ("content-type".to_owned(), "application/json".to_owned()),
            Header::ContentRange(first, last) => ("content-range".to_owned(), format!("{first}-{last}")),
            Header::RawContentRange(v) => ("content-range".to_owned(), v.clone()),
            Header::Range(v) => ("range".to_owned(), v.clone()),
            Header::Accept(v) => ("accept".to_owned(), v.clone()),
            Header::Authorization(v) => ("authorization".to_owned(), v.clone()),
            Header::Raw(n, v) => (n.clone(), v.clone()),
        };
        let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(&value))
        else {
            continue;
        };
        if [http::header::CONTENT_LENGTH, http::header::TRANSFER_ENCODING, http::header::HOST].contains(&name)
        {
            continue; // framing is the client's; a wrong length is a protocol error, not a request
        }
        builder = builder.header(name, value);
    }
    builder.body(Full::new(Bytes::from(body))).ok()
}

async fn connect(addr: SocketAddr) -> SendRequest<Full<Bytes>> {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("the registry accepts");
    let (sender, connection) = http1::handshake(TokioIo::new(stream)).await.expect("an HTTP/1 handshake");
    tokio::spawn(connection);
    sender
}

/// Sends one request and checks the answer.
async fn exchange(
    sender: &mut Option<SendRequest<Full<Bytes>>>,
    memory: &mut Memory,
    request: Request<Full<Bytes>>,
) {
    let what = format!("{} {}", request.method(), request.uri());
    let blob_get = request.method() == Method::GET && request.uri().path().contains("/blobs/sha");
    if sender.as_ref().is_none_or(SendRequest::is_closed) {
        *sender = Some(connect(memory.addr).await);
    }
    let Some(send) = sender.as_mut() else { return };
    let answer = tokio::time::timeout(Duration::from_secs(4), async {
        send.ready().await?;
        let response = send.send_request(request).await?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await?.to_bytes();
        Ok::<_, hyper::Error>((parts, body))
    });
    let (parts, body) = match answer.await {
        Err(elapsed) => panic!("{what}: no answer within 4 s ({elapsed})"),
        Ok(Err(_)) => {
            *sender = None; // the server closed the connection (a refused body); a new one follows
            return;
        }
        Ok(Ok(answer)) => answer,
    };
    let status = parts.status;
    assert!(
        !status.is_server_error() || status == StatusCode::SERVICE_UNAVAILABLE,
        "{what}: {status} {body:?}"
    );
    let digest = parts.headers.get("docker-content-digest").and_then(|v| v.to_str().ok());
    if let Some(digest) = digest.and_then(|d| Digest::parse(d).ok()) {
        if blob_get && status == StatusCode::OK && digest.is_verifiable() {
            assert_eq!(digest.verify(&body).ok(), Some(true), "{what}: the body is not {digest}");
        }
        if memory.seen.len() < 64 {
            memory.seen.push(digest);
        }
    }
    if let Some(location) = parts.headers.get("location").and_then(|v| v.to_str().ok()) {
        let location =
            location.parse::<Uri>().ok().and_then(|u| u.path_and_query().map(|p| p.as_str().to_owned()));
        memory.location = location.or_else(|| memory.location.take());
    }
}

/// One input: up to 16 steps over one connection (a new one when the server closed it),
/// against a registry of its own over a new store (a crash replays from its input).
pub(crate) fn run(data: &[u8]) {
    let harness = harness();
    let dir = harness.home.join(format!("run-{}", harness.runs.fetch_add(1, Ordering::SeqCst)));
    harness.runtime.block_on(async {
        let registry = start(&dir).await;
        steps(data, registry.addr()).await;
        registry.shutdown().await;
    });
    check(&dir);
    let _ = std::fs::remove_dir_all(&dir);
}

/// One input against the registry of the process, whose store keeps what every input
/// before did: state-dependent bugs show, but a crash may need the inputs before it.
pub(crate) fn run_stateful(data: &[u8]) {
    static SHARED: OnceLock<Registry> = OnceLock::new();
    let harness = harness();
    let dir = harness.home.join("shared");
    harness.runtime.block_on(async {
        if SHARED.get().is_none() {
            let _ = SHARED.set(start(&dir).await);
        }
        let Some(registry) = SHARED.get() else { return };
        steps(data, registry.addr()).await;
    });
    check(&dir);
}

async fn start(dir: &Path) -> Registry {
    std::fs::create_dir_all(dir).expect("the registry's directory");
    let storage = DiskStorage::open(dir.join("storage"), false).expect("the registry's storage");
    Registry::builder().storage(storage).bind("127.0.0.1:0").await.expect("the registry listens")
}

async fn steps(data: &[u8], addr: SocketAddr) {
    let Ok(steps) = Vec::<Step>::arbitrary_take_rest(Unstructured::new(data)) else { return };
    let mut sender = None;
    let mut memory = Memory { addr, location: None, seen: Vec::new() };
    for step in steps.iter().take(16) {
        if let Some(request) = request(&memory, step) {
            exchange(&mut sender, &mut memory, request).await;
        }
    }
}

/// No panic in the registry, nothing written beside its store.
fn check(dir: &Path) {
    assert!(!PANICKED.load(Ordering::SeqCst), "the registry panicked");
    let outside: Vec<_> = std::fs::read_dir(dir)
        .expect("the registry's directory")
        .filter_map(|e| e.ok().map(|e| e.file_name()))
        .filter(|n| n != "storage")
        .collect();
    assert!(outside.is_empty(), "the registry wrote outside its root: {outside:?}");
}
