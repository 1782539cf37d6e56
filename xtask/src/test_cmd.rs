//! `cargo xtask test`: the project's one test command (README, `.ci/run`).
//!
//! Runs the [`STEPS`] in order, each under a header, stops at the first failure, and
//! ends with a summary of the steps and their durations. Every command runs from the
//! workspace root with the variables of [`Context::env`] exported.
//!
//! The `peers` step before `test` ([`registry::test_step`](crate::registry::test_step)) installs the
//! Debian packages `docker-registry`, `skopeo` and `umoci`
//! ([`peers::ensure_deb_packages`](crate::peers::ensure_deb_packages)), starts the real
//! registry on loopback in each configuration the tests need
//! ([`peers::BackgroundServer`](crate::peers::BackgroundServer)), pushes the URLs into
//! [`Context::env`] and keeps the servers in [`Context::servers`]; they stop when the
//! context is dropped at the end of the run, whatever the outcome.
//!
//! The `registry-conformance` step runs the registry suite of [`conformance::registry`]
//! against each of those registries (plain, basic, token, TLS), judges each run by the
//! installed registry's baseline in `conformance/expected-differences.json` (named by
//! [`registry::baseline_name`](crate::registry::baseline_name)), then against the
//! embedded registry with Basic auth, bearer tokens and TLS (the `conformance` step ran
//! it over plain HTTP), judged by the baseline `embedded`, and fails when a case
//! fails on any of them: a new failure, and also a skip or a known failure that
//! appeared, vanished or changed its message.

use std::fmt::Write as _;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::Result;
use crate::conformance;
use crate::peers::BackgroundServer;
use crate::workspace::{self, status};

/// State shared by the steps of one run.
#[derive(Debug, Default)]
pub struct Context {
    /// Environment variables exported to every command run after they are set (for
    /// example the URL of a registry started by an earlier step).
    pub env: Vec<(String, String)>,
    /// Servers started by earlier steps; they stop when the context is dropped.
    pub servers: Vec<BackgroundServer>,
}

impl Context {
    /// A `cargo <args>` command from the workspace root with [`Context::env`] exported.
    #[must_use]
    pub fn cargo(&self, args: &[&str]) -> Command {
        let mut cmd = workspace::cargo_command(args);
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd
    }
}

/// One step of the test command.
#[derive(Debug, Clone, Copy)]
pub struct Step {
    /// Short name, shown in the summary.
    pub name: &'static str,
    /// What it runs, shown in the header.
    pub description: &'static str,
    /// Runs the step.
    pub run: fn(&mut Context) -> Result<()>,
}

/// The steps, in order.
pub const STEPS: &[Step] = &[
    Step { name: "fmt", description: "cargo fmt --all -- --check", run: fmt },
    Step {
        name: "clippy",
        description: "cargo clippy --workspace --all-targets -- -D warnings",
        run: clippy,
    },
    Step {
        name: "peers",
        description: "start the real registry (plain, basic, token, tls) and the token issuer",
        run: crate::registry::test_step,
    },
    Step { name: "test", description: "cargo test --workspace -- --include-ignored", run: test },
    Step {
        name: "faults",
        description: "cargo xtask faults --reduced (every operation against every fault of a misbehaving registry)",
        run: faults_step,
    },
    Step {
        name: "features",
        description: "the tests and builds of each feature combination that changes behaviour",
        run: features,
    },
    Step {
        name: "conformance",
        description: "cargo xtask conformance (every suite; the registry suite against the embedded registry)",
        run: conformance_step,
    },
    Step {
        name: "registry-conformance",
        description: "cargo xtask conformance registry against each registry of the peers step, and the embedded one with basic auth, tokens and TLS",
        run: registry_conformance_step,
    },
    Step { name: "deny", description: "cargo deny check bans licenses sources", run: deny },
    Step {
        name: "doc",
        description: "RUSTDOCFLAGS=\"-D warnings\" cargo doc --workspace --no-deps",
        run: doc,
    },
];

/// Entry point of `cargo xtask test`; `Ok(false)` when a step failed.
pub fn main(args: &[String]) -> Result<bool> {
    if let Some(arg) = args.first() {
        if arg == "-h" || arg == "--help" {
            println!("usage: cargo xtask test\n\nsteps:");
            for step in STEPS {
                println!("  {:<12} {}", step.name, step.description);
            }
            return Ok(true);
        }
        return Err(format!("`cargo xtask test` takes no arguments, got `{arg}`"));
    }
    Ok(run(STEPS))
}

/// Runs `steps` in order until one fails, prints the summary and returns whether all
/// passed.
#[must_use]
pub fn run(steps: &[Step]) -> bool {
    let mut context = Context::default();
    let mut done: Vec<(&Step, Duration, Option<String>)> = Vec::new();
    for (index, step) in steps.iter().enumerate() {
        println!("\n==> [{}/{}] {}: {}", index + 1, steps.len(), step.name, step.description);
        let started = Instant::now();
        let result = (step.run)(&mut context);
        let failed = result.is_err();
        done.push((step, started.elapsed(), result.err()));
        if failed {
            break;
        }
    }
    drop(context); // stop the servers before the summary
    print!("{}", summary(steps, &done));
    done.len() == steps.len() && done.iter().all(|(_, _, error)| error.is_none())
}

fn summary(steps: &[Step], done: &[(&Step, Duration, Option<String>)]) -> String {
    let mut out = String::from("\nsummary:\n");
    let mut total = Duration::ZERO;
    for (step, elapsed, error) in done {
        total += *elapsed;
        let status = if error.is_some() { "FAILED" } else { "ok" };
        let _ = writeln!(out, "  {status:<7} {:<12} {:>8.1}s", step.name, elapsed.as_secs_f64());
        if let Some(error) = error {
            for line in error.lines() {
                let _ = writeln!(out, "          {line}");
            }
        }
    }
    for step in &steps[done.len()..] {
        let _ = writeln!(out, "  {:<7} {}", "not run", step.name);
    }
    let failed = done.iter().any(|(_, _, error)| error.is_some());
    let _ = writeln!(
        out,
        "test: {} in {:.1}s",
        if failed { "FAILED" } else { "all steps passed" },
        total.as_secs_f64()
    );
    out
}

fn fmt(ctx: &mut Context) -> Result<()> {
    status(ctx.cargo(&["fmt", "--all", "--", "--check"]))
}

fn clippy(ctx: &mut Context) -> Result<()> {
    status(ctx.cargo(&["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))
}

fn test(ctx: &mut Context) -> Result<()> {
    // The tests that need the peers are ignored in a plain `cargo test`; the peers step
    // started them, so every test runs. The child processes that tests start by running
    // their own binary (the token issuer, the registry the crash test kills) are no tests.
    status(ctx.cargo(&["test", "--workspace", "--", "--include-ignored", "--skip", "serve_as_child_process"]))
}

/// The feature combinations whose behaviour `cargo test --workspace` cannot see (its
/// feature unification turns on every feature some member asks for): the client without
/// the system's roots, or without ring; the spec types without BLAKE3; the layout
/// without the async API; the facade with each of its crates alone.
pub const FEATURE_COMBINATIONS: &[&[&str]] = &[
    &["test", "-p", "oci-distribution", "--lib", "--no-default-features", "--features", "ring"],
    &["check", "-p", "oci-distribution", "--no-default-features"],
    &["test", "-p", "oci-spec-types", "--lib"],
    &["check", "-p", "oci-layout", "--lib"],
    // The registry without its `faults` feature (the workspace's build has it on for xtask).
    &["check", "-p", "oci-registry", "--lib"],
    &["check", "-p", "oci", "--no-default-features"],
    &["check", "-p", "oci", "--no-default-features", "--features", "distribution"],
    &["check", "-p", "oci", "--no-default-features", "--features", "layout"],
];

fn features(ctx: &mut Context) -> Result<()> {
    for args in FEATURE_COMBINATIONS {
        println!("cargo {}", args.join(" "));
        status(ctx.cargo(args))?;
    }
    Ok(())
}

fn faults_step(_ctx: &mut Context) -> Result<()> {
    if crate::faults::main(&["--reduced".to_owned()])? {
        Ok(())
    } else {
        Err("faults: the goal was missed (see target/faults/index.html)".into())
    }
}

fn conformance_step(_ctx: &mut Context) -> Result<()> {
    let counts = conformance::run(&conformance::Options::default())?;
    if counts.failed == 0 {
        Ok(())
    } else {
        Err(format!("conformance: {} failed (see target/conformance/report.html)", counts.failed))
    }
}

/// The registries the `peers` step started (named as in [`crate::registry`]), as targets
/// of the registry suite: credentials for `basic` and `token`, the test CA for `tls`.
pub fn registry_targets(
    env: &[(String, String)],
) -> Result<Vec<(&'static str, conformance::registry::Target)>> {
    let get = |name: &str| {
        env.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| format!("{name} is not set: the peers step starts the registries"))
    };
    let mut targets = Vec::new();
    for (name, login, tls) in
        [("plain", false, false), ("basic", true, false), ("token", true, false), ("tls", false, true)]
    {
        let url = get(&format!("OCI_TEST_REGISTRY_{}", name.to_ascii_uppercase()))?;
        let (username, password) = if login {
            (Some(get("OCI_TEST_USERNAME")?), Some(get("OCI_TEST_PASSWORD")?))
        } else {
            (None, None)
        };
        let ca_file = if tls { Some(get("OCI_TEST_CA_FILE")?.into()) } else { None };
        targets.push((
            name,
            conformance::registry::Target {
                url,
                username,
                password,
                ca_file,
                optional: conformance::registry::Optional::default(),
            },
        ));
    }
    Ok(targets)
}

/// Runs the registry suite against each registry of the `peers` step, judged by the
/// installed registry's baseline; reports go to `target/conformance/registry-<name>/`.
/// Fails when a case failed on any of them.
fn registry_conformance_step(ctx: &mut Context) -> Result<()> {
    let differences = conformance::load_expected_differences()?;
    let baseline = crate::registry::baseline_name()?;
    println!(
        "registry-conformance: judged by the baseline {baseline:?} of conformance/expected-differences.json"
    );
    let mut failed = Vec::new();
    let mut targets: Vec<(&str, Option<conformance::embedded::Embedded>, conformance::registry::Target)> =
        registry_targets(&ctx.env)?.into_iter().map(|(name, target)| (name, None, target)).collect();
    // The embedded registry in the modes the conformance step does not run (it runs
    // plain HTTP), each judged by its own baseline.
    for (name, mode) in conformance::embedded::Mode::ALL.into_iter().skip(1) {
        let embedded = conformance::embedded::Embedded::start(mode)?;
        let target = embedded.target().clone();
        targets.push((name, Some(embedded), target));
    }
    for (name, embedded, target) in targets {
        let mut results = conformance::registry::run(&target)?;
        let baseline = if embedded.is_some() { conformance::embedded::BASELINE } else { baseline.as_str() };
        conformance::apply_baseline(&differences, baseline, &mut results)?;
        let counts = conformance::print_results(&results);
        let dir = workspace::target_dir().join("conformance").join(format!("registry-{name}"));
        let (_, html) = conformance::report::write(&dir, &results)?;
        println!("registry-conformance {name} ({}): {counts}; report {}", target.url, html.display());
        if counts.failed > 0 {
            failed.push(format!("{name}: {} failed (see {})", counts.failed, html.display()));
        }
    }
    if failed.is_empty() { Ok(()) } else { Err(format!("registry conformance: {}", failed.join("; "))) }
}

fn deny(ctx: &mut Context) -> Result<()> {
    workspace::ensure_cargo_subcommand("deny", &["--locked", "cargo-deny"])?;
    status(ctx.cargo(&["deny", "check", "bans", "licenses", "sources"]))
}

fn doc(ctx: &mut Context) -> Result<()> {
    let mut cmd = ctx.cargo(&["doc", "--workspace", "--no-deps"]);
    cmd.env("RUSTDOCFLAGS", "-D warnings");
    status(cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fail(_: &mut Context) -> Result<()> {
        Err("it broke\nsecond line".to_owned())
    }

    fn reads_env(ctx: &mut Context) -> Result<()> {
        let cmd = ctx.cargo(&["--version"]);
        let exported = cmd.get_envs().any(|(k, v)| k == "XTASK_TEST_VAR" && v == Some("42".as_ref()));
        if exported { Ok(()) } else { Err("XTASK_TEST_VAR not exported".into()) }
    }

    #[test]
    fn stops_at_the_first_failure() {
        let steps = [
            Step { name: "a", description: "a", run: |_| Ok(()) },
            Step { name: "b", description: "b", run: fail },
            Step { name: "c", description: "c", run: |_| Ok(()) },
        ];
        assert!(!run(&steps));
        assert!(run(&steps[..1]));
    }

    #[test]
    fn environment_flows_to_later_steps() {
        let steps = [
            Step {
                name: "set",
                description: "",
                run: |ctx| {
                    ctx.env.push(("XTASK_TEST_VAR".into(), "42".into()));
                    Ok(())
                },
            },
            Step { name: "read", description: "", run: reads_env },
        ];
        assert!(run(&steps));
        assert!(!run(&steps[1..]));
    }

    #[test]
    fn summary_lists_every_step() {
        let steps = [
            Step { name: "a", description: "a", run: |_| Ok(()) },
            Step { name: "b", description: "b", run: fail },
            Step { name: "c", description: "c", run: |_| Ok(()) },
        ];
        let done = [
            (&steps[0], Duration::from_millis(1500), None),
            (&steps[1], Duration::from_millis(200), Some("it broke\nsecond line".to_owned())),
        ];
        assert_eq!(
            summary(&steps, &done),
            "\nsummary:\n  ok      a                 1.5s\n  FAILED  b                 0.2s\n          it broke\n          second line\n  not run c\ntest: FAILED in 1.7s\n"
        );
    }

    #[test]
    fn the_steps_are_in_the_documented_order() {
        let names: Vec<&str> = STEPS.iter().map(|s| s.name).collect();
        assert_eq!(
            names,
            [
                "fmt",
                "clippy",
                "peers",
                "test",
                "faults",
                "features",
                "conformance",
                "registry-conformance",
                "deny",
                "doc"
            ]
        );
    }

    #[test]
    fn the_registry_suite_runs_against_the_four_peers() {
        let env: Vec<(String, String)> = [
            ("OCI_TEST_REGISTRY_PLAIN", "http://127.0.0.1:1"),
            ("OCI_TEST_REGISTRY_BASIC", "http://127.0.0.1:2"),
            ("OCI_TEST_REGISTRY_TOKEN", "http://127.0.0.1:3"),
            ("OCI_TEST_REGISTRY_TLS", "https://127.0.0.1:4"),
            ("OCI_TEST_USERNAME", "u"),
            ("OCI_TEST_PASSWORD", "p"),
            ("OCI_TEST_CA_FILE", "/ca.pem"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let targets = registry_targets(&env).unwrap();
        let names: Vec<&str> = targets.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, ["plain", "basic", "token", "tls"]);
        let (plain, basic, tls) = (&targets[0].1, &targets[1].1, &targets[3].1);
        assert_eq!(
            (plain.url.as_str(), plain.username.as_deref(), plain.ca_file.as_deref()),
            ("http://127.0.0.1:1", None, None)
        );
        assert_eq!((basic.username.as_deref(), basic.password.as_deref()), (Some("u"), Some("p")));
        assert_eq!(tls.ca_file.as_deref(), Some(std::path::Path::new("/ca.pem")));
        assert!(registry_targets(&env[1..]).unwrap_err().contains("OCI_TEST_REGISTRY_PLAIN is not set"));
    }
}
