//! The verbs: each parses its locations, does its work through the facade, and prints
//! its result (text, or one JSON document).

use std::fmt::Write as _;
use std::path::Path;

use oci::{CopyOptions, Location, Manifest, MediaType, Platform, Reference};
use serde_json::{Value, json};

use crate::args::{Cli, Command, CopyFlags, Global, RefCommand};
use crate::client::client;
use crate::exit::{self, Failure};
use crate::output::{self, print};
use crate::progress::{self, human};

type Result<T = ()> = std::result::Result<T, Failure>;

/// Runs the verb of `cli`.
pub(crate) async fn run(cli: Cli) -> Result {
    let global = &cli.global;
    match cli.command {
        Command::Copy(args) => {
            copy(global, location(&args.source)?, location(&args.destination)?, &args.options).await
        }
        Command::Pull { reference, destination, options } => {
            let src = location(&reference)?;
            let dst = match destination {
                Some(d) if has_scheme(&d) => location(&d)?,
                Some(dir) => Location::Dir { path: dir.into(), image: oci::LayoutRef::None },
                None => Location::Dir { path: default_dir(&src)?.into(), image: oci::LayoutRef::None },
            };
            copy(global, src, dst, &options).await
        }
        Command::Push { source, reference, options } => {
            let src = if has_scheme(&source) || !Path::new(&source).is_dir() {
                location(&source)?
            } else {
                Location::Dir { path: source.into(), image: oci::LayoutRef::None }
            };
            let dst = match location(&reference)? {
                dst @ Location::Registry(_) => dst,
                other => return Err(Failure::usage(format!("{other}: push goes to a registry"))),
            };
            copy(global, src, dst, &options).await
        }
        Command::Inspect { location: at, raw, config } => inspect(global, &location(&at)?, raw, config).await,
        Command::Digest { target } => digest(global, &target).await,
        Command::Ref(RefCommand::Parse { reference, strict }) => parse_reference(global, &reference, strict),
        Command::Tags { repository, all } => crate::manage::tags(global, &repository, all).await,
        Command::Catalog { registry } => crate::manage::catalog(global, &registry).await,
        Command::Referrers { reference, artifact_type } => {
            crate::manage::referrers(global, &reference, artifact_type.as_deref()).await
        }
        Command::Attach(args) => crate::attach::attach(global, args).await,
        Command::Manifest(command) => crate::manage::manifest(global, command).await,
        Command::Blob(command) => crate::manage::blob(global, command).await,
        Command::Layout(command) => crate::layouts::run(global, command),
        Command::Serve(args) => crate::serve::run(args).await,
        Command::Login(args) => crate::login::login(global, args).await,
        Command::Logout { registry } => crate::login::logout(global, &registry),
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "oci", &mut std::io::stdout());
            Ok(())
        }
    }
}

/// A location as the facade parses it; a bare reference is a registry's.
fn location(s: &str) -> Result<Location> {
    Location::parse_or_registry(s).map_err(|e| Failure::usage(e.to_string()))
}

/// Whether `s` starts with a location's scheme.
fn has_scheme(s: &str) -> bool {
    ["docker://", "oci:", "oci-archive:", "docker-archive:"].iter().any(|p| s.starts_with(p))
}

/// Where `oci pull REF` puts the image without a destination: a directory named as the
/// repository's last component, in the current directory.
fn default_dir(src: &Location) -> Result<String> {
    match src {
        Location::Registry(r) => Ok(r.path().rsplit('/').next().unwrap_or("image").to_owned()),
        other => Err(Failure::usage(format!("{other}: pull reads from a registry; name a destination"))),
    }
}

async fn copy(global: &Global, src: Location, dst: Location, flags: &CopyFlags) -> Result {
    if flags.all_tags {
        return copy_all_tags(global, &src, &dst, flags).await;
    }
    let (value, text) = copy_one(global, src, dst, flags).await?;
    print(global.json, &value, &text)
}

/// `--all-tags`: every tag of the source repository, each to the same tag.
async fn copy_all_tags(global: &Global, src: &Location, dst: &Location, flags: &CopyFlags) -> Result {
    let Location::Registry(from) = src else {
        return Err(Failure::usage(format!("{src}: --all-tags copies a registry's repository")));
    };
    let listed = client(global)?
        .tags(&from.repository(), oci::distribution::ListOptions::all_pages())
        .await
        .map_err(|e| Failure::of(&e))?;
    let (mut values, mut texts) = (Vec::new(), Vec::new());
    for tag in &listed.tags {
        let one = from.repository().with_tag(tag).map_err(|e| Failure::usage(e.to_string()))?;
        let to = match dst {
            Location::Registry(r) => {
                Location::registry(&r.repository().with_tag(tag).map_err(|e| Failure::usage(e.to_string()))?)
            }
            Location::Dir { path, .. } => {
                Location::Dir { path: path.clone(), image: oci::LayoutRef::Tag(tag.clone()) }
            }
            Location::Archive { path, .. } => {
                Location::Archive { path: path.clone(), image: oci::LayoutRef::Tag(tag.clone()) }
            }
            other @ Location::DockerArchive { .. } => {
                return Err(Failure::usage(format!("{other}: --all-tags needs a registry or a layout")));
            }
        };
        let (value, text) = copy_one(global, Location::registry(&one), to, flags).await?;
        values.push(value);
        texts.push(text);
    }
    print(global.json, &json!({ "copies": values }), &texts.join("\n"))
}

/// One copy, and what to print of it.
async fn copy_one(
    global: &Global,
    src: Location,
    dst: Location,
    flags: &CopyFlags,
) -> Result<(Value, String)> {
    let mut options = CopyOptions::default().with_client(client(global)?);
    let platforms = platforms(&flags.platform)?;
    if !platforms.is_empty() {
        options = options.with_platforms(platforms);
    }
    if let Some(types) = &flags.referrers {
        let types: Vec<MediaType> =
            types.iter().filter(|t| !t.is_empty()).map(|t| MediaType::from(t.as_str())).collect();
        options = options.with_referrers(types);
    }
    if let Some(jobs) = flags.jobs {
        if jobs == 0 {
            return Err(Failure::usage("--jobs 0: at least one request must be in flight"));
        }
        options = options.with_jobs(jobs);
    }
    options = options.with_include_foreign(flags.include_foreign).with_dest_tags(flags.dest_tag.clone());
    if let Some(progress) = progress::reporter(global.no_progress) {
        options = options.with_progress(move |e: &oci::CopyEvent| progress(e));
    }
    let report = oci::copy(&src, &dst, options).await.map_err(|e| Failure::of(&e))?;
    let text = format!(
        "{} -> {}: {} ({} copied, {} skipped, {} mounted; {})",
        src,
        dst,
        report.destination.digest,
        report.blobs_copied,
        report.blobs_skipped,
        report.blobs_mounted,
        human(report.bytes_copied),
    );
    Ok((output::copy_report(&src.to_string(), &dst.to_string(), &report), text))
}

/// `--platform` values: `all` (or none) means every platform.
fn platforms(values: &[String]) -> Result<Vec<Platform>> {
    if values.iter().any(|v| v == "all") {
        return Ok(Vec::new());
    }
    values
        .iter()
        .map(|v| v.parse::<Platform>().map_err(|e| Failure::usage(format!("--platform {v}: {e}"))))
        .collect()
}

async fn inspect(global: &Global, at: &Location, raw: bool, config: bool) -> Result {
    let client = client(global)?;
    let found = oci::fetch_manifest(at, &client).await?;
    if raw {
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        return out
            .write_all(&found.bytes)
            .and_then(|()| out.flush())
            .map_err(|e| Failure::new(exit::FAILURE, format!("writing the manifest: {e}")));
    }
    let image_config = match &found.manifest {
        Manifest::Image(image) => Some(oci::fetch_blob(at, &client, &image.config).await?),
        _ => None,
    };
    if config {
        let Some(bytes) = image_config else {
            return Err(Failure::usage(format!("{at} is an index: choose an image of it for --config")));
        };
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|e| Failure::new(exit::FAILURE, format!("the configuration of {at}: {e}")))?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        return print(global.json, &value, &text);
    }
    let parsed_config: Option<Value> = image_config.as_deref().and_then(|b| serde_json::from_slice(b).ok());
    let (value, text) = describe(at, &found, parsed_config.as_ref());
    print(global.json, &value, &text)
}

/// The summary `inspect` prints: as JSON, and as text.
fn describe(at: &Location, found: &oci::Fetched, config: Option<&Value>) -> (Value, String) {
    let d = &found.descriptor;
    let mut value = json!({
        "location": at.to_string(),
        "digest": d.digest.to_string(),
        "mediaType": d.media_type.to_string(),
        "size": d.size,
    });
    let mut text = format!(
        "Location:   {at}\nDigest:     {}\nMedia type: {}\nSize:       {}\n",
        d.digest, d.media_type, d.size
    );
    match &found.manifest {
        Manifest::Index(index) => {
            let platforms: Vec<Value> = index
                .manifests
                .iter()
                .map(|m| {
                    json!({
                        "digest": m.digest.to_string(),
                        "mediaType": m.media_type.to_string(),
                        "size": m.size,
                        "platform": m.platform.as_ref().map(ToString::to_string),
                    })
                })
                .collect();
            text.push_str("Manifests:\n");
            for m in &index.manifests {
                let platform = m.platform.as_ref().map_or_else(|| "-".to_owned(), ToString::to_string);
                let _ = writeln!(text, "  {platform:<16} {} ({})", m.digest, human(m.size));
            }
            value["manifests"] = Value::Array(platforms);
        }
        Manifest::Image(image) => {
            let field = |name: &str| config.and_then(|c| c.get(name)).and_then(Value::as_str).unwrap_or("");
            let platform = [field("os"), field("architecture"), field("variant")]
                .iter()
                .filter(|p| !p.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join("/");
            let labels = config.and_then(|c| c.pointer("/config/Labels")).cloned().unwrap_or(Value::Null);
            let created = config.and_then(|c| c.get("created")).cloned().unwrap_or(Value::Null);
            value["platform"] = if platform.is_empty() { Value::Null } else { Value::from(platform.clone()) };
            value["created"] = created.clone();
            value["labels"] = labels.clone();
            value["config"] = json!({ "digest": image.config.digest.to_string(), "size": image.config.size });
            value["layers"] = image
                .layers
                .iter()
                .map(|l| json!({ "digest": l.digest.to_string(), "mediaType": l.media_type.to_string(), "size": l.size }))
                .collect();
            if !platform.is_empty() {
                let _ = writeln!(text, "Platform:   {platform}");
            }
            if let Some(created) = created.as_str() {
                let _ = writeln!(text, "Created:    {created}");
            }
            if let Some(labels) = labels.as_object().filter(|l| !l.is_empty()) {
                text.push_str("Labels:\n");
                for (k, v) in labels {
                    let _ = writeln!(text, "  {k}={}", v.as_str().unwrap_or_default());
                }
            }
            let total: u64 = image.layers.iter().map(|l| l.size).sum();
            let _ = writeln!(text, "Layers:     {} ({})", image.layers.len(), human(total));
            for l in &image.layers {
                let _ = writeln!(text, "  {} {:>10}  {}", l.digest, human(l.size), l.media_type);
            }
        }
        _ => {}
    }
    (value, text)
}

/// `oci digest`: of a file's bytes when `target` is a file, else of what the location
/// names.
async fn digest(global: &Global, target: &str) -> Result {
    let path = Path::new(target);
    let digest = if !has_scheme(target) && path.is_file() {
        let bytes = std::fs::read(path)
            .map_err(|e| Failure::new(exit::FAILURE, format!("reading {}: {e}", path.display())))?;
        oci::Digest::sha256(&bytes)
    } else {
        oci::fetch_manifest(&location(target)?, &client(global)?).await?.descriptor.digest
    };
    print(global.json, &json!({ "digest": digest.to_string() }), digest.as_str())
}

/// `oci ref parse`: the normalized parts, or where it broke.
fn parse_reference(global: &Global, input: &str, strict: bool) -> Result {
    let parsed = if strict { Reference::parse_fully_qualified(input) } else { Reference::parse(input) };
    let reference = parsed.map_err(|e| Failure::usage(format!("{input:?}: {e}")))?;
    let value = json!({
        "input": input,
        "normalized": reference.to_string(),
        "pulled": reference.with_default_tag().to_string(),
        "familiar": reference.familiar_string(),
        "domain": reference.domain(),
        "path": reference.path(),
        "tag": reference.tag(),
        "digest": reference.digest().map(ToString::to_string),
    });
    let mut text = format!(
        "Normalized: {reference}\nPulled:     {}\nFamiliar:   {}\nDomain:     {}\nPath:       {}\n",
        reference.with_default_tag(),
        reference.familiar_string(),
        reference.domain(),
        reference.path()
    );
    if let Some(tag) = reference.tag() {
        let _ = writeln!(text, "Tag:        {tag}");
    }
    if let Some(digest) = reference.digest() {
        let _ = writeln!(text, "Digest:     {digest}");
    }
    print(global.json, &value, &text)
}
