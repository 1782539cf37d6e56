//! `oci serve DIR`: the embedded registry over a directory, until Ctrl-C.

use oci::registry::auth::{Auth, Htpasswd, TokenOptions};
use oci::registry::{DiskStorage, Registry, TlsConfig};

use crate::args::ServeArgs;
use crate::exit::{self, Failure};

type Result<T = ()> = std::result::Result<T, Failure>;

fn read(path: &str) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Failure::new(exit::FAILURE, format!("reading {path}: {e}")))
}

/// Serves until the process is stopped; the startup line goes to stderr.
pub(crate) async fn run(args: ServeArgs) -> Result {
    std::fs::create_dir_all(&args.dir)
        .map_err(|e| Failure::new(exit::FAILURE, format!("{}: {e}", args.dir)))?;
    let storage = DiskStorage::open(&args.dir, true).map_err(|e| Failure::of(&e))?;
    let mut builder = Registry::builder().storage(storage);
    if let Some(file) = &args.htpasswd {
        let text = String::from_utf8(read(file)?).map_err(|e| Failure::usage(format!("{file}: {e}")))?;
        let users = Htpasswd::parse(&text).map_err(|e| Failure::usage(format!("{file}: {e}")))?;
        let auth = if args.token_auth {
            Auth::bearer(users, TokenOptions::default()).map_err(|e| Failure::of(&e))?
        } else {
            Auth::basic(users)
        };
        builder = builder.auth(auth);
    }
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            builder =
                builder.tls(TlsConfig::from_pem(&read(cert)?, &read(key)?).map_err(|e| Failure::of(&e))?);
            true
        }
        _ => false,
    };
    let registry = builder.bind(args.addr.as_str()).await.map_err(|e| Failure::of(&e))?;
    let host = registry.host();
    let scheme = if tls { "https" } else { "http" };
    eprintln!(
        "oci: serving {} at {scheme}://{host} (push with: oci push oci:DIR:TAG {host}/NAME:TAG); Ctrl-C stops",
        args.dir
    );
    std::future::pending::<()>().await;
    Ok(())
}
