//! Well-known locations and the environment variables that move them.

use std::path::{Path, PathBuf};

/// Cache directory for downloaded datasets (default `<workspace>/datasets/cache`).
pub const ENV_DATA: &str = "GRADWORK_DATA";
/// Mirror to try before the official URLs: a directory or an http(s) base URL.
pub const ENV_MIRROR: &str = "GRADWORK_DATA_MIRROR";
/// The project's shared folder holding `datasets/` (default `<workspace>/../shared`); used by tests.
pub const ENV_SHARED: &str = "GRADWORK_SHARED";

/// The workspace root (the parent of the xtask crate).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// Reads a non-empty environment variable.
pub fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The cache directory: `$GRADWORK_DATA`, else `<workspace>/datasets/cache`.
pub fn cache_dir(workspace: &Path) -> PathBuf {
    env_nonempty(ENV_DATA)
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("datasets").join("cache"))
}

/// Where the in-repo copies of shipped datasets live: `<workspace>/datasets`.
pub fn shipped_root(workspace: &Path) -> PathBuf {
    workspace.join("datasets")
}

/// The shared datasets folder: `$GRADWORK_SHARED/datasets`, else `<workspace>/../shared/datasets`.
pub fn shared_datasets(workspace: &Path) -> PathBuf {
    env_nonempty(ENV_SHARED)
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("..").join("shared"))
        .join("datasets")
}
