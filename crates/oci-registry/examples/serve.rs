//! Serves a directory of OCI image layouts as a registry, until Ctrl-C; a layout tar
//! (`oci-archive`) is served read-only as the repository named after the file.
//!
//! ```text
//! cargo run -p oci-registry --example serve -- DIR|FILE.tar [--addr 127.0.0.1:5000]
//! ```

use oci_registry::{DiskStorage, ReadOnlyLayout, Registry};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut dir = None;
    let mut addr = "127.0.0.1:5000".to_owned();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => addr = args.next().ok_or("--addr needs HOST:PORT")?,
            "-h" | "--help" => {
                println!("usage: serve DIR [--addr HOST:PORT]");
                return Ok(());
            }
            _ if dir.is_none() => dir = Some(arg),
            _ => return Err(format!("unexpected argument {arg:?}").into()),
        }
    }
    let dir = dir.ok_or("usage: serve DIR [--addr HOST:PORT]")?;
    let builder = Registry::builder().access_log(true);
    let path = std::path::Path::new(&dir);
    let builder = if path.is_file() {
        let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or("archive").to_ascii_lowercase();
        builder.storage(ReadOnlyLayout::open(path, &name)?)
    } else {
        builder.storage(DiskStorage::open(path, true)?)
    };
    let registry = builder.bind(addr.as_str()).await?;
    println!(
        "serving {dir} at {} (try: skopeo copy --dest-tls-verify=false oci:LAYOUT:TAG docker://{}/REPO:TAG)",
        registry.url(),
        registry.host()
    );
    tokio::signal::ctrl_c().await?;
    registry.shutdown().await;
    Ok(())
}
