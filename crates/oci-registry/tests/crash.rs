//! Crash safety: a server process killed (SIGKILL) at every request of a push, in the
//! middle of its bodies, and at several moments into each commit (a blob's closing
//! `PUT`, the manifest's `PUT`), then restarted on the same directory, has lost nothing
//! it answered 201 for, shows nothing half-written (every layout passes fsck, digests
//! checked), has either all of an unanswered commit or none of it, and resumes the
//! upload session it had open from the `Range` it reports.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::raw;
use oci_registry::{DiskStorage, Registry};
use oci_spec_types::{Descriptor, Digest, Document, ImageConfig, ImageManifest, MediaType, Platform};
use tokio::io::AsyncWriteExt as _;

/// Set in the child: `<store directory>\n<file to write the address to>`.
const CHILD_ENV: &str = "OCI_REGISTRY_CRASH_CHILD";

/// Not a test: the crash test runs this test binary with `--ignored --exact` on this
/// function as the server's process. Run without the variable, it fails.
#[test]
#[ignore = "not a test: the crash test runs it as the server's process"]
fn serve_as_child_process() {
    let spec = std::env::var(CHILD_ENV)
        .unwrap_or_else(|_| panic!("run only by the crash test, with {CHILD_ENV} set"));
    let (dir, addr_file) = spec.split_once('\n').unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let registry = Registry::builder()
            .storage(DiskStorage::open(dir, true).unwrap())
            .bind("127.0.0.1:0")
            .await
            .unwrap();
        let tmp = format!("{addr_file}.tmp");
        std::fs::write(&tmp, registry.addr().to_string()).unwrap();
        std::fs::rename(&tmp, addr_file).unwrap();
        std::future::pending::<()>().await;
    });
}

/// The server's process.
struct Server {
    child: Child,
    addr: std::net::SocketAddr,
}

impl Server {
    async fn start(dir: &Path) -> Self {
        let addr_file = dir.with_extension(format!("addr-{}", fastrand::u64(..)));
        let child = Command::new(std::env::current_exe().unwrap())
            .args(["serve_as_child_process", "--exact", "--ignored", "--nocapture"])
            .env(CHILD_ENV, format!("{}\n{}", dir.display(), addr_file.display()))
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        // Waited for, not timed: the child writes its address once it listens.
        let mut server = Self { child, addr: std::net::SocketAddr::from(([127, 0, 0, 1], 0)) };
        for _ in 0..1000 {
            if let Ok(addr) = std::fs::read_to_string(&addr_file) {
                let _ = std::fs::remove_file(&addr_file);
                server.addr = addr.parse().unwrap();
                return server;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the server process did not start");
    }

    /// Kills the process now (see `Drop`).
    fn kill(self) {
        drop(self);
    }
}

impl Drop for Server {
    /// SIGKILL: the process gets no chance to finish anything (and a failing test
    /// leaves no server behind).
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the push got the server to commit, and the session it had open.
#[derive(Debug, Default)]
struct Pushed {
    blobs: BTreeMap<Digest, Vec<u8>>,
    tag: Option<(String, Digest)>,
    /// The session's URL, the blob it uploads, and the bytes the server acknowledged.
    open: Option<(String, Vec<u8>, usize)>,
    /// The tag and digest of a manifest `PUT` sent but not answered.
    tagging: Option<(String, Digest)>,
}

/// Where the server dies: at request `at` (counted from 0), once it has half of the
/// body, or (`whole`) the whole request and then this long to work on it.
#[derive(Debug, Clone, Copy)]
struct Kill {
    at: usize,
    whole: Option<Duration>,
}

/// One request of the push; `None` once the kill point is reached: the request is sent
/// in part (half of its body, or its head alone) or whole, and the server killed.
struct Push<'a> {
    addr: std::net::SocketAddr,
    repo: &'a str,
    kill: Kill,
    sent: usize,
    pushed: Pushed,
}

impl Push<'_> {
    async fn request(
        &mut self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Option<common::Answer> {
        if self.sent == self.kill.at {
            let mut stream = tokio::net::TcpStream::connect(self.addr).await.unwrap();
            let mut head = format!(
                "{method} {target} HTTP/1.1\r\nhost: {}\r\ncontent-length: {}\r\n",
                self.addr,
                body.len()
            );
            for (name, value) in headers {
                head.push_str(name);
                head.push_str(": ");
                head.push_str(value);
                head.push_str("\r\n");
            }
            head.push_str("\r\n");
            stream.write_all(head.as_bytes()).await.unwrap();
            let (sent, wait) = match self.kill.whole {
                Some(wait) => (body, wait),
                // Give the server the part it was sent before it dies mid-request.
                None => (&body[..body.len() / 2], Duration::from_millis(20)),
            };
            stream.write_all(sent).await.unwrap();
            stream.flush().await.unwrap();
            // A thread sleep: finer than the runtime's timer, whose unit is 1 ms.
            std::thread::sleep(wait);
            return None;
        }
        self.sent += 1;
        Some(raw(self.addr, method, target, headers, body).await)
    }

    /// A blob in `chunks` chunked `PATCH` requests and a closing `PUT`.
    async fn blob(&mut self, bytes: &[u8], chunks: usize) -> Option<()> {
        let post = self.request("POST", &format!("/v2/{}/blobs/uploads/", self.repo), &[], &[]).await?;
        assert_eq!(post.status, 202);
        let location = post.header("location").unwrap().to_owned();
        self.pushed.open = Some((location.clone(), bytes.to_vec(), 0));
        let size = bytes.len().div_ceil(chunks);
        for (n, chunk) in bytes.chunks(size).enumerate() {
            let range = format!("{}-{}", n * size, n * size + chunk.len() - 1);
            let patch = self.request("PATCH", &location, &[("content-range", &range)], chunk).await?;
            assert_eq!(patch.status, 202, "{}", patch.error());
            self.pushed.open = Some((location.clone(), bytes.to_vec(), n * size + chunk.len()));
        }
        let digest = Digest::sha256(bytes);
        let put = self.request("PUT", &format!("{location}?digest={digest}"), &[], &[]).await?;
        assert_eq!(put.status, 201, "{}", put.error());
        self.pushed.open = None;
        self.pushed.blobs.insert(digest, bytes.to_vec());
        Some(())
    }

    /// Three layers, a config, the manifest tagged `v1`.
    async fn image(&mut self) -> Option<()> {
        let mut layers = Vec::new();
        for n in 0..3u8 {
            let bytes: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8 ^ n).collect();
            self.blob(&bytes, 3).await?;
            layers.push(Descriptor::new(MediaType::LAYER_TAR, Digest::sha256(&bytes), bytes.len() as u64));
        }
        let config = Document::new(ImageConfig::new(&"linux/amd64".parse::<Platform>().unwrap())).unwrap();
        self.blob(config.bytes(), 1).await?;
        let manifest = Document::new(ImageManifest::new(config.descriptor(), layers)).unwrap();
        let ct = manifest.media_type().to_string();
        let target = format!("/v2/{}/manifests/v1", self.repo);
        self.pushed.tagging = Some(("v1".to_owned(), manifest.digest().clone()));
        let put = self.request("PUT", &target, &[("content-type", &ct)], manifest.bytes()).await?;
        assert_eq!(put.status, 201, "{}", put.error());
        self.pushed.tag = self.pushed.tagging.take();
        Some(())
    }
}

/// Every repository layout under `dir` passes fsck (digests checked).
fn fsck_all(dir: &Path) {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        if dir.join("oci-layout").is_file() {
            out.push(dir.to_owned());
        }
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.file_type().unwrap().is_dir() && !name.starts_with('.') && name != "blobs" {
                walk(&entry.path(), out);
            }
        }
    }
    let mut layouts = Vec::new();
    walk(dir, &mut layouts);
    for layout in layouts {
        let report = oci_layout::Layout::open_dir(&layout).unwrap().fsck().unwrap();
        assert!(report.is_ok(), "{}: {:?}", layout.display(), report.findings);
    }
}

/// The requests of the push: 4 blobs of 5, 5, 5 and 3 requests, then the manifest.
const REQUESTS: usize = 19;
/// The requests that commit: each blob's closing `PUT`, and the manifest's.
const COMMITS: [usize; 5] = [4, 9, 14, 17, 18];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_anywhere_in_a_push_keeps_what_it_committed_and_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let mut kills: Vec<Kill> = (0..=REQUESTS).map(|at| Kill { at, whole: None }).collect();
    // Into each commit: the request whole, and the server killed while it works on it.
    for at in COMMITS {
        // A commit takes about a millisecond here: the moments are spread over it.
        for micros in [0, 50, 150, 300, 600, 1000, 3000] {
            kills.push(Kill { at, whole: Some(Duration::from_micros(micros)) });
        }
    }
    for (n, kill) in kills.into_iter().enumerate() {
        killed_and_restarted(&dir, &format!("crash/at-{n}"), kill).await;
    }
    fsck_all(&dir);
}

/// Pushes an image into `repo`, the server killed as `kill` says, then restarted: what
/// was answered is there, what was not is whole or absent, the open session resumes.
async fn killed_and_restarted(dir: &Path, repo: &str, kill: Kill) {
    let server = Server::start(dir).await;
    let mut push = Push { addr: server.addr, repo, kill, sent: 0, pushed: Pushed::default() };
    let finished = push.image().await.is_some();
    assert_eq!(finished, kill.at == REQUESTS, "{kill:?}");
    server.kill();

    let server = Server::start(dir).await;
    fsck_all(dir);
    let pushed = push.pushed;
    for (digest, bytes) in &pushed.blobs {
        let get = raw(server.addr, "GET", &format!("/v2/{repo}/blobs/{digest}"), &[], &[]).await;
        assert_eq!((get.status, get.body.len()), (200, bytes.len()), "{kill:?}: blob {digest}");
        assert_eq!(&get.body, bytes);
    }
    if let Some((tag, digest)) = &pushed.tag {
        let head = raw(server.addr, "HEAD", &format!("/v2/{repo}/manifests/{tag}"), &[], &[]).await;
        assert_eq!(head.header("docker-content-digest"), Some(digest.as_str()), "{kill:?}");
    }
    if let Some((tag, digest)) = &pushed.tagging {
        // An unanswered manifest PUT took effect whole, or not at all.
        let head = raw(server.addr, "HEAD", &format!("/v2/{repo}/manifests/{tag}"), &[], &[]).await;
        match head.status {
            404 => {}
            200 => assert_eq!(head.header("docker-content-digest"), Some(digest.as_str()), "{kill:?}"),
            other => panic!("{kill:?}: HEAD of an unanswered manifest: {other}"),
        }
    }
    let Some((location, bytes, acknowledged)) = &pushed.open else { return };
    let status = raw(server.addr, "GET", location, &[], &[]).await;
    if status.status == 404 {
        // The closing PUT took effect before the kill: the blob is whole.
        let digest = Digest::sha256(bytes);
        let get = raw(server.addr, "GET", &format!("/v2/{repo}/blobs/{digest}"), &[], &[]).await;
        assert_eq!((get.status, &get.body), (200, bytes), "{kill:?}: no session, no blob");
        return;
    }
    // The session kept at least what was acknowledged, at most what was sent.
    assert_eq!(status.status, 204, "{kill:?}: {}", status.error());
    let range = status.header("range").unwrap();
    let held = match range.strip_prefix("0-").unwrap().parse::<usize>().unwrap() {
        0 if *acknowledged == 0 => 0,
        last => last + 1,
    };
    assert!(held >= *acknowledged && held <= bytes.len(), "{kill:?}: holds {held}");
    // The kill may fall after the last chunk was kept but before its 202 was read: then
    // the session holds every byte and only the closing PUT is left.
    if held < bytes.len() {
        let rest = format!("{held}-{}", bytes.len() - 1);
        let patch = raw(server.addr, "PATCH", location, &[("content-range", &rest)], &bytes[held..]).await;
        assert_eq!(patch.status, 202, "{kill:?}: {}", patch.error());
    }
    let put =
        raw(server.addr, "PUT", &format!("{location}?digest={}", Digest::sha256(bytes)), &[], &[]).await;
    assert_eq!(put.status, 201, "{kill:?}: {}", put.error());
}
