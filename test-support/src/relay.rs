//! A TCP relay in front of a server that counts the bytes it carries back to clients
//! and can cut the line: past a budget of bytes every connection is closed (mid-body),
//! and new ones too, until it is healed. It stands for a network that drops a download
//! for good, so that a client's own resumes fail and only a later run can go on. Or it
//! can stall the line instead (past the budget nothing more is carried, and nothing is
//! closed), so that a test can kill the client while a body is half-way.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// A running relay.
#[derive(Debug, Clone)]
pub struct Relay {
    addr: SocketAddr,
    state: Arc<State>,
}

#[derive(Debug)]
struct State {
    /// Bytes carried from the server to clients.
    down: AtomicU64,
    /// Bytes the relay carries down before the line is cut (`u64::MAX`: never).
    budget: AtomicU64,
    cut: AtomicBool,
    /// Past the budget, hold the connections instead of closing them.
    stall: AtomicBool,
}

impl Relay {
    /// A relay to `upstream`, carrying everything until told otherwise.
    ///
    /// # Panics
    /// When no port of 127.0.0.1 can be bound.
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port for the relay");
        let addr = listener.local_addr().expect("the relay's address");
        let state = Arc::new(State {
            down: AtomicU64::new(0),
            budget: AtomicU64::new(u64::MAX),
            cut: AtomicBool::new(false),
            stall: AtomicBool::new(false),
        });
        let shared = Arc::clone(&state);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let state = Arc::clone(&shared);
                tokio::spawn(async move {
                    if state.cut.load(Ordering::SeqCst) {
                        return;
                    }
                    if let Ok(server) = TcpStream::connect(upstream).await {
                        relay(client, server, &state).await;
                    }
                });
            }
        });
        Self { addr, state }
    }

    /// `host:port` of the relay.
    #[must_use]
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// Bytes carried from the server to clients so far.
    #[must_use]
    pub fn bytes_down(&self) -> u64 {
        self.state.down.load(Ordering::SeqCst)
    }

    /// Cuts the line once `bytes` more have been carried down.
    pub fn cut_after(&self, bytes: u64) {
        let down = self.bytes_down();
        self.state.budget.store(down.saturating_add(bytes), Ordering::SeqCst);
    }

    /// Stops carrying anything down once `bytes` more have been carried, keeping every
    /// connection open (until [`heal`](Self::heal), which serves new connections only).
    pub fn stall_after(&self, bytes: u64) {
        self.state.stall.store(true, Ordering::SeqCst);
        self.cut_after(bytes);
    }

    /// Carries everything again, and starts counting from zero.
    pub fn heal(&self) {
        self.state.stall.store(false, Ordering::SeqCst);
        self.state.budget.store(u64::MAX, Ordering::SeqCst);
        self.state.down.store(0, Ordering::SeqCst);
        self.state.cut.store(false, Ordering::SeqCst);
    }
}

/// Copies both ways until either side closes, or the budget runs out.
async fn relay(client: TcpStream, server: TcpStream, state: &State) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let up = async {
        let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
    };
    let down = async {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let Ok(n) = server_read.read(&mut buf).await else { return };
            if n == 0 {
                return;
            }
            let done = state.down.load(Ordering::SeqCst);
            let budget = state.budget.load(Ordering::SeqCst);
            let allowed = usize::try_from(budget.saturating_sub(done)).unwrap_or(usize::MAX).min(n);
            if allowed > 0 && client_write.write_all(&buf[..allowed]).await.is_err() {
                return;
            }
            state.down.fetch_add(allowed as u64, Ordering::SeqCst);
            if allowed < n {
                if state.stall.load(Ordering::SeqCst) {
                    std::future::pending::<()>().await;
                }
                state.cut.store(true, Ordering::SeqCst);
                return;
            }
        }
    };
    tokio::select! {
        () = up => {}
        () = down => {}
    }
}
