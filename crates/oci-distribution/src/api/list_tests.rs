//! Listings against a hostile registry: endless pages, pages of tiny entries, a next
//! link back to a page already read, pages full of invalid entries.

use oci_spec_types::{Descriptor, MediaType};
use oci_test_support::logs::Logs;

use super::fake::{Fake, Reply};
use crate::{ErrorKind, FallbackPolicy, ListOptions, ReferrersOptions};

/// The number in `?page=N` of a target, 0 without one.
fn page_of(target: &str) -> usize {
    target.split_once("page=").map_or(0, |(_, n)| n.parse().unwrap())
}

#[tokio::test]
async fn endless_pages_of_tiny_tags_stop_at_the_default_budget() {
    // Each page is 400 KB of one-letter tags; the registry never stops paging.
    let page = format!(r#"{{"name":"app","tags":[{}"a"]}}"#, r#""a","#.repeat(99_999));
    let fake = Fake::start(move |seen| {
        let next = page_of(&seen.target) + 1;
        Reply::new(200, page.clone())
            .header("link", format!(r#"</v2/app/tags/list?page={next}>; rel="next""#))
    })
    .await;
    let client = fake.client(|_| {});
    let e = client.tags(&fake.repository("app"), ListOptions::all_pages()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Limit);
    assert_eq!(
        e.to_string(),
        format!(
            "over a limit: GET http://{}/v2/app/tags/list?page=10: the listing has more than 1000000 entries \
             (ClientOptions::max_list_entries)",
            fake.host()
        )
    );
    assert_eq!(fake.requests().len(), 11, "one page past the budget, then no more");
}

#[tokio::test]
async fn listings_stop_at_their_byte_budget_and_their_entry_budget() {
    let fake = Fake::start(|seen| {
        let next = page_of(&seen.target) + 1;
        let link = format!(r#"<?page={next}>; rel="next""#);
        if seen.target.starts_with("/v2/_catalog") {
            Reply::new(200, format!(r#"{{"repositories":["r{next}"]}}"#)).header("link", link)
        } else {
            Reply::new(200, r#"{"name":"app","tags":["a","b","c"]}"#).header("link", link)
        }
    })
    .await;
    let client = fake.client(|o| o.max_list_entries = 10);
    let e = client.tags(&fake.repository("app"), ListOptions::all_pages()).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "over a limit: GET http://{}/v2/app/tags/list?page=3: the listing has more than 10 entries \
             (ClientOptions::max_list_entries)",
            fake.host()
        )
    );
    let client = fake.client(|o| o.max_list_total_bytes = 100);
    let registry = fake.host().parse().unwrap();
    let e = client.catalog(&registry, ListOptions::all_pages()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Limit);
    assert_eq!(
        e.to_string(),
        format!(
            "over a limit: GET http://{}/v2/_catalog?page=4: the listing is larger than 100 bytes \
             (ClientOptions::max_list_total_bytes)",
            fake.host()
        )
    );
    // One page alone is within any budget.
    assert_eq!(client.catalog(&registry, ListOptions::default()).await.unwrap().repositories, ["r1"]);
}

#[tokio::test]
async fn a_next_link_back_to_a_page_read_is_refused() {
    let fake = Fake::start(|seen| {
        let body = r#"{"name":"app","tags":["a"]}"#;
        match seen.target.as_str() {
            "/v2/app/tags/list" => {
                Reply::new(200, body).header("link", r#"</v2/app/tags/list?last=a>; rel="next""#)
            }
            // Back to the first page.
            _ => Reply::new(200, body).header("link", r#"</v2/app/tags/list>; rel="next""#),
        }
    })
    .await;
    let client = fake.client(|_| {});
    let e = client.tags(&fake.repository("app"), ListOptions::all_pages()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidResponse);
    let host = fake.host();
    assert_eq!(
        e.to_string(),
        format!(
            "invalid response: GET http://{host}/v2/app/tags/list?last=a: the next page \
             http://{host}/v2/app/tags/list was read already (a loop)"
        )
    );
    assert_eq!(fake.requests(), ["GET /v2/app/tags/list", "GET /v2/app/tags/list?last=a"]);
}

#[tokio::test]
async fn referrer_pages_have_the_same_budget_and_loop_check() {
    let subject = Descriptor::for_bytes(MediaType::IMAGE_MANIFEST, b"subject");
    let entry = Descriptor::for_bytes(MediaType::IMAGE_MANIFEST, b"sbom")
        .with_artifact_type(MediaType::from("application/spdx+json"));
    let index = serde_json::to_vec(&oci_spec_types::ImageIndex::new(vec![entry.clone(), entry])).unwrap();
    let fake = Fake::start(move |seen| {
        let next = page_of(&seen.target) + 1;
        // Pages 1, 2, 3, 1, ...: a cycle of three.
        let link = format!(r#"<?page={}>; rel="next""#, next % 3 + 1);
        Reply::new(200, index.clone())
            .header("content-type", "application/vnd.oci.image.index.v1+json")
            .header("link", link)
    })
    .await;
    let subject = fake.reference(&format!("app@{}", subject.digest));
    let options = ReferrersOptions::default().with_fallback(FallbackPolicy::ApiOnly);
    let client = fake.client(|_| {});
    let e = client.referrers(&subject, options.clone()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidResponse);
    assert!(e.to_string().ends_with("was read already (a loop)"), "{e}");
    assert_eq!(fake.requests().len(), 4, "{:?}", fake.requests());
    let client = fake.client(|o| o.max_list_entries = 3);
    let e = client.referrers(&subject, options).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Limit);
    assert!(
        e.to_string().ends_with("the listing has more than 3 entries (ClientOptions::max_list_entries)"),
        "{e}"
    );
}

#[tokio::test]
async fn invalid_entries_are_one_warning_per_page() {
    let nulls = "null,".repeat(5000);
    let fake = Fake::start(move |seen| match seen.target.as_str() {
        "/v2/app/tags/list" => {
            Reply::new(200, format!(r#"{{"name":"app","tags":[{nulls}"ok","-bad","sha256:x"]}}"#))
                .header("link", r#"<?page=2>; rel="next""#)
        }
        _ => Reply::new(200, r#"{"name":"app","tags":["fine",null]}"#),
    })
    .await;
    let client = fake.client(|_| {});
    let capture = Logs::warnings();
    let list = client.tags(&fake.repository("app"), ListOptions::all_pages()).await.unwrap();
    assert_eq!(list.tags, ["ok", "fine"]);
    let host = fake.host();
    assert_eq!(
        capture.lines(),
        [
            format!(
                "GET http://{host}/v2/app/tags/list: skipping entries that are null or invalid nulls=5000 \
                 invalid=2 first_invalid=-bad"
            ),
            format!(
                "GET http://{host}/v2/app/tags/list?page=2: skipping entries that are null or invalid nulls=1 \
                 invalid=0 first_invalid="
            ),
        ]
    );
}
