//! `GET` and `POST /token`: the registry's own token endpoint (see
//! [`crate::auth::token`]).

use std::sync::Arc;

use http::{Request, Response, StatusCode, header};
use http_body_util::BodyExt as _;
use hyper::body::Incoming;

use super::{BuiltResponse as _, response};
use crate::auth::{Auth, TokenRequest, unix_now};
use crate::body::Body;
use crate::error::ApiError;
use crate::state::State;

/// The most a token request may send.
const MAX_BODY: usize = 64 << 10;

pub(super) async fn endpoint(
    state: &Arc<State>,
    request: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let Auth::Bearer(issuer) = &state.auth else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND".into(),
            "this registry issues no tokens",
        ));
    };
    let (parts, body) = request.into_parts();
    let limited = http_body_util::Limited::new(body, MAX_BODY);
    let body = match tokio::time::timeout(state.limits.body_stall_timeout, limited.collect()).await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(e)) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "INVALID_REQUEST".into(),
                format!("reading the request: {e}"),
            ));
        }
        Err(_) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "INVALID_REQUEST".into(),
                "the request body stalled",
            ));
        }
    };
    let text = |name: header::HeaderName| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let token_request = TokenRequest {
        method: parts.method.as_str(),
        query: parts.uri.query().unwrap_or(""),
        authorization: text(header::AUTHORIZATION),
        content_type: text(header::CONTENT_TYPE),
        body: &body,
    };
    let answer = issuer.answer(&token_request, unix_now());
    let bytes = serde_json::to_vec(&answer.body).unwrap_or_default();
    let mut builder =
        response(StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CONTENT_LENGTH, bytes.len());
    for (name, value) in answer.headers {
        builder = builder.header(name, value);
    }
    Ok(builder.body(Body::from(bytes)).unwrap_or_default_response())
}
