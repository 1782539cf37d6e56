//! The response timeout against servers that never answer, and against an upload sent
//! slowly that must not be cut short. On paused time: the waits are exact and instant.

use std::future::Future as _;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http::Request;
use http_body_util::BodyExt as _;
use tokio::io::AsyncReadExt as _;
use tokio::net::TcpListener;
use tokio::time::Instant;

use super::peers::{handler, reply, serve};
use super::transport;
use crate::transport::TransportConfig;
use crate::{Body, ErrorKind};

/// A server that takes connections and requests and never answers.
async fn silent() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut sink = vec![0; 4096];
                while tcp.read(&mut sink).await.is_ok_and(|n| n > 0) {}
            });
        }
    });
    addr
}

#[tokio::test(start_paused = true)]
async fn by_default_a_server_that_never_answers_times_out_after_a_minute() {
    assert_eq!(TransportConfig::default().response_timeout, Some(Duration::from_secs(60)));
    let addr = silent().await;
    let t = transport(TransportConfig::default());
    let started = Instant::now();
    let request = Request::get(format!("http://{addr}/v2/")).body(Body::empty()).unwrap();
    let e = t.send(request).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    assert_eq!(
        e.to_string(),
        format!("timed out: GET http://{addr}/v2/: no response within 60s of the request's last progress")
    );
    assert_eq!(started.elapsed(), Duration::from_secs(60));
    // Waiting forever is a choice.
    let t = transport(TransportConfig::default().with_response_timeout(None));
    let request = Request::get(format!("http://{addr}/v2/")).body(Body::empty()).unwrap();
    assert!(tokio::time::timeout(Duration::from_secs(3600), t.send(request)).await.is_err());
}

/// A body of `frames` frames of 1 KiB, one every `every`.
fn slow_body(frames: usize, every: Duration) -> Body {
    let body = Slow { left: frames, every, sleep: Box::pin(tokio::time::sleep(every)) };
    Body::from_body(body, Some(frames as u64 * 1024))
}

struct Slow {
    left: usize,
    every: Duration,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl http_body::Body for Slow {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        ready!(self.sleep.as_mut().poll(cx));
        self.left -= 1;
        let next = Instant::now() + self.every;
        self.sleep.as_mut().reset(next);
        Poll::Ready(Some(Ok(http_body::Frame::data(Bytes::from(vec![7u8; 1024])))))
    }
}

#[tokio::test(start_paused = true)]
async fn an_upload_sent_slowly_is_not_cut_short_but_silence_after_it_is() {
    // The server reads the whole body, then answers.
    let server = serve(
        None,
        0,
        handler(|request| async move {
            let body = request.into_body().collect().await.unwrap().to_bytes();
            reply(201, body.len().to_string())
        }),
    )
    .await;
    let t = transport(TransportConfig::default().with_response_timeout(Duration::from_secs(60)));
    let started = Instant::now();
    // Five minutes of body, a frame every 40 s: never 60 s without progress.
    let request =
        Request::put(server.url("http", "/upload")).body(slow_body(8, Duration::from_secs(40))).unwrap();
    let response = t.send(request).await.unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(response.into_body().bytes(64).await.unwrap(), "8192");
    assert!(started.elapsed() >= Duration::from_secs(320), "{:?}", started.elapsed());

    // The same body to a server that takes it and never answers: 60 s after its end.
    let addr = silent().await;
    let started = Instant::now();
    let request =
        Request::put(format!("http://{addr}/upload")).body(slow_body(3, Duration::from_secs(40))).unwrap();
    let e = t.send(request).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert_eq!(started.elapsed(), Duration::from_secs(180));
}
