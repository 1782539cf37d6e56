//! The budget of a paginated listing (tag lists, the catalog, the referrers API): how
//! many pages, bytes and entries one call may take in, and the pages already read, so
//! that a registry cannot make a listing hold unbounded memory or loop on a
//! `rel="next"` link that points back.

use std::collections::HashSet;

use http::Uri;

use crate::{ClientOptions, Error, ErrorKind, Result};

/// What one listing has taken in so far, against the client's limits.
pub(super) struct Pager {
    max_pages: usize,
    max_bytes: u64,
    max_entries: usize,
    visited: HashSet<String>,
    bytes: u64,
    entries: usize,
}

impl Pager {
    /// A listing whose first page is `first`.
    pub(super) fn new(options: &ClientOptions, first: &Uri) -> Self {
        let mut visited = HashSet::new();
        visited.insert(first.to_string());
        Self {
            max_pages: options.max_pages.max(1),
            max_bytes: options.max_list_total_bytes,
            max_entries: options.max_list_entries,
            visited,
            bytes: 0,
            entries: 0,
        }
    }

    /// Counts a page of `bytes` bytes that added `entries` entries; fails with an error
    /// of kind [`Limit`](ErrorKind::Limit) past the listing's total bytes or entries.
    pub(super) fn took(&mut self, bytes: usize, entries: usize, context: &str) -> Result<()> {
        self.bytes = self.bytes.saturating_add(bytes as u64);
        self.entries = self.entries.saturating_add(entries);
        if self.bytes > self.max_bytes {
            let why = format!(
                "{context}: the listing is larger than {} bytes (ClientOptions::max_list_total_bytes)",
                self.max_bytes
            );
            return Err(Error::new(ErrorKind::Limit, why));
        }
        if self.entries > self.max_entries {
            let why = format!(
                "{context}: the listing has more than {} entries (ClientOptions::max_list_entries)",
                self.max_entries
            );
            return Err(Error::new(ErrorKind::Limit, why));
        }
        Ok(())
    }

    /// Accepts `next` as the next page to read after `current`: refused when it was read
    /// already (a loop) or when the listing has read its most pages.
    pub(super) fn follow(&mut self, current: &Uri, next: Uri) -> Result<Uri> {
        if self.visited.len() >= self.max_pages {
            let why = format!("GET {next}: more than {} pages", self.max_pages);
            return Err(Error::new(ErrorKind::Limit, why));
        }
        if !self.visited.insert(next.to_string()) {
            let why = format!("GET {current}: the next page {next} was read already (a loop)");
            return Err(Error::new(ErrorKind::InvalidResponse, why));
        }
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(pages: usize, bytes: u64, entries: usize) -> ClientOptions {
        let mut o = ClientOptions::default();
        (o.max_pages, o.max_list_total_bytes, o.max_list_entries) = (pages, bytes, entries);
        o
    }

    #[test]
    fn budgets_and_loops() {
        let first: Uri = "http://r.test/v2/a/tags/list".parse().unwrap();
        let second: Uri = "http://r.test/v2/a/tags/list?last=b".parse().unwrap();
        let mut pager = Pager::new(&options(3, 10, 2), &first);
        pager.took(6, 1, "GET first").unwrap();
        let e = pager.follow(&second, first.clone()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidResponse);
        assert_eq!(
            e.to_string(),
            "invalid response: GET http://r.test/v2/a/tags/list?last=b: the next page http://r.test/v2/a/tags/list was read already (a loop)"
        );
        pager.follow(&first, second.clone()).unwrap();
        let e = pager.took(5, 0, "GET second").unwrap_err();
        assert_eq!(
            e.to_string(),
            "over a limit: GET second: the listing is larger than 10 bytes (ClientOptions::max_list_total_bytes)"
        );
        let mut pager = Pager::new(&options(2, 100, 2), &first);
        let e = pager.took(1, 3, "GET first").unwrap_err();
        assert_eq!(
            e.to_string(),
            "over a limit: GET first: the listing has more than 2 entries (ClientOptions::max_list_entries)"
        );
        pager.follow(&first, second.clone()).unwrap();
        let third: Uri = "http://r.test/v2/a/tags/list?last=c".parse().unwrap();
        let e = pager.follow(&second, third).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Limit);
        assert_eq!(e.to_string(), "over a limit: GET http://r.test/v2/a/tags/list?last=c: more than 2 pages");
    }
}
