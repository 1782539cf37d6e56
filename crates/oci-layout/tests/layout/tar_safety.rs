//! Archives built to attack or confuse the reader: refused with clear errors; the
//! harmless variants (`./` prefixes, `docker save`'s extra files) read.

use oci_layout::{ErrorKind, Layout, Tar};
use oci_spec_types::{Digest, MediaType};
use tar::{EntryType, Header};

use crate::common::{read, write_image};

const LAYOUT: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;
const INDEX: &[u8] = br#"{"schemaVersion":2,"manifests":[]}"#;

/// Appends one entry with a raw name (no sanitizing, unlike `tar::Builder`).
fn entry(out: &mut Vec<u8>, name: &str, entry_type: EntryType, data: &[u8], link: Option<&str>) {
    let mut h = Header::new_ustar();
    h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    if let Some(link) = link {
        h.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
    }
    h.set_entry_type(entry_type);
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_cksum();
    out.extend_from_slice(h.as_bytes());
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
}

fn file(out: &mut Vec<u8>, name: &str, data: &[u8]) {
    entry(out, name, EntryType::Regular, data, None);
}

/// A valid empty layout, with `extra` entries added before the end marker.
fn archive(extra: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut out = Vec::new();
    file(&mut out, "oci-layout", LAYOUT);
    entry(&mut out, "blobs/", EntryType::Directory, b"", None);
    extra(&mut out);
    file(&mut out, "index.json", INDEX);
    out.extend_from_slice(&[0u8; 1024]);
    out
}

fn open(bytes: &[u8]) -> Result<Layout, oci_layout::Error> {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("x.tar");
    std::fs::write(&path, bytes).unwrap();
    let layout = Layout::open_tar(&path);
    // Keep nothing around: the layout holds the file open, which is fine on unix.
    drop(tmp);
    layout
}

fn refused(bytes: &[u8], kind: ErrorKind, message_ends: &str) {
    let err = open(bytes).map(|_| ()).unwrap_err();
    assert_eq!(err.kind(), kind, "{err}");
    let chain = crate::common::chain(&err);
    assert!(chain.ends_with(message_ends), "{chain}\nshould end with: {message_ends}");
}

#[test]
fn a_plain_archive_opens() {
    let layout = open(&archive(|_| {})).unwrap();
    assert!(layout.read_index().unwrap().manifests.is_empty());
}

#[test]
fn unsafe_names_are_refused() {
    refused(
        &archive(|o| file(o, "/etc/passwd", b"x")),
        ErrorKind::UnsafeEntry,
        r#"entry "/etc/passwd" has an absolute path"#,
    );
    refused(
        &archive(|o| file(o, "blobs/../../evil", b"x")),
        ErrorKind::UnsafeEntry,
        r#"entry "blobs/../../evil" has a `..` component"#,
    );
    refused(&archive(|o| file(o, "..", b"x")), ErrorKind::UnsafeEntry, r#"entry ".." has a `..` component"#);
}

#[test]
fn links_and_special_files_are_refused() {
    let blob = format!("blobs/sha256/{}", Digest::sha256(b"x").encoded());
    refused(
        &archive(|o| entry(o, &blob, EntryType::Symlink, b"", Some("/etc/passwd"))),
        ErrorKind::UnsafeEntry,
        &format!(r#"entry "{blob}" is a symbolic link to "/etc/passwd""#),
    );
    refused(
        &archive(|o| entry(o, "blobs/x", EntryType::Link, b"", Some("oci-layout"))),
        ErrorKind::UnsafeEntry,
        r#"entry "blobs/x" is a hard link to "oci-layout""#,
    );
    refused(
        &archive(|o| entry(o, "dev", EntryType::Char, b"", None)),
        ErrorKind::UnsafeEntry,
        r#"entry "dev" is a character device"#,
    );
    refused(
        &archive(|o| entry(o, "blk", EntryType::Block, b"", None)),
        ErrorKind::UnsafeEntry,
        r#"entry "blk" is a block device"#,
    );
    refused(
        &archive(|o| entry(o, "p", EntryType::Fifo, b"", None)),
        ErrorKind::UnsafeEntry,
        r#"entry "p" is a fifo"#,
    );
}

/// A PAX record `key=value`: its length counts itself.
fn pax_record(key: &str, value: &str) -> String {
    let body = format!(" {key}={value}\n");
    let mut len = body.len() + 1;
    while format!("{len}{body}").len() != len {
        len += 1;
    }
    format!("{len}{body}")
}

#[test]
fn sparse_files_are_refused() {
    // The GNU sparse type: its data is a map of holes and extents, not the file.
    let blob = format!("blobs/sha256/{}", Digest::sha256(b"x").encoded());
    let gnu_sparse = |o: &mut Vec<u8>| {
        // A GNU header (a sparse entry's map is in GNU fields): one extent, the byte.
        let mut h = Header::new_gnu();
        h.set_path(&blob).unwrap();
        h.set_entry_type(EntryType::GNUSparse);
        h.set_size(1);
        h.set_mode(0o644);
        let gnu = h.as_gnu_mut().unwrap();
        gnu.sparse[0].offset = *b"00000000000\0";
        gnu.sparse[0].numbytes = *b"00000000001\0";
        gnu.realsize = *b"00000000001\0";
        h.set_cksum();
        o.extend_from_slice(h.as_bytes());
        o.extend_from_slice(b"x");
        o.resize(o.len().div_ceil(512) * 512, 0);
    };
    refused(&archive(gnu_sparse), ErrorKind::UnsafeEntry, &format!(r#"entry "{blob}" is a sparse file"#));
    // PAX sparse (format 1.0): a regular entry whose PAX records say it is sparse.
    let records = format!("{}{}", pax_record("GNU.sparse.major", "1"), pax_record("GNU.sparse.minor", "0"));
    refused(
        &archive(|o| {
            entry(o, "PaxHeaders/x", EntryType::XHeader, records.as_bytes(), None);
            file(o, &blob, b"x");
        }),
        ErrorKind::UnsafeEntry,
        &format!(r#"entry "{blob}" is a sparse file"#),
    );
    // PAX records that are not about sparseness are fine.
    let harmless = pax_record("mtime", "0");
    let layout = open(&archive(|o| {
        entry(o, "PaxHeaders/x", EntryType::XHeader, harmless.as_bytes(), None);
        file(o, &blob, b"x");
    }))
    .unwrap();
    assert_eq!(layout.read_blob(&Digest::sha256(b"x")).unwrap(), b"x");
}

#[test]
fn extension_headers_are_capped() {
    // The tar crate reads these whole before the entry they describe: a megabyte at most.
    let blob = format!("blobs/sha256/{}", Digest::sha256(b"x").encoded());
    let huge_name = vec![b'a'; 2 << 20];
    refused(
        &archive(|o| {
            entry(o, "././@LongLink", EntryType::GNULongName, &huge_name, None);
            file(o, &blob, b"x");
        }),
        ErrorKind::InvalidArchive,
        "a GNU long name header of 2097152 bytes at byte 1536 (the limit is 1048576)",
    );
    let huge_record = pax_record("comment", &"c".repeat(2 << 20));
    refused(
        &archive(|o| {
            entry(o, "PaxHeaders/x", EntryType::XHeader, huge_record.as_bytes(), None);
            file(o, &blob, b"x");
        }),
        ErrorKind::InvalidArchive,
        &format!("a PAX header of {} bytes at byte 1536 (the limit is 1048576)", huge_record.len()),
    );
    // A long name of a sane length still reads.
    let long = format!("blobs/sha256/{}", Digest::sha256(b"x").encoded());
    let layout = open(&archive(|o| {
        entry(o, "././@LongLink", EntryType::GNULongName, long.as_bytes(), None);
        file(o, "short-name", b"x");
    }))
    .unwrap();
    assert_eq!(layout.read_blob(&Digest::sha256(b"x")).unwrap(), b"x");
}

#[test]
fn a_root_file_declared_huge_is_refused_without_reading_it() {
    use std::io::{Seek as _, SeekFrom, Write as _};
    // index.json declared (and stored, sparsely) as 8 GiB of zeros: refused after the
    // first 64 MiB, not allocated whole.
    let mut head = Vec::new();
    file(&mut head, "oci-layout", LAYOUT);
    let mut h = Header::new_ustar();
    h.set_path("index.json").unwrap();
    h.set_entry_type(EntryType::Regular);
    h.set_size(8 << 30);
    h.set_mode(0o644);
    h.set_cksum();
    head.extend_from_slice(h.as_bytes());
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("huge.tar");
    let mut out = std::fs::File::create(&path).unwrap();
    out.write_all(&head).unwrap();
    // The data, then the end-of-archive marker: all zeros, left as a hole.
    out.seek(SeekFrom::Current((8 << 30) + 1024)).unwrap();
    let end = out.stream_position().unwrap();
    out.set_len(end).unwrap();
    let err = Layout::open_tar(&path).map(|_| ()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidIndex, "{err}");
    assert!(err.to_string().ends_with("the file is larger than the limit of 67108864 bytes"), "{err}");
}

#[test]
fn duplicates_are_refused() {
    refused(
        &archive(|o| file(o, "index.json", INDEX)),
        ErrorKind::DuplicateEntry,
        r#"entry "index.json" appears twice"#,
    );
    refused(
        &archive(|o| file(o, "./oci-layout", LAYOUT)),
        ErrorKind::DuplicateEntry,
        r#"entry "./oci-layout" appears twice"#,
    );
    refused(&archive(|o| file(o, "blobs", b"")), ErrorKind::DuplicateEntry, r#"entry "blobs" appears twice"#);
}

#[test]
fn dot_slash_prefixes_are_accepted() {
    let mut out = Vec::new();
    entry(&mut out, "./", EntryType::Directory, b"", None);
    file(&mut out, "./oci-layout", LAYOUT);
    entry(&mut out, "./blobs/", EntryType::Directory, b"", None);
    entry(&mut out, "./blobs/sha256/", EntryType::Directory, b"", None);
    let content = b"content";
    let digest = Digest::sha256(content);
    file(&mut out, &format!("./blobs/sha256/{}", digest.encoded()), content);
    file(&mut out, "./index.json", INDEX);
    out.extend_from_slice(&[0u8; 1024]);
    let layout = open(&out).unwrap();
    assert_eq!(layout.read_blob(&digest).unwrap(), content);
    assert!(layout.fsck().unwrap().is_ok());
}

#[test]
fn truncated_archives_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = Layout::init_dir(tmp.path().join("d")).unwrap();
    write_image(&dir, "v", 1, 10_000, 1);
    let path = tmp.path().join("good.tar");
    Tar::export(&dir, &path).unwrap();
    let good = read(&path);
    assert!(open(&good).is_ok());

    // Cut inside the data of a blob (the layer is the largest entry, in the middle).
    let half = good.len() / 2;
    refused(&good[..half], ErrorKind::TruncatedArchive, &format!("past the end of the {half}-byte file"));
    // Cut at an entry boundary: only the end-of-archive marker is missing.
    refused(
        &good[..good.len() - 1024],
        ErrorKind::TruncatedArchive,
        r#"no end-of-archive marker after entry "index.json""#,
    );
    // Cut inside a header.
    let header_cut = 512 + 512 + 100; // oci-layout header and data, then 100 bytes of the next header
    refused(
        &good[..header_cut],
        ErrorKind::TruncatedArchive,
        "the file ends inside the header after entry \"oci-layout\": failed to read entire block",
    );
}

#[test]
fn malformed_archives_are_refused() {
    refused(&[0x1f, 0x8b, 8, 0, 0, 0], ErrorKind::InvalidArchive, "gzip-compressed; decompress it first");
    refused(b"", ErrorKind::NotALayout, "the archive is an empty file");
    let mut bad_sum = archive(|_| {});
    bad_sum[0] ^= 1; // the first header's name no longer matches its checksum
    let err = open(&bad_sum).map(|_| ()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArchive);
    assert!(crate::common::chain(&err).contains("checksum"), "{err}");
    let tmp = tempfile::tempdir().unwrap();
    assert_eq!(Layout::open_tar(tmp.path().join("none.tar")).unwrap_err().kind(), ErrorKind::NotALayout);
}

#[test]
fn docker_save_archives_read() {
    // docker save (v25+): an OCI layout plus manifest.json and repositories.
    let config = br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    let config_digest = Digest::sha256(config);
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config_digest}","size":{}}},"layers":[]}}"#,
        config.len()
    );
    let manifest_digest = Digest::sha256(manifest.as_bytes());
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{manifest_digest}","size":{},"annotations":{{"io.containerd.image.name":"docker.io/library/x:1","org.opencontainers.image.ref.name":"1"}}}}]}}"#,
        manifest.len()
    );
    let mut out = Vec::new();
    entry(&mut out, "blobs/", EntryType::Directory, b"", None);
    entry(&mut out, "blobs/sha256/", EntryType::Directory, b"", None);
    file(&mut out, &format!("blobs/sha256/{}", config_digest.encoded()), config);
    file(&mut out, &format!("blobs/sha256/{}", manifest_digest.encoded()), manifest.as_bytes());
    file(&mut out, "index.json", index.as_bytes());
    file(
        &mut out,
        "manifest.json",
        format!(
            r#"[{{"Config":"blobs/sha256/{}","RepoTags":["x:1"],"Layers":[]}}]"#,
            config_digest.encoded()
        )
        .as_bytes(),
    );
    file(&mut out, "oci-layout", LAYOUT);
    file(&mut out, "repositories", br#"{"x":{"1":"abc"}}"#);
    out.extend_from_slice(&[0u8; 1024]);
    let layout = open(&out).unwrap();
    assert_eq!(layout.tags().unwrap(), ["1"]);
    let found = layout.resolve("1").unwrap();
    assert_eq!(found.digest, manifest_digest);
    assert_eq!(found.media_type, MediaType::IMAGE_MANIFEST);
    let report = layout.fsck().unwrap();
    assert!(report.is_ok() && report.findings.is_empty(), "{:?}", report.findings);
    assert_eq!(report.blobs_verified, 2);
}
