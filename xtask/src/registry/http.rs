//! A tiny HTTP/1.1 client over [`std::net::TcpStream`], enough to probe the test peers and
//! to exercise them in tests: one request per connection (`Connection: close`), bodies
//! read to the end, chunked responses decoded. Plain `http://127.0.0.1:<port>` URLs only.

use std::fmt::Write as _;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

use crate::Result;

/// How long one request may take to connect, send or receive.
const TIMEOUT: Duration = Duration::from_secs(10);

/// A response: status, headers in order and the whole body.
#[derive(Debug, Clone)]
pub(crate) struct Response {
    /// The status code.
    pub(crate) status: u16,
    /// The headers, names as sent.
    pub(crate) headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub(crate) body: Vec<u8>,
}

impl Response {
    /// The first header called `name` (case-insensitive).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body as (lossy) UTF-8 text.
    #[cfg(test)]
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends one request to `url` (`http://host:port/path?query`) and reads the response.
///
/// `Host`, `Content-Length` (when there is a body or the method is `POST`/`PUT`) and
/// `Connection: close` are added.
pub(crate) fn request(method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> Result<Response> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url}: only http:// URLs are supported by the probe client"))?;
    let (authority, path) = rest.find('/').map_or((rest, "/"), |i| (&rest[..i], &rest[i..]));
    let address = std::net::ToSocketAddrs::to_socket_addrs(authority)
        .map_err(|e| format!("{url}: resolving {authority}: {e}"))?
        .next()
        .ok_or_else(|| format!("{url}: {authority} resolves to no address"))?;
    let mut stream = TcpStream::connect_timeout(&address, TIMEOUT)
        .map_err(|e| format!("{method} {url}: connecting: {e}"))?;
    stream.set_read_timeout(Some(TIMEOUT)).map_err(|e| format!("{method} {url}: {e}"))?;
    stream.set_write_timeout(Some(TIMEOUT)).map_err(|e| format!("{method} {url}: {e}"))?;

    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n");
    for (name, value) in headers {
        let _ = write!(head, "{name}: {value}\r\n");
    }
    if !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH") {
        let _ = write!(head, "Content-Length: {}\r\n", body.len());
    }
    head.push_str("\r\n");
    stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(body))
        .map_err(|e| format!("{method} {url}: sending: {e}"))?;

    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(|e| format!("{method} {url}: receiving: {e}"))?;
    parse_response(&raw, method == "HEAD").map_err(|e| format!("{method} {url}: {e}"))
}

/// `GET url` without headers.
pub(crate) fn get(url: &str) -> Result<Response> {
    request("GET", url, &[], &[])
}

/// Parses a whole HTTP response (`HTTP/2` too, as curl prints it); `head_only` for answers to `HEAD`, which have no body.
pub(crate) fn parse_response(raw: &[u8], head_only: bool) -> Result<Response> {
    let end = find(raw, b"\r\n\r\n").ok_or("response ends before the end of its header")?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| "response header is not UTF-8")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut words = status_line.split(' ');
    let status = (words.next().is_some_and(|version| version.starts_with("HTTP/")))
        .then(|| words.next())
        .flatten()
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| format!("bad status line `{status_line}`"))?;
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .collect::<Vec<_>>();
    let mut response = Response { status, headers, body: Vec::new() };
    if head_only {
        return Ok(response);
    }
    let rest = &raw[end + 4..];
    let chunked =
        response.header("Transfer-Encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    response.body = if chunked { dechunk(rest)? } else { rest.to_vec() };
    Ok(response)
}

/// Decodes a chunked body (trailers are ignored).
fn dechunk(mut data: &[u8]) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = find(data, b"\r\n").ok_or("chunked body: size line without CRLF")?;
        let size_text = std::str::from_utf8(&data[..line_end]).map_err(|_| "chunked body: bad size line")?;
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("chunked body: bad chunk size `{size_text}`"))?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        let chunk = data.get(..size).ok_or("chunked body: truncated chunk")?;
        body.extend_from_slice(chunk);
        data = data.get(size + 2..).ok_or("chunked body: chunk without CRLF")?;
    }
}

/// The offset of the first `needle` in `haystack`.
pub(crate) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_and_chunked_responses() {
        let plain =
            parse_response(b"HTTP/1.1 201 Created\r\nLocation: /x\r\nContent-Length: 2\r\n\r\nok", false)
                .unwrap();
        assert_eq!(plain.status, 201);
        assert_eq!(plain.header("location"), Some("/x"));
        assert_eq!(plain.body, b"ok");

        let chunked = parse_response(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;x=y\r\n world\r\n0\r\n\r\n",
            false,
        )
        .unwrap();
        assert_eq!(chunked.text(), "hello world");

        let head = parse_response(b"HTTP/1.0 404 Not Found\r\nContent-Length: 9\r\n\r\n", true).unwrap();
        assert_eq!((head.status, head.body.len()), (404, 0));
        // curl prints HTTP/2 headers in this form.
        assert_eq!(parse_response(b"HTTP/2 202 \r\nlocation: /u\r\n\r\n", true).unwrap().status, 202);
    }

    #[test]
    fn rejects_what_is_not_http() {
        assert_eq!(
            parse_response(b"SSH-2.0-OpenSSH\r\n\r\n", false).unwrap_err(),
            "bad status line `SSH-2.0-OpenSSH`"
        );
        assert_eq!(
            parse_response(b"HTTP/1.1 200 OK\r\n", false).unwrap_err(),
            "response ends before the end of its header"
        );
        assert!(request("GET", "https://127.0.0.1:1/", &[], &[]).unwrap_err().contains("only http://"));
    }
}
