//! Tag lists and the catalog, with `n`/`last` and `Link` pagination.
//!
//! The next page is the `rel="next"` link of the answer, followed verbatim (Quay puts
//! opaque tokens in it) and only on the registry's own origin, never to a page already
//! read, within the listing budget of [`ClientOptions`](crate::ClientOptions): at most
//! `max_pages` pages of at most `max_list_bytes` each, `max_list_total_bytes` in all and
//! `max_list_entries` entries kept. `null` lists read as empty; `null` entries (Sonatype
//! Nexus) and entries that are not tags (digests listed by `JFrog` Artifactory) are
//! skipped, with one warning per page.

use std::fmt::Write as _;

use http::header::ACCEPT;
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use oci_reference::{Registry, Repository};
use oci_spec_types::{RepositoryList, TagList};
use serde::Deserialize;

use super::pages::Pager;
use crate::auth::scope::REGISTRY_CATALOG;
use crate::client::repository_scopes;
use crate::link::next_page;
use crate::{Body, Client, Error, ErrorKind, Result};

/// Which part of a tag list or catalog to read: the seeds' `Last`, `Count` and
/// `AllPages`.
///
/// ```
/// use oci_distribution::ListOptions;
///
/// let everything = ListOptions::all_pages();
/// let first_ten = ListOptions::first_page(10);
/// let next_ten = ListOptions::after("v1.9", 10);
/// assert_eq!(next_ten.last.as_deref(), Some("v1.9"));
/// assert!(everything.all_pages && !first_ten.all_pages);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListOptions {
    /// The page size asked for (`n`); the registry's default when `None`. ECR refuses
    /// more than 1000.
    pub n: Option<u32>,
    /// Start after this entry (`last`).
    pub last: Option<String>,
    /// Follow `rel="next"` links and return every page's entries; otherwise only the
    /// first page.
    pub all_pages: bool,
}

impl ListOptions {
    /// Every entry, page after page.
    #[must_use]
    pub fn all_pages() -> Self {
        Self { all_pages: true, ..Self::default() }
    }

    /// The first `n` entries.
    #[must_use]
    pub fn first_page(n: u32) -> Self {
        Self { n: Some(n), ..Self::default() }
    }

    /// The `n` entries after `last`.
    #[must_use]
    pub fn after(last: impl Into<String>, n: u32) -> Self {
        Self { n: Some(n), last: Some(last.into()), all_pages: false }
    }

    /// The same options, following every page.
    #[must_use]
    pub fn with_all_pages(mut self) -> Self {
        self.all_pages = true;
        self
    }

    /// `?n=..&last=..`, or nothing.
    fn query(&self) -> String {
        let mut params = Vec::new();
        if let Some(n) = self.n {
            params.push(format!("n={n}"));
        }
        if let Some(last) = &self.last {
            params.push(format!("last={}", query_escape(last)));
        }
        if params.is_empty() { String::new() } else { format!("?{}", params.join("&")) }
    }
}

/// Percent-encodes everything but the unreserved characters of RFC 3986.
pub(super) fn query_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// A page as registries send it: tolerant of `null` for the list and its entries.
#[derive(Deserialize)]
struct TagPage {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    tags: Option<Vec<Option<String>>>,
}

#[derive(Deserialize)]
struct CatalogPage {
    #[serde(default)]
    repositories: Option<Vec<Option<String>>>,
}

/// Whether `tag` matches the tag grammar `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
fn is_tag(tag: &str) -> bool {
    let b = tag.as_bytes();
    (1..=128).contains(&b.len())
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b[1..].iter().all(|&c| c.is_ascii_alphanumeric() || b"_.-".contains(&c))
}

/// The usable entries of a page: `null`s and entries `keep` refuses are dropped, with
/// one warning for the page that says how many and shows the first.
fn usable(entries: Option<Vec<Option<String>>>, keep: fn(&str) -> bool, context: &str) -> Vec<String> {
    let entries = entries.unwrap_or_default();
    let mut out = Vec::with_capacity(entries.len());
    let (mut nulls, mut invalid, mut first) = (0usize, 0usize, None);
    for entry in entries {
        match entry {
            Some(e) if keep(&e) => out.push(e),
            Some(e) => {
                invalid += 1;
                first.get_or_insert(e);
            }
            None => nulls += 1,
        }
    }
    if nulls + invalid > 0 {
        let first: String = first.unwrap_or_default().chars().take(80).collect();
        tracing::warn!(nulls, invalid, first_invalid = %first, "{context}: skipping entries that are null or invalid");
    }
    out
}

impl Client {
    /// Reads a list page by page, handing each page's body to `each`, which returns how
    /// many entries it kept; within the listing's budget (see [`Pager`]).
    async fn list_pages(
        &self,
        mut uri: Uri,
        scopes: &[String],
        all_pages: bool,
        mut each: impl FnMut(&[u8], &str) -> Result<usize>,
    ) -> Result<()> {
        let mut pager = Pager::new(self.options(), &uri);
        loop {
            let context = format!("GET {uri}");
            let mut headers = HeaderMap::new();
            headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
            let response = self.send(Method::GET, uri.clone(), headers, Body::empty(), scopes).await?;
            let response = Self::expect(response, &[StatusCode::OK], &context).await?;
            let next = next_page(response.headers(), &uri)?;
            let bytes = response.into_body().bytes(self.options().max_list_bytes).await?;
            let kept = each(&bytes, &context)?;
            pager.took(bytes.len(), kept, &context)?;
            match next {
                Some(next) if all_pages => uri = pager.follow(&uri, next)?,
                _ => return Ok(()),
            }
        }
    }

    /// The tags of `repository`: one page, or every page with
    /// [`ListOptions::all_pages`], in the registry's order.
    ///
    /// ```no_run
    /// use oci_distribution::ListOptions;
    /// use oci_reference::Repository;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let url = std::env::var("OCI_TEST_REGISTRY_PLAIN")?; // a registry: compiled here, not run
    /// # let registry = url.trim_start_matches("http://").trim_end_matches('/');
    /// # let client = oci_distribution::Client::builder().build()?;
    /// # let config = oci_spec_types::Descriptor::for_bytes(oci_spec_types::MediaType::EMPTY, b"{}");
    /// # let repository: oci_reference::Repository = format!("{registry}/docs/tags").parse()?;
    /// # client.push_blob(&repository, &config, b"{}".to_vec(), Default::default()).await?;
    /// # let pushed = oci_spec_types::Document::new(oci_spec_types::ImageManifest::new(config.clone(), vec![]))?;
    /// # client.put_manifest(&repository.with_tag("1.0")?, &pushed).await?;
    /// let repository: Repository = format!("{registry}/docs/tags").parse()?;
    /// let all = client.tags(&repository, ListOptions::all_pages()).await?;
    /// assert_eq!(all.tags, ["1.0"]);
    /// let page = client.tags(&repository, ListOptions::after("0.9", 10)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn tags(&self, repository: &Repository, options: ListOptions) -> Result<TagList> {
        let path = format!("/v2/{}/tags/list{}", repository.path(), options.query());
        let uri = self.url(repository, &path).await?;
        let scopes = repository_scopes(repository, false);
        let mut list = TagList::default();
        list.name = repository.path().to_owned();
        self.list_pages(uri, &scopes, options.all_pages, |bytes, context| {
            let page: TagPage = serde_json::from_slice(bytes).map_err(|e| {
                Error::new(ErrorKind::InvalidResponse, format!("{context}: the tag list")).with_source(e)
            })?;
            if let Some(name) = page.name.filter(|n| !n.is_empty()) {
                list.name = name;
            }
            let tags = usable(page.tags, is_tag, context);
            let kept = tags.len();
            list.tags.extend(tags);
            Ok(kept)
        })
        .await?;
        Ok(list)
    }

    /// The repositories of `registry` (`docker.io` means Docker Hub's endpoint), with
    /// the `registry:catalog:*` scope; one page, or every page with
    /// [`ListOptions::all_pages`]. Many registries refuse the catalog or list only what
    /// the credentials may read.
    ///
    /// ```no_run
    /// use oci_distribution::ListOptions;
    /// use oci_reference::Registry;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let url = std::env::var("OCI_TEST_REGISTRY_PLAIN")?; // a registry: compiled here, not run
    /// # let registry = url.trim_start_matches("http://").trim_end_matches('/');
    /// # let client = oci_distribution::Client::builder().build()?;
    /// # let config = oci_spec_types::Descriptor::for_bytes(oci_spec_types::MediaType::EMPTY, b"{}");
    /// # let repository: oci_reference::Repository = format!("{registry}/docs/catalog").parse()?;
    /// # client.push_blob(&repository, &config, b"{}".to_vec(), Default::default()).await?;
    /// # let pushed = oci_spec_types::Document::new(oci_spec_types::ImageManifest::new(config.clone(), vec![]))?;
    /// # client.put_manifest(&repository.with_tag("1.0")?, &pushed).await?;
    /// let registry: Registry = registry.parse()?; // a host, such as `localhost:5000`
    /// let first = client.catalog(&registry, ListOptions::first_page(100)).await?;
    /// let every = client.catalog(&registry, ListOptions::all_pages()).await?;
    /// assert!(every.repositories.starts_with(&first.repositories));
    /// assert!(every.repositories.iter().any(|r| r == "docs/catalog"));
    /// # Ok(()) }
    /// ```
    pub async fn catalog(&self, registry: &Registry, options: ListOptions) -> Result<RepositoryList> {
        let uri = self.url_on(registry.endpoint_host(), &format!("/v2/_catalog{}", options.query())).await?;
        let scopes = vec![REGISTRY_CATALOG.to_owned()];
        let mut list = RepositoryList::default();
        self.list_pages(uri, &scopes, options.all_pages, |bytes, context| {
            let page: CatalogPage = serde_json::from_slice(bytes).map_err(|e| {
                Error::new(ErrorKind::InvalidResponse, format!("{context}: the catalog")).with_source(e)
            })?;
            let repositories = usable(page.repositories, |r| !r.is_empty(), context);
            let kept = repositories.len();
            list.repositories.extend(repositories);
            Ok(kept)
        })
        .await?;
        Ok(list)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries() {
        assert_eq!(ListOptions::all_pages().query(), "");
        assert_eq!(ListOptions::first_page(3).query(), "?n=3");
        assert_eq!(ListOptions::after("v1.0", 2).query(), "?n=2&last=v1.0");
        let catalog = ListOptions { last: Some("org/app x".into()), ..ListOptions::default() };
        assert_eq!(catalog.query(), "?last=org%2Fapp%20x");
        assert_eq!(query_escape("application/vnd.x+json"), "application%2Fvnd.x%2Bjson");
    }

    #[test]
    fn tag_grammar() {
        for ok in ["a", "_", "v1.0-rc.1", "A_b", &"x".repeat(128)] {
            assert!(is_tag(ok), "{ok}");
        }
        for bad in ["", ".a", "-a", "sha256:abc", "a/b", &"x".repeat(129)] {
            assert!(!is_tag(bad), "{bad}");
        }
    }

    #[test]
    fn pages_tolerate_nulls_and_skip_invalid_entries() {
        let page: TagPage = serde_json::from_str(r#"{"name":"a/b","tags":null}"#).unwrap();
        assert!(usable(page.tags, is_tag, "x").is_empty());
        let page: TagPage = serde_json::from_str(
            r#"{"name":"a/b","tags":["v1",null,"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","v2"]}"#,
        )
        .unwrap();
        assert_eq!(page.name.as_deref(), Some("a/b"));
        assert_eq!(usable(page.tags, is_tag, "x"), ["v1", "v2"]);
        let page: CatalogPage = serde_json::from_str(r#"{"repositories":["a/b",null,"",  "c"]}"#).unwrap();
        assert_eq!(usable(page.repositories, |r| !r.is_empty(), "x"), ["a/b", "c"]);
        let page: CatalogPage = serde_json::from_str("{}").unwrap();
        assert!(usable(page.repositories, |r| !r.is_empty(), "x").is_empty());
    }
}
