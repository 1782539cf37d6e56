//! Failures as one line for stderr and an exit code a script can branch on (the table
//! is [`EXIT_CODES`](crate::args::EXIT_CODES)).

use std::error::Error as StdError;
use std::fmt;

use oci::distribution::ErrorKind as ClientKind;

/// The exit codes.
pub(crate) const FAILURE: u8 = 1;
pub(crate) const USAGE: u8 = 2;
pub(crate) const NOT_FOUND: u8 = 3;
pub(crate) const DENIED: u8 = 4;
pub(crate) const NETWORK: u8 = 5;

/// A failed command: what to print after `oci: `, and the exit code.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) code: u8,
    pub(crate) message: String,
}

impl Failure {
    /// A failure with `code`.
    pub(crate) fn new(code: u8, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }

    /// A usage error (exit code 2).
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self::new(USAGE, message)
    }

    /// `error` with its causes on one line, classified by the first cause that says
    /// what kind of failure it is.
    pub(crate) fn of(error: &(dyn StdError + 'static)) -> Self {
        Self { code: classify(error), message: one_line(error) }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<oci::Error> for Failure {
    fn from(e: oci::Error) -> Self {
        Self::of(&e)
    }
}

/// The message of `error` and of each cause, once each: a cause whose text the one
/// above already carries is left out.
fn one_line(error: &(dyn StdError + 'static)) -> String {
    let mut line = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        let text = e.to_string();
        if !text.is_empty() && !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        cause = e.source();
    }
    line.replace('\n', " ")
}

/// The exit code of `error`: the kind of the facade's error, else of the registry
/// client's error in its chain, else of an I/O error.
fn classify(error: &(dyn StdError + 'static)) -> u8 {
    let mut cause = Some(error);
    let mut code = FAILURE;
    while let Some(e) = cause {
        if let Some(client) = e.downcast_ref::<oci::distribution::Error>() {
            return match (client.status().map(|s| s.as_u16()), client.kind()) {
                (Some(401 | 403), _) | (_, ClientKind::Auth | ClientKind::Credentials) => DENIED,
                (Some(404), _) => NOT_FOUND,
                (_, ClientKind::Connect | ClientKind::Timeout) => NETWORK,
                _ => FAILURE,
            };
        }
        if let Some(facade) = e.downcast_ref::<oci::Error>() {
            code = match facade.kind() {
                oci::ErrorKind::NotFound => NOT_FOUND,
                oci::ErrorKind::InvalidLocation => USAGE,
                _ => code,
            };
        }
        if let Some(layout) = e.downcast_ref::<oci::layout::Error>() {
            if matches!(layout.kind(), oci::layout::ErrorKind::NotALayout) {
                return NOT_FOUND;
            }
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::NotFound {
                return NOT_FOUND;
            }
        }
        cause = e.source();
    }
    code
}
