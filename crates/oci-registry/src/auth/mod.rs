//! Who may do what: no authentication, HTTP Basic against an htpasswd file, or bearer
//! tokens from the registry's own token endpoint (`/token`), with scopes enforced per
//! repository and action (`pull`, `push`, `delete`; `registry:catalog:*` for the
//! catalog) and a `401` that says what to ask for.
//!
//! The token code ([`jwt`], [`token`]) also serves the workspace's test token issuer
//! for distribution, so there is one implementation of tokens in the project.

mod htpasswd;
pub mod jwt;
pub mod token;

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use http::{StatusCode, header};
use oci_spec_types::ErrorCode;

pub use htpasswd::Htpasswd;
pub use jwt::{Access, Claims, Signer};
pub use token::{TokenAnswer, TokenIssuer, TokenOptions, TokenRequest};

use crate::Result;
use crate::error::ApiError;

/// How requests are authenticated.
#[derive(Debug, Default)]
#[non_exhaustive]
pub enum Auth {
    /// Every request is served.
    #[default]
    None,
    /// HTTP Basic against htpasswd users; with `anonymous_pull`, reads need no
    /// credentials.
    Basic {
        /// The users.
        users: Htpasswd,
        /// Serve `pull` requests without credentials.
        anonymous_pull: bool,
    },
    /// Bearer tokens from the registry's token endpoint `/token`, which signs them
    /// with a key made at start (anonymous pulls: `anonymous_actions = ["pull"]` in
    /// the issuer's options).
    Bearer(Box<TokenIssuer>),
}

impl Auth {
    /// Basic authentication of `users`.
    #[must_use]
    pub fn basic(users: Htpasswd) -> Self {
        Self::Basic { users, anonymous_pull: false }
    }

    /// Bearer tokens for `users`, from a new signing key.
    pub fn bearer(users: Htpasswd, options: TokenOptions) -> Result<Self> {
        Ok(Self::Bearer(Box::new(TokenIssuer::new(Signer::generate()?, users, options))))
    }
}

/// What a request needs: `(type, name, action)` per resource.
pub(crate) type Needs = Vec<(&'static str, String, &'static str)>;

/// Unix seconds now.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The scope parameter of a challenge: one `repository:<name>:<actions>` per
/// repository (or `registry:catalog:*`), space-separated.
fn scope_of(needs: &Needs) -> String {
    let mut scopes: Vec<(String, Vec<&str>)> = Vec::new();
    for (kind, name, action) in needs {
        let key = format!("{kind}:{name}");
        match scopes.iter_mut().find(|(k, _)| *k == key) {
            Some((_, actions)) if !actions.contains(action) => actions.push(action),
            Some(_) => {}
            None => scopes.push((key, vec![action])),
        }
    }
    scopes.iter().map(|(k, a)| format!("{k}:{}", a.join(","))).collect::<Vec<_>>().join(" ")
}

fn unauthorized(message: &str, challenge: String) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, ErrorCode::UNAUTHORIZED, message)
        .with_header(header::WWW_AUTHENTICATE, challenge)
}

/// Checks a request's credentials against what it needs; `realm` is the token
/// endpoint's URL as this request reached the registry.
pub(crate) fn check(
    auth: &Auth,
    authorization: Option<&str>,
    needs: &Needs,
    realm: &str,
) -> Result<(), ApiError> {
    match auth {
        Auth::None => Ok(()),
        Auth::Basic { users, anonymous_pull } => {
            let challenge = || "Basic realm=\"oci-registry\"".to_owned();
            match authorization {
                Some(value) => match token::basic_credentials(value) {
                    Some((user, password)) if users.verify(&user, &password) => Ok(()),
                    _ => Err(unauthorized("wrong username or password", challenge())),
                },
                None if *anonymous_pull
                    && !needs.is_empty()
                    && needs.iter().all(|(_, _, a)| *a == "pull") =>
                {
                    Ok(())
                }
                None => Err(unauthorized("authentication required", challenge())),
            }
        }
        Auth::Bearer(issuer) => {
            let service = &issuer.options().service;
            let scope = scope_of(needs);
            let challenge = |error: Option<&str>| {
                let mut c = format!("Bearer realm=\"{realm}\",service=\"{service}\"");
                if !scope.is_empty() {
                    let _ = write!(c, ",scope=\"{scope}\"");
                }
                if let Some(error) = error {
                    let _ = write!(c, ",error=\"{error}\"");
                }
                c
            };
            let token = authorization.and_then(|v| {
                let (scheme, token) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            });
            let Some(token) = token else {
                return Err(unauthorized("authentication required", challenge(None)));
            };
            let claims = match issuer.signer().verify(token, unix_now()) {
                Ok(claims) if claims.audience == *service => claims,
                Ok(claims) => {
                    let why = format!("the token is for service {:?}, not {service:?}", claims.audience);
                    return Err(unauthorized(&why, challenge(Some("invalid_token"))));
                }
                Err(why) => return Err(unauthorized(&why, challenge(Some("invalid_token")))),
            };
            let granted = needs
                .iter()
                .all(|(kind, name, action)| claims.access.iter().any(|a| a.grants(kind, name, action)));
            if granted {
                Ok(())
            } else {
                Err(unauthorized(
                    &format!("the token does not grant {scope}"),
                    challenge(Some("insufficient_scope")),
                ))
            }
        }
    }
}
