//! Converts an image layout between a directory and a tar archive, streaming, with
//! every digest unchanged.
//!
//! ```text
//! cargo run -p oci-layout --example convert -- SRC DST
//! ```
//!
//! A directory `SRC` becomes the archive `DST` (deterministic: the same layout always
//! gives the same bytes; an existing `DST` is replaced only once the new one is
//! complete). An archive `SRC` becomes the new layout directory `DST` (every blob
//! verified as it is written). Exits with 1 on failure, 2 on bad usage.

use std::path::Path;
use std::process::ExitCode;

use oci_layout::{Layout, Tar};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [src, dst] = args.as_slice() else {
        eprintln!("usage: convert SRC DST   (a layout directory to a tar archive, or the other way)");
        return ExitCode::from(2);
    };
    match convert(Path::new(src), Path::new(dst)) {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn convert(src: &Path, dst: &Path) -> oci_layout::Result<String> {
    let source = Layout::open_path(src)?;
    let blobs = source.driver().list_blobs()?.blobs.len();
    if src.is_dir() {
        Tar::export(&source, dst)?;
        Ok(format!("{} (directory) -> {} (tar): {blobs} blobs", src.display(), dst.display()))
    } else {
        let target = Layout::init_dir(dst)?;
        source.copy_to(&target)?;
        Ok(format!("{} (tar) -> {} (directory): {blobs} blobs", src.display(), dst.display()))
    }
}
