//! The token protocol of distribution's token auth, as an issuer answers it:
//!
//! - `GET /token?service=S&scope=T:N:A&scope=...[&account=U][&offline_token=true]`,
//!   anonymous or with `Authorization: Basic` of an htpasswd user (`account` is
//!   ignored: the token is for the signed-in user);
//! - `POST /token` (`OAuth2`, `application/x-www-form-urlencoded`) with
//!   `grant_type=password` (`username`, `password`) or `grant_type=refresh_token`
//!   (`refresh_token`), plus `client_id` (required), `service`, `scope`
//!   (space-separated) and `access_type=offline` for a refresh token.
//!
//! Answers are JSON `{"token", "access_token", "expires_in", "issued_at"
//! [, "refresh_token"]}` (`POST` adds `scope`). A signed-in user gets every action it
//! asks for; an anonymous request gets only the actions of
//! [`TokenOptions::anonymous_actions`] (none by default: a valid token that grants
//! nothing). Wrong credentials or an unknown refresh token get 401. Tokens live
//! [`TokenOptions::expires_in`] seconds, or the request's positive `expires_in`, so
//! clients can test expiry.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use base64::Engine as _;
use serde_json::json;

use super::htpasswd::Htpasswd;
use super::jwt::{Access, Claims, Signer, random_hex, rfc3339};

/// How an issuer fills its tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenOptions {
    /// The tokens' `iss`.
    pub issuer: String,
    /// The `aud` of tokens whose request names no `service`.
    pub service: String,
    /// The default lifetime of a token, in seconds.
    pub expires_in: u64,
    /// What an anonymous request may get on a repository (`["pull"]` for anonymous
    /// pulls).
    pub anonymous_actions: Vec<String>,
}

impl Default for TokenOptions {
    fn default() -> Self {
        Self {
            issuer: "oci-registry".to_owned(),
            service: "oci-registry".to_owned(),
            expires_in: 300,
            anonymous_actions: Vec::new(),
        }
    }
}

/// A request to the token endpoint, from whatever server received it.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokenRequest<'a> {
    /// `GET` or `POST`.
    pub method: &'a str,
    /// The query string, without `?`.
    pub query: &'a str,
    /// The `Authorization` header.
    pub authorization: Option<&'a str>,
    /// The `Content-Type` header.
    pub content_type: Option<&'a str>,
    /// The body.
    pub body: &'a [u8],
}

/// The issuer's answer: status, extra headers, JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenAnswer {
    /// The HTTP status.
    pub status: u16,
    /// Headers besides `Content-Type: application/json`.
    pub headers: Vec<(&'static str, String)>,
    /// The body.
    pub body: serde_json::Value,
}

impl TokenAnswer {
    fn ok(body: serde_json::Value) -> Self {
        Self { status: 200, headers: Vec::new(), body }
    }

    fn error(status: u16, code: &str, message: &str) -> Self {
        let mut answer = Self {
            status,
            headers: Vec::new(),
            body: json!({
                "error": code.to_ascii_lowercase(),
                "error_description": message,
                "errors": [{ "code": code, "message": message }],
            }),
        };
        if status == 401 {
            answer.headers.push(("WWW-Authenticate", "Basic realm=\"token\"".to_owned()));
        }
        answer
    }
}

/// Issues tokens: signer, users, and the refresh tokens it handed out.
#[derive(Debug)]
pub struct TokenIssuer {
    options: TokenOptions,
    signer: Signer,
    users: Htpasswd,
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

impl TokenIssuer {
    /// An issuer signing with `signer` for the users of `users`.
    #[must_use]
    pub fn new(signer: Signer, users: Htpasswd, options: TokenOptions) -> Self {
        Self { options, signer, users, refresh_tokens: Mutex::new(HashMap::new()) }
    }

    /// Its signer (which also checks its tokens).
    #[must_use]
    pub fn signer(&self) -> &Signer {
        &self.signer
    }

    /// Its settings.
    #[must_use]
    pub fn options(&self) -> &TokenOptions {
        &self.options
    }

    /// Its users.
    #[must_use]
    pub fn users(&self) -> &Htpasswd {
        &self.users
    }

    /// Answers a request to the token endpoint at `now` (Unix seconds).
    #[must_use]
    pub fn answer(&self, request: &TokenRequest<'_>, now: u64) -> TokenAnswer {
        match request.method {
            "GET" => self.get_token(request, now),
            "POST" => self.post_token(request, now),
            _ => TokenAnswer::error(405, "UNSUPPORTED", "use GET or POST"),
        }
    }

    fn get_token(&self, request: &TokenRequest<'_>, now: u64) -> TokenAnswer {
        let params = parse_form(request.query);
        let user = match request.authorization {
            None => None,
            Some(value) => match self.basic_user(value) {
                Ok(user) => Some(user),
                Err(answer) => return answer,
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

    fn post_token(&self, request: &TokenRequest<'_>, now: u64) -> TokenAnswer {
        if !request.content_type.unwrap_or_default().starts_with("application/x-www-form-urlencoded") {
            return TokenAnswer::error(
                400,
                "INVALID_REQUEST",
                "expected an application/x-www-form-urlencoded body",
            );
        }
        let body = String::from_utf8_lossy(request.body);
        let params = parse_form(&body);
        if param(&params, "client_id").is_none_or(str::is_empty) {
            return TokenAnswer::error(400, "INVALID_REQUEST", "client_id is required");
        }
        let (user, refresh_token) = match param(&params, "grant_type") {
            Some("password") => {
                let (Some(username), Some(password)) =
                    (param(&params, "username"), param(&params, "password"))
                else {
                    return TokenAnswer::error(
                        400,
                        "INVALID_REQUEST",
                        "the password grant needs username and password",
                    );
                };
                if !self.users.verify(username, password) {
                    return TokenAnswer::error(401, "UNAUTHORIZED", "wrong username or password");
                }
                let offline = param(&params, "access_type") == Some("offline");
                (username.to_owned(), if offline { self.remember(Some(username)) } else { None })
            }
            Some("refresh_token") => {
                let token = param(&params, "refresh_token").unwrap_or_default();
                let known =
                    self.refresh_tokens.lock().unwrap_or_else(PoisonError::into_inner).get(token).cloned();
                match known {
                    Some(user) => (user, Some(token.to_owned())),
                    None => return TokenAnswer::error(401, "UNAUTHORIZED", "unknown refresh token"),
                }
            }
            Some(other) => {
                return TokenAnswer::error(
                    400,
                    "UNSUPPORTED_GRANT_TYPE",
                    &format!("grant_type `{other}` is not supported"),
                );
            }
            None => return TokenAnswer::error(400, "INVALID_REQUEST", "grant_type is required"),
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

    /// The user of a valid `Authorization: Basic` header, or the 401/400 answer.
    fn basic_user(&self, header: &str) -> Result<String, TokenAnswer> {
        let scheme = header.split_once(' ').map_or(header, |(scheme, _)| scheme);
        if !scheme.eq_ignore_ascii_case("basic") {
            return Err(TokenAnswer::error(401, "UNAUTHORIZED", "only Basic credentials are accepted here"));
        }
        let Some((user, password)) = basic_credentials(header) else {
            return Err(TokenAnswer::error(400, "INVALID_REQUEST", "malformed Basic credentials"));
        };
        if self.users.verify(&user, &password) {
            Ok(user)
        } else {
            Err(TokenAnswer::error(401, "UNAUTHORIZED", "wrong username or password"))
        }
    }

    /// A new refresh token for `user`, remembered for later refresh grants.
    fn remember(&self, user: Option<&str>) -> Option<String> {
        let token = random_hex(24).ok()?;
        self.refresh_tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(token.clone(), user?.to_owned());
        Some(token)
    }

    fn issue(&self, grant: &Grant<'_>, now: u64, oauth: bool) -> TokenAnswer {
        let scopes: Vec<&str> = grant.scopes.iter().copied().filter(|s| !s.is_empty()).collect();
        let mut access = Vec::new();
        for scope in &scopes {
            match Access::parse(scope) {
                Some(entry) => access.push(entry),
                None => {
                    return TokenAnswer::error(400, "INVALID_REQUEST", &format!("malformed scope `{scope}`"));
                }
            }
        }
        if grant.user.is_none() {
            let allowed = &self.options.anonymous_actions;
            access.retain_mut(|a| {
                a.actions.retain(|action| a.kind == "repository" && allowed.contains(action));
                !a.actions.is_empty()
            });
        }
        let expires_in = grant
            .expires_in
            .and_then(|text| text.parse::<u64>().ok())
            .filter(|n| *n > 0)
            .unwrap_or(self.options.expires_in);
        let claims = Claims {
            issuer: self.options.issuer.clone(),
            subject: grant.user.clone().unwrap_or_default(),
            audience: grant.service.filter(|s| !s.is_empty()).unwrap_or(&self.options.service).to_owned(),
            issued_at: now,
            expires_in,
            access,
        };
        let token = match self.signer.sign(&claims) {
            Ok(token) => token,
            Err(e) => return TokenAnswer::error(500, "INTERNAL", &e.to_string()),
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
        TokenAnswer::ok(body)
    }
}

/// `(user, password)` of an `Authorization: Basic` value.
pub(crate) fn basic_credentials(header: &str) -> Option<(String, String)> {
    let (scheme, credentials) = header.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD.decode(credentials.trim()).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// The first value of `name` in decoded form parameters.
fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Decodes `application/x-www-form-urlencoded` (also used for query strings): `+` is a
/// space here, as forms write it.
fn parse_form(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| crate::api::percent_decode(&s.replace('+', " "));
            (decode(k), decode(v))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_are_percent_decoded() {
        assert_eq!(
            parse_form("a=b%3Ac&scope=x+y&plus=%2B&empty=&flag&bad=%zz%4"),
            [("a", "b:c"), ("scope", "x y"), ("plus", "+"), ("empty", ""), ("flag", ""), ("bad", "%zz%4")]
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
    }

    #[test]
    fn basic_credentials_are_read_from_the_header() {
        assert_eq!(basic_credentials("Basic YTpiOmM="), Some(("a".to_owned(), "b:c".to_owned())));
        assert_eq!(basic_credentials("basic YTpi"), Some(("a".to_owned(), "b".to_owned())));
        assert_eq!(basic_credentials("Bearer YTpi"), None);
        assert_eq!(basic_credentials("Basic !!!"), None);
    }
}
