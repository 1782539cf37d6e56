//! Upload sessions as the server knows them beyond their bytes: ids, and the hash of
//! what each has received, with one lock per session.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use oci_spec_types::Digester;

/// A new session id: 128 random bits in hex.
///
/// From the system's cryptographic generator: a session URL is a capability (with
/// authentication off, knowing it is all it takes to write into the session). Should
/// the generator fail, a weaker random number still makes a unique id.
pub(crate) fn new_id() -> String {
    crate::auth::jwt::random_hex(16).unwrap_or_else(|_| format!("{:032x}", fastrand::u128(..)))
}

/// Whether `id` has the shape of a session id (anything else names no session).
pub(crate) fn is_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// What the server knows of a session beyond its bytes: the hash of the bytes so far
/// (`None` after a restart, until they are read once) and their count.
#[derive(Debug)]
pub(crate) struct Session {
    pub(crate) hasher: Option<Digester>,
    pub(crate) size: u64,
}

/// The sessions the server has seen since it started; one async lock per session
/// serializes its requests.
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    open: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Session>>>>,
}

impl Sessions {
    /// The session's lock, creating the entry for a session the store has (one opened
    /// before a restart: its hash is recomputed when it is needed).
    pub(crate) fn get(&self, id: &str, size: u64) -> Arc<tokio::sync::Mutex<Session>> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.entry(id.to_owned())
            .or_insert_with(|| {
                let hasher = (size == 0).then(Digester::sha256);
                Arc::new(tokio::sync::Mutex::new(Session { hasher, size }))
            })
            .clone()
    }

    pub(crate) fn remove(&self, id: &str) {
        self.open.lock().unwrap_or_else(PoisonError::into_inner).remove(id);
    }
}
