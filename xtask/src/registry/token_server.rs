//! The test token issuer: `cargo xtask token-server --port P --key FILE --cert FILE --users FILE
//! [--issuer NAME] [--service NAME] [--expires-in SECONDS]`.
//!
//! A small HTTP/1.1 server (a thread per connection, `Connection: close`) on 127.0.0.1 that
//! implements distribution's token protocol, enough to be a real peer for a client:
//!
//! - `GET /token?service=S&scope=T:N:A&scope=...[&account=U][&offline_token=true][&client_id=C]`,
//!   anonymous or with `Authorization: Basic` of a user of the htpasswd `--users` file
//!   (`account` is accepted and ignored: the token is for the signed-in user);
//! - `POST /token` (`OAuth2`, `application/x-www-form-urlencoded`) with `grant_type=password`
//!   (`username`, `password`) or `grant_type=refresh_token` (`refresh_token`), plus
//!   `client_id` (required), `service`, `scope` (space-separated) and `access_type=offline`
//!   to get a refresh token with a password grant.
//!
//! Answers are JSON `{"token", "access_token", "expires_in", "issued_at"[, "refresh_token"]}`
//! (`POST` adds `scope`). A signed-in user gets every action it asks for on any resource;
//! an anonymous request gets a token with an empty `access` list (so the registry answers
//! 401 `insufficient_scope` to anything but `/v2/`); wrong credentials or an unknown refresh
//! token get 401. Refresh tokens are opaque random strings remembered by the process;
//! `offline_token=true` on `GET` also returns one. Tokens live `--expires-in` seconds
//! (default 300), or `expires_in` from the request when it names a positive number, so
//! clients can test expiry.
//!
//! Tokens are JWTs as distribution's token auth verifies them: header
//! `{"typ":"JWT","alg":"ES256","x5c":[<base64 DER of --cert>]}`, claims `{iss, sub, aud, exp,
//! nbf, iat, jti, access:[{type, name, actions}]}`, an ECDSA P-256 SHA-256 signature as raw
//! `r || s`. The registry trusts them when `--cert` is its `auth.token.rootcertbundle`.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use serde_json::json;

use super::htpasswd::{Users, random_hex};
use super::http::find;
use super::jwt::{Access, Claims, Signer, rfc3339};
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
    fn ok(body: serde_json::Value) -> Self {
        Self { status: 200, headers: Vec::new(), body }
    }

    fn error(status: u16, code: &str, message: &str) -> Self {
        let mut reply = Self {
            status,
            headers: Vec::new(),
            body: json!({
                "error": code.to_ascii_lowercase(),
                "error_description": message,
                "errors": [{ "code": code, "message": message }],
            }),
        };
        if status == 401 {
            reply.headers.push(("WWW-Authenticate", "Basic realm=\"oci-test-issuer\"".to_owned()));
        }
        reply
    }
}

/// The issuer's state: signer, users and the refresh tokens it handed out.
#[derive(Debug)]
struct Issuer {
    options: Options,
    signer: Signer,
    users: Users,
    refresh_tokens: Mutex<HashMap<String, String>>,
}

/// A request for a token, from either form of the protocol.
struct Grant<'a> {
    user: Option<String>,
    service: Option<&'a str>,
    scopes: Vec<&'a str>,
    expires_in: Option<&'a str>,
    refresh_token: Option<String>,
}

impl Issuer {
    fn load(options: &Options) -> Result<Self> {
        let read = |path: &PathBuf| {
            std::fs::read_to_string(path)
                .map_err(|e| format!("token-server: reading {}: {e}", path.display()))
        };
        Ok(Self {
            signer: Signer::from_pem(&read(&options.key)?, &read(&options.cert)?)?,
            users: Users::parse(&read(&options.users)?)?,
            options: options.clone(),
            refresh_tokens: Mutex::new(HashMap::new()),
        })
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
        match (request.method.as_str(), request.path.as_str()) {
            ("GET", "/token") => self.get_token(request, now),
            ("POST", "/token") => self.post_token(request, now),
            (_, "/token") => Reply::error(405, "UNSUPPORTED", "use GET or POST"),
            _ => Reply::error(404, "NOT_FOUND", "the token endpoint is /token"),
        }
    }

    fn get_token(&self, request: &Request, now: u64) -> Reply {
        let params = parse_form(&request.query);
        let user = match request.header("Authorization") {
            None => None,
            Some(value) => match self.basic_user(value) {
                Ok(user) => Some(user),
                Err(reply) => return reply,
            },
        };
        let offline = params.iter().any(|(k, v)| k == "offline_token" && v == "true");
        let grant = Grant {
            refresh_token: (offline && user.is_some()).then(|| self.remember(user.as_deref())).flatten(),
            user,
            service: param(&params, "service"),
            scopes: params.iter().filter(|(k, _)| k == "scope").flat_map(|(_, v)| v.split(' ')).collect(),
            expires_in: param(&params, "expires_in"),
        };
        self.issue(&grant, now, false)
    }

    fn post_token(&self, request: &Request, now: u64) -> Reply {
        let content_type = request.header("Content-Type").unwrap_or_default();
        if !content_type.starts_with("application/x-www-form-urlencoded") {
            return Reply::error(
                400,
                "INVALID_REQUEST",
                "expected an application/x-www-form-urlencoded body",
            );
        }
        let body = String::from_utf8_lossy(&request.body);
        let params = parse_form(&body);
        if param(&params, "client_id").is_none_or(str::is_empty) {
            return Reply::error(400, "INVALID_REQUEST", "client_id is required");
        }
        let (user, refresh_token) = match param(&params, "grant_type") {
            Some("password") => {
                let (Some(username), Some(password)) =
                    (param(&params, "username"), param(&params, "password"))
                else {
                    return Reply::error(
                        400,
                        "INVALID_REQUEST",
                        "the password grant needs username and password",
                    );
                };
                if !self.users.verify(username, password) {
                    return Reply::error(401, "UNAUTHORIZED", "wrong username or password");
                }
                let offline = param(&params, "access_type") == Some("offline");
                (username.to_owned(), if offline { self.remember(Some(username)) } else { None })
            }
            Some("refresh_token") => {
                let token = param(&params, "refresh_token").unwrap_or_default();
                let known = self.refresh_tokens.lock().ok().and_then(|tokens| tokens.get(token).cloned());
                match known {
                    Some(user) => (user, Some(token.to_owned())),
                    None => return Reply::error(401, "UNAUTHORIZED", "unknown refresh token"),
                }
            }
            Some(other) => {
                return Reply::error(
                    400,
                    "UNSUPPORTED_GRANT_TYPE",
                    &format!("grant_type `{other}` is not supported"),
                );
            }
            None => return Reply::error(400, "INVALID_REQUEST", "grant_type is required"),
        };
        let grant = Grant {
            user: Some(user),
            service: param(&params, "service"),
            scopes: params.iter().filter(|(k, _)| k == "scope").flat_map(|(_, v)| v.split(' ')).collect(),
            expires_in: param(&params, "expires_in"),
            refresh_token,
        };
        self.issue(&grant, now, true)
    }

    /// The user of a valid `Authorization: Basic` header, or the 401/400 reply.
    fn basic_user(&self, header: &str) -> std::result::Result<String, Reply> {
        let (scheme, credentials) = header.split_once(' ').unwrap_or((header, ""));
        if !scheme.eq_ignore_ascii_case("basic") {
            return Err(Reply::error(401, "UNAUTHORIZED", "only Basic credentials are accepted here"));
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(credentials.trim())
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok());
        let Some((user, password)) = decoded.as_deref().and_then(|text| text.split_once(':')) else {
            return Err(Reply::error(400, "INVALID_REQUEST", "malformed Basic credentials"));
        };
        if self.users.verify(user, password) {
            Ok(user.to_owned())
        } else {
            Err(Reply::error(401, "UNAUTHORIZED", "wrong username or password"))
        }
    }

    /// A new refresh token for `user`, remembered for later refresh grants.
    fn remember(&self, user: Option<&str>) -> Option<String> {
        let token = random_hex(24).ok()?;
        self.refresh_tokens.lock().ok()?.insert(token.clone(), user?.to_owned());
        Some(token)
    }

    fn issue(&self, grant: &Grant<'_>, now: u64, oauth: bool) -> Reply {
        let scopes: Vec<&str> = grant.scopes.iter().copied().filter(|s| !s.is_empty()).collect();
        let mut access = Vec::new();
        for scope in &scopes {
            match Access::parse(scope) {
                Some(entry) => access.push(entry),
                None => return Reply::error(400, "INVALID_REQUEST", &format!("malformed scope `{scope}`")),
            }
        }
        if grant.user.is_none() {
            access.clear(); // anonymous: a valid token that grants nothing
        }
        let expires_in = grant
            .expires_in
            .and_then(|text| text.parse::<u64>().ok())
            .filter(|n| *n > 0)
            .unwrap_or(self.options.expires_in);
        let claims = Claims {
            issuer: &self.options.issuer,
            subject: grant.user.as_deref().unwrap_or_default(),
            audience: grant.service.filter(|s| !s.is_empty()).unwrap_or(&self.options.service),
            issued_at: now,
            expires_in,
            access: &access,
        };
        let token = match self.signer.sign(&claims) {
            Ok(token) => token,
            Err(e) => return Reply::error(500, "INTERNAL", &e),
        };
        let mut body = json!({
            "token": token,
            "access_token": token,
            "expires_in": expires_in,
            "issued_at": rfc3339(now),
        });
        if let Some(refresh_token) = &grant.refresh_token {
            body["refresh_token"] = json!(refresh_token);
        }
        if oauth {
            body["scope"] = json!(scopes.join(" "));
        }
        Reply::ok(body)
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

/// The first value of `name` in decoded form parameters.
fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Decodes `application/x-www-form-urlencoded` (also used for query strings).
fn parse_form(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(byte) => {
                        out.push(byte);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
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
