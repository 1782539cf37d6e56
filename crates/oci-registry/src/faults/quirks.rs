//! Quirks of real registries: faults that bend the protocol rather than break the
//! network. Some refuse a request in the handler's place, some rewrite it before the
//! handler sees it, some rewrite the answer.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http::header::{CONTENT_LENGTH, HeaderValue, LINK, LOCATION, WWW_AUTHENTICATE};
use http::{Method, Request, Response, StatusCode, Uri};
use http_body_util::BodyExt as _;

use oci_spec_types::ErrorCode;

use super::{Fault, Faults, PathKind};
use crate::api::Query;
use crate::body::Body;
use crate::error::ApiError;

/// The query parameter that makes an upload `Location` single-use.
const SINGLE_USE: &str = "_single";

/// An error answer in the distribution-spec's form.
fn refuse(status: StatusCode, code: ErrorCode, message: &str) -> Response<Body> {
    ApiError::new(status, code, message).into_response(false)
}

/// `uri` with its query replaced (`None`: removed).
fn with_query(uri: &Uri, query: Option<&str>) -> Uri {
    let path = uri.path();
    let text = match query.filter(|q| !q.is_empty()) {
        Some(query) => format!("{path}?{query}"),
        None => path.to_owned(),
    };
    text.parse().unwrap_or_else(|_| uri.clone())
}

/// `uri` without the query parameters `names`.
fn without_params(uri: &Uri, names: &[&str]) -> Uri {
    let kept: Vec<&str> = uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|pair| !names.contains(&pair.split_once('=').map_or(*pair, |(k, _)| k)))
        .collect();
    with_query(uri, Some(&kept.join("&")))
}

/// The bearer token of `request`, if it carries one.
fn bearer_token<B>(request: &Request<B>) -> Option<String> {
    let value = request.headers().get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned())
}

/// A request whose bearer token expired goes on without it (the registry answers 401
/// with its challenge, as for a request that has none).
pub(super) fn strip_expired_token<B>(faults: &Faults, request: &mut Request<B>) {
    let Some(uses) = faults.token_uses() else { return };
    if bearer_token(request).is_some_and(|token| faults.use_bearer_token(&token, uses)) {
        request.headers_mut().remove(http::header::AUTHORIZATION);
    }
}

/// Before the handler: an answer in its place, or `None` (the request, perhaps
/// rewritten, goes on).
pub(super) fn before<B>(
    fault: &Fault,
    faults: &Faults,
    kind: Option<PathKind>,
    request: &mut Request<B>,
) -> Option<Response<Body>> {
    let query = Query::parse(request.uri().query());
    let mount = query.get("mount").is_some();
    let method = request.method().clone();
    match fault {
        Fault::PageLimit(limit) => {
            let n = query.get("n").and_then(|n| n.parse::<u64>().ok());
            n.filter(|n| *n > u64::from(*limit)).map(|n| {
                let why = format!("n {n} is over the page limit {limit}");
                refuse(StatusCode::BAD_REQUEST, ErrorCode::from("PAGINATION_NUMBER_INVALID"), &why)
            })
        }
        Fault::SingleUseLocation if kind == Some(PathKind::Upload) => {
            let current = faults.upload_token(request.uri().path());
            match current {
                Some(current) if Some(current.as_str()) != query.get(SINGLE_USE) => Some(refuse(
                    StatusCode::NOT_FOUND,
                    ErrorCode::BLOB_UPLOAD_UNKNOWN,
                    "this upload location was used already; use the last one given",
                )),
                _ => {
                    *request.uri_mut() = without_params(request.uri(), &[SINGLE_USE]);
                    None
                }
            }
        }
        Fault::MountNeedsFrom if mount && query.get("from").is_none() => {
            Some(refuse(StatusCode::BAD_REQUEST, ErrorCode::UNSUPPORTED, "a mount needs `from`"))
        }
        Fault::OpaquePageTokens => {
            let token = query.get("next_page").and_then(|t| URL_SAFE_NO_PAD.decode(t).ok());
            if let Some(original) = token.and_then(|q| String::from_utf8(q).ok()) {
                *request.uri_mut() = with_query(request.uri(), Some(&original));
            }
            None
        }
        Fault::MountUnauthorized if mount => Some(refuse(
            StatusCode::UNAUTHORIZED,
            ErrorCode::UNAUTHORIZED,
            "project not found or not authorized",
        )),
        Fault::MountIgnored if mount => {
            *request.uri_mut() = without_params(request.uri(), &["mount", "from"]);
            None
        }
        Fault::DeleteNotAllowed if method == Method::DELETE => {
            Some(refuse(StatusCode::METHOD_NOT_ALLOWED, ErrorCode::UNSUPPORTED, "deletes are not allowed"))
        }
        Fault::FallbackTagIsSubject if method == Method::GET || method == Method::HEAD => {
            let path = request.uri().path();
            let (head, tag) = path.rsplit_once("/manifests/")?;
            let hex = tag.strip_prefix("sha256-").filter(|h| h.len() == 64)?;
            let rewritten = format!("{head}/manifests/sha256:{hex}");
            if let Ok(uri) = rewritten.parse() {
                *request.uri_mut() = uri;
            }
            None
        }
        Fault::ContentRangeUnitRefused => {
            let value = request.headers().get(http::header::CONTENT_RANGE)?.to_str().ok()?;
            value.trim_start().to_ascii_lowercase().starts_with("bytes").then(|| {
                refuse(
                    StatusCode::BAD_REQUEST,
                    ErrorCode::BLOB_UPLOAD_INVALID,
                    "Content-Range must be <first>-<last>",
                )
            })
        }
        Fault::TokenGetOnly if method == Method::POST => Some(refuse(
            StatusCode::NOT_FOUND,
            ErrorCode::from("NOT_FOUND"),
            "the token endpoint takes GET only",
        )),
        _ => None,
    }
}

/// After the handler: the answer, rewritten as the quirk says.
pub(super) async fn after(
    fault: &Fault,
    faults: &Faults,
    mut response: Response<Body>,
    path: &str,
) -> Response<Body> {
    let status = response.status();
    match fault {
        Fault::PatchCreated if status == StatusCode::ACCEPTED => {
            *response.status_mut() = StatusCode::CREATED;
            response
        }
        Fault::ChallengeOnlyOnBase if status == StatusCode::UNAUTHORIZED && path != "/v2/" => {
            response.headers_mut().remove(WWW_AUTHENTICATE);
            response
        }
        Fault::SingleUseLocation => {
            let Some(location) = response.headers().get(LOCATION).and_then(|v| v.to_str().ok()) else {
                return response;
            };
            if !location.contains("/blobs/uploads/") {
                return response;
            }
            let session = location.parse::<Uri>().map(|u| u.path().to_owned()).unwrap_or_default();
            let token = faults.new_upload_token(&session);
            let separator = if location.contains('?') { '&' } else { '?' };
            let rewritten = format!("{location}{separator}{SINGLE_USE}={token}");
            if let Ok(value) = HeaderValue::from_str(&rewritten) {
                response.headers_mut().insert(LOCATION, value);
            }
            response
        }
        Fault::OpaquePageTokens => {
            let Some(link) = response.headers().get(LINK).and_then(|v| v.to_str().ok()) else {
                return response;
            };
            let Some(target) = link.strip_prefix('<').and_then(|l| l.split_once('>')).map(|(t, _)| t) else {
                return response;
            };
            let (target_path, query) = target.split_once('?').unwrap_or((target, ""));
            let opaque = format!("<{target_path}?next_page={}>; rel=\"next\"", URL_SAFE_NO_PAD.encode(query));
            if let Ok(value) = HeaderValue::from_str(&opaque) {
                response.headers_mut().insert(LINK, value);
            }
            response
        }
        Fault::RangeShortAfterPatch if status == StatusCode::ACCEPTED => {
            let range = response.headers().get(http::header::RANGE).and_then(|v| v.to_str().ok());
            let last = range.and_then(|r| r.split_once('-')).and_then(|(_, l)| l.parse::<u64>().ok());
            if let Some(short) = last.and_then(|l| l.checked_sub(1)) {
                let value =
                    HeaderValue::from_str(&format!("0-{short}")).unwrap_or(HeaderValue::from_static("0-0"));
                response.headers_mut().insert(http::header::RANGE, value);
            }
            response
        }
        Fault::SeveralSchemes if status == StatusCode::UNAUTHORIZED => {
            let original = response.headers().get(WWW_AUTHENTICATE).cloned();
            response.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static("Negotiate"));
            let mut combined = b"Newauth realm=\"apps\", type=1, title=\"Login to \\\"apps\\\"\", ".to_vec();
            combined.extend_from_slice(
                original.as_ref().map_or(&b"Basic realm=\"simple\""[..], HeaderValue::as_bytes),
            );
            if let Ok(value) = HeaderValue::from_bytes(&combined) {
                response.headers_mut().append(WWW_AUTHENTICATE, value);
            }
            response
        }
        Fault::NotFoundCode if status == StatusCode::NOT_FOUND => {
            rewrite_json(response, |json| {
                for error in json.get_mut("errors").and_then(|e| e.as_array_mut()).into_iter().flatten() {
                    error["code"] = serde_json::json!("NOT_FOUND");
                }
            })
            .await
        }
        Fault::NullTags if status == StatusCode::OK => {
            rewrite_json(response, |json| {
                if let Some(tags) = json.get_mut("tags").and_then(|t| t.as_array_mut()) {
                    tags.insert(0, serde_json::Value::Null);
                    tags.push(serde_json::Value::Null);
                }
            })
            .await
        }
        _ => response,
    }
}

/// `response` with its JSON body changed by `change` (a body that is not JSON stays).
async fn rewrite_json(
    response: Response<Body>,
    change: impl FnOnce(&mut serde_json::Value),
) -> Response<Body> {
    let (mut parts, body) = response.into_parts();
    let Ok(collected) = body.collect().await else {
        return Response::from_parts(parts, Body::empty());
    };
    let bytes = collected.to_bytes();
    let body = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(mut json) => {
            change(&mut json);
            parts.headers.remove(CONTENT_LENGTH);
            Bytes::from(json.to_string())
        }
        Err(_) => bytes,
    };
    Response::from_parts(parts, Body::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opaque_tokens_carry_the_query_there_and_back() {
        let query = "n=2&last=b%2Fc";
        let faults = Faults::new(1);
        let token = URL_SAFE_NO_PAD.encode(query);
        let mut request = Request::new(());
        *request.uri_mut() = format!("/v2/a/tags/list?next_page={token}").parse().unwrap_or_default();
        assert!(before(&Fault::OpaquePageTokens, &faults, Some(PathKind::Tags), &mut request).is_none());
        assert_eq!(request.uri().query(), Some(query));
        // A token that is not one of ours is left for the handler.
        let mut request = Request::new(());
        *request.uri_mut() = "/v2/a/tags/list?next_page=%%%".parse().unwrap_or_default();
        assert!(before(&Fault::OpaquePageTokens, &faults, Some(PathKind::Tags), &mut request).is_none());
        assert_eq!(request.uri().query(), Some("next_page=%%%"));
    }

    #[test]
    fn query_parameters_are_found_and_removed() {
        let uri: Uri = "/v2/a/blobs/uploads/?mount=sha256:x&from=b&n=1".parse().unwrap_or_default();
        assert_eq!(Query::parse(uri.query()).get("from"), Some("b"));
        assert_eq!(without_params(&uri, &["mount", "from"]).to_string(), "/v2/a/blobs/uploads/?n=1");
        assert_eq!(without_params(&uri, &["mount", "from", "n"]).to_string(), "/v2/a/blobs/uploads/");
    }
}
