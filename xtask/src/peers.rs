//! Real peers the tests talk to: Debian packages and servers running in the background
//! on loopback (the distribution registry, later with auth and TLS).
//!
//! ```no_run
//! use std::process::Command;
//! use std::time::Duration;
//! use xtask::peers::{BackgroundServer, ensure_deb_packages, free_loopback_port};
//!
//! ensure_deb_packages(&["docker-registry"])?;
//! let port = free_loopback_port()?;
//! let mut cmd = Command::new("docker-registry");
//! cmd.arg("serve").arg("config.yml").env("REGISTRY_HTTP_ADDR", format!("127.0.0.1:{port}"));
//! let registry = BackgroundServer::start("registry", cmd, port, Duration::from_secs(30))?;
//! println!("registry at {} (log: {})", registry.url(), registry.log_path().display());
//! // the registry stops when `registry` is dropped
//! # Ok::<(), String>(())
//! ```

use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::{Result, workspace};

/// Whether `apt-get update` already ran in this process.
static APT_UPDATED: Mutex<bool> = Mutex::new(false);

/// Makes sure the Debian `packages` are installed.
///
/// Installed packages (per `dpkg -s`) are left alone. Missing ones are installed with
/// `apt-get install -y --no-install-recommends` when running as root (after one
/// `apt-get update` per process); otherwise the error names the packages to install.
pub fn ensure_deb_packages(packages: &[&str]) -> Result<()> {
    let missing = missing_deb_packages(packages)?;
    if missing.is_empty() {
        return Ok(());
    }
    let list = missing.join(" ");
    if !is_root()? {
        return Err(format!(
            "missing Debian packages: {list}; install them with \
             `sudo apt-get install -y --no-install-recommends {list}`"
        ));
    }
    apt_get_update_once()?;
    println!("installing Debian packages: {list}");
    let status = Command::new("apt-get")
        .args(["install", "-y", "--no-install-recommends"])
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .map_err(|e| format!("running apt-get install {list}: {e}"))?;
    if !status.success() {
        return Err(format!("`apt-get install -y --no-install-recommends {list}` failed with {status}"));
    }
    let still_missing = missing_deb_packages(packages)?;
    if still_missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "apt-get succeeded but these packages are still not installed: {}",
            still_missing.join(" ")
        ))
    }
}

/// The `packages` that `dpkg -s` does not report as installed.
pub fn missing_deb_packages(packages: &[&str]) -> Result<Vec<String>> {
    let mut missing = Vec::new();
    for package in packages {
        let output = Command::new("dpkg")
            .args(["-s", package])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("running `dpkg -s {package}` (is this Debian?): {e}"))?;
        let installed = output.status.success()
            && String::from_utf8_lossy(&output.stdout)
                .lines()
                .any(|line| line.trim() == "Status: install ok installed");
        if !installed {
            missing.push((*package).to_owned());
        }
    }
    Ok(missing)
}

/// Whether this process runs as root (`id -u` is 0).
pub fn is_root() -> Result<bool> {
    let output = Command::new("id").arg("-u").output().map_err(|e| format!("running `id -u`: {e}"))?;
    Ok(output.status.success() && String::from_utf8_lossy(&output.stdout).trim() == "0")
}

fn apt_get_update_once() -> Result<()> {
    let mut updated = APT_UPDATED.lock().map_err(|_| "apt-get update lock poisoned".to_owned())?;
    if *updated {
        return Ok(());
    }
    println!("running apt-get update");
    let status = Command::new("apt-get")
        .arg("update")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .map_err(|e| format!("running apt-get update: {e}"))?;
    if !status.success() {
        return Err(format!("`apt-get update` failed with {status}"));
    }
    *updated = true;
    Ok(())
}

/// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
pub fn free_loopback_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| format!("binding 127.0.0.1:0 to find a free port: {e}"))?;
    listener
        .local_addr()
        .map(|addr| addr.port())
        .map_err(|e| format!("reading the address of a loopback listener: {e}"))
}

/// A server process running in the background, listening on a loopback port.
///
/// Its stdout and stderr go to `<workspace>/target/peers/<name>.log`. It runs in its own
/// process group, which is terminated (SIGTERM, then SIGKILL after 5 s) when the value is
/// dropped; dropping waits for the server to exit, so its port is free afterwards.
#[derive(Debug)]
pub struct BackgroundServer {
    name: String,
    child: Child,
    port: u16,
    log_path: PathBuf,
}

impl BackgroundServer {
    /// Spawns `command` and waits until 127.0.0.1:`port` accepts TCP connections.
    ///
    /// Fails, with the end of the log, if the process exits first or the port is not
    /// reachable within `timeout`; the process is stopped in both cases.
    pub fn start(name: &str, mut command: Command, port: u16, timeout: Duration) -> Result<Self> {
        let dir = workspace::target_dir().join("peers");
        std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let log_path = dir.join(format!("{name}.log"));
        let log = File::create(&log_path).map_err(|e| format!("creating {}: {e}", log_path.display()))?;
        let log_err = log.try_clone().map_err(|e| format!("duplicating {}: {e}", log_path.display()))?;
        command.stdin(Stdio::null()).stdout(log).stderr(log_err).process_group(0);
        let child =
            command.spawn().map_err(|e| format!("starting {name} ({:?}): {e}", command.get_program()))?;
        let mut server = Self { name: name.to_owned(), child, port, log_path };
        server.wait_until_listening(timeout)?;
        Ok(server)
    }

    fn wait_until_listening(&mut self, timeout: Duration) -> Result<()> {
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let deadline = Instant::now() + timeout;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    return Err(format!(
                        "{} exited ({status}) before listening on {address}; end of {}:\n{}",
                        self.name,
                        self.log_path.display(),
                        self.log_tail()
                    ));
                }
                Ok(None) => {}
                Err(e) => return Err(format!("waiting for {}: {e}", self.name)),
            }
            if TcpStream::connect_timeout(&address, Duration::from_millis(250)).is_ok() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "{} did not listen on {address} within {timeout:?}; end of {}:\n{}",
                    self.name,
                    self.log_path.display(),
                    self.log_tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The server's base URL, `http://127.0.0.1:<port>`.
    #[must_use]
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The loopback port the server listens on.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's process id, which is also its process group id.
    #[must_use]
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The file that receives the server's stdout and stderr.
    #[must_use]
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The last lines of the log, for error messages.
    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    fn signal_group(&self, signal: &str) {
        // `kill -SIG -- -PGID` reaches the whole group; the server is the group leader.
        let _ = Command::new("kill")
            .args([signal, "--", &format!("-{}", self.child.id())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for BackgroundServer {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        self.signal_group("-TERM");
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.signal_group("-KILL");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read as _, Write as _};

    use super::*;

    fn http_server(port: u16) -> Command {
        let mut cmd = Command::new("python3");
        cmd.args(["-m", "http.server", &port.to_string(), "--bind", "127.0.0.1"])
            .current_dir(workspace::root());
        cmd
    }

    #[test]
    fn a_background_server_is_reachable_and_stops_on_drop() {
        let port = free_loopback_port().unwrap();
        let server =
            BackgroundServer::start("test-http-server", http_server(port), port, Duration::from_secs(20))
                .unwrap();
        assert_eq!(server.url(), format!("http://127.0.0.1:{port}"));
        assert_eq!(server.port(), port);
        assert!(server.log_path().ends_with("target/peers/test-http-server.log"));

        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.write_all(b"GET /Cargo.toml HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        assert!(response.starts_with("HTTP/1.0 200"), "{response}");
        assert!(response.contains("[workspace]"), "{response}");

        let log_path = server.log_path().to_path_buf();
        drop(server);
        assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "server still listening after drop");
        assert!(std::fs::read_to_string(log_path).unwrap().contains("GET /Cargo.toml"));
    }

    #[test]
    fn a_server_that_exits_early_is_an_error_with_its_log() {
        let port = free_loopback_port().unwrap();
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo cannot start >&2; exit 3"]);
        let err = BackgroundServer::start("test-exits", cmd, port, Duration::from_secs(10)).unwrap_err();
        assert!(
            err.starts_with("test-exits exited (exit status: 3) before listening on 127.0.0.1:"),
            "{err}"
        );
        assert!(err.ends_with("cannot start"), "{err}");
    }

    #[test]
    fn a_server_that_never_listens_times_out_and_is_stopped() {
        let port = free_loopback_port().unwrap();
        let mut cmd = Command::new("sleep");
        cmd.arg("60");
        let started = Instant::now();
        let err = BackgroundServer::start("test-silent", cmd, port, Duration::from_millis(300)).unwrap_err();
        assert!(err.starts_with("test-silent did not listen on 127.0.0.1:"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10), "the sleeping process was not stopped");
    }

    #[test]
    fn free_ports_are_loopback_bindable() {
        let port = free_loopback_port().unwrap();
        assert_ne!(port, 0);
        TcpListener::bind(("127.0.0.1", port)).unwrap();
    }

    #[test]
    fn installed_packages_are_not_missing() {
        // dpkg is Essential on Debian; the other name cannot exist (uppercase is invalid).
        let missing = missing_deb_packages(&["dpkg", "NO-SUCH-PACKAGE"]).unwrap();
        assert_eq!(missing, ["NO-SUCH-PACKAGE"]);
        ensure_deb_packages(&["dpkg"]).unwrap();
    }
}
