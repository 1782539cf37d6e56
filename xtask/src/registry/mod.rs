//! The real distribution registry (Debian's `docker-registry`, 2.8) on loopback in the four
//! configurations the client's tests use, and the token issuer it trusts.
//!
//! [`TestRegistries::start`] installs the Debian packages `docker-registry`, `skopeo` and
//! `umoci` when missing, generates credentials and certificates under a work dir, and starts:
//!
//! | name    | URL                       | auth                                               |
//! |---------|---------------------------|----------------------------------------------------|
//! | `plain` | `http://127.0.0.1:<port>` | none                                               |
//! | `basic` | `http://127.0.0.1:<port>` | htpasswd (bcrypt), user [`USERNAME`]               |
//! | `token` | `http://127.0.0.1:<port>` | bearer tokens of the issuer ([`token_server`])     |
//! | `tls`   | `https://127.0.0.1:<port>`| none; certificate for 127.0.0.1, `::1`, localhost |
//!
//! The issuer runs as `<current exe> token-server ...` (the xtask binary). Each registry has
//! its own `config.yml` and filesystem storage (deletes enabled) under the work dir; logs go
//! to `target/peers/<work dir name>-<instance>.log`. Everything stops when the
//! [`TestRegistries`] (or the servers taken from it) is dropped; processes left behind by a
//! killed run are stopped by the next start in the same work dir.
//!
//! `cargo xtask peers` starts them for a developer and prints `export` lines for
//! [`TestRegistries::env`]; `cargo xtask test` starts them in its `peers` step.

mod certs;
mod config;
mod htpasswd;
pub(crate) mod http;
pub mod token_server;

#[cfg(test)]
mod tests;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use self::config::{Auth, Config, Logging, Tls};
use crate::peers::{BackgroundServer, ensure_deb_packages, free_loopback_port};
use crate::test_cmd::Context;
use crate::{Result, workspace};

/// The test user of the `basic` registry and of the token issuer.
pub const USERNAME: &str = "oci-test";
/// The token registry's service name: the `service` of its challenge and the `aud` of tokens.
pub const SERVICE: &str = "oci-test-registry";
/// The `iss` of the issuer's tokens, which the token registry requires.
pub const ISSUER: &str = "oci-test-issuer";
/// The realm of the `basic` registry's challenge.
pub const BASIC_REALM: &str = "oci-test-basic";
/// The Debian packages the peers and the client's tests need (curl: a TLS client that is
/// not ours, for the registry's own tests).
pub const PACKAGES: &[&str] = &["docker-registry", "skopeo", "umoci", "curl"];
/// Where the Debian package installs the registry.
pub const REGISTRY_BIN: &str = "/usr/bin/docker-registry";

/// The name of the installed registry's baseline in
/// `conformance/expected-differences.json`: `docker-registry <major>.<minor>`, from
/// `docker-registry --version`.
pub fn baseline_name() -> Result<String> {
    let out = Command::new(REGISTRY_BIN)
        .arg("--version")
        .output()
        .map_err(|e| format!("running {REGISTRY_BIN} --version: {e}"))?;
    baseline_of(&String::from_utf8_lossy(&out.stdout))
}

/// `docker-registry 2.8` for `docker-registry github.com/docker/distribution 2.8.2+ds1`.
fn baseline_of(version: &str) -> Result<String> {
    let number = version.split_whitespace().last().unwrap_or_default().trim_start_matches('v');
    let mut parts = number.split('.');
    match (parts.next(), parts.next()) {
        (Some(major), Some(minor)) if !major.is_empty() && major.bytes().all(|b| b.is_ascii_digit()) => {
            Ok(format!("docker-registry {major}.{minor}"))
        }
        _ => Err(format!("{REGISTRY_BIN} --version said {version:?}, which names no version")),
    }
}

/// How long a server may take to listen and answer.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// The file in the work dir listing the processes started from it (`pid exe` lines).
const PIDS_FILE: &str = "pids";

/// The four registries and the token issuer, running until dropped.
#[derive(Debug)]
pub struct TestRegistries {
    /// Plain HTTP, no auth.
    pub plain: String,
    /// Plain HTTP, htpasswd basic auth.
    pub basic: String,
    /// Plain HTTP, bearer token auth.
    pub token: String,
    /// HTTPS with a certificate of the test CA, no auth.
    pub tls: String,
    /// The test user's name ([`USERNAME`]).
    pub username: String,
    /// The test user's password, generated for this run.
    pub password: String,
    /// The test CA's certificate (PEM).
    pub ca_file: PathBuf,
    /// The issuer's token endpoint (`http://127.0.0.1:<port>/token`).
    pub token_realm: String,
    servers: Vec<BackgroundServer>,
}

impl TestRegistries {
    /// Installs [`PACKAGES`] when missing, then [`TestRegistries::start_servers`].
    pub fn start(work_dir: &Path) -> Result<Self> {
        ensure_deb_packages(PACKAGES)?;
        Self::start_servers(work_dir)
    }

    /// Starts the issuer and the four registries (the registry must be installed), after
    /// emptying `work_dir`.
    pub fn start_servers(work_dir: &Path) -> Result<Self> {
        let mut peers = Peers::prepare(work_dir)?;
        let token_realm = peers.start_issuer()?;
        let plain = peers.start_registry("plain", Kind::Plain, Logging::Requests)?;
        let basic = peers.start_registry("basic", Kind::Basic, Logging::Requests)?;
        let token = peers.start_registry("token", Kind::Token { realm: &token_realm }, Logging::Requests)?;
        let tls = peers.start_registry("tls", Kind::Tls, Logging::Requests)?;
        Ok(Self {
            plain,
            basic,
            token,
            tls,
            username: USERNAME.to_owned(),
            password: peers.password,
            ca_file: peers.certs.ca,
            token_realm,
            servers: peers.servers,
        })
    }

    /// Starts only a `plain` registry (plain HTTP, no auth, logging errors only) in
    /// `work_dir`, after emptying it: the benchmarks' peer. Returns its base URL and the
    /// server, which stops the registry when dropped. The registry must be installed
    /// ([`PACKAGES`]).
    pub fn start_plain(work_dir: &Path) -> Result<(String, BackgroundServer)> {
        let mut peers = Peers::prepare(work_dir)?;
        let url = peers.start_registry("plain", Kind::Plain, Logging::Errors)?;
        let server = peers.servers.pop().ok_or("the registry was not kept")?;
        Ok((url, server))
    }

    /// The variables that tell the client's tests where the peers are.
    #[must_use]
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("OCI_TEST_REGISTRY_PLAIN", self.plain.clone()),
            ("OCI_TEST_REGISTRY_BASIC", self.basic.clone()),
            ("OCI_TEST_REGISTRY_TOKEN", self.token.clone()),
            ("OCI_TEST_REGISTRY_TLS", self.tls.clone()),
            ("OCI_TEST_USERNAME", self.username.clone()),
            ("OCI_TEST_PASSWORD", self.password.clone()),
            ("OCI_TEST_CA_FILE", self.ca_file.to_string_lossy().into_owned()),
            ("OCI_TEST_TOKEN_REALM", self.token_realm.clone()),
            ("OCI_TEST_TOKEN_SERVICE", SERVICE.to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// The running servers (issuer first), to keep them alive elsewhere.
    #[must_use]
    pub fn into_servers(self) -> Vec<BackgroundServer> {
        self.servers
    }
}

/// The `peers` step of `cargo xtask test`: starts [`TestRegistries`] in
/// `target/peers/registries`, exports [`TestRegistries::env`] to the later steps and keeps
/// the servers in the context.
pub fn test_step(ctx: &mut Context) -> Result<()> {
    let registries = TestRegistries::start(&workspace::target_dir().join("peers").join("registries"))?;
    for (name, value) in registries.env() {
        println!("  {name}={value}");
    }
    hand_over(registries, ctx);
    // The client's end-to-end tests run against the embedded registry anyway; here
    // they must also find every distribution registry.
    ctx.env.push(("OCI_TEST_REQUIRE_PEERS".to_owned(), "1".to_owned()));
    Ok(())
}

/// Moves the variables and the servers of `registries` into `ctx`.
fn hand_over(registries: TestRegistries, ctx: &mut Context) {
    ctx.env.extend(registries.env());
    ctx.servers.extend(registries.into_servers());
}

/// Entry point of `cargo xtask peers`: starts the peers in `target/peers/registries-dev`,
/// prints `export` lines and runs until stdin closes or a SIGINT/SIGTERM/SIGHUP arrives.
pub fn main(args: &[String]) -> Result<bool> {
    if let Some(arg) = args.first() {
        if arg == "-h" || arg == "--help" {
            println!(
                "usage: cargo xtask peers\n\nStarts the real registry (plain, basic, token, tls), the token \
                 issuer and the embedded registry (plain) on loopback,\nprints `export` lines for the client's tests, and stops them on Ctrl-C or \
                 when stdin closes."
            );
            return Ok(true);
        }
        return Err(format!("`cargo xtask peers` takes no arguments, got `{arg}`"));
    }
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM, signal_hook::consts::SIGHUP] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .map_err(|e| format!("installing a handler for signal {signal}: {e}"))?;
    }
    let work_dir = workspace::target_dir().join("peers").join("registries-dev");
    let registries = TestRegistries::start(&work_dir)?;
    // The workspace's own registry beside them (plain HTTP, a temporary directory).
    let embedded = crate::conformance::embedded::Embedded::start(crate::conformance::embedded::Mode::Plain)?;
    let mut out = std::io::stdout().lock();
    for (name, value) in registries.env() {
        let _ = writeln!(out, "export {name}={}", shell_quote(&value));
    }
    let _ = writeln!(out, "export OCI_TEST_REGISTRY_EMBEDDED={}", shell_quote(&embedded.target().url));
    let _ = out.flush();
    drop(out);
    eprintln!(
        "# peers running (logs: {}/registries-dev-*.log); Ctrl-C or end of stdin stops them",
        workspace::target_dir().join("peers").display()
    );
    let stdin_closed = Arc::clone(&stop);
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
        stdin_closed.store(true, Ordering::SeqCst);
    });
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(registries);
    drop(embedded);
    eprintln!("# peers stopped");
    Ok(true)
}

/// `text` as one POSIX shell word.
fn shell_quote(text: &str) -> String {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./:=@,+".contains(&b)) {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// What distinguishes one registry instance.
#[derive(Debug, Clone, Copy)]
enum Kind<'a> {
    Plain,
    Basic,
    Token { realm: &'a str },
    Tls,
}

/// The credentials, certificates and servers of one work dir, started one by one.
#[derive(Debug)]
struct Peers {
    work_dir: PathBuf,
    prefix: String,
    password: String,
    htpasswd: PathBuf,
    certs: certs::Certs,
    servers: Vec<BackgroundServer>,
}

impl Peers {
    /// Stops processes a killed run left behind, empties `work_dir` and writes the
    /// htpasswd file and the certificates.
    fn prepare(work_dir: &Path) -> Result<Self> {
        stop_leftovers(work_dir);
        if work_dir.exists() {
            std::fs::remove_dir_all(work_dir).map_err(|e| format!("emptying {}: {e}", work_dir.display()))?;
        }
        std::fs::create_dir_all(work_dir).map_err(|e| format!("creating {}: {e}", work_dir.display()))?;
        let prefix = work_dir
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .ok_or_else(|| format!("{} has no file name", work_dir.display()))?;
        let password = htpasswd::random_password()?;
        let htpasswd = work_dir.join("htpasswd");
        std::fs::write(&htpasswd, htpasswd::line(USERNAME, &password)?)
            .map_err(|e| format!("writing {}: {e}", htpasswd.display()))?;
        let certs = certs::generate(&work_dir.join("certs"))?;
        Ok(Self { work_dir: work_dir.to_owned(), prefix, password, htpasswd, certs, servers: Vec::new() })
    }

    /// Starts the token issuer and returns its realm.
    fn start_issuer(&mut self) -> Result<String> {
        let port = free_loopback_port()?;
        let options = token_server::Options {
            port,
            key: self.certs.issuer_key.clone(),
            cert: self.certs.issuer_cert.clone(),
            users: self.htpasswd.clone(),
            issuer: ISSUER.to_owned(),
            service: SERVICE.to_owned(),
            expires_in: token_server::DEFAULT_EXPIRES_IN,
        };
        let (command, exe) = issuer_command(&options.to_args())?;
        let server =
            BackgroundServer::start(&format!("{}-issuer", self.prefix), command, port, START_TIMEOUT)?;
        self.keep(server, &exe)?;
        Ok(format!("http://127.0.0.1:{port}/token"))
    }

    /// Starts one registry called `name` and returns its base URL once `GET /v2/` answers.
    fn start_registry(&mut self, name: &str, kind: Kind<'_>, logging: Logging) -> Result<String> {
        let dir = self.work_dir.join(name);
        let storage = dir.join("storage");
        std::fs::create_dir_all(&storage).map_err(|e| format!("creating {}: {e}", storage.display()))?;
        let port = free_loopback_port()?;
        let secret = htpasswd::random_hex(16)?;
        let auth = match kind {
            Kind::Plain | Kind::Tls => Auth::None,
            Kind::Basic => Auth::Htpasswd { realm: BASIC_REALM, path: &self.htpasswd },
            Kind::Token { realm } => Auth::Token {
                realm,
                service: SERVICE,
                issuer: ISSUER,
                rootcertbundle: &self.certs.issuer_cert,
            },
        };
        let tls = matches!(kind, Kind::Tls)
            .then_some(Tls { certificate: &self.certs.server_cert, key: &self.certs.server_key });
        let config_path = dir.join("config.yml");
        let config = config::render(&Config { port, storage: &storage, secret: &secret, auth, tls, logging });
        std::fs::write(&config_path, config)
            .map_err(|e| format!("writing {}: {e}", config_path.display()))?;

        if !Path::new(REGISTRY_BIN).exists() {
            return Err(format!("{REGISTRY_BIN} not found: install the Debian package docker-registry"));
        }
        let mut command = Command::new(REGISTRY_BIN);
        command.arg("serve").arg(&config_path);
        // REGISTRY_* variables override the config file: keep the caller's out.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("REGISTRY_") {
                command.env_remove(key);
            }
        }
        let server =
            BackgroundServer::start(&format!("{}-{name}", self.prefix), command, port, START_TIMEOUT)?;
        let is_tls = tls.is_some();
        wait_ready(&server, is_tls)?;
        self.keep(server, Path::new(REGISTRY_BIN))?;
        let scheme = if is_tls { "https" } else { "http" };
        Ok(format!("{scheme}://127.0.0.1:{port}"))
    }

    /// Keeps `server` and records it in the pids file for [`stop_leftovers`].
    fn keep(&mut self, server: BackgroundServer, exe: &Path) -> Result<()> {
        let path = self.work_dir.join(PIDS_FILE);
        let line = format!("{} {}\n", server.id(), exe.display());
        self.servers.push(server);
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut file| file.write_all(line.as_bytes()))
            .map_err(|e| format!("writing {}: {e}", path.display()))
    }
}

/// The command that runs the token issuer with `args`, and the executable it runs.
///
/// Normally `<current exe> token-server ARGS` (the xtask binary). In xtask's own unit
/// tests the current executable is the test binary, so it runs the test
/// `serve_as_child_process` of `token_server`, which serves with the arguments it finds
/// in an environment variable.
fn issuer_command(args: &[String]) -> Result<(Command, PathBuf)> {
    let exe = std::env::current_exe().map_err(|e| format!("finding the xtask executable: {e}"))?;
    let mut command = Command::new(&exe);
    #[cfg(test)]
    command
        .args([
            "registry::token_server::tests::serve_as_child_process",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env(token_server::CHILD_ARGS_ENV, args.join("\n"));
    #[cfg(not(test))]
    command.arg("token-server").args(args);
    Ok((command, exe))
}

/// Waits until the registry answers `GET /v2/`: 200 or 401 over plain HTTP; for TLS, the
/// 400 that Go's TLS server sends to plain HTTP proves it serves.
fn wait_ready(server: &BackgroundServer, tls: bool) -> Result<()> {
    let url = format!("{}/v2/", server.url());
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        let outcome = http::get(&url);
        let ready = match &outcome {
            Ok(response) if tls => response.status == 400 && response.body.windows(5).any(|w| w == b"HTTPS"),
            Ok(response) => matches!(response.status, 200 | 401),
            Err(_) => false,
        };
        if ready {
            return Ok(());
        }
        if Instant::now() >= deadline {
            let last = match outcome {
                Ok(response) => format!("status {}", response.status),
                Err(e) => e,
            };
            return Err(format!(
                "the registry at {} did not answer GET /v2/ within {START_TIMEOUT:?} (last: {last}); see {}",
                server.url(),
                server.log_path().display()
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Stops the process groups listed in `work_dir`'s pids file whose process still runs
/// the recorded executable (a run killed before it could stop them); best effort.
fn stop_leftovers(work_dir: &Path) {
    let Ok(text) = std::fs::read_to_string(work_dir.join(PIDS_FILE)) else {
        return;
    };
    for line in text.lines() {
        let Some((pid, exe)) = line.split_once(' ') else { continue };
        let Ok(pid) = pid.parse::<u32>() else { continue };
        let running = std::fs::read_link(format!("/proc/{pid}/exe")).ok();
        if running.as_deref() == Some(Path::new(exe)) {
            eprintln!("stopping process group {pid} ({exe}) left over from an earlier run");
            let _ = Command::new("kill").args(["-KILL", "--", &format!("-{pid}")]).status();
        }
    }
}
