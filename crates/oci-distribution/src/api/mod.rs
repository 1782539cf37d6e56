//! The distribution-spec endpoints, as `impl Client` blocks by topic.

mod annotations;
pub(crate) mod blobs;
mod digests;
#[cfg(test)]
mod fake;
mod headers;
#[cfg(test)]
mod hostile_tests;
#[cfg(test)]
mod list_tests;
mod manifests;
mod pages;
pub(crate) mod referrers;
mod tags;
#[cfg(test)]
mod tests;
pub(crate) mod upload;

pub(crate) use referrers::ReferrersState;
pub use referrers::{FallbackPolicy, ReferrersOptions};
pub use tags::ListOptions;
