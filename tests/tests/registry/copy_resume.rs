//! A copy into a layout cut off mid-blob, for good (the client's own resumes fail too),
//! fails without a tag or a half blob showing; run again, it transfers only the rest of
//! that blob, counted on the wire by a relay in front of the registry.

#![allow(clippy::unwrap_used)]

use oci::CopyOptions;
use oci_layout::Layout;
use oci_registry::{MemoryStorage, Registry};
use oci_spec_types::{Document, ImageConfig, ImageManifest, MediaType, Platform};
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
    // The config came whole the first time: complete blobs stay.
    assert_eq!((report.blobs_copied, report.blobs_skipped), (1, 1), "the layer, then the config");
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
