//! The distribution-spec endpoints: a request's path is matched to a [`Route`], its
//! repository name and digests checked, and the route's handler answers.

mod blobs;
mod lists;
mod manifests;
mod token;
mod upload;

use std::sync::Arc;

use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use oci_spec_types::Digest;

use crate::auth::Needs;
use crate::body::Body;
use crate::error::ApiError;
use crate::state::State;

/// Components a repository name cannot have below its first one: they are the files
/// and directories of the image layout one level up.
const RESERVED_COMPONENTS: [&str; 3] = ["blobs", "oci-layout", "index.json"];

/// The endpoint a path names.
#[derive(Debug, PartialEq, Eq)]
enum Route<'a> {
    Base,
    Catalog,
    Tags {
        name: &'a str,
    },
    Manifest {
        name: &'a str,
        reference: &'a str,
    },
    Blob {
        name: &'a str,
        digest: &'a str,
    },
    Uploads {
        name: &'a str,
    },
    Upload {
        name: &'a str,
        id: &'a str,
    },
    Referrers {
        name: &'a str,
        digest: &'a str,
    },
    /// The token endpoint, when the registry issues bearer tokens.
    Token,
}

/// Matches a path; `None` when it is no endpoint. The name is not checked yet.
/// The kind of `path`, for fault rules.
#[cfg(feature = "faults")]
pub(crate) fn path_kind(method: &http::Method, path: &str) -> Option<crate::faults::PathKind> {
    use crate::faults::PathKind;
    let _ = method;
    Some(match route(path)? {
        Route::Base => PathKind::Base,
        Route::Catalog => PathKind::Catalog,
        Route::Tags { .. } => PathKind::Tags,
        Route::Manifest { .. } => PathKind::Manifest,
        Route::Blob { .. } => PathKind::Blob,
        Route::Uploads { .. } => PathKind::UploadStart,
        Route::Upload { .. } => PathKind::Upload,
        Route::Referrers { .. } => PathKind::Referrers,
        Route::Token => PathKind::Token,
    })
}

fn route(path: &str) -> Option<Route<'_>> {
    if path == "/token" {
        return Some(Route::Token);
    }
    let rest = path.strip_prefix("/v2")?;
    if rest.is_empty() || rest == "/" {
        return Some(Route::Base);
    }
    let rest = rest.strip_prefix('/')?;
    if rest == "_catalog" {
        return Some(Route::Catalog);
    }
    if let Some(name) = rest.strip_suffix("/tags/list") {
        return Some(Route::Tags { name });
    }
    if let Some(name) = rest.strip_suffix("/blobs/uploads").or_else(|| rest.strip_suffix("/blobs/uploads/")) {
        return Some(Route::Uploads { name });
    }
    if let Some((name, id)) = rest.rsplit_once("/blobs/uploads/") {
        if !id.contains('/') {
            return Some(Route::Upload { name, id });
        }
    }
    let (before, last) = rest.rsplit_once('/')?;
    let (name, keyword) = before.rsplit_once('/')?;
    if last.is_empty() {
        return None;
    }
    match keyword {
        "manifests" => Some(Route::Manifest { name, reference: last }),
        "blobs" => Some(Route::Blob { name, digest: last }),
        "referrers" => Some(Route::Referrers { name, digest: last }),
        _ => None,
    }
}

/// Checks a repository name with the distribution grammar (and the layout's reserved
/// names) before anything builds a path from it.
pub(crate) fn check_name(name: &str) -> Result<(), ApiError> {
    if name.len() > oci_reference::NAME_MAX_LEN {
        return Err(ApiError::name_invalid(format!(
            "repository name is {} bytes, over the limit of {}",
            name.len(),
            oci_reference::NAME_MAX_LEN
        )));
    }
    oci_reference::validate_repository(name)
        .map_err(|e| ApiError::name_invalid(format!("invalid repository name {name:?}: {e}")))?;
    if let Some(reserved) = name.split('/').skip(1).find(|c| RESERVED_COMPONENTS.contains(c)) {
        return Err(ApiError::name_invalid(format!(
            "invalid repository name {name:?}: {reserved:?} is reserved by the image layout of its parent"
        )));
    }
    Ok(())
}

/// Parses a digest of a path or query (`DIGEST_INVALID` when malformed).
pub(crate) fn parse_digest(s: &str) -> Result<Digest, ApiError> {
    let digest =
        Digest::parse(s).map_err(|e| ApiError::digest_invalid(format!("invalid digest {s:?}: {e}")))?;
    if !digest.is_verifiable() {
        return Err(ApiError::digest_invalid(format!("digest algorithm of {s:?} is not supported")));
    }
    Ok(digest)
}

/// A request's query parameters, percent-decoded, in order.
#[derive(Debug, Default)]
pub(crate) struct Query(Vec<(String, String)>);

impl Query {
    pub(crate) fn parse(query: Option<&str>) -> Self {
        let pairs = query
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (percent_decode(k), percent_decode(v))
            })
            .collect();
        Self(pairs)
    }

    /// The first value of `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Every value of `key`.
    pub(crate) fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0.iter().filter(move |(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// `%XX` escapes decoded (a malformed escape is kept as it is); `+` stays `+`, as media
/// types need.
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Answers one request.
pub(crate) async fn handle(state: Arc<State>, request: Request<Incoming>) -> Response<Body> {
    let head = request.method() == Method::HEAD;
    let path = request.uri().path().to_owned();
    let mut response = match dispatch(state, request, &path).await {
        Ok(response) => response,
        Err(e) => e.into_response(head),
    };
    response
        .headers_mut()
        .insert("docker-distribution-api-version", http::HeaderValue::from_static("registry/2.0"));
    response
}

async fn dispatch(
    state: Arc<State>,
    request: Request<Incoming>,
    path: &str,
) -> Result<Response<Body>, ApiError> {
    let Some(route) = route(path) else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND".into(),
            format!("no endpoint at {path}"),
        ));
    };
    let name = match &route {
        Route::Base | Route::Catalog | Route::Token => None,
        Route::Tags { name }
        | Route::Manifest { name, .. }
        | Route::Blob { name, .. }
        | Route::Uploads { name }
        | Route::Upload { name, .. }
        | Route::Referrers { name, .. } => Some(*name),
    };
    if let Some(name) = name {
        check_name(name)?;
    }
    let method = request.method().clone();
    if route == Route::Token {
        return token::endpoint(&state, request).await;
    }
    let needs = needs(&route, &method, request.uri().query());
    let authorization = request.headers().get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    crate::auth::check(&state.auth, authorization, &needs, &realm(&state, &request))?;
    let not_allowed = || {
        ApiError::unsupported(format!("{method} is not an operation of {path}"))
            .with_header(http::header::ALLOW, allowed(&route))
    };
    match (&route, &method) {
        (Route::Base, &Method::GET | &Method::HEAD) => Ok(ok_empty()),
        (Route::Catalog, &Method::GET) => lists::catalog(&state, &request).await,
        (Route::Tags { name }, &Method::GET) => lists::tags(&state, name, &request).await,
        (Route::Referrers { name, digest }, &Method::GET) => {
            lists::referrers(&state, name, digest, &request).await
        }
        (Route::Blob { name, digest }, &Method::GET | &Method::HEAD) => {
            blobs::get(&state, name, digest, &request).await
        }
        (Route::Blob { name, digest }, &Method::DELETE) => blobs::delete(&state, name, digest).await,
        (Route::Manifest { name, reference }, &Method::GET | &Method::HEAD) => {
            manifests::get(&state, name, reference, &request).await
        }
        (Route::Manifest { name, reference }, &Method::PUT) => {
            manifests::put(&state, name, reference, request).await
        }
        (Route::Manifest { name, reference }, &Method::DELETE) => {
            manifests::delete(&state, name, reference).await
        }
        (Route::Uploads { name }, &Method::POST) => upload::start(&state, name, request).await,
        (Route::Upload { name, id }, &Method::GET) => upload::status(&state, name, id).await,
        (Route::Upload { name, id }, &Method::PATCH) => upload::patch(&state, name, id, request).await,
        (Route::Upload { name, id }, &Method::PUT) => upload::finish(&state, name, id, request).await,
        (Route::Upload { name, id }, &Method::DELETE) => upload::cancel(&state, name, id).await,
        _ => Err(not_allowed()),
    }
}

/// What a request needs to be granted: `(type, name, action)` per resource.
fn needs(route: &Route<'_>, method: &Method, query: Option<&str>) -> Needs {
    let repo = |name: &str, action| ("repository", name.to_owned(), action);
    let write = |name: &str| vec![repo(name, "pull"), repo(name, "push")];
    match route {
        Route::Base | Route::Token => Vec::new(),
        Route::Catalog => vec![("registry", "catalog".to_owned(), "*")],
        Route::Tags { name } | Route::Referrers { name, .. } => vec![repo(name, "pull")],
        Route::Manifest { name, .. } | Route::Blob { name, .. } => match *method {
            Method::GET | Method::HEAD => vec![repo(name, "pull")],
            Method::DELETE => vec![repo(name, "delete")],
            _ => write(name),
        },
        Route::Uploads { name } => {
            let mut needs = write(name);
            let query = Query::parse(query);
            if let (Some(_), Some(from)) = (query.get("mount"), query.get("from").filter(|f| !f.is_empty())) {
                needs.push(repo(from, "pull"));
            }
            needs
        }
        Route::Upload { name, .. } => write(name),
    }
}

/// The token endpoint's URL as this request reached the registry.
fn realm(state: &State, request: &Request<Incoming>) -> String {
    let host = request
        .headers()
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| request.uri().authority().map(http::uri::Authority::as_str))
        .unwrap_or("localhost");
    let scheme = if state.tls { "https" } else { "http" };
    format!("{scheme}://{host}/token")
}

/// The methods a route answers (for `Allow`).
fn allowed(route: &Route<'_>) -> &'static str {
    match route {
        Route::Token => "GET, POST",
        Route::Base | Route::Blob { .. } => "GET, HEAD, DELETE",
        Route::Catalog | Route::Tags { .. } | Route::Referrers { .. } => "GET",
        Route::Manifest { .. } => "GET, HEAD, PUT, DELETE",
        Route::Uploads { .. } => "POST",
        Route::Upload { .. } => "GET, PATCH, PUT, DELETE",
    }
}

/// `200` with no body.
fn ok_empty() -> Response<Body> {
    response(StatusCode::OK)
        .header(http::header::CONTENT_LENGTH, 0)
        .body(Body::empty())
        .unwrap_or_default_response()
}

/// A response builder with `status`.
pub(crate) fn response(status: StatusCode) -> http::response::Builder {
    Response::builder().status(status)
}

/// Building a response from values this crate made cannot fail; should it, a 500.
pub(crate) trait BuiltResponse {
    fn unwrap_or_default_response(self) -> Response<Body>;
}

impl BuiltResponse for http::Result<Response<Body>> {
    fn unwrap_or_default_response(self) -> Response<Body> {
        self.unwrap_or_else(|e| {
            tracing::error!(error = %e, "building a response");
            let mut r = Response::new(Body::empty());
            *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            r
        })
    }
}

#[cfg(test)]
mod tests;
