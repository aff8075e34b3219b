//! The library behind `cargo xtask`, gradwork's developer tool. The binary (`main.rs`) only parses the
//! command line; everything it does is here so tests can drive it.
//!
//! All network code of the project lives in this crate: gradwork's library crates only read files.
//!
//! Map of the crate:
//! - [`registry`]: `datasets/registry.toml`, the list of datasets, files, URLs, sizes and hashes.
//! - [`source`]: the ordered sources of a file (mirror, official URLs, fallbacks).
//! - [`download`]: streams one source into a verified, fsynced temporary file.
//! - [`fetch`]: installs files into the cache (verify, try sources, rename into place).
//! - [`hash`]: SHA-256 / MD5 digests and the check against the registry.
//! - [`list`]: the `--list` table.
//! - [`bench`](mod@bench): `cargo xtask bench --vs pytorch`, the side-by-side benchmark, and its worker.
//! - [`cmd_fetch`]: the `fetch` subcommand's arguments and driver.
//! - [`paths`]: workspace, cache and mirror locations and their environment variables.
//! - [`error`]: the crate's error type.
//! - [`experiment`]: `experiment` and `verify`: reproducible training runs from TOML manifests.
//!
//! ```no_run
//! use xtask::{download::Downloader, fetch, paths, registry::Registry, source::Mirror};
//!
//! let workspace = paths::workspace_root();
//! let registry = Registry::load(&Registry::default_path(&workspace))?;
//! let opts = fetch::FetchOptions {
//!     cache_dir: paths::cache_dir(&workspace),
//!     workspace,
//!     mirror: Some(Mirror::parse("../shared/datasets")?),
//!     offline: true,
//!     progress: false,
//! };
//! let reports = fetch::fetch_dataset(registry.get("mnist")?, &opts, &Downloader::new(false))?;
//! assert_eq!(reports.len(), 4);
//! # Ok::<(), xtask::error::FetchError>(())
//! ```

pub mod bench;
pub mod cmd_fetch;
pub mod download;
pub mod error;
pub mod experiment;
pub mod fetch;
pub mod hash;
pub mod list;
pub mod paths;
pub mod progress;
pub mod registry;
pub mod source;
