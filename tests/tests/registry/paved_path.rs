//! The crate documentation's paved path, run: pushing an image to each test registry
//! (with the client of the registry, which knows its credentials and CA) and reading
//! it back.

use oci_distribution::{ListOptions, PullOptions, PushOptions};
use oci_spec_types::{Descriptor, Document, ImageConfig, ImageManifest, MediaType, Platform};

use crate::common::targets;

#[tokio::test]
async fn push_an_image_and_read_it_back() {
    for target in targets("push_an_image_and_read_it_back").await {
        let name = target.repository("paved-path");
        let image = target.reference(&format!("{name}:1.0"));
        let repository = image.repository();
        let client = &target.client;

        let layer = b"pretend this is a tar".to_vec();
        let layer_descriptor = Descriptor::for_bytes(MediaType::LAYER_TAR, &layer);
        client
            .push_blob(&repository, &layer_descriptor, layer.clone(), PushOptions::default())
            .await
            .unwrap();
        let config = Document::new(ImageConfig::new(&"linux/amd64".parse::<Platform>().unwrap())).unwrap();
        let options = PushOptions::default();
        client.push_blob(&repository, &config.descriptor(), config.bytes().clone(), options).await.unwrap();
        let manifest =
            Document::new(ImageManifest::new(config.descriptor(), vec![layer_descriptor.clone()])).unwrap();
        client.put_manifest(&image, &manifest).await.unwrap();

        let got = client.get_manifest(&image).await.unwrap();
        assert_eq!((got.digest(), got.media_type()), (manifest.digest(), &MediaType::IMAGE_MANIFEST));
        assert_eq!(got.bytes(), manifest.bytes(), "{}", target.name);
        let tags = client.tags(&repository, ListOptions::all_pages()).await.unwrap();
        assert_eq!(tags.tags, ["1.0"], "{}", target.name);
        let blob = client.get_blob(&repository, &layer_descriptor, PullOptions::default()).await.unwrap();
        assert_eq!(blob.bytes(1 << 20).await.unwrap(), layer, "{}", target.name);
    }
}
