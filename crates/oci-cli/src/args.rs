//! The command line: verbs, their arguments and the global options (clap, derive).

use clap::{Args, Parser, Subcommand};

/// Exit codes, as `--help` shows them.
pub(crate) const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  failure (anything not below)
  2  usage error (a bad option, location or reference)
  3  not found (no such image, tag, blob or repository)
  4  unauthorized or denied by the registry
  5  network failure (connect, TLS, timeout, a dropped connection)
  130  interrupted (Ctrl-C): nothing half-written is left; run it again to resume";

/// Copy, inspect and serve OCI images and artifacts.
///
/// Locations: `docker://REF` (a registry; a bare REF means the same),
/// `oci:DIR[:TAG|@DIGEST]` (a layout directory), `oci-archive:FILE[:TAG]` (a layout
/// tar), `docker-archive:FILE[:REF]` (the `docker save` format). A location without a
/// tag or digest means `latest`.
#[derive(Debug, Parser)]
#[command(name = "oci", version, after_help = EXIT_CODES, max_term_width = 100)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: Global,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options every verb takes.
#[derive(Debug, Args)]
pub(crate) struct Global {
    /// Print exactly one JSON document on stdout.
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// Show no progress on stderr.
    #[arg(long, global = true)]
    pub(crate) no_progress: bool,
    /// Speak plain HTTP to this registry host (repeatable).
    #[arg(long, global = true, value_name = "HOST")]
    pub(crate) plain_http: Vec<String>,
    /// Read credentials from this file (docker `config.json` or podman `auth.json`)
    /// instead of the usual ones.
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) authfile: Option<String>,
    /// Verify registries' TLS certificates; `--tls-verify=false` trusts any certificate
    /// of every host of the call (the connection stays encrypted).
    #[arg(
        long,
        global = true,
        value_name = "BOOL",
        num_args = 0..=1,
        require_equals = true,
        default_value_t = true,
        default_missing_value = "true",
        action = clap::ArgAction::Set
    )]
    pub(crate) tls_verify: bool,
    /// Trust any TLS certificate of this registry host (repeatable; a port is ignored).
    #[arg(long, global = true, value_name = "HOST")]
    pub(crate) insecure: Vec<String>,
    /// The user name for the registries of this call (with --password; `oci login`
    /// keeps one).
    #[arg(short, long, global = true, value_name = "USER")]
    pub(crate) username: Option<String>,
    /// The password for the registries of this call (see --password-stdin of `oci login`
    /// to keep one without a command line showing it).
    #[arg(long, global = true, value_name = "PASSWORD")]
    pub(crate) password: Option<String>,
    /// Trust this CA certificate (PEM) besides the system's.
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) ca_file: Option<String>,
    /// Retries of a failed request (network failures, 429, 5xx).
    #[arg(long, global = true, value_name = "N")]
    pub(crate) retries: Option<u32>,
    /// Log to stderr: -v what is done, -vv every request.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
}

/// The verbs.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Copy an image, an index with everything under it, between two locations.
    #[command(visible_alias = "cp")]
    Copy(CopyArgs),
    /// Copy an image from a registry into a layout directory (DIR, or any location).
    Pull {
        /// The image, as a reference or location.
        reference: String,
        /// Where to: a directory (tagged as the reference is), or a location.
        destination: Option<String>,
        #[command(flatten)]
        options: CopyFlags,
    },
    /// Copy an image from a location to a registry.
    Push {
        /// The image: `oci:DIR[:TAG]`, `oci-archive:FILE[:TAG]`, `docker-archive:FILE`.
        source: String,
        /// Where to, as a reference.
        reference: String,
        #[command(flatten)]
        options: CopyFlags,
    },
    /// Show what a location names: digest, media type, platforms, layers.
    Inspect {
        /// The image or index.
        location: String,
        /// Print the manifest's exact bytes.
        #[arg(long, conflicts_with = "config")]
        raw: bool,
        /// Print the image's configuration.
        #[arg(long)]
        config: bool,
    },
    /// Print the digest of what a location names, or of a file's bytes.
    Digest {
        /// A location, or a file (as a path that exists).
        target: String,
    },
    /// References.
    #[command(subcommand)]
    Ref(RefCommand),
    /// List the tags of a repository.
    Tags {
        /// The repository (a tag or digest in it is ignored).
        repository: String,
        /// Every page (else the registry's first page).
        #[arg(long)]
        all: bool,
    },
    /// List the repositories of a registry (every page).
    Catalog {
        /// The registry host, as `host[:port]`.
        registry: String,
    },
    /// List the referrers of an image (signatures, SBOMs, attestations).
    Referrers {
        /// The subject.
        reference: String,
        /// Only those of this artifact type.
        #[arg(long, value_name = "TYPE")]
        artifact_type: Option<String>,
    },
    /// Push an artifact (a signature, an SBOM, an attestation) whose subject is an image.
    Attach(AttachArgs),
    /// Manifests in a registry.
    #[command(subcommand)]
    Manifest(ManifestCommand),
    /// Blobs in a registry.
    #[command(subcommand)]
    Blob(BlobCommand),
    /// Image layouts (a directory, or a tar file).
    #[command(subcommand)]
    Layout(LayoutCommand),
    /// Serve a directory as a registry (the embedded registry).
    Serve(ServeArgs),
    /// Check credentials against a registry, then keep them (docker `config.json`, or
    /// its `credsStore` helper; `--authfile` names another file).
    Login(LoginArgs),
    /// Forget the credentials of a registry.
    Logout {
        /// The registry host.
        registry: String,
    },
    /// Print the completion script of a shell.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
}

/// `oci login REGISTRY`
#[derive(Debug, Args)]
pub(crate) struct LoginArgs {
    /// The registry host.
    pub(crate) registry: String,
    /// Read the password from stdin (the user name is -u/--username).
    #[arg(long)]
    pub(crate) password_stdin: bool,
}

/// `oci attach REF FILE...`
#[derive(Debug, Args)]
pub(crate) struct AttachArgs {
    /// The subject: an image or index in a registry, by tag or digest.
    pub(crate) reference: String,
    /// The artifact's files, each `PATH` or `PATH:MEDIA_TYPE` (else
    /// `application/octet-stream`); none makes an artifact of annotations only.
    pub(crate) files: Vec<String>,
    /// The artifact's type, as `oci referrers --artifact-type` filters it.
    #[arg(long, value_name = "TYPE")]
    pub(crate) artifact_type: String,
    /// An annotation of the artifact's manifest (repeatable).
    #[arg(long, value_name = "KEY=VALUE")]
    pub(crate) annotation: Vec<String>,
}

/// `oci manifest ...`
#[derive(Debug, Subcommand)]
pub(crate) enum ManifestCommand {
    /// Print a manifest's exact bytes.
    Get {
        /// The manifest, by tag or digest.
        reference: String,
    },
    /// Push a manifest's exact bytes (from FILE, or stdin), by tag or digest.
    Put {
        /// Where to: a tag or digest in a repository.
        reference: String,
        /// The manifest file (stdin when absent or `-`).
        file: Option<String>,
        /// Its media type, when the document does not say (a Docker manifest list...).
        #[arg(long, value_name = "TYPE")]
        media_type: Option<String>,
    },
    /// Delete a manifest (by digest, or the manifest a tag names).
    Delete {
        /// The manifest, by tag or digest.
        reference: String,
    },
}

/// `oci blob ...`
#[derive(Debug, Subcommand)]
pub(crate) enum BlobCommand {
    /// Write a blob's bytes to stdout (or a file), verified.
    Get {
        /// `REPOSITORY@DIGEST`.
        reference: String,
        /// Write here instead of stdout.
        #[arg(short, long, value_name = "FILE")]
        output: Option<String>,
    },
    /// Whether the registry has a blob, and its size.
    Head {
        /// `REPOSITORY@DIGEST`.
        reference: String,
    },
    /// Push a file as a blob (its sha256 digest is printed).
    Put {
        /// The repository.
        repository: String,
        /// The file.
        file: String,
    },
    /// Delete a blob.
    Delete {
        /// `REPOSITORY@DIGEST`.
        reference: String,
    },
}

/// `oci layout ...`
#[derive(Debug, Subcommand)]
pub(crate) enum LayoutCommand {
    /// Make an empty layout (a path ending in `.tar` is a tar file).
    Init {
        /// Where.
        path: String,
    },
    /// List a layout's tags and manifests.
    Ls {
        /// The layout.
        path: String,
    },
    /// Check every blob and reference of a layout.
    Fsck {
        /// The layout.
        path: String,
    },
    /// Delete the blobs nothing in a layout references.
    Gc {
        /// The layout.
        path: String,
    },
}

/// `oci serve DIR`
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The store: an image-layout directory per repository (made when missing).
    pub(crate) dir: String,
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:5000", value_name = "HOST:PORT")]
    pub(crate) addr: String,
    /// Ask for HTTP Basic credentials of these users (an htpasswd file, bcrypt).
    #[arg(long, value_name = "FILE")]
    pub(crate) htpasswd: Option<String>,
    /// Hand out bearer tokens from `/token` (for the htpasswd users) instead of Basic.
    #[arg(long, requires = "htpasswd")]
    pub(crate) token_auth: bool,
    /// Serve TLS with this certificate chain (PEM).
    #[arg(long, requires = "tls_key", value_name = "FILE")]
    pub(crate) tls_cert: Option<String>,
    /// The certificate's private key (PEM).
    #[arg(long, requires = "tls_cert", value_name = "FILE")]
    pub(crate) tls_key: Option<String>,
}

/// `oci ref ...`
#[derive(Debug, Subcommand)]
pub(crate) enum RefCommand {
    /// Parse a reference as `docker pull` does: its normalized parts and familiar form.
    Parse {
        /// The reference.
        reference: String,
        /// Refuse what `docker pull` would complete: the name must be fully qualified.
        #[arg(long)]
        strict: bool,
    },
}

/// `oci copy SRC DST`
#[derive(Debug, Args)]
pub(crate) struct CopyArgs {
    /// Where from.
    pub(crate) source: String,
    /// Where to.
    pub(crate) destination: String,
    #[command(flatten)]
    pub(crate) options: CopyFlags,
}

/// The options of a copy.
#[derive(Debug, Args, Default)]
pub(crate) struct CopyFlags {
    /// Copy only these platforms (repeatable or comma-separated; `all` for every one).
    #[arg(long, value_delimiter = ',', value_name = "OS/ARCH[/VARIANT]")]
    pub(crate) platform: Vec<String>,
    /// Copy the referrers too (signatures, SBOMs), of these artifact types when given.
    #[arg(long, num_args = 0.., value_delimiter = ',', require_equals = true, value_name = "TYPE")]
    pub(crate) referrers: Option<Vec<String>>,
    /// Requests in flight per registry host.
    #[arg(short, long, value_name = "N")]
    pub(crate) jobs: Option<usize>,
    /// Copy foreign (non-distributable) layers too.
    #[arg(long)]
    pub(crate) include_foreign: bool,
    /// Copy every tag of the source repository (each to the same tag at the destination).
    #[arg(long, conflicts_with = "dest_tag")]
    pub(crate) all_tags: bool,
    /// Tag the destination with this tag instead (repeatable).
    #[arg(long, value_name = "TAG")]
    pub(crate) dest_tag: Vec<String>,
}
