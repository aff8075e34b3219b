//! The one error type of the xtask library: every message says what happened and what to do.

use std::path::PathBuf;

/// Everything that can go wrong while reading the registry or fetching a dataset.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// Reading or writing a local file failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done ("reading", "creating temporary file in", ...).
        action: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The registry file is not valid TOML or does not match the schema.
    #[error("dataset registry {path} is invalid: {message}")]
    Registry {
        /// The registry file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A dataset name on the command line is not in the registry.
    #[error("unknown dataset '{name}'; known datasets: {}. Run `cargo xtask fetch --list` to see them", known.join(", "))]
    UnknownDataset {
        /// The name that was asked for.
        name: String,
        /// Every name in the registry.
        known: Vec<String>,
    },
    /// The registry records no SHA-256 for a file, so no copy of it can be trusted.
    #[error("refusing to install {dataset}/{file}: the registry records no SHA-256 for it, so a download could not be verified. Add its SHA-256 to datasets/registry.toml (from the official source) and run the command again")]
    NoVerifiedHash {
        /// Dataset name.
        dataset: String,
        /// File path inside the dataset.
        file: String,
    },
    /// A source answered with an HTTP error status.
    #[error("HTTP {status} {reason} from {url}")]
    Http {
        /// The URL requested (before redirects).
        url: String,
        /// HTTP status code.
        status: u16,
        /// Reason phrase sent by the server.
        reason: String,
    },
    /// A source could not be reached or the connection failed mid-way.
    #[error("could not download {url}: {message}")]
    Transport {
        /// The URL requested.
        url: String,
        /// The transport error.
        message: String,
    },
    /// A local mirror directory has no copy of the file.
    #[error("mirror has no file {path}")]
    MissingInMirror {
        /// Where the file was expected.
        path: PathBuf,
    },
    /// The body ended before the announced or expected number of bytes.
    #[error("short read from {source_name}: got {got} bytes, expected {expected}; the transfer was cut off")]
    ShortRead {
        /// URL or path of the source.
        source_name: String,
        /// Bytes expected.
        expected: u64,
        /// Bytes received.
        got: u64,
    },
    /// The source holds a file of the wrong size.
    #[error("size mismatch for {source_name}: expected {expected} bytes, the source has {actual}")]
    SizeMismatch {
        /// URL or path of the source.
        source_name: String,
        /// Size recorded in the registry.
        expected: u64,
        /// Size found.
        actual: u64,
    },
    /// The bytes do not hash to the recorded value.
    #[error("{algorithm} mismatch for {source_name}: expected {expected}, got {actual}; the copy is corrupt or a different version and was discarded")]
    HashMismatch {
        /// URL or path of the source.
        source_name: String,
        /// "SHA-256" or "MD5".
        algorithm: &'static str,
        /// Hex digest recorded in the registry.
        expected: String,
        /// Hex digest of the bytes received.
        actual: String,
    },
    /// Every source for a file failed; lists each attempt.
    #[error("could not install {dataset}/{file}: every source failed:\n{}\nWhat to do: check your network connection, or point at a verified copy with `--mirror DIR|URL` (or GRADWORK_DATA_MIRROR) laid out as <mirror>/{mirror_folder}/{file}. Nothing was written to {dest}.", attempts.iter().map(|a| format!("  - {a}")).collect::<Vec<_>>().join("\n"))]
    AllSourcesFailed {
        /// Dataset name.
        dataset: String,
        /// File path inside the dataset.
        file: String,
        /// The dataset's folder in a mirror.
        mirror_folder: String,
        /// Where the file would have gone.
        dest: PathBuf,
        /// One line per source tried, in order.
        attempts: Vec<String>,
    },
    /// A file shipped in the repository is missing or does not match the registry.
    #[error("in-repo file {path} does not match the registry: {problem}. Restore it with `git checkout -- {path}` (or fix datasets/registry.toml if the change was intended)")]
    ShippedFileModified {
        /// Path of the shipped file.
        path: PathBuf,
        /// What differs.
        problem: String,
    },
    /// A mirror argument is neither an http(s) URL nor an existing directory.
    #[error("mirror '{value}' is neither an http(s):// URL nor an existing directory")]
    BadMirror {
        /// The value given.
        value: String,
    },
    /// Several files of one dataset could not be installed (the others were).
    #[error("{} of {total} file(s) of {dataset} could not be installed:\n{}", errors.len(), errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
    FilesFailed {
        /// Dataset name.
        dataset: String,
        /// Number of files in the dataset.
        total: usize,
        /// One error per failed file.
        errors: Vec<FetchError>,
    },
    /// A dataset file needed by a program is not installed (or does not verify).
    #[error("{dataset}/{file} is not available at {}: {problem}. Run `cargo xtask fetch {dataset}` (add `--mirror DIR|URL` to use a local copy)", path.display())]
    NotInstalled {
        /// Dataset name.
        dataset: String,
        /// File path inside the dataset.
        file: String,
        /// Where it was looked for.
        path: PathBuf,
        /// "missing" or what is wrong with it.
        problem: String,
    },
    /// Some datasets failed; the others were installed.
    #[error("{failed} of {total} dataset(s) could not be fetched (see the errors above)")]
    SomeFailed {
        /// How many datasets failed.
        failed: usize,
        /// How many were requested.
        total: usize,
    },
}

impl FetchError {
    /// Builds an [`FetchError::Io`] from an action, a path and an error.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        FetchError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

/// The xtask result type.
pub type Result<T, E = FetchError> = std::result::Result<T, E>;
