//! The `cli-copy` operation: `oci copy` as a process, judged by its exit code, its one
//! line of error, and the layout it wrote.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::ops::{Outcome, World, judge_layout};

/// How long the process may run (the matrix's deadline is longer, so that this one
/// says `Hang` first).
const LIMIT: Duration = Duration::from_secs(50);

pub(super) async fn run(world: &World, dir: &Path) -> Outcome {
    let mut command = Command::new(&world.oci);
    command
        .args([
            "copy",
            &format!("docker://{}/src/app:v1", world.faulty),
            &format!("oci:{}:v1", dir.display()),
        ])
        .args(["--no-progress", "--retries", "10", "--plain-http", &world.faulty])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some((user, password)) = &world.credentials {
        command.args(["-u", user, "--password", password]);
    }
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => return Outcome::Panic(format!("starting {}: {e}", world.oci.display())),
    };
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > LIMIT => {
                let _ = child.kill();
                let _ = child.wait();
                return Outcome::Hang;
            }
            Ok(None) => tokio::time::sleep(Duration::from_millis(20)).await,
            Err(e) => return Outcome::Panic(format!("waiting for oci: {e}")),
        }
    };
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
    }
    let copied = match status.code() {
        Some(0) => Ok(()),
        Some(101) | None => return Outcome::Panic(format!("oci copy: {status}: {}", stderr.trim())),
        Some(_) => {
            let error = stderr.lines().filter(|l| l.starts_with("oci: ")).collect::<Vec<_>>();
            match error.as_slice() {
                [line] => Err((*line).to_owned()),
                _ => return Outcome::Wrong(format!("not one error line: {stderr:?}")),
            }
        }
    };
    judge_layout(copied, oci_layout::Layout::open_dir(dir), dir, "v1", &world.image)
}
