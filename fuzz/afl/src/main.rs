//! One binary for every target of `oci-fuzz`: `oci-fuzz-afl TARGET`, input on stdin or
//! in AFL++'s shared memory (persistent mode).

fn main() {
    let name = std::env::args().nth(1).unwrap_or_default();
    let Some(target) = oci_fuzz::target(&name) else {
        let names: Vec<_> = oci_fuzz::TARGETS.iter().map(|t| t.name).collect();
        eprintln!("usage: oci-fuzz-afl TARGET, one of {}", names.join(", "));
        std::process::exit(2);
    };
    afl::fuzz!(|data: &[u8]| (target.run)(data));
}
