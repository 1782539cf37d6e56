//! Tidy checks of the workspace: the crate layering of DESIGN.md, crate-level docs and
//! workspace lints in every crate, no crate compiling another's sources, and a cap on
//! source file length.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// The workspace root.
const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// The layers of DESIGN.md: a crate may only depend on crates of a strictly lower rank.
const RANKS: &[(&str, u32)] = &[
    ("oci-spec-types", 0),
    ("oci-reference", 1),
    ("oci-distribution", 2),
    ("oci-layout", 2),
    ("oci-registry", 3),
    ("oci", 4),
    ("oci-cli", 5),
];

/// Longest source file allowed, in lines (STYLE.md's ~600: one concern per file).
const MAX_LINES: usize = 600;

fn rank(name: &str) -> Option<u32> {
    RANKS.iter().find(|(crate_name, _)| *crate_name == name).map(|(_, rank)| *rank)
}

fn metadata() -> Value {
    let output = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(ROOT)
        .output()
        .expect("running cargo metadata");
    assert!(output.status.success(), "cargo metadata failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("cargo metadata output is JSON")
}

/// Every directory under `crates/`, plus `xtask`, `test-support` and `tests`.
fn member_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(Path::new(ROOT).join("crates"))
        .expect("reading crates/")
        .map(|entry| entry.expect("reading crates/").path())
        .filter(|path| path.join("Cargo.toml").is_file())
        .collect();
    dirs.sort();
    dirs.push(Path::new(ROOT).join("xtask"));
    dirs.push(Path::new(ROOT).join("test-support"));
    dirs.push(Path::new(ROOT).join("tests"));
    dirs
}

#[test]
fn workspace_crates_depend_only_on_lower_layers() {
    let metadata = metadata();
    let mut problems = Vec::new();
    for package in metadata["packages"].as_array().expect("packages") {
        let name = package["name"].as_str().expect("package name");
        let manifest = Path::new(package["manifest_path"].as_str().expect("manifest_path"));
        let in_crates_dir =
            manifest.parent().and_then(Path::parent).is_some_and(|dir| dir.ends_with("crates"));
        let Some(from) = rank(name) else {
            if in_crates_dir {
                problems.push(format!(
                    "{name}: crate under crates/ has no rank; add it to RANKS in tests/tests/tidy.rs \
                     according to DESIGN.md's layering"
                ));
            }
            continue; // xtask and tests sit above every layer
        };
        for dep in package["dependencies"].as_array().expect("dependencies") {
            let dep_name = dep["name"].as_str().expect("dependency name");
            let Some(to) = rank(dep_name) else { continue };
            if dep["path"].is_null() {
                continue; // not the workspace crate of that name
            }
            let kind = dep["kind"].as_str().unwrap_or("normal");
            let allowed = if kind == "dev" { to <= from } else { to < from };
            if !allowed {
                problems.push(format!(
                    "{name} (rank {from}) -> {dep_name} (rank {to}), a {kind} dependency: {}",
                    if kind == "dev" {
                        "dev-dependencies must not go to a higher layer"
                    } else {
                        "dependencies must go to a strictly lower layer"
                    }
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "layering violations (spec-types <- reference <- {{distribution, layout}} <- registry <- oci <- cli):\n  {}",
        problems.join("\n  ")
    );
}

/// Whether a crate root starts with an inner doc comment (`//!` or `#![doc = ...]`),
/// possibly after other inner attributes and blank lines.
fn has_crate_doc(source: &str) -> bool {
    for line in source.lines().map(str::trim) {
        if line.starts_with("//!") || line.starts_with("#![doc") {
            return true;
        }
        if !(line.is_empty() || line.starts_with("#![") || line.starts_with("/*!")) {
            return false;
        }
        if line.starts_with("/*!") {
            return true;
        }
    }
    false
}

/// Whether a manifest opts into the workspace lints (`[lints]` with `workspace = true`,
/// or `lints.workspace = true`).
fn uses_workspace_lints(manifest: &str) -> bool {
    let mut in_lints = false;
    for line in manifest.lines() {
        let compact: String = line.split('#').next().unwrap_or("").split_whitespace().collect();
        if compact.starts_with('[') {
            in_lints = compact == "[lints]";
        } else if (in_lints && compact == "workspace=true")
            || compact == "lints.workspace=true"
            || compact == "lints={workspace=true}"
        {
            return true;
        }
    }
    false
}

#[test]
fn every_crate_has_crate_docs_and_workspace_lints() {
    let mut problems = Vec::new();
    for dir in member_dirs() {
        let name = dir.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).expect("reading Cargo.toml");
        if !uses_workspace_lints(&manifest) {
            problems.push(format!("{name}/Cargo.toml: missing `[lints] workspace = true`"));
        }
        let roots: Vec<PathBuf> = ["src/lib.rs", "src/main.rs"]
            .iter()
            .map(|file| dir.join(file))
            .filter(|path| path.is_file())
            .collect();
        if roots.is_empty() {
            problems.push(format!("{name}: neither src/lib.rs nor src/main.rs"));
        }
        for root in roots {
            let source = std::fs::read_to_string(&root).expect("reading crate root");
            if !has_crate_doc(&source) {
                problems.push(format!(
                    "{}: no crate-level doc comment (`//!`) at the top",
                    root.strip_prefix(ROOT).unwrap_or(&root).display()
                ));
            }
        }
    }
    assert!(problems.is_empty(), "crate hygiene:\n  {}", problems.join("\n  "));
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries {
        let path = entry.expect("reading a source directory").path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "target") {
                continue;
            }
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// The `#[path = "..."]` targets of `source`.
fn path_attributes(source: &str) -> Vec<&str> {
    source
        .lines()
        .filter_map(|line| line.trim().strip_prefix("#[path"))
        .filter_map(|rest| rest.split('"').nth(1))
        .collect()
}

#[test]
fn no_crate_includes_another_crates_sources() {
    let mut problems = Vec::new();
    for dir in member_dirs() {
        let crate_dir = dir.canonicalize().expect("a member directory");
        let mut files = Vec::new();
        rust_files(&dir, &mut files);
        for file in files {
            let source = std::fs::read_to_string(&file).expect("reading a source file");
            for target in path_attributes(&source) {
                // Relative to the including file's directory (or above it, never outside
                // the crate): a lexical check, the target may not exist on this platform.
                let base = file.parent().unwrap_or(&dir).canonicalize().expect("a source directory");
                let mut resolved = base.clone();
                for part in Path::new(target).components() {
                    match part {
                        std::path::Component::ParentDir => {
                            resolved.pop();
                        }
                        std::path::Component::Normal(p) => resolved.push(p),
                        _ => resolved = PathBuf::from(target),
                    }
                }
                if !resolved.starts_with(&crate_dir) {
                    problems.push(format!(
                        "{}: #[path = {target:?}] reaches outside its crate; share code through a crate \
                         (test-support for tests)",
                        file.strip_prefix(ROOT).unwrap_or(&file).display()
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "cross-crate source includes:\n  {}", problems.join("\n  "));
}

#[test]
fn no_source_file_is_too_long() {
    let mut files = Vec::new();
    for dir in member_dirs() {
        rust_files(&dir, &mut files);
    }
    assert!(!files.is_empty(), "no source files found under {ROOT}");
    files.sort();
    let offenders: Vec<String> = files
        .iter()
        .filter_map(|path| {
            let lines = std::fs::read_to_string(path).expect("reading a source file").lines().count();
            (lines > MAX_LINES)
                .then(|| format!("{}: {lines} lines", path.strip_prefix(ROOT).unwrap_or(path).display()))
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "source files longer than {MAX_LINES} lines (split them by concern):\n  {}",
        offenders.join("\n  ")
    );
}

/// The module path of a source file under `src` (`crate::api::manifests`), `None` for
/// test files.
fn module_of(src: &Path, file: &Path) -> Option<Vec<String>> {
    let rel = file.strip_prefix(src).ok()?;
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let last = parts.pop()?;
    let stem = last.strip_suffix(".rs")?;
    if stem == "tests" || stem.ends_with("_tests") || parts.iter().any(|p| p == "tests") {
        return None;
    }
    if !matches!(stem, "mod" | "lib" | "main") {
        parts.push(stem.to_owned());
    }
    Some(parts)
}

/// The modules `source` (of module `me`) names through `crate::` or `super::` paths,
/// test modules and comments left out, each as the longest known module prefix.
fn module_uses(me: &[String], source: &str, known: &[Vec<String>]) -> Vec<Vec<String>> {
    let code = source.split("#[cfg(test)]").next().unwrap_or_default();
    let mut out = Vec::new();
    for line in code.lines().map(str::trim).filter(|l| !l.starts_with("//")) {
        for (at, _) in line.match_indices("crate::").chain(line.match_indices("super::")) {
            if at > 0 && line[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':') {
                continue; // `self::super::`, `foo_crate::`
            }
            let path: Vec<&str> = line[at..]
                .split("::")
                .map(|p| p.split(|c: char| !(c.is_alphanumeric() || c == '_')).next().unwrap_or(""))
                .take_while(|p| !p.is_empty())
                .collect();
            let mut resolved: Vec<String> = Vec::new();
            let mut rest = &path[..];
            if rest.first() == Some(&"crate") {
                rest = &rest[1..];
            } else {
                resolved = me.to_vec();
                while rest.first() == Some(&"super") {
                    resolved.pop();
                    rest = &rest[1..];
                }
            }
            resolved.extend(rest.iter().map(|p| (*p).to_owned()));
            let found =
                (1..=resolved.len()).rev().map(|k| &resolved[..k]).find(|m| known.iter().any(|k| k == m));
            if let Some(module) = found {
                if module != me {
                    out.push(module.to_vec());
                }
            }
        }
    }
    out
}

#[test]
fn no_two_modules_of_a_crate_import_each_other() {
    let mut problems = Vec::new();
    for dir in member_dirs() {
        let src = dir.join("src");
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        let modules: Vec<(Vec<String>, PathBuf)> =
            files.into_iter().filter_map(|f| module_of(&src, &f).map(|m| (m, f))).collect();
        let known: Vec<Vec<String>> = modules.iter().map(|(m, _)| m.clone()).collect();
        let uses: Vec<(Vec<String>, Vec<Vec<String>>)> = modules
            .iter()
            .map(|(m, f)| {
                (m.clone(), module_uses(m, &std::fs::read_to_string(f).expect("a source file"), &known))
            })
            .collect();
        for (a, a_uses) in &uses {
            for b in a_uses {
                let nested = a.starts_with(b) || b.starts_with(a);
                let back = uses.iter().any(|(m, u)| m == b && u.contains(a));
                if back && !nested && a < b {
                    let name = dir.file_name().unwrap_or_default().to_string_lossy().into_owned();
                    problems.push(format!("{name}: {} <-> {}", a.join("::"), b.join("::")));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "modules that import each other (one of them holds a piece that belongs elsewhere):\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn the_checks_themselves() {
    assert!(has_crate_doc("//! Docs.\nfn main() {}"));
    assert!(has_crate_doc("\n#![forbid(unsafe_code)]\n//! Docs."));
    assert!(has_crate_doc("#![doc = include_str!(\"../README.md\")]"));
    assert!(!has_crate_doc("/// Item docs.\nfn main() {}"));
    assert!(!has_crate_doc("use std::io;\n//! late"));
    assert!(uses_workspace_lints("[package]\nname = \"x\"\n\n[lints]\nworkspace = true\n"));
    assert!(uses_workspace_lints("lints.workspace = true"));
    assert!(!uses_workspace_lints("[lints]\n\n[dependencies]\nworkspace = true\n"));
    assert!(!uses_workspace_lints("[lints.rust]\nworkspace = true\n"));
    assert_eq!(rank("oci-layout"), rank("oci-distribution"));
    assert_eq!(rank("xtask"), None);
    assert_eq!(
        path_attributes("#[path = \"../../x/case.rs\"]\nmod case;\n  #[path = \"a.rs\"] mod a;"),
        ["../../x/case.rs", "a.rs"]
    );
    let m = |p: &str| p.split("::").map(str::to_owned).collect::<Vec<_>>();
    let known = [m("api"), m("api::manifests"), m("api::referrers"), m("cache")];
    let uses = module_uses(
        &m("api::referrers"),
        "use super::manifests::{a, b};\nuse crate::cache::X;\n// use super::nothing;\n#[cfg(test)]\nuse crate::api;",
        &known,
    );
    assert_eq!(uses, [m("api::manifests"), m("cache")]);
}
