//! The facade's copy between every pair of {registry, layout directory, layout tar},
//! against each test registry: an image, a multi-platform index and a nested index go
//! out and come back with the same digests and bytes; platforms are selected; a re-run
//! moves nothing; a destination left partial is healed by a re-run.

#![allow(clippy::unwrap_used)]

use std::io::Read as _;
use std::path::Path;
use std::sync::{Arc, Mutex};

use oci::{CopyEvent, CopyOptions, CopyReport, Location};
use oci_layout::Layout;
use oci_spec_types::{
    Descriptor, Digest, Document, ImageConfig, ImageIndex, ImageManifest, MediaType, Platform,
};

use crate::common::{Target, targets};

/// An image of `layers` layers (sizes from 100 kB up, content from `seed`) for
/// `platform`, written into `layout`; its descriptor with the platform.
fn image(layout: &Layout, platform: &str, layers: u8, seed: u8) -> Descriptor {
    let platform: Platform = platform.parse().unwrap();
    let mut descriptors = Vec::new();
    for n in 0..layers {
        let content =
            std::io::repeat(seed.wrapping_mul(31).wrapping_add(n)).take(100_000 * (u64::from(n) + 1));
        descriptors.push(layout.add_blob(content, MediaType::LAYER_TAR).unwrap());
    }
    // Uncompressed tar layers: each one's diff ID is its digest (docker checks them).
    let mut config = ImageConfig::new(&platform);
    config.rootfs.diff_ids = descriptors.iter().map(|d| d.digest.clone()).collect();
    let config = layout.write_document(&Document::new(config).unwrap()).unwrap();
    let manifest = Document::new(ImageManifest::new(config, descriptors)).unwrap();
    let mut descriptor = layout.write_document(&manifest).unwrap();
    descriptor.platform = Some(platform);
    descriptor
}

fn index(layout: &Layout, children: Vec<Descriptor>) -> Descriptor {
    layout.write_document(&Document::new(ImageIndex::new(children)).unwrap()).unwrap()
}

/// A layout at `path` with the image, the two-platform index and the nested index
/// (an index of that index and a third image) tagged `image`, `index` and `nested`.
pub(crate) fn source(path: &Path) -> Layout {
    let layout = Layout::init_dir(path).unwrap();
    let amd64 = image(&layout, "linux/amd64", 3, 1);
    let arm64 = image(&layout, "linux/arm64", 2, 2);
    let s390x = image(&layout, "linux/s390x", 1, 3);
    let mut bare = amd64.clone();
    bare.platform = None;
    layout.tag("image", bare).unwrap();
    let two = index(&layout, vec![amd64, arm64]);
    layout.tag("index", two.clone()).unwrap();
    layout.tag("nested", index(&layout, vec![two, s390x])).unwrap();
    layout
}

/// Every blob `tag` reaches in `from` is in `to`, byte for byte, under the same root
/// digest, and `to` passes fsck.
pub(crate) fn assert_same(from: &Layout, to: &Layout, tag: &str) {
    let root = from.resolve(tag).unwrap();
    assert_eq!(to.resolve(tag).unwrap().digest, root.digest, "{tag}");
    let mut queue = vec![root];
    while let Some(d) = queue.pop() {
        assert_eq!(
            to.read_blob(&d.digest).unwrap(),
            from.read_blob(&d.digest).unwrap(),
            "{tag}: {}",
            d.digest
        );
        if d.media_type.is_manifest() {
            let doc = from.read_manifest(&d).unwrap();
            queue.extend(doc.value().references().into_iter().cloned());
        }
    }
    let report = to.fsck().unwrap();
    assert!(report.is_ok(), "{tag}: {:?}", report.findings);
}

pub(crate) fn options(target: &Target) -> CopyOptions {
    CopyOptions::default().with_client(target.client.clone())
}

pub(crate) fn loc(s: &str) -> Location {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

pub(crate) async fn copy(from: &str, to: &str, options: CopyOptions) -> CopyReport {
    oci::copy(&loc(from), &loc(to), options).await.unwrap_or_else(|e| panic!("{from} -> {to}: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_and_indexes_go_every_way_and_come_back_identical() {
    for target in targets("copy_every_way").await {
        let tmp = tempfile::tempdir().unwrap();
        let src = source(&tmp.path().join("src"));
        let dir = |name: &str| tmp.path().join(name).display().to_string();
        let repo = target.repository("copy");
        let other = target.repository("copy-other");
        for tag in ["image", "index", "nested"] {
            let registry = format!("docker://{}/{repo}:{tag}", target.host);
            // dir -> registry -> tar -> registry (another repository) -> dir.
            let pushed = copy(&format!("oci:{}:{tag}", dir("src")), &registry, options(&target)).await;
            assert_eq!(pushed.destination.digest, src.resolve(tag).unwrap().digest, "{}", target.name);
            // Each shares with the one pushed before it: the index its amd64 image with
            // `image` (3 layers and a config), the nested index the index (7 blobs).
            let shared = match tag {
                "image" => 0,
                "index" => 4,
                _ => 7,
            };
            assert_eq!(pushed.blobs_skipped, shared, "{}: {pushed:?}", target.name);
            let archive = format!("oci-archive:{}.tar:{tag}", dir("archive"));
            copy(&registry, &archive, options(&target)).await;
            let again = format!("docker://{}/{other}:{tag}", target.host);
            copy(&archive, &again, options(&target)).await;
            copy(&again, &format!("oci:{}:{tag}", dir("back")), options(&target)).await;
            assert_same(&src, &Layout::open_dir(dir("back")).unwrap(), tag);
            assert_same(&src, &Layout::open_tar(format!("{}.tar", dir("archive"))).unwrap(), tag);
            // The registry serves the exact bytes under the source's digests.
            let root = src.resolve(tag).unwrap();
            let served = target
                .client
                .get_manifest(&target.reference(&format!("{other}@{}", root.digest)))
                .await
                .unwrap();
            assert_eq!(served.bytes().as_ref(), src.read_blob(&root.digest).unwrap().as_slice());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn within_one_registry_blobs_are_mounted_and_a_rerun_moves_nothing() {
    for target in targets("copy_mount").await {
        let tmp = tempfile::tempdir().unwrap();
        source(&tmp.path().join("src"));
        let first = format!("docker://{}/{}:index", target.host, target.repository("mount-from"));
        let second = format!("docker://{}/{}:index", target.host, target.repository("mount-to"));
        copy(&format!("oci:{}:index", tmp.path().join("src").display()), &first, options(&target)).await;
        let mounted = copy(&first, &second, options(&target)).await;
        // Two images: 3 and 2 layers and a config each.
        assert_eq!(
            (mounted.blobs_mounted, mounted.blobs_copied, mounted.bytes_copied),
            (7, 0, 0),
            "{}",
            target.name
        );
        assert_eq!(mounted.manifests_copied, 3, "{}", target.name);
        let events = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&events);
        let progress = move |e: &CopyEvent| seen.lock().unwrap().push(e.clone());
        let again = copy(&first, &second, options(&target).with_progress(progress)).await;
        assert_eq!(
            (again.blobs_skipped, again.manifests_skipped, again.blobs_copied, again.manifests_copied),
            (7, 3, 0, 0),
            "{}",
            target.name
        );
        let events = events.lock().unwrap();
        assert_eq!(events.iter().filter(|e| matches!(e, CopyEvent::BlobSkipped { .. })).count(), 7);
        assert!(events.iter().all(|e| !matches!(e, CopyEvent::BlobStarted { .. })));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn platforms_select_one_image_or_make_an_index_of_several() {
    for target in targets("copy_platforms").await {
        let tmp = tempfile::tempdir().unwrap();
        let src = source(&tmp.path().join("src"));
        let nested = format!("oci:{}:nested", tmp.path().join("src").display());
        let registry = format!("docker://{}/{}:nested", target.host, target.repository("platforms"));
        copy(&nested, &registry, options(&target)).await;
        let platforms = |list: &[&str]| {
            options(&target).with_platforms(list.iter().map(|p| p.parse::<Platform>().unwrap()))
        };

        // One platform (found in the nested index): that image alone, its own digest.
        let one = tmp.path().join("one");
        let report =
            copy(&registry, &format!("oci:{}:arm", one.display()), platforms(&["linux/arm64"])).await;
        let index: ImageIndex =
            serde_json::from_slice(&src.read_blob(&src.resolve("index").unwrap().digest).unwrap()).unwrap();
        assert_eq!(report.destination.digest, index.manifests[1].digest);
        assert_eq!(Layout::open_dir(&one).unwrap().resolve("arm").unwrap().digest, index.manifests[1].digest);

        // Two of three: a new index of just those, in the order asked, stated in the report.
        let two = tmp.path().join("two");
        let report = copy(
            &registry,
            &format!("oci:{}:pair", two.display()),
            platforms(&["linux/s390x", "linux/amd64"]),
        )
        .await;
        let out = Layout::open_dir(&two).unwrap();
        let root = out.resolve("pair").unwrap();
        assert_eq!(root.digest, report.destination.digest);
        assert_ne!(root.digest, report.source.digest);
        let made: ImageIndex = serde_json::from_slice(&out.read_blob(&root.digest).unwrap()).unwrap();
        let names: Vec<String> =
            made.manifests.iter().map(|d| d.platform.as_ref().unwrap().to_string()).collect();
        assert_eq!(names, ["linux/s390x", "linux/amd64"]);
        let fsck = out.fsck().unwrap();
        assert!(fsck.is_ok(), "not sparse: {:?}", fsck.findings);

        // A platform the index does not have.
        let err = oci::copy(
            &loc(&registry),
            &loc(&format!("oci:{}", two.display())),
            platforms(&["windows/amd64"]),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), oci::ErrorKind::Unsupported);
        assert!(err.to_string().contains("it has linux/s390x, linux/amd64, linux/arm64"), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_destination_is_healed_by_a_rerun() {
    for target in targets("copy_heal").await {
        let tmp = tempfile::tempdir().unwrap();
        let src = source(&tmp.path().join("src"));
        let registry = format!("docker://{}/{}:index", target.host, target.repository("heal"));
        copy(&format!("oci:{}:index", tmp.path().join("src").display()), &registry, options(&target)).await;
        let out = tmp.path().join("out");
        let dst = format!("oci:{}:index", out.display());
        copy(&registry, &dst, options(&target)).await;
        // An interrupted copy's leftovers: the index is there, one child manifest and a
        // layer of the other child are not.
        let index: ImageIndex =
            serde_json::from_slice(&src.read_blob(&src.resolve("index").unwrap().digest).unwrap()).unwrap();
        let partial = Layout::open_dir(&out).unwrap();
        let child: ImageManifest =
            serde_json::from_slice(&src.read_blob(&index.manifests[1].digest).unwrap()).unwrap();
        let amd64: ImageManifest =
            serde_json::from_slice(&src.read_blob(&index.manifests[0].digest).unwrap()).unwrap();
        assert!(partial.delete_blob(&index.manifests[1].digest).unwrap());
        assert!(partial.delete_blob(&amd64.layers[2].digest).unwrap());
        let healed = copy(&registry, &dst, options(&target)).await;
        assert_eq!((healed.manifests_copied, healed.blobs_copied), (1, 1), "{}: {healed:?}", target.name);
        assert_eq!(healed.bytes_copied, amd64.layers[2].size);
        assert!(child.layers.iter().all(|l| partial.has_blob(&l.digest).unwrap()));
        assert_same(&src, &Layout::open_dir(&out).unwrap(), "index");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_by_digest_is_untagged_and_a_wrong_digest_is_refused() {
    for target in targets("copy_digest").await {
        let tmp = tempfile::tempdir().unwrap();
        let src = source(&tmp.path().join("src"));
        let digest: Digest = src.resolve("image").unwrap().digest;
        let by_digest = format!("oci:{}@{digest}", tmp.path().join("src").display());
        let registry = format!("docker://{}/{}@{digest}", target.host, target.repository("digest"));
        let report = copy(&by_digest, &registry, options(&target)).await;
        assert!(report.tags.is_empty());
        let out = tmp.path().join("out");
        copy(&registry, &format!("oci:{}", out.display()), options(&target)).await;
        let layout = Layout::open_dir(&out).unwrap();
        assert!(layout.tags().unwrap().is_empty());
        assert_eq!(layout.read_index().unwrap().manifests[0].digest, digest, "an untagged entry");
        let wrong =
            format!("docker://{}/{}@{}", target.host, target.repository("digest"), Digest::sha256(b"x"));
        let err = oci::copy(&loc(&by_digest), &loc(&wrong), options(&target)).await.unwrap_err();
        assert_eq!(err.kind(), oci::ErrorKind::InvalidLocation);
    }
}

/// Pushes an artifact of `artifact_type` whose subject is `subject` to `repository`.
async fn attach(target: &Target, repository: &str, subject: &Descriptor, artifact_type: &str) -> Descriptor {
    let repo = target.repo(repository);
    let client = &target.client;
    let config = Descriptor::for_bytes(MediaType::EMPTY, b"{}");
    client.push_blob(&repo, &config, b"{}".to_vec(), oci_distribution::PushOptions::default()).await.unwrap();
    let content = format!("{artifact_type} of {}", subject.digest).into_bytes();
    let layer = Descriptor::for_bytes(MediaType::OCTET_STREAM, &content);
    client.push_blob(&repo, &layer, content, oci_distribution::PushOptions::default()).await.unwrap();
    let mut subject = subject.clone();
    subject.platform = None;
    let manifest = ImageManifest::new(config, vec![layer])
        .with_artifact_type(MediaType::from(artifact_type))
        .with_subject(subject);
    let document = Document::new(manifest).unwrap();
    client.put_manifest(&repo.with_digest(document.digest()).unwrap(), &document).await.unwrap();
    document.descriptor()
}

/// The artifact types of the referrers of `subject` in `repository`.
async fn referrer_types(target: &Target, repository: &str, subject: &Digest) -> Vec<String> {
    let reference = target.repo(repository).with_digest(subject).unwrap();
    let found =
        target.client.referrers(&reference, oci_distribution::ReferrersOptions::default()).await.unwrap();
    let mut types: Vec<String> =
        found.iter().map(|d| d.artifact_type.as_ref().unwrap().to_string()).collect();
    types.sort();
    types
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn referrers_come_along_through_a_tar_and_back_when_asked() {
    const SIG: &str = "application/vnd.example.signature";
    const SBOM: &str = "application/vnd.example.sbom";
    for target in targets("copy_referrers").await {
        let tmp = tempfile::tempdir().unwrap();
        let src = source(&tmp.path().join("src"));
        let from = target.repository("referrers-from");
        let registry = format!("docker://{}/{from}:index", target.host);
        copy(&format!("oci:{}:index", tmp.path().join("src").display()), &registry, options(&target)).await;
        let root = src.resolve("index").unwrap();
        let index: ImageIndex = serde_json::from_slice(&src.read_blob(&root.digest).unwrap()).unwrap();
        // A signature and an SBOM of the index, a signature of the SBOM, and a signature
        // of the arm64 image.
        attach(&target, &from, &root, SIG).await;
        let sbom = attach(&target, &from, &root, SBOM).await;
        attach(&target, &from, &sbom, SIG).await;
        attach(&target, &from, &index.manifests[1], SIG).await;

        let archive = format!("oci-archive:{}:index", tmp.path().join("with-referrers.tar").display());
        let out = copy(&registry, &archive, options(&target).with_referrers([])).await;
        assert_eq!(out.referrers, 4, "{}", target.name);
        let to = target.repository("referrers-to");
        let back = copy(
            &archive,
            &format!("docker://{}/{to}:index", target.host),
            options(&target).with_referrers([]),
        )
        .await;
        assert_eq!(back.referrers, 4, "{}", target.name);
        assert_eq!(referrer_types(&target, &to, &root.digest).await, [SBOM, SIG], "{}", target.name);
        assert_eq!(referrer_types(&target, &to, &sbom.digest).await, [SIG], "{}", target.name);
        assert_eq!(referrer_types(&target, &to, &index.manifests[1].digest).await, [SIG], "{}", target.name);

        // Without the option none come; with a type, only those (and theirs, of that type).
        let plain = target.repository("referrers-none");
        let none =
            copy(&registry, &format!("docker://{}/{plain}:index", target.host), options(&target)).await;
        assert_eq!(none.referrers, 0);
        let dir = tmp.path().join("sboms");
        let only = copy(
            &registry,
            &format!("oci:{}:index", dir.display()),
            options(&target).with_referrers([MediaType::from(SBOM)]),
        )
        .await;
        assert_eq!(only.referrers, 1, "{}", target.name);
        let fsck = Layout::open_dir(&dir).unwrap().fsck().unwrap();
        assert!(fsck.is_ok(), "{:?}", fsck.findings);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_archives_are_written_and_read_back() {
    let target = targets("copy_docker_archive").await.pop().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let src = source(&tmp.path().join("src"));
    let path = |name: &str| tmp.path().join(name).display().to_string();
    let archive = format!("docker-archive:{}:team/app:v1", path("app.tar"));
    copy(&format!("oci:{}:image", path("src")), &archive, options(&target)).await;
    // The archive has manifest.json, and reads back as the same image (an OCI manifest
    // of the same config and tar layers is the same manifest).
    let listing: Vec<String> = tar::Archive::new(std::fs::File::open(path("app.tar")).unwrap())
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    assert!(
        listing.contains(&"manifest.json".to_owned()) && listing.contains(&"index.json".to_owned()),
        "{listing:?}"
    );
    let back = copy(&archive, &format!("oci:{}:image", path("back")), options(&target)).await;
    assert_eq!(back.source.digest, src.resolve("image").unwrap().digest);
    assert_same(&src, &Layout::open_dir(path("back")).unwrap(), "image");
    // Named by another name, or without one when it has one image.
    let err = oci::copy(
        &loc(&format!("docker-archive:{}:other:v1", path("app.tar"))),
        &loc(&format!("oci:{}", path("x"))),
        options(&target),
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("no image named docker.io/library/other:v1 (it has team/app:v1)"),
        "{err}"
    );
    copy(
        &format!("docker-archive:{}", path("app.tar")),
        &format!("oci:{}:any", path("any")),
        options(&target),
    )
    .await;
    // An index needs a platform chosen; then its image goes in.
    let index = format!("oci:{}:index", path("src"));
    let err =
        oci::copy(&loc(&index), &loc(&format!("docker-archive:{}", path("index.tar"))), options(&target))
            .await
            .unwrap_err();
    assert_eq!(err.kind(), oci::ErrorKind::Unsupported, "{err}");
    assert!(!tmp.path().join("index.tar").exists());
    let arm = options(&target).with_platforms(["linux/arm64".parse::<Platform>().unwrap()]);
    copy(&index, &format!("docker-archive:{}", path("index.tar")), arm).await;
    let staging_left = std::fs::read_dir(tmp.path())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().contains(".tmp-"))
        .count();
    assert_eq!(staging_left, 0, "no staging file is left behind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_blob_in_a_source_layout_is_never_written() {
    let target = targets("copy_corrupt").await.pop().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let src = source(&tmp.path().join("src"));
    let image: ImageManifest =
        serde_json::from_slice(&src.read_blob(&src.resolve("image").unwrap().digest).unwrap()).unwrap();
    // The same size, one byte changed: only its digest tells.
    let file = tmp.path().join("src/blobs/sha256").join(image.layers[1].digest.encoded());
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[1000] ^= 0xff;
    std::fs::write(&file, bytes).unwrap();
    let from = format!("oci:{}:image", tmp.path().join("src").display());
    let name = target.repository("corrupt");
    let registry = format!("docker://{}/{name}:image", target.host);
    let out = tmp.path().join("out");
    for to in [registry.clone(), format!("oci:{}:image", out.display())] {
        let err = oci::copy(&loc(&from), &loc(&to), options(&target)).await.unwrap_err();
        assert!(
            err.to_string().contains(image.layers[1].digest.as_str()) || format!("{err:?}").contains("igest"),
            "{to}: {err}"
        );
    }
    let repo = target.repo(&name);
    assert_eq!(target.client.head_blob(&repo, &image.layers[1].digest).await.unwrap(), None);
    let layout = Layout::open_dir(&out).unwrap();
    assert!(!layout.has_blob(&image.layers[1].digest).unwrap() && layout.tags().unwrap().is_empty());
}
