//! Seeded contents for the data sets: upstream's layer tarballs, from the shared
//! deterministic generator, so that every run builds the same bytes and digests.

pub(super) use oci_test_support::fixtures::{Rng, gzip_stored};

/// A tar archive with one file, `conformance-<n>.txt`, with the text upstream's
/// `genLayer` writes (its lucky number drawn from `rng`).
pub(super) fn tar_layer(rng: &mut Rng, file_number: usize) -> Vec<u8> {
    let lucky = rng.next_u64() >> 1; // a non-negative int64, as upstream draws it
    let text = format!(
        "Conformance test file contents for file number {file_number}.\nTodays lucky number is {lucky}\n"
    );
    let mut header = tar::Header::new_ustar();
    let _ = header.set_path(format!("conformance-{file_number}.txt"));
    header.set_size(text.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_cksum();
    let mut builder = tar::Builder::new(Vec::new());
    // Writing into a Vec cannot fail.
    let _ = builder.append(&header, text.as_bytes());
    builder.into_inner().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tar_layers_hold_one_file() {
        let layer = tar_layer(&mut Rng::new("layer"), 3);
        assert_eq!(layer.len() % 512, 0);
        let mut archive = tar::Archive::new(layer.as_slice());
        let entries: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(entries, ["conformance-3.txt"]);
        assert_eq!(tar_layer(&mut Rng::new("layer"), 3), layer, "deterministic");
    }
}
