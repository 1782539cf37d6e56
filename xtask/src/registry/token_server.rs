//! The test token issuer: `cargo xtask token-server --port P --key FILE --cert FILE --users FILE
//! [--issuer NAME] [--service NAME] [--expires-in SECONDS]`.
//!
//! A small HTTP/1.1 server (a thread per connection, `Connection: close`) on 127.0.0.1 that
//! answers distribution's token protocol with the registry crate's issuer
//! ([`oci_registry::auth::token`]: the same code as the embedded registry's `/token`,
//! so the workspace has one implementation of tokens), enough to be a real peer for a
//! client: `GET /token` (anonymous or Basic) and `POST /token` (`OAuth2` password and
//! refresh-token grants). A signed-in user gets every action it asks for; an anonymous
//! request gets a token with an empty `access` list (so the registry answers 401
//! `insufficient_scope` to anything but `/v2/`). Tokens live `--expires-in` seconds
//! (default 300), or `expires_in` from the request when it names a positive number.
//!
//! Tokens are JWTs as distribution's token auth verifies them: header
//! `{"typ":"JWT","alg":"ES256","x5c":[<base64 DER of --cert>]}`, an ECDSA P-256
//! SHA-256 signature; the registry trusts them when `--cert` is its
//! `auth.token.rootcertbundle`.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use oci_registry::auth::{Htpasswd, Signer, TokenIssuer, TokenOptions, TokenRequest};
use serde_json::json;

use super::http::find;
use crate::Result;

const USAGE: &str = "\
usage: cargo xtask token-server --port P --key FILE --cert FILE --users FILE
                               [--issuer NAME] [--service NAME] [--expires-in SECONDS]

Serves distribution tokens on http://127.0.0.1:P/token, signed with the PKCS#8 P-256 key FILE
whose certificate FILE is the registry's rootcertbundle; users come from an htpasswd (bcrypt)
file. Defaults: --issuer oci-test-issuer --service oci-test-registry --expires-in 300.";

/// The environment variable through which xtask's unit tests pass the arguments to the
/// token server they start as a child process (see `issuer_command` in the parent module).
#[cfg(test)]
pub(crate) const CHILD_ARGS_ENV: &str = "XTASK_TOKEN_SERVER_ARGS";

/// The default lifetime of a token, in seconds.
pub const DEFAULT_EXPIRES_IN: u64 = 300;

/// The settings of the token issuer (its command-line arguments).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The loopback port to listen on.
    pub port: u16,
    /// The signing key, PKCS#8 PEM (P-256).
    pub key: PathBuf,
    /// The signing key's certificate, PEM; sent in each token's `x5c` header.
    pub cert: PathBuf,
    /// The htpasswd file (bcrypt) of the users that may sign in.
    pub users: PathBuf,
    /// The tokens' `iss`.
    pub issuer: String,
    /// The `aud` of tokens whose request names no `service`.
    pub service: String,
    /// The default lifetime of a token, in seconds.
    pub expires_in: u64,
}

impl Options {
    /// Parses the command-line arguments.
    pub fn parse(args: &[String]) -> Result<Self> {
        let mut values: HashMap<&str, &str> = HashMap::new();
        let mut args = args.iter();
        while let Some(flag) = args.next() {
            let name = match flag.as_str() {
                name @ ("--port" | "--key" | "--cert" | "--users" | "--issuer" | "--service"
                | "--expires-in") => name,
                other => return Err(format!("token-server: unknown argument `{other}`\n\n{USAGE}")),
            };
            let value = args.next().ok_or_else(|| format!("token-server: {name} needs a value"))?;
            values.insert(name, value);
        }
        let required = |name: &str| {
            values
                .get(name)
                .map(|v| (*v).to_owned())
                .ok_or_else(|| format!("token-server: {name} is required"))
        };
        let number = |name: &str, text: String| {
            text.parse::<u64>().map_err(|_| format!("token-server: {name} `{text}` is not a number"))
        };
        let port = number("--port", required("--port")?)?;
        Ok(Self {
            port: u16::try_from(port).map_err(|_| format!("token-server: --port {port} is out of range"))?,
            key: required("--key")?.into(),
            cert: required("--cert")?.into(),
            users: required("--users")?.into(),
            issuer: required("--issuer").unwrap_or_else(|_| super::ISSUER.to_owned()),
            service: required("--service").unwrap_or_else(|_| super::SERVICE.to_owned()),
            expires_in: match values.get("--expires-in") {
                Some(text) => number("--expires-in", (*text).to_owned())?,
                None => DEFAULT_EXPIRES_IN,
            },
        })
    }

    /// The command-line arguments that [`Options::parse`] turns back into these options.
    #[must_use]
    pub fn to_args(&self) -> Vec<String> {
        [
            ("--port", self.port.to_string()),
            ("--key", self.key.to_string_lossy().into_owned()),
            ("--cert", self.cert.to_string_lossy().into_owned()),
            ("--users", self.users.to_string_lossy().into_owned()),
            ("--issuer", self.issuer.clone()),
            ("--service", self.service.clone()),
            ("--expires-in", self.expires_in.to_string()),
        ]
        .into_iter()
        .flat_map(|(flag, value)| [flag.to_owned(), value])
        .collect()
    }
}

/// Entry point of `cargo xtask token-server`: serves until the process is killed.
pub fn main(args: &[String]) -> Result<bool> {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return Ok(true);
    }
    let options = Options::parse(args)?;
    let issuer = Arc::new(Issuer::load(&options)?);
    let listener = TcpListener::bind(("127.0.0.1", options.port))
        .map_err(|e| format!("token-server: binding 127.0.0.1:{}: {e}", options.port))?;
    eprintln!("token issuer `{}` listening on http://127.0.0.1:{}/token", options.issuer, options.port);
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                let issuer = Arc::clone(&issuer);
                std::thread::spawn(move || issuer.handle_connection(stream));
            }
            Err(e) => eprintln!("token-server: accepting a connection: {e}"),
        }
    }
    Ok(true)
}

/// One parsed request.
#[derive(Debug, Default)]
struct Request {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// One answer: status, extra headers and a JSON body.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: serde_json::Value,
}

impl Reply {
    fn error(status: u16, code: &str, message: &str) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: json!({ "errors": [{ "code": code, "message": message }] }),
        }
    }
}

/// The issuer: the registry crate's token protocol ([`TokenIssuer`]) behind this
/// process's HTTP/1.1 loop.
#[derive(Debug)]
struct Issuer {
    inner: TokenIssuer,
}

impl Issuer {
    fn load(options: &Options) -> Result<Self> {
        let read = |path: &PathBuf| {
            std::fs::read_to_string(path)
                .map_err(|e| format!("token-server: reading {}: {e}", path.display()))
        };
        let signer =
            Signer::from_pem(&read(&options.key)?, &read(&options.cert)?).map_err(|e| e.to_string())?;
        let users = Htpasswd::parse(&read(&options.users)?).map_err(|e| e.to_string())?;
        let token_options = TokenOptions {
            issuer: options.issuer.clone(),
            service: options.service.clone(),
            expires_in: options.expires_in,
            anonymous_actions: Vec::new(),
        };
        Ok(Self { inner: TokenIssuer::new(signer, users, token_options) })
    }

    fn handle_connection(&self, mut stream: TcpStream) {
        let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
        let reply = match read_request(&mut stream) {
            Ok(request) => {
                let reply = self.route(&request, unix_now());
                eprintln!("{} {}?{} -> {}", request.method, request.path, request.query, reply.status);
                reply
            }
            Err(e) => Reply::error(400, "BAD_REQUEST", &e),
        };
        let body = reply.body.to_string();
        let mut head = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
            reply.status,
            reason(reply.status),
            body.len()
        );
        for (name, value) in &reply.headers {
            let _ = write!(head, "{name}: {value}\r\n");
        }
        head.push_str("\r\n");
        let _ = stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(body.as_bytes()));
    }

    fn route(&self, request: &Request, now: u64) -> Reply {
        if request.path != "/token" {
            return Reply::error(404, "NOT_FOUND", "the token endpoint is /token");
        }
        let answer = self.inner.answer(
            &TokenRequest {
                method: &request.method,
                query: &request.query,
                authorization: request.header("Authorization"),
                content_type: request.header("Content-Type"),
                body: &request.body,
            },
            now,
        );
        Reply { status: answer.status, headers: answer.headers, body: answer.body }
    }
}

/// Reads one request (head up to 64 KiB, body by `Content-Length` up to 1 MiB).
fn read_request(stream: &mut TcpStream) -> Result<Request> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = find(&data, b"\r\n\r\n") {
            break end;
        }
        if data.len() > 64 * 1024 {
            return Err("request header too large".into());
        }
        let n = stream.read(&mut buf).map_err(|e| format!("reading the request: {e}"))?;
        if n == 0 {
            return Err("connection closed before the end of the request header".into());
        }
        data.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let (Some(method), Some(target)) = (request_line.next(), request_line.next()) else {
        return Err("malformed request line".into());
    };
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut request = Request {
        method: method.to_owned(),
        path: path.to_owned(),
        query: query.to_owned(),
        headers,
        body: data[head_end + 4..].to_vec(),
    };
    let length = request.header("Content-Length").map_or(Ok(0), str::parse::<usize>);
    let length = length.map_err(|_| "bad Content-Length".to_owned())?;
    if length > 1024 * 1024 {
        return Err("request body too large".into());
    }
    while request.body.len() < length {
        let n = stream.read(&mut buf).map_err(|e| format!("reading the request body: {e}"))?;
        if n == 0 {
            return Err("connection closed before the end of the request body".into());
        }
        request.body.extend_from_slice(&buf[..n]);
    }
    request.body.truncate(length);
    Ok(request)
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Internal Server Error",
    }
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
#[path = "token_server_tests.rs"]
mod tests;
