//! `oci pull` killed (SIGKILL) or interrupted (Ctrl-C: SIGINT) half-way through a layer,
//! then run again: the layout shows no tag and passes fsck in between, and the second
//! run carries only the rest of that layer (counted on the wire by a relay in front of
//! the registry).

#![allow(clippy::unwrap_used)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use oci::{Document, Layout, MediaType};
use oci_registry::{MemoryStorage, Registry};
use oci_test_support::relay::Relay;

const LAYER: u64 = 8 << 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_pull_run_again_fetches_only_what_it_lacks() {
    interrupted_then_run_again(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_a_pull_cleanly_and_a_run_again_resumes() {
    interrupted_then_run_again(true).await;
}

/// A pull stopped half-way through a layer (SIGINT when `interrupt`, else SIGKILL),
/// then run again.
async fn interrupted_then_run_again(interrupt: bool) {
    let tmp = tempfile::tempdir().unwrap();
    let src = Layout::init_dir(tmp.path().join("src")).unwrap();
    let content = oci_test_support::fixtures::Rng::from_u64(11).bytes(usize::try_from(LAYER).unwrap());
    let layer = src.add_blob(content.as_slice(), MediaType::LAYER_TAR).unwrap();
    let config = src.add_blob(&b"{}"[..], MediaType::IMAGE_CONFIG).unwrap();
    let image = src
        .write_document(&Document::new(oci::spec::ImageManifest::new(config, vec![layer])).unwrap())
        .unwrap();
    src.tag("v1", image.clone()).unwrap();
    let registry = Registry::builder().storage(MemoryStorage::new()).bind("127.0.0.1:0").await.unwrap();
    let seed = format!("oci:{}:v1", tmp.path().join("src").display());
    oci::copy(
        &seed.parse().unwrap(),
        &format!("docker://{}/k/app:v1", registry.host()).parse().unwrap(),
        oci::CopyOptions::default(),
    )
    .await
    .unwrap();

    let relay = Relay::start(registry.addr()).await;
    let image_ref = format!("{}/k/app:v1", relay.host());
    let out = tmp.path().join("out");
    let out_dir = out.clone();
    let pull = move || {
        Command::new(env!("CARGO_BIN_EXE_oci"))
            .args(["pull", &image_ref, out.to_str().unwrap(), "--no-progress", "-j", "1"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    // Half of the layer gets through, then the line holds still; the process is killed.
    relay.stall_after(LAYER / 2);
    let mut child = pull();
    let deadline = Instant::now() + Duration::from_secs(60);
    while relay.bytes_down() < LAYER / 2 {
        assert!(Instant::now() < deadline, "only {} bytes in a minute", relay.bytes_down());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // What arrived reaches the partial blob the layout keeps for the next run.
    let kept = || {
        let dir = out_dir.join("blobs/sha256");
        let partial = std::fs::read_dir(dir)
            .ok()?
            .flatten()
            .find(|e| e.file_name().to_string_lossy().contains("partial"))?;
        Some(partial.metadata().ok()?.len())
    };
    while kept().unwrap_or(0) < LAYER / 2 - (256 << 10) {
        assert!(Instant::now() < deadline, "the partial blob holds {:?} bytes", kept());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    if interrupt {
        // Ctrl-C: the copy is dropped and the command stops at once, saying so.
        let pid = child.id().to_string();
        assert!(Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
        let stopped = child.wait_with_output().unwrap();
        assert_eq!(stopped.status.code(), Some(130), "{}", String::from_utf8_lossy(&stopped.stderr));
        assert_eq!(String::from_utf8_lossy(&stopped.stderr).trim(), "oci: interrupted");
    } else {
        child.kill().unwrap();
        child.wait().unwrap();
    }
    let partial = Layout::open_dir(&out_dir).unwrap();
    assert!(partial.tags().unwrap().is_empty(), "an interrupted pull left a tag");
    let fsck = partial.fsck().unwrap();
    assert!(fsck.is_ok(), "{:?}", fsck.findings);

    let kept = kept().unwrap_or(0);
    relay.heal();
    let wait = pull.clone();
    let again = tokio::task::spawn_blocking(move || wait().wait_with_output().unwrap()).await.unwrap();
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    let carried = relay.bytes_down();
    assert!(kept >= LAYER / 2 - (256 << 10), "{kept} bytes kept");
    assert!(carried < LAYER - kept + (256 << 10), "{carried} bytes carried after the kill, {kept} kept");
    let pulled = Layout::open_dir(&out_dir).unwrap();
    assert_eq!(pulled.resolve("v1").unwrap().digest, image.digest);
    assert!(pulled.fsck().unwrap().is_ok());
}
