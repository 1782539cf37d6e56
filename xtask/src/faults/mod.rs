//! `cargo xtask faults [--reduced] [--out DIR] [--seed N]`: every operation of
//! `ops::Op` against every fault of `cases::all`, at one request in 2 and one in 5
//! (`--reduced`: one in 5, and the first request each rule matches), each run against a new embedded registry that
//! misbehaves as the case says (its `faults` feature) over a new store, seeded, with a
//! deadline.
//!
//! Each run is judged by what it left (`ops::run`): survived (the right result),
//! a clean error (one that names the cause, with the destination whole), a wrong
//! result, a corrupted destination, credentials sent to another origin (the storage
//! host of a redirect saw `Authorization`), a hang, a panic. The table goes to stdout,
//! `junit.xml` and `index.html` to the output directory (`target/faults`). The run
//! fails unless there are no wrong results, corruptions, leaks, hangs or panics, and
//! every case that a correct client survives (`Expect::Survive` in `cases`) was survived
//! every time.

mod cases;
mod cli;
mod ops;
mod report;

use std::path::Path;
use std::time::Duration;

use oci::{CopyOptions, Location};
use oci_registry::auth::{Auth, Htpasswd, TokenOptions};
use oci_registry::faults::Faults;
use oci_registry::{Limits, MemoryStorage, Registry};

use self::cases::{Case, Credentials};
use self::ops::{Op, Outcome, World};
use self::report::{Run, Table};
use crate::{Result, workspace};

/// How long one run may take before it counts as a hang.
const DEADLINE: Duration = Duration::from_secs(60);

const USAGE: &str = "\
usage: cargo xtask faults [--reduced] [--case NAME]... [--out DIR] [--seed N]

  --reduced   one request in 5, and the first each rule matches (every fault met by every
              operation that sends such a request), as `cargo xtask test` runs it
  --case NAME only this case (a fault or a quirk of the table; repeatable)
  --out DIR   where junit.xml and index.html go (default target/faults)
  --seed N    the seed of the first run (each run adds one)";

/// Entry point of `cargo xtask faults`; `Ok(false)` when the goal was missed.
pub fn main(args: &[String]) -> Result<bool> {
    let mut reduced = false;
    let mut out = workspace::target_dir().join("faults");
    let mut seed = 1u64;
    let mut only = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(true);
            }
            "--reduced" => reduced = true,
            "--out" => out = it.next().ok_or("--out takes a directory")?.into(),
            "--case" => only.push(it.next().ok_or("--case takes a name")?.clone()),
            "--seed" => {
                let n = it.next().ok_or("--seed takes a number")?;
                seed = n.parse().map_err(|_| format!("--seed {n}: not a number"))?;
            }
            other => return Err(format!("unknown option `{other}`\n\n{USAGE}")),
        }
    }
    let rates: &[u32] = if reduced { &[5] } else { &[2, 5] };
    // The `cli-copy` operation runs the command.
    let oci = workspace::oci_binary(false)?;
    let scratch = tempfile::tempdir().map_err(|e| format!("a scratch directory: {e}"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("starting the tokio runtime: {e}"))?;
    let source = source::write(&scratch.path().join("source"))?;
    let mut table = Table::default();
    let cases: Vec<Case> =
        cases::all().into_iter().filter(|c| only.is_empty() || only.contains(&c.name)).collect();
    if cases.is_empty() {
        let names: Vec<String> = cases::all().into_iter().map(|c| c.name).collect();
        return Err(format!("no case of that name (cases: {})", names.join(", ")));
    }
    for case in cases {
        for &rate in rates {
            for op in Op::ALL {
                let dir = scratch.path().join(format!("run-{seed}"));
                let run = runtime.block_on(one(&case, (rate, reduced), op, seed, &source, &oci, &dir))?;
                let _ = std::fs::remove_dir_all(&dir);
                if !run.acceptable(case.expect) {
                    eprintln!("faults: {} under {} (1 in {rate}): {:?}", op.name(), case.name, run.outcome);
                }
                table.add(&case, run);
                seed += 1;
            }
        }
    }
    table.print();
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    table.write_junit(&out.join("junit.xml"))?;
    table.write_html(&out.join("index.html"))?;
    println!("faults: junit.xml and index.html in {}", out.display());
    Ok(table.goal_met())
}

/// One run: new registries over a new store seeded from `source`, `op` against the
/// faulty one under `case` at one in `rate`, judged.
async fn one(
    case: &Case,
    (rate, first_too): (u32, bool),
    op: Op,
    seed: u64,
    source: &source::Source,
    oci: &Path,
    dir: &Path,
) -> Result<Run> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let storage = MemoryStorage::new();
    // Small pages, so that tags and the catalog take several.
    let bind = |builder: oci_registry::RegistryBuilder| async move {
        let mut limits = Limits::default();
        limits.default_page_entries = 2;
        builder.limits(limits).bind("127.0.0.1:0").await
    };
    let clean = bind(Registry::builder().storage(storage.clone())).await.map_err(|e| e.to_string())?;
    let other = bind(Registry::builder()).await.map_err(|e| e.to_string())?;
    source.seed(&clean.host()).await?;
    let faults = case.rules(rate, first_too).into_iter().fold(Faults::new(seed), Faults::rule);
    let mut builder = Registry::builder().storage(storage).faults(faults.clone());
    let users = || -> Result<Htpasswd> {
        Htpasswd::parse(&Htpasswd::line("matrix", "s3cret", 4).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())
    };
    let auth = match case.auth {
        Credentials::None => None,
        Credentials::Basic => Some(Auth::basic(users()?)),
        Credentials::Bearer => {
            Some(Auth::bearer(users()?, TokenOptions::default()).map_err(|e| e.to_string())?)
        }
    };
    let mut credentials = None;
    if let Some(auth) = auth {
        builder = builder.auth(auth);
        credentials = Some(("matrix".to_owned(), "s3cret".to_owned()));
    }
    let misbehaving = bind(builder).await.map_err(|e| e.to_string())?;
    let world = World {
        faulty: misbehaving.host(),
        clean: clean.host(),
        other: other.host(),
        layout: source.layout.clone(),
        image: source.image.digest.clone(),
        index: source.index.clone(),
        tags: source.tags.clone(),
        credentials,
        hides_fallback: case.hides_fallback,
        oci: oci.to_owned(),
        scratch: dir.to_owned(),
    };
    let task = tokio::spawn(async move {
        if op == Op::Cli {
            cli::run(&world, &world.scratch.join("out")).await
        } else {
            ops::run(op, &world).await
        }
    });
    let outcome = match tokio::time::timeout(DEADLINE, task).await {
        Err(_) => Outcome::Hang,
        Ok(Err(e)) if e.is_panic() => Outcome::Panic(format!("{e}")),
        Ok(Err(e)) => Outcome::Panic(format!("the run's task: {e}")),
        Ok(Ok(outcome)) => outcome,
    };
    let outcome = if faults.storage_saw_authorization() { Outcome::Leak } else { outcome };
    Ok(Run { op, rate, seed, injected: faults.injected(), outcome })
}

/// The content every run starts from.
mod source {
    use std::path::{Path, PathBuf};

    use oci::{Document, Layout, MediaType};
    use oci_spec_types::{Descriptor, ImageIndex};

    use super::{CopyOptions, Location};
    use crate::Result;

    pub(super) struct Source {
        /// A layout with the image (`v1`) and the index (`multi`).
        pub(super) layout: PathBuf,
        pub(super) image: Descriptor,
        pub(super) index: Descriptor,
        /// The tags `src/app` gets, sorted.
        pub(super) tags: Vec<String>,
    }

    /// Writes the layout at `dir`: an image of three layers (100 B, 5 KB, 300 KB), and
    /// an index of it and an arm64 image.
    pub(super) fn write(dir: &Path) -> Result<Source> {
        let err = |e: &dyn std::fmt::Display| format!("the matrix's source layout: {e}");
        let layout = Layout::init_dir(dir).map_err(|e| err(&e))?;
        let mut images = Vec::new();
        for (platform, seed) in [("linux/amd64", 1u8), ("linux/arm64", 2)] {
            let config = oci::spec::ImageConfig::new(&platform.parse().map_err(|e| err(&e))?);
            let config =
                layout.write_document(&Document::new(config).map_err(|e| err(&e))?).map_err(|e| err(&e))?;
            let mut layers = Vec::new();
            for (i, size) in [(0u8, 100usize), (1, 5_000), (2, 300_000)] {
                let bytes: Vec<u8> =
                    (0..size).map(|j| u8::try_from(j % 251).unwrap_or(0) ^ seed.wrapping_add(i)).collect();
                layers.push(layout.add_blob(bytes.as_slice(), MediaType::LAYER_TAR).map_err(|e| err(&e))?);
            }
            let image = Document::new(oci::spec::ImageManifest::new(config, layers)).map_err(|e| err(&e))?;
            let descriptor = layout.write_document(&image).map_err(|e| err(&e))?;
            images.push(descriptor.with_platform(platform.parse().map_err(|e| err(&e))?));
        }
        let image = images[0].clone();
        layout.tag("v1", image.clone()).map_err(|e| err(&e))?;
        let index = Document::new(ImageIndex::new(images)).map_err(|e| err(&e))?;
        let index_descriptor = layout.write_document(&index).map_err(|e| err(&e))?;
        layout.tag("multi", index_descriptor.clone()).map_err(|e| err(&e))?;
        let mut tags: Vec<String> = ["v1", "multi", "a", "b", "c"].iter().map(|t| (*t).to_owned()).collect();
        tags.sort();
        Ok(Source {
            layout: dir.to_owned(),
            image: Descriptor::new(image.media_type, image.digest, image.size),
            index: Descriptor::new(
                index_descriptor.media_type,
                index_descriptor.digest,
                index_descriptor.size,
            ),
            tags,
        })
    }

    impl Source {
        /// Pushes the content to `src/app` of the registry at `host`, with every tag.
        pub(super) async fn seed(&self, host: &str) -> Result<()> {
            let push = |from: String, to: String, tags: Vec<String>| async move {
                let (from, to): (Location, Location) =
                    (from.parse().map_err(|e| format!("{e}"))?, to.parse().map_err(|e| format!("{e}"))?);
                oci::copy(&from, &to, CopyOptions::default().with_dest_tags(tags))
                    .await
                    .map(|_| ())
                    .map_err(|e| format!("seeding {to}: {e}"))
            };
            let at = |tag: &str| format!("oci:{}:{tag}", self.layout.display());
            let image_tags = ["v1", "a", "b", "c"].iter().map(|t| (*t).to_owned()).collect();
            push(at("v1"), format!("docker://{host}/src/app:v1"), image_tags).await?;
            push(at("multi"), format!("docker://{host}/src/app:multi"), vec!["multi".to_owned()]).await
        }
    }
}
