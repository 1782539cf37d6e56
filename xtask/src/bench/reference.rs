//! `cargo xtask bench reference [--corpus FILE]`: normalized parsing of a corpus of
//! references, in nanoseconds per parse, and the peak memory of the process.
//!
//! The default corpus is 1000 mixed references from a fixed-seed generator: familiar
//! names and fully qualified ones, Docker Hub, other registries with and without ports,
//! IPv6 hosts, tags, sha256 and sha512 digests. A `--corpus` file has one reference per
//! line (blank lines ignored); invalid ones are parsed too (and counted as rejected).
//! The figures only mean something in a release build.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use oci_reference::Reference;
use oci_test_support::fixtures::Rng;

use super::peak_memory_kib;

/// How many references the default corpus has.
const DEFAULT_CORPUS_LEN: usize = 1000;
/// The least time measured.
const MIN_DURATION: Duration = Duration::from_secs(1);
/// The least number of timed samples.
const MIN_SAMPLES: usize = 20;

/// Parses the corpus (`corpus`, or the generated default) many times in normalized
/// form and prints `bench reference-parse: X ns/parse` with the peak memory.
pub fn run(corpus: Option<&Path>) -> Result<(), String> {
    let references = match corpus {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect()
        }
        None => generate(DEFAULT_CORPUS_LEN),
    };
    let count =
        u32::try_from(references.len()).map_err(|_| "the corpus has too many references".to_owned())?;
    if count == 0 {
        return Err("the corpus is empty".to_owned());
    }
    let rejected = references.iter().filter(|r| Reference::parse(r).is_err()).count();

    // Warm up, then time samples of whole passes (at least 1000 parses each) until both
    // minimums are reached. The figure is the median sample, which other processes on
    // the machine disturb the least.
    parse_all(&references);
    let passes_per_sample = (1000 / count).max(1);
    let start = Instant::now();
    let mut samples = Vec::with_capacity(1 << 14);
    while samples.len() < MIN_SAMPLES || start.elapsed() < MIN_DURATION {
        let sample = Instant::now();
        for _ in 0..passes_per_sample {
            parse_all(&references);
        }
        samples.push(sample.elapsed());
    }
    let sample_parses = f64::from(passes_per_sample) * f64::from(count);
    let total_samples = u32::try_from(samples.len()).unwrap_or(u32::MAX);
    let mean = start.elapsed().as_secs_f64() * 1e9 / (f64::from(total_samples) * sample_parses);
    samples.sort_unstable();
    let ns_per_parse = samples[samples.len() / 2].as_secs_f64() * 1e9 / sample_parses;

    let peak = peak_memory_kib()
        .map_or_else(|| "unknown".to_owned(), |kib| format!("{:.1} MiB", f64::from(kib) / 1024.0));
    let build = if cfg!(debug_assertions) { "; debug build, not representative" } else { "" };
    println!(
        "bench reference-parse: {ns_per_parse:.1} ns/parse (median of {total_samples} samples, mean {mean:.1}; {count} references, {rejected} rejected; peak memory {peak}{build})"
    );
    Ok(())
}

/// One pass: every reference parsed in normalized form.
fn parse_all(references: &[String]) {
    for r in references {
        let _ = black_box(Reference::parse(black_box(r)));
    }
}

/// `len` mixed, valid references, the same on every run.
fn generate(len: usize) -> Vec<String> {
    const REGISTRIES: &[&str] = &[
        "",
        "",
        "",
        "docker.io/",
        "index.docker.io/",
        "ghcr.io/",
        "quay.io/",
        "registry.example.com:5000/",
        "localhost:5000/",
        "localhost/",
        "192.168.1.10:8443/",
        "[2001:db8::1]:5000/",
        "[::1]/",
        "us-docker.pkg.dev/",
    ];
    const COMPONENTS: &[&str] = &[
        "library",
        "nginx",
        "redis",
        "my-org",
        "team_a",
        "app.v2",
        "api__svc",
        "frontend",
        "ubuntu",
        "db",
        "ml-models",
        "x",
    ];
    const TAGS: &[&str] = &["latest", "1.27", "v2.3.4-rc.1", "stable_2024", "8.0-alpine", "sha-4f2a9c1"];
    let mut rng = Rng::from_u64(0x9e37_79b9_7f4a_7c15);
    (0..len)
        .map(|_| {
            let mut r = rng.pick(REGISTRIES).to_owned();
            let components = 1 + rng.below(3);
            let path: Vec<&str> = (0..components).map(|_| rng.pick(COMPONENTS)).collect();
            r.push_str(&path.join("/"));
            let (tag, digest) = match rng.below(10) {
                0..=3 => (true, false),
                4..=5 => (false, true),
                6 => (true, true),
                _ => (false, false),
            };
            if tag {
                r.push(':');
                r.push_str(rng.pick(TAGS));
            }
            if digest {
                if rng.below(4) == 0 {
                    r.push_str("@sha512:");
                    r.push_str(&rng.hex(128));
                } else {
                    r.push_str("@sha256:");
                    r.push_str(&rng.hex(64));
                }
            }
            r
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_corpus_is_mixed_valid_and_stable() {
        let corpus = generate(DEFAULT_CORPUS_LEN);
        assert_eq!(corpus, generate(DEFAULT_CORPUS_LEN));
        assert!(corpus.iter().all(|r| Reference::parse(r).is_ok()));
        for needle in ["[2001:db8::1]:5000/", ":5000/", "@sha256:", "@sha512:", ":latest"] {
            assert!(corpus.iter().any(|r| r.contains(needle)), "{needle}");
        }
        assert!(corpus.iter().any(|r| !r.contains('/')), "familiar names");
    }
}
