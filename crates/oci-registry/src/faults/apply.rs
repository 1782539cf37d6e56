//! Faults applied to one request: before the handler (no answer, or an error status in
//! its place), or after it, to the response it gave.

use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderValue, LOCATION, RETRY_AFTER};
use http::{Response, StatusCode};
use http_body_util::BodyExt as _;
use tokio::sync::mpsc;

use super::{Fault, Faults, LocationForm, RetryAfter, StorageHost};
use crate::body::Body;

/// What happens to a request before the handler sees it.
pub(crate) enum Before {
    /// Handled, with this fault for its response, if any.
    Handle(Option<Fault>),
    /// Answered with this instead.
    Answer(Response<Body>),
    /// The connection is closed with no answer.
    Reset,
}

/// The fault of `request`, as far as it acts before the handler (a quirk may rewrite
/// the request).
pub(crate) fn before<B>(faults: &Faults, request: &mut http::Request<B>) -> Before {
    super::quirks::strip_expired_token(faults, request);
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    let kind = crate::api::path_kind(&method, &path);
    let Some(fault) = faults.pick(&method, kind) else {
        return Before::Handle(None);
    };
    tracing::debug!(fault = %fault.name(), %method, path, "injecting a fault");
    if let Some(answer) = super::quirks::before(&fault, faults, kind, request) {
        return Before::Answer(answer);
    }
    let status = |code: StatusCode, retry: Option<RetryAfter>| {
        let mut response = Response::new(Body::from(Bytes::from_static(b"{\"errors\":[]}")));
        *response.status_mut() = code;
        if let Some(value) = retry.and_then(retry_after) {
            response.headers_mut().insert(RETRY_AFTER, value);
        }
        Before::Answer(response)
    };
    match fault {
        Fault::Reset => Before::Reset,
        Fault::TooManyRequests(retry) => status(StatusCode::TOO_MANY_REQUESTS, Some(retry)),
        Fault::Unavailable(retry) => status(StatusCode::SERVICE_UNAVAILABLE, Some(retry)),
        Fault::ServerError => status(StatusCode::INTERNAL_SERVER_ERROR, None),
        Fault::RangeNotSatisfiable => status(StatusCode::RANGE_NOT_SATISFIABLE, None),
        Fault::NoSuchEndpoint => {
            let mut response = Response::new(Body::from(Bytes::from_static(b"404 page not found\n")));
            *response.status_mut() = StatusCode::NOT_FOUND;
            response.headers_mut().insert(http::header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
            Before::Answer(response)
        }
        other => Before::Handle(Some(other)),
    }
}

fn retry_after(retry: RetryAfter) -> Option<HeaderValue> {
    let text = match retry {
        RetryAfter::None => return None,
        RetryAfter::Seconds(s) => s.to_string(),
        RetryAfter::Date(s) => {
            let now =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
            http_date(now + s)
        }
    };
    HeaderValue::from_str(&text).ok()
}

/// `secs` (Unix time) as an IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`.
fn http_date(secs: u64) -> String {
    httpdate::fmt_http_date(std::time::UNIX_EPOCH + Duration::from_secs(secs))
}

/// The response to a request of `host` for `path`, with `fault` applied.
pub(crate) async fn after(
    (fault, faults): (&Fault, &Faults),
    mut response: Response<Body>,
    host: &str,
    path: &str,
    storage: Option<&StorageHost>,
) -> Response<Body> {
    match fault {
        Fault::DropAfter(n) => map_body(response, *n, Cut::Drop),
        Fault::Stall(n, d) => map_body(response, *n, Cut::Stall(*d)),
        Fault::WrongBytes => map_body(response, 0, Cut::Flip),
        Fault::DigestMissing => {
            response.headers_mut().remove("docker-content-digest");
            response
        }
        Fault::SubjectMissing => {
            response.headers_mut().remove("oci-subject");
            response
        }
        Fault::DigestWrong => {
            let wrong = oci_spec_types::Digest::sha256(b"not this content").to_string();
            if response.headers().contains_key("docker-content-digest") {
                response.headers_mut().insert(
                    "docker-content-digest",
                    HeaderValue::from_str(&wrong).unwrap_or(HeaderValue::from_static("sha256:0")),
                );
            }
            response
        }
        Fault::Location(form) => {
            let Some(location) = response.headers().get(LOCATION).and_then(|v| v.to_str().ok()) else {
                return response;
            };
            let relative = location.find("/v2/").map_or(location, |i| &location[i..]).to_owned();
            let rewritten = match form {
                LocationForm::Relative => relative,
                LocationForm::Absolute => format!("http://{host}{relative}"),
                LocationForm::OtherHost => format!("http://{}{relative}", other_name(host)),
            };
            if let Ok(value) = HeaderValue::from_str(&rewritten) {
                response.headers_mut().insert(LOCATION, value);
            }
            response
        }
        Fault::RedirectToStorage => match storage {
            Some(storage) if response.status() == StatusCode::OK && path.contains("/blobs/sha") => {
                let mut redirect = Response::new(Body::empty());
                *redirect.status_mut() = StatusCode::TEMPORARY_REDIRECT;
                let to = format!("http://{}{path}?X-Amz-Signature=stand-in", storage.host());
                if let Ok(value) = HeaderValue::from_str(&to) {
                    redirect.headers_mut().insert(LOCATION, value);
                }
                redirect
            }
            _ => response,
        },
        _ => super::quirks::after(fault, faults, response, path).await,
    }
}

/// `localhost:port` for `127.0.0.1:port`, and the reverse.
fn other_name(host: &str) -> String {
    match host.split_once(':') {
        Some(("127.0.0.1", port)) => format!("localhost:{port}"),
        Some(("localhost", port)) => format!("127.0.0.1:{port}"),
        _ => host.to_owned(),
    }
}

#[derive(Clone, Copy)]
enum Cut {
    /// Close the connection after the first `n` bytes.
    Drop,
    /// Wait this long after the first `n` bytes.
    Stall(Duration),
    /// Change the first byte.
    Flip,
}

/// `response` with its body cut, stalled or changed after `n` bytes; its length header
/// stays that of the whole body.
fn map_body(response: Response<Body>, n: u64, cut: Cut) -> Response<Body> {
    let (parts, mut body) = response.into_parts();
    let len = http_body::Body::size_hint(&body).exact().unwrap_or(0);
    if len == 0 || (len <= n && !matches!(cut, Cut::Flip)) {
        return Response::from_parts(parts, body);
    }
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(async move {
        let (mut sent, mut cut_done, mut flipped) = (0u64, false, false);
        while let Some(frame) = body.frame().await {
            let Ok(Some(mut data)) = frame.map(|f| f.into_data().ok()) else { return };
            if matches!(cut, Cut::Flip) && !flipped && !data.is_empty() {
                let mut bytes = data.to_vec();
                bytes[0] ^= 0xff;
                data = Bytes::from(bytes);
                flipped = true;
            }
            if !cut_done && !matches!(cut, Cut::Flip) && sent + data.len() as u64 > n {
                let head = data.split_to(usize::try_from(n - sent).unwrap_or(0));
                if !head.is_empty() && tx.send(Ok(head)).await.is_err() {
                    return;
                }
                cut_done = true;
                match cut {
                    Cut::Drop => {
                        let _ = tx.send(Err(std::io::Error::other("fault: connection dropped"))).await;
                        return;
                    }
                    Cut::Stall(d) => tokio::time::sleep(d).await,
                    Cut::Flip => {}
                }
            }
            sent += data.len() as u64;
            if !data.is_empty() && tx.send(Ok(data)).await.is_err() {
                return;
            }
        }
    });
    Response::from_parts(parts, Body::from_channel(rx, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_are_imf_fixdates() {
        assert_eq!(http_date(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
    }

    #[test]
    fn other_names_of_loopback() {
        assert_eq!(other_name("127.0.0.1:5000"), "localhost:5000");
        assert_eq!(other_name("localhost:80"), "127.0.0.1:80");
    }
}
