//! A copy into a layout cut off mid-blob, for good (the client's own resumes fail too),
//! fails without a tag or a half blob showing; run again, it transfers only the rest of
//! that blob, counted on the wire by a relay in front of the registry. A re-run with
//! nothing to do asks once per manifest and blob and writes nothing.

#![allow(clippy::unwrap_used)]

use oci::CopyOptions;
use oci_layout::Layout;
use oci_registry::{MemoryStorage, Registry};
use oci_spec_types::{Document, ImageConfig, ImageManifest, MediaType, Platform};
use oci_test_support::front::Front;
use oci_test_support::relay::Relay;

use crate::copy::{assert_same, copy, loc};

const LAYER: u64 = 6 << 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_cut_off_mid_blob_goes_on_from_the_bytes_it_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let src = Layout::init_dir(tmp.path().join("src")).unwrap();
    let content = oci_test_support::fixtures::Rng::from_u64(7).bytes(usize::try_from(LAYER).unwrap());
    let layer = src.add_blob(content.as_slice(), MediaType::LAYER_TAR).unwrap();
    let config = src
        .write_document(
            &Document::new(ImageConfig::new(&"linux/amd64".parse::<Platform>().unwrap())).unwrap(),
        )
        .unwrap();
    let image = src.write_document(&Document::new(ImageManifest::new(config, vec![layer])).unwrap()).unwrap();
    src.tag("v1", image).unwrap();

    let registry = Registry::builder().storage(MemoryStorage::new()).bind("127.0.0.1:0").await.unwrap();
    let seed = format!("oci:{}:v1", tmp.path().join("src").display());
    copy(&seed, &format!("docker://{}/resume/app:v1", registry.host()), CopyOptions::default()).await;
    let relay = Relay::start(registry.addr()).await;
    let from = format!("docker://{}/resume/app:v1", relay.host());
    let out = tmp.path().join("out");
    let to = format!("oci:{}:v1", out.display());

    // Half of the layer arrives, then the line is cut for good.
    relay.cut_after(LAYER / 2);
    let err = oci::copy(&loc(&from), &loc(&to), CopyOptions::default()).await.unwrap_err();
    assert!(relay.bytes_down() <= LAYER / 2, "{}", relay.bytes_down());
    let partial = Layout::open_dir(&out).unwrap();
    assert!(partial.tags().unwrap().is_empty(), "no tag after a failed copy: {err}");
    let fsck = partial.fsck().unwrap();
    assert!(fsck.is_ok(), "{:?}", fsck.findings);

    // Healed: the rest of the layer, and little more, goes over the wire.
    relay.heal();
    let report = copy(&from, &to, CopyOptions::default()).await;
    // The layer goes on; the config stayed if it came whole before the cut (it is asked
    // for beside the layer, so it may come before or after the cut: both are right).
    assert_eq!(report.blobs_copied + report.blobs_skipped, 2, "{report:?}");
    assert!(report.blobs_copied >= 1, "the layer was not whole before: {report:?}");
    let carried = relay.bytes_down();
    assert!(carried < LAYER / 2 + (256 << 10), "{carried} bytes carried for the second half");
    assert!(carried >= LAYER / 4, "{carried}: the layer was not whole before");
    assert_same(&src, &Layout::open_dir(&out).unwrap(), "v1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_copy_leaves_nothing_half_written_and_two_at_once_keep_both_tags() {
    let tmp = tempfile::tempdir().unwrap();
    let src = crate::copy::source(&tmp.path().join("src"));
    let seed = |tag: &str| format!("oci:{}:{tag}", tmp.path().join("src").display());
    // Dropped as soon as bytes flow: the tar is not there, the directory has no tag.
    for to in [
        format!("oci-archive:{}:index", tmp.path().join("dropped.tar").display()),
        format!("oci:{}:index", tmp.path().join("dropped").display()),
    ] {
        let (flowing, started) = tokio::sync::oneshot::channel::<()>();
        let flowing = std::sync::Mutex::new(Some(flowing));
        let options = CopyOptions::default().with_progress(move |e| {
            if matches!(e, oci::CopyEvent::BlobStarted { .. }) {
                if let Some(tx) = flowing.lock().unwrap().take() {
                    let _ = tx.send(());
                }
            }
        });
        let (from, dst) = (loc(&seed("index")), loc(&to));
        tokio::select! {
            done = oci::copy(&from, &dst, options) => panic!("finished before it was dropped: {done:?}"),
            _ = started => {}
        }
        match dst.path().map(Layout::open_path) {
            Some(Ok(layout)) => {
                assert!(layout.tags().unwrap().is_empty(), "{to}");
                let fsck = layout.fsck().unwrap();
                assert!(fsck.is_ok(), "{to}: {:?}", fsck.findings);
            }
            other => assert!(to.starts_with("oci-archive:") && other.unwrap().is_err(), "{to}"),
        }
    }
    // Two copies into one directory at once, each with its tag: both tags stay.
    let shared = tmp.path().join("shared");
    Layout::init_dir(&shared).unwrap();
    let (a, b) = (format!("oci:{}:image", shared.display()), format!("oci:{}:nested", shared.display()));
    let (image, nested) = (seed("image"), seed("nested"));
    let (first, second) =
        tokio::join!(copy(&image, &a, CopyOptions::default()), copy(&nested, &b, CopyOptions::default()));
    assert_eq!((first.tags, second.tags), (vec!["image".to_owned()], vec!["nested".to_owned()]));
    let layout = Layout::open_dir(&shared).unwrap();
    assert_eq!(layout.tags().unwrap(), ["image", "nested"]);
    assert_same(&src, &layout, "nested");
}

/// The requests of `front` from `from` on, those that write or read a blob's bytes
/// apart, and the count of all.
fn since(front: &Front, from: usize) -> (usize, Vec<String>) {
    let requests = front.requests()[from..].to_vec();
    let heavy = requests
        .iter()
        .filter(|r| {
            r.starts_with("PUT") || r.starts_with("PATCH") || (r.starts_with("GET") && r.contains("/blobs/"))
        })
        .cloned()
        .collect();
    (requests.len(), heavy)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rerun_with_nothing_to_do_asks_once_per_manifest_and_blob_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    crate::copy::source(&tmp.path().join("src"));
    let (a, b) = (
        Registry::builder().storage(MemoryStorage::new()).bind("127.0.0.1:0").await.unwrap(),
        Registry::builder().storage(MemoryStorage::new()).bind("127.0.0.1:0").await.unwrap(),
    );
    let (front_a, front_b) = (Front::start(a.addr(), |_| None).await, Front::start(b.addr(), |_| None).await);
    // The index: three manifests (itself and two images), seven blobs.
    let (manifests, blobs) = (3, 7);
    let seed = format!("oci:{}:index", tmp.path().join("src").display());
    let in_a = format!("docker://{}/again/app:index", front_a.host());
    let in_b = format!("docker://{}/again/app:index", front_b.host());
    let out = format!("oci:{}:index", tmp.path().join("out").display());
    for (from, to) in [(&seed, &in_a), (&in_a, &in_b), (&in_a, &out)] {
        // A new client each time, as a new process has: nothing is known from before.
        copy(from, to, CopyOptions::default()).await;
        let before = (front_a.requests().len(), front_b.requests().len());
        let again = copy(from, to, CopyOptions::default()).await;
        assert_eq!((again.manifests_copied, again.blobs_copied, again.bytes_copied), (0, 0, 0), "{to}");
        let ((at_a, heavy_a), (at_b, heavy_b)) = (since(&front_a, before.0), since(&front_b, before.1));
        assert!(heavy_a.is_empty() && heavy_b.is_empty(), "{from} -> {to}: {heavy_a:?} {heavy_b:?}");
        let sent = at_a + at_b;
        let all = [front_a.requests()[before.0..].to_vec(), front_b.requests()[before.1..].to_vec()].concat();
        match (from.starts_with("docker://"), to.starts_with("docker://")) {
            // Into a registry: one exchange per manifest and per blob, the tag not written again.
            (false, true) => assert!(sent <= manifests + blobs, "{sent}: {all:?}"),
            // Plus the source's root, resolved by a HEAD.
            (true, true) => {
                assert_eq!(at_a, 1, "{all:?}");
                assert!(all[0].starts_with("HEAD"), "{all:?}");
                assert!(sent <= manifests + blobs + 1, "{sent}: {all:?}");
            }
            // Into a layout: the source's root only.
            _ => assert!(sent == 1 && all[0].starts_with("HEAD"), "{all:?}"),
        }
    }
}
