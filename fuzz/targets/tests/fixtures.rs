//! Replays every seed (`fuzz/seeds/<target>/`) and every crash the fuzzers found
//! (`fuzz/fixtures/<target>/`) through its target: a crash once found stays fixed.

use std::path::{Path, PathBuf};

fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<_> =
        entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file()).collect();
    files.sort();
    files
}

#[test]
fn every_seed_and_fixture_passes_its_target() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut seeds = 0;
    for target in oci_fuzz::TARGETS {
        let own_seeds = inputs(&fuzz.join("seeds").join(target.name));
        assert!(!own_seeds.is_empty(), "{}: no seeds in fuzz/seeds/{}", target.name, target.name);
        seeds += own_seeds.len();
        for input in own_seeds.iter().chain(&inputs(&fuzz.join("fixtures").join(target.name))) {
            let data = std::fs::read(input).expect("reading an input");
            let outcome = std::panic::catch_unwind(|| (target.run)(&data));
            assert!(outcome.is_ok(), "{}: {} fails", target.name, input.display());
        }
    }
    assert!(seeds >= oci_fuzz::TARGETS.len());
}
