//! Lists: `GET /v2/<name>/tags/list`, `GET /v2/_catalog` (both paged with `n` and
//! `last`, sorted lexically, `Link: <…>; rel="next"` while more remain) and
//! `GET /v2/<name>/referrers/<digest>` (filtered by `artifactType`).

use std::sync::Arc;

use http::{Request, Response, StatusCode, header};
use hyper::body::Incoming;
use oci_spec_types::MediaType;

use super::{BuiltResponse as _, Query, parse_digest, response};
use crate::body::Body;
use crate::error::ApiError;
use crate::state::State;

/// One page of a sorted list: the entries after `last`, at most `n`, and the `last`
/// of the next page when more remain.
/// A page's entries, and `(n, last)` of the next page when more remain.
type Page = (Vec<String>, Option<(usize, String)>);

fn page(state: &State, all: &[String], query: &Query) -> Result<Page, ApiError> {
    let limits = &state.limits;
    let n = match query.get("n") {
        Some(n) => n.parse::<usize>().map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "PAGINATION_NUMBER_INVALID".into(),
                format!("invalid n {n:?}"),
            )
        })?,
        None if limits.default_page_entries > 0 => limits.default_page_entries,
        None => limits.max_page_entries,
    }
    .min(limits.max_page_entries);
    let start = match query.get("last") {
        Some(last) => all.partition_point(|e| e.as_str() <= last),
        None => 0,
    };
    let rest = &all[start..];
    let entries: Vec<String> = rest.iter().take(n).cloned().collect();
    let next =
        (rest.len() > entries.len() && !entries.is_empty()).then(|| (n, entries[entries.len() - 1].clone()));
    Ok((entries, next))
}

fn json_response(content_type: &str) -> http::response::Builder {
    response(StatusCode::OK).header(header::CONTENT_TYPE, content_type)
}

fn with_body(builder: http::response::Builder, value: &serde_json::Value) -> Response<Body> {
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    builder.header(header::CONTENT_LENGTH, bytes.len()).body(Body::from(bytes)).unwrap_or_default_response()
}

fn link(
    path: &str,
    next: Option<(usize, String)>,
    builder: http::response::Builder,
) -> http::response::Builder {
    match next {
        Some((n, last)) => {
            builder.header(header::LINK, format!("<{path}?last={}&n={n}>; rel=\"next\"", encode(&last)))
        }
        None => builder,
    }
}

/// Percent-encodes what a query value cannot carry as is (a repository's `/`).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'_' | b'-' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub(super) async fn tags(
    state: &Arc<State>,
    name: &str,
    request: &Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let query = Query::parse(request.uri().query());
    let repo = name.to_owned();
    let all = state.blocking(move |s| Ok(s.storage.tags(&repo)?)).await?;
    let Some(all) = all else { return Err(ApiError::name_unknown(name)) };
    let (tags, next) = page(state, &all, &query)?;
    let value = serde_json::json!({ "name": name, "tags": tags });
    let builder = link(&format!("/v2/{name}/tags/list"), next, json_response("application/json"));
    Ok(with_body(builder, &value))
}

pub(super) async fn catalog(
    state: &Arc<State>,
    request: &Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let query = Query::parse(request.uri().query());
    let all = state.blocking(|s| Ok(s.storage.repositories()?)).await?;
    let (repositories, next) = page(state, &all, &query)?;
    let value = serde_json::json!({ "repositories": repositories });
    let builder = link("/v2/_catalog", next, json_response("application/json"));
    Ok(with_body(builder, &value))
}

pub(super) async fn referrers(
    state: &Arc<State>,
    name: &str,
    digest: &str,
    request: &Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let subject = parse_digest(digest)?;
    let query = Query::parse(request.uri().query());
    let filters: Vec<MediaType> =
        query.all("artifactType").filter(|t| !t.is_empty()).map(MediaType::from).collect();
    let repo = name.to_owned();
    let mut found =
        state.blocking(move |s| Ok(s.referrers.list(s.storage.as_ref(), &repo, &subject)?)).await?;
    if !filters.is_empty() {
        found.retain(|d| d.artifact_type.as_ref().is_some_and(|t| filters.contains(t)));
    }
    found.sort_by(|a, b| a.digest.as_str().cmp(b.digest.as_str()));
    let value = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": MediaType::IMAGE_INDEX.as_str(),
        "manifests": found,
    });
    let mut builder = json_response(MediaType::IMAGE_INDEX.as_str());
    if !filters.is_empty() {
        builder = builder.header("oci-filters-applied", "artifactType");
    }
    Ok(with_body(builder, &value))
}
