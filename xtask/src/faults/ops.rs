//! The operations of the matrix, each run once against a misbehaving registry and
//! judged by what it left: the destination checked through a well-behaved registry on
//! the same store (or `fsck` of the layout it wrote).

use std::path::{Path, PathBuf};
use std::time::Duration;

use oci::{CopyOptions, Location, Manifest};
use oci_distribution::auth::{AuthConfig, Credential, StaticCredentials};
use oci_distribution::{
    Client, ListOptions, PushOptions, ReferrersOptions, RetryPolicy, TransportConfig, UploadPolicy,
};
use oci_layout::Layout;
use oci_reference::{Reference, Registry};
use oci_spec_types::{Descriptor, Digest, Document, ImageManifest, MediaType};

/// An operation of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    /// An image, registry -> layout directory.
    PullImage,
    /// An index and its images, registry -> layout directory.
    PullIndex,
    /// An image, layout directory -> registry (the copy's upload: `POST`, `PUT`).
    Push,
    /// The image's blobs pushed in chunks (`POST`, `PATCH`es, `PUT`), then its manifest.
    PushChunked,
    /// The image's blobs pushed each in one `POST ?digest=`, then its manifest.
    PushSinglePost,
    /// An image to another repository of the same registry (mounts).
    Mount,
    /// An artifact whose subject is the image pushed, then the image's referrers read.
    Referrers,
    /// Every page of a repository's tags.
    Tags,
    /// Every page of the catalog.
    Catalog,
    /// An index, registry -> layout tar.
    CopyToTar,
    /// An index, registry -> another registry.
    CopyToRegistry,
    /// `oci copy` of an image, registry -> layout directory, as a process.
    Cli,
    /// An image's manifest deleted (by digest).
    Delete,
}

impl Op {
    /// Every operation, in the table's order.
    pub(super) const ALL: [Self; 13] = [
        Self::PullImage,
        Self::PullIndex,
        Self::Push,
        Self::PushChunked,
        Self::PushSinglePost,
        Self::Mount,
        Self::Referrers,
        Self::Tags,
        Self::Catalog,
        Self::CopyToTar,
        Self::CopyToRegistry,
        Self::Cli,
        Self::Delete,
    ];

    /// Its name in reports.
    pub(super) fn name(self) -> &'static str {
        match self {
            Self::PullImage => "pull-image",
            Self::PullIndex => "pull-index",
            Self::Push => "push",
            Self::PushChunked => "push-chunked",
            Self::PushSinglePost => "push-single-post",
            Self::Mount => "mount",
            Self::Referrers => "referrers",
            Self::Tags => "tags",
            Self::Catalog => "catalog",
            Self::CopyToTar => "copy-to-tar",
            Self::CopyToRegistry => "copy-to-registry",
            Self::Cli => "cli-copy",
            Self::Delete => "delete",
        }
    }
}

/// How one run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Outcome {
    /// The right result.
    Survived,
    /// An error naming its cause, and a destination left whole.
    CleanError(String),
    /// Success with the wrong result.
    Wrong(String),
    /// A destination left with content that is not what it claims.
    Corrupt(String),
    /// The registry's credentials reached another origin.
    Leak,
    /// Past the deadline.
    Hang,
    /// A panic (or a crashed process).
    Panic(String),
}

/// What a run works with: the hosts, the source content, the expected digests.
pub(super) struct World {
    /// The misbehaving registry's `host:port`.
    pub(super) faulty: String,
    /// A well-behaved registry over the same store.
    pub(super) clean: String,
    /// Another well-behaved registry (the destination of `copy-to-registry`).
    pub(super) other: String,
    /// The source layout: the image tagged `v1`, the index tagged `multi`.
    pub(super) layout: PathBuf,
    pub(super) image: Digest,
    /// The index tagged `multi`, also the subject of `referrers` (an index, whose
    /// children a client that trusts a wrong fallback tag would list).
    pub(super) index: Descriptor,
    /// The tags of `src/app`.
    pub(super) tags: Vec<String>,
    /// Credentials the faulty registry asks for, when it does.
    pub(super) credentials: Option<(String, String)>,
    /// The registry hides referrers pushed through the fallback tag (`Case::hides_fallback`).
    pub(super) hides_fallback: bool,
    /// The `oci` binary.
    pub(super) oci: PathBuf,
    /// A directory of this run's own.
    pub(super) scratch: PathBuf,
}

/// The client of a run: patient retries (a fault may hit one request in two), plain
/// HTTP to the loopback registries, the faulty registry's credentials if any.
pub(super) fn client(world: &World) -> Result<Client, String> {
    let mut policy = RetryPolicy::default();
    policy.max_retries = 10;
    policy.initial_backoff = Duration::from_millis(20);
    policy.max_backoff = Duration::from_millis(500);
    let mut transport = TransportConfig::default();
    for host in [&world.faulty, &world.clean, &world.other] {
        transport = transport.with_plain_http_host(host.clone());
    }
    let mut credentials = StaticCredentials::new();
    if let Some((user, password)) = &world.credentials {
        credentials.insert(&world.faulty, Credential::basic(user, password));
    }
    Client::builder()
        .transport(transport)
        .retry(policy)
        .auth(AuthConfig::anonymous().with_credentials(credentials))
        .build()
        .map_err(|e| format!("the client: {e}"))
}

fn location(s: &str) -> Result<Location, String> {
    s.parse().map_err(|e| format!("{s}: {e}"))
}

/// Runs `op` and judges it (without the deadline and the leak check, which the caller
/// adds).
pub(super) async fn run(op: Op, world: &World) -> Outcome {
    let client = match client(world) {
        Ok(c) => c,
        Err(e) => return Outcome::Panic(e),
    };
    let (faulty, clean) = (&world.faulty, &world.clean);
    let src_layout = |tag: &str| format!("oci:{}:{tag}", world.layout.display());
    let dir = world.scratch.join("out");
    let options = || CopyOptions::default().with_client(client.clone());
    match op {
        Op::PullImage | Op::PullIndex => {
            let (tag, want) =
                if op == Op::PullImage { ("v1", &world.image) } else { ("multi", &world.index.digest) };
            let copied = copy(
                &format!("docker://{faulty}/src/app:{tag}"),
                &format!("oci:{}:{tag}", dir.display()),
                options(),
            )
            .await;
            judge_layout(copied, Layout::open_dir(&dir), &dir, tag, want)
        }
        Op::CopyToTar => {
            let file = world.scratch.join("out.tar");
            let copied = copy(
                &format!("docker://{faulty}/src/app:multi"),
                &format!("oci-archive:{}:multi", file.display()),
                options(),
            )
            .await;
            judge_layout(copied, Layout::open_tar(&file), &file, "multi", &world.index.digest)
        }
        Op::Push => {
            let copied =
                copy(&src_layout("v1"), &format!("docker://{faulty}/dst/pushed:v1"), options()).await;
            judge_registry(copied, &client, &format!("{clean}/dst/pushed:v1"), &world.image).await
        }
        Op::PushChunked | Op::PushSinglePost => {
            let policy = if op == Op::PushChunked {
                UploadPolicy::Chunked { chunk_size: 2048 }
            } else {
                UploadPolicy::SinglePost
            };
            let at = format!("{faulty}/dst/{}:v1", op.name());
            let pushed = push_with(&client, &world.layout, &at, policy).await;
            judge_registry(pushed, &client, &format!("{clean}/dst/{}:v1", op.name()), &world.image).await
        }
        Op::Mount => {
            let copied = copy(
                &format!("docker://{faulty}/src/app:v1"),
                &format!("docker://{faulty}/dst/mounted:v1"),
                options(),
            )
            .await;
            judge_registry(copied, &client, &format!("{clean}/dst/mounted:v1"), &world.image).await
        }
        Op::CopyToRegistry => {
            let other = &world.other;
            let copied = copy(
                &format!("docker://{faulty}/src/app:multi"),
                &format!("docker://{other}/dst/copied:multi"),
                options(),
            )
            .await;
            judge_registry(copied, &client, &format!("{other}/dst/copied:multi"), &world.index.digest).await
        }
        Op::Referrers => match attach_and_list(&client, faulty, &world.index).await {
            // The registry hides what the fallback tag holds: no referrers is right.
            Ok((_, listed)) if world.hides_fallback && listed.is_empty() => Outcome::Survived,
            Ok((artifact, listed)) if !world.hides_fallback && listed == [artifact.clone()] => {
                Outcome::Survived
            }
            Ok((artifact, listed)) => {
                Outcome::Wrong(format!("{artifact} pushed, the referrers listed are {listed:?}"))
            }
            Err(e) => self::clean(e),
        },
        Op::Tags | Op::Catalog => list(op, &client, world).await,
        Op::Delete => delete(&client, world).await,
        // Run as a process: see the `cli` module.
        Op::Cli => Outcome::Panic("cli-copy is run by the cli module".into()),
    }
}

/// Pushes an artifact whose subject is `subject` (the image of `src/app`) to the
/// registry at `host`, then lists the subject's referrers; the artifact's digest and
/// the digests listed.
async fn attach_and_list(
    client: &Client,
    host: &str,
    subject: &Descriptor,
) -> Result<(Digest, Vec<Digest>), String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let repository = Reference::parse(&format!("{host}/src/app:v1")).map_err(|e| err(&e))?.repository();
    let config = Descriptor::empty();
    client
        .push_blob(&repository, &config, b"{}".to_vec(), PushOptions::default())
        .await
        .map_err(|e| format!("pushing the empty config: {e}"))?;
    let manifest = ImageManifest::new(config.clone(), vec![config])
        .with_artifact_type(MediaType::from("application/vnd.example.sbom"))
        .with_subject(subject.clone());
    let document = Document::new(manifest).map_err(|e| err(&e))?;
    let at = repository.with_digest(document.digest()).map_err(|e| err(&e))?;
    client.put_manifest(&at, &document).await.map_err(|e| format!("pushing the artifact: {e}"))?;
    let subject_at = repository.with_digest(&subject.digest).map_err(|e| err(&e))?;
    let listed = client
        .referrers(&subject_at, ReferrersOptions::default())
        .await
        .map_err(|e| format!("listing the referrers: {e}"))?;
    Ok((document.digest().clone(), listed.into_iter().map(|d| d.digest).collect()))
}

/// Pushes the image tagged `v1` of the layout at `layout` to `at` blob by blob with
/// `policy`, then its manifest.
async fn push_with(client: &Client, layout: &Path, at: &str, policy: UploadPolicy) -> Result<(), String> {
    let reference = Reference::parse(at).map_err(|e| e.to_string())?;
    let repository = reference.repository();
    let layout = Layout::open_dir(layout).map_err(|e| e.to_string())?;
    let top = layout.resolve("v1").map_err(|e| e.to_string())?;
    let bytes = layout.read_blob(&top.digest).map_err(|e| e.to_string())?;
    let document = Document::<ImageManifest>::from_slice(bytes).map_err(|e| e.to_string())?;
    for blob in document.value().blobs() {
        let content = layout.read_blob(&blob.digest).map_err(|e| e.to_string())?;
        let options = PushOptions::default().with_policy(policy);
        client
            .push_blob(&repository, blob, content, options)
            .await
            .map_err(|e| format!("pushing {}: {e}", blob.digest))?;
    }
    client
        .put_manifest(&reference, &document)
        .await
        .map(|_| ())
        .map_err(|e| format!("pushing the manifest: {e}"))
}

/// The image pushed to `dst/deleted:v1` (through the clean registry, over the same
/// store), then deleted through the faulty one: gone when that says so, there and
/// whole when it fails.
async fn delete(client: &Client, world: &World) -> Outcome {
    let (faulty, clean) = (&world.faulty, &world.clean);
    let seeded = copy(
        &format!("oci:{}:v1", world.layout.display()),
        &format!("docker://{clean}/dst/deleted:v1"),
        CopyOptions::default().with_client(client.clone()),
    )
    .await;
    if let Err(e) = seeded {
        return Outcome::Panic(format!("seeding dst/deleted: {e}"));
    }
    let at = match Reference::parse(&format!("{faulty}/dst/deleted@{}", world.image)) {
        Ok(r) => r,
        Err(e) => return Outcome::Panic(e.to_string()),
    };
    let deleted = client.delete_manifest(&at).await.map_err(|e| e.to_string());
    let left = whole(client, &format!("{clean}/dst/deleted:v1")).await;
    match (deleted, left) {
        (Ok(()), Ok(None)) => Outcome::Survived,
        (Ok(()), Ok(Some(_))) => Outcome::Wrong("deleted, yet still there".into()),
        (Err(e), Ok(Some(_))) => self::clean(e),
        (Err(e), Ok(None)) => Outcome::Wrong(format!("an error ({e}), yet deleted")),
        (_, Err(e)) => Outcome::Corrupt(e),
    }
}

/// `tags` or `catalog` of the faulty registry, every page.
async fn list(op: Op, client: &Client, world: &World) -> Outcome {
    let faulty = &world.faulty;
    match op {
        Op::Tags => {
            let repository = match Reference::parse(&format!("{faulty}/src/app:v1")) {
                Ok(r) => r.repository(),
                Err(e) => return Outcome::Panic(e.to_string()),
            };
            match client.tags(&repository, ListOptions::all_pages()).await {
                Ok(list) => {
                    let mut got = list.tags.clone();
                    got.sort();
                    if got == world.tags {
                        Outcome::Survived
                    } else {
                        Outcome::Wrong(format!("tags {got:?}"))
                    }
                }
                Err(e) => Outcome::CleanError(e.to_string()),
            }
        }
        Op::Catalog => {
            let registry: Registry = match faulty.parse() {
                Ok(r) => r,
                Err(e) => return Outcome::Panic(format!("{e}")),
            };
            match client.catalog(&registry, ListOptions::all_pages()).await {
                Ok(list) if list.repositories == ["src/app"] => Outcome::Survived,
                Ok(list) => Outcome::Wrong(format!("catalog {:?}", list.repositories)),
                Err(e) => Outcome::CleanError(e.to_string()),
            }
        }
        _ => Outcome::Panic(format!("{} is not a listing", op.name())),
    }
}

async fn copy(from: &str, to: &str, options: CopyOptions) -> Result<(), String> {
    let (from, to) = (location(from)?, location(to)?);
    oci::copy(&from, &to, options).await.map(|_| ()).map_err(|e| format!("{e}"))
}

/// A copy into the layout at `path` (`opened`: the layout, if there is one): whole
/// (`fsck`), and when the copy succeeded, `tag` naming `want`.
pub(super) fn judge_layout(
    copied: Result<(), String>,
    opened: oci_layout::Result<Layout>,
    path: &Path,
    tag: &str,
    want: &Digest,
) -> Outcome {
    let layout = match (opened, &copied) {
        (Ok(layout), _) => Some(layout),
        (Err(_), Err(_)) if !path.exists() => None,
        (Err(e), _) => return Outcome::Corrupt(format!("{}: {e}", path.display())),
    };
    if let Some(layout) = &layout {
        match layout.fsck() {
            Ok(report) if report.is_ok() => {}
            Ok(report) => {
                let first = report.errors().next().map(|f| f.detail.clone()).unwrap_or_default();
                return Outcome::Corrupt(format!("fsck of {}: {first}", path.display()));
            }
            Err(e) => return Outcome::Corrupt(format!("fsck of {}: {e}", path.display())),
        }
    }
    match (copied, layout) {
        (Err(e), _) => clean(e),
        (Ok(()), Some(layout)) => match layout.resolve(tag) {
            Ok(d) if d.digest == *want => Outcome::Survived,
            Ok(d) => Outcome::Wrong(format!("{tag} is {}, not {want}", d.digest)),
            Err(e) => Outcome::Wrong(format!("{tag}: {e}")),
        },
        (Ok(()), None) => Outcome::Wrong(format!("no layout at {}", path.display())),
    }
}

/// An error is clean when it says something.
fn clean(e: String) -> Outcome {
    if e.trim().is_empty() {
        Outcome::Wrong("an error without a message".into())
    } else {
        Outcome::CleanError(e)
    }
}

/// A copy to the registry reference `at`: when it succeeded, `at` names `want`, whole;
/// when it failed, whatever `at` names is whole.
async fn judge_registry(copied: Result<(), String>, client: &Client, at: &str, want: &Digest) -> Outcome {
    match (copied, whole(client, at).await) {
        (Ok(()), Ok(Some(digest))) if digest == *want => Outcome::Survived,
        (Ok(()), Ok(Some(digest))) => Outcome::Wrong(format!("{at} is {digest}, not {want}")),
        (Ok(()), Ok(None)) => Outcome::Wrong(format!("{at}: not there")),
        (_, Err(e)) => Outcome::Corrupt(e),
        (Err(e), Ok(_)) => clean(e),
    }
}

/// The digest `at` names and every manifest and blob under it read back and verified,
/// or `None` when there is no such manifest.
async fn whole(client: &Client, at: &str) -> Result<Option<Digest>, String> {
    let top = location(&format!("docker://{at}"))?;
    let fetched = match oci::fetch_manifest(&top, client).await {
        Ok(f) => f,
        Err(e) if e.kind() == oci::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("reading {at} back: {e}")),
    };
    let repository = at.rsplit_once(':').map_or(at, |(r, _)| r);
    let digest = fetched.descriptor.digest.clone();
    let mut pending = vec![fetched];
    while let Some(found) = pending.pop() {
        let here = location(&format!("docker://{repository}@{}", found.descriptor.digest))?;
        match &found.manifest {
            Manifest::Image(image) => {
                for blob in image.blobs() {
                    oci::fetch_blob(&here, client, blob).await.map_err(|e| format!("{at}: {e}"))?;
                }
            }
            Manifest::Index(index) => {
                for child in &index.manifests {
                    let at_child = location(&format!("docker://{repository}@{}", child.digest))?;
                    pending.push(
                        oci::fetch_manifest(&at_child, client).await.map_err(|e| format!("{at}: {e}"))?,
                    );
                }
            }
            _ => {}
        }
    }
    Ok(Some(digest))
}
