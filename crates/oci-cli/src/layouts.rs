//! `oci layout init|ls|fsck|gc`: image layouts as a directory or a tar file.

use std::fmt::Write as _;

use oci::Layout;
use serde_json::json;

use crate::args::{Global, LayoutCommand};
use crate::exit::{self, Failure};
use crate::output::print;

type Result<T = ()> = std::result::Result<T, Failure>;

fn failed(path: &str) -> impl Fn(oci::layout::Error) -> Failure + '_ {
    move |e| {
        let mut failure = Failure::of(&e);
        failure.message = format!("{path}: {}", failure.message);
        failure
    }
}

pub(crate) fn run(global: &Global, command: LayoutCommand) -> Result {
    match command {
        LayoutCommand::Init { path } => {
            let is_tar =
                std::path::Path::new(&path).extension().is_some_and(|e| e.eq_ignore_ascii_case("tar"));
            let layout = if is_tar { Layout::init_tar(&path) } else { Layout::init_dir(&path) };
            layout.and_then(|l| l.commit()).map_err(failed(&path))?;
            print(global.json, &json!({ "path": path }), &format!("initialized {path}"))
        }
        LayoutCommand::Ls { path } => {
            let layout = Layout::open_path(&path).map_err(failed(&path))?;
            let index = layout.read_index().map_err(failed(&path))?;
            let mut text = String::new();
            let mut entries = Vec::new();
            for m in &index.manifests {
                let tag = m.annotations.get(oci::spec::Annotations::REF_NAME);
                let _ = writeln!(text, "{:<24} {} {}", tag.unwrap_or("-"), m.digest, m.media_type);
                entries.push(json!({
                    "tag": tag,
                    "digest": m.digest.to_string(),
                    "mediaType": m.media_type.to_string(),
                    "size": m.size,
                }));
            }
            print(global.json, &json!({ "path": path, "manifests": entries }), &text)
        }
        LayoutCommand::Fsck { path } => {
            let layout = Layout::open_path(&path).map_err(failed(&path))?;
            let report = layout.fsck().map_err(failed(&path))?;
            let findings: Vec<String> = report.findings.iter().map(ToString::to_string).collect();
            let value = json!({
                "path": path,
                "ok": report.is_ok(),
                "blobsVerified": report.blobs_verified,
                "bytesVerified": report.bytes_verified,
                "unreferenced": report.unreferenced.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "findings": findings,
            });
            let mut text = findings.join("\n");
            let _ = write!(
                text,
                "{}{path}: {} blobs verified, {} unreferenced, {}",
                if findings.is_empty() { "" } else { "\n" },
                report.blobs_verified,
                report.unreferenced.len(),
                if report.is_ok() { "ok" } else { "errors found" }
            );
            print(global.json, &value, &text)?;
            if report.is_ok() {
                Ok(())
            } else {
                Err(Failure::new(exit::FAILURE, format!("{path}: the layout has errors")))
            }
        }
        LayoutCommand::Gc { path } => {
            let layout = Layout::open_path(&path).map_err(failed(&path))?;
            let report = layout.gc().map_err(failed(&path))?;
            layout.commit().map_err(failed(&path))?;
            let value = json!({
                "path": path,
                "removed": report.removed.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "bytesFreed": report.bytes_freed,
            });
            let text =
                format!("{path}: {} blobs removed, {} bytes freed", report.removed.len(), report.bytes_freed);
            print(global.json, &value, &text)
        }
    }
}
