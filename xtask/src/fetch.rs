//! Installing datasets: verify what is there, otherwise try each source in order, and move a verified
//! copy into place atomically. Nothing unverified ever reaches a destination path.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::download::Downloader;
use crate::error::{FetchError, Result};
use crate::hash;
use crate::registry::{DataFile, Dataset};
use crate::source::{self, Mirror};

/// Where data lives and where it may come from.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// The workspace root (shipped datasets are under `<workspace>/datasets/<name>/`).
    pub workspace: PathBuf,
    /// The cache for downloaded datasets (`$GRADWORK_DATA`).
    pub cache_dir: PathBuf,
    /// A mirror tried before the registry URLs.
    pub mirror: Option<Mirror>,
    /// Use only the mirror, never the registry URLs.
    pub offline: bool,
    /// Draw progress bars.
    pub progress: bool,
}

/// What happened to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Shipped in the repository and verified there.
    Shipped,
    /// Already in the cache and verified; nothing was downloaded.
    AlreadyInstalled,
    /// Downloaded from this source, verified and installed.
    Installed {
        /// The source that delivered the verified copy.
        from: String,
    },
}

/// The result for one file.
#[derive(Debug, Clone)]
pub struct FileReport {
    /// Final location of the file.
    pub path: PathBuf,
    /// What was done.
    pub outcome: Outcome,
}

/// The state of one file on disk, as shown by `--list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Present with the right size and hashes.
    Verified,
    /// Not there.
    Missing,
    /// There, but wrong (the message says how).
    Corrupt(String),
}

/// The directory holding a dataset's files: `<workspace>/datasets/<name>` when shipped, else
/// `<cache>/<name>`.
pub fn dataset_dir(opts: &FetchOptions, dataset: &Dataset) -> PathBuf {
    if dataset.shipped {
        crate::paths::shipped_root(&opts.workspace).join(&dataset.name)
    } else {
        opts.cache_dir.join(&dataset.name)
    }
}

/// The final location of one file of a dataset.
pub fn file_path(opts: &FetchOptions, dataset: &Dataset, file: &DataFile) -> PathBuf {
    dataset_dir(opts, dataset).join(file.rel_path())
}

/// Checks one file on disk against the registry (size first, then hashes).
pub fn file_status(opts: &FetchOptions, dataset: &Dataset, file: &DataFile) -> Status {
    verify_at(&file_path(opts, dataset, file), file)
}

fn verify_at(path: &Path, file: &DataFile) -> Status {
    let len = match std::fs::metadata(path) {
        Ok(m) if m.is_file() => m.len(),
        Ok(_) => return Status::Corrupt("not a regular file".into()),
        Err(_) => return Status::Missing,
    };
    if len != file.size {
        return Status::Corrupt(format!("{len} bytes, expected {}", file.size));
    }
    match hash::hash_file(path).and_then(|d| hash::check(file, &d, &path.display().to_string())) {
        Ok(()) => Status::Verified,
        Err(e) => Status::Corrupt(e.to_string()),
    }
}

/// Fetches (or verifies) every file of a dataset. Every file is attempted even when one fails, so a
/// single run reports all problems; files that verified stay installed.
pub fn fetch_dataset(
    dataset: &Dataset,
    opts: &FetchOptions,
    downloader: &Downloader,
) -> Result<Vec<FileReport>> {
    let mut reports = Vec::new();
    let mut errors = Vec::new();
    for f in &dataset.files {
        match fetch_file(dataset, f, opts, downloader) {
            Ok(r) => reports.push(r),
            Err(e) => errors.push(e),
        }
    }
    match errors.len() {
        0 => Ok(reports),
        1 => Err(errors.remove(0)),
        _ => Err(FetchError::FilesFailed {
            dataset: dataset.name.clone(),
            total: dataset.files.len(),
            errors,
        }),
    }
}

/// The verified path of one installed (or shipped) file, for programs that read datasets; when the
/// file is missing or does not verify, the error tells which `cargo xtask fetch` command to run.
///
/// ```no_run
/// use xtask::{fetch, paths, registry::Registry};
///
/// let workspace = paths::workspace_root();
/// let registry = Registry::load(&Registry::default_path(&workspace))?;
/// let opts = fetch::FetchOptions {
///     cache_dir: paths::cache_dir(&workspace),
///     workspace,
///     mirror: None,
///     offline: true,
///     progress: false,
/// };
/// let csv = fetch::require_file(&registry, &opts, "breast-cancer", "breast_cancer.csv")?;
/// assert!(csv.ends_with("breast_cancer.csv"));
/// # Ok::<(), xtask::error::FetchError>(())
/// ```
pub fn require_file(
    registry: &crate::registry::Registry,
    opts: &FetchOptions,
    dataset: &str,
    file: &str,
) -> Result<PathBuf> {
    let d = registry.get(dataset)?;
    let f = d
        .files
        .iter()
        .find(|f| f.path == file)
        .ok_or_else(|| FetchError::NotInstalled {
            dataset: d.name.clone(),
            file: file.to_string(),
            path: dataset_dir(opts, d).join(file),
            problem: "the registry lists no such file".into(),
        })?;
    let path = file_path(opts, d, f);
    match verify_at(&path, f) {
        Status::Verified => Ok(path),
        Status::Missing => Err(FetchError::NotInstalled {
            dataset: d.name.clone(),
            file: f.path.clone(),
            path,
            problem: "missing".into(),
        }),
        Status::Corrupt(problem) => Err(FetchError::NotInstalled {
            dataset: d.name.clone(),
            file: f.path.clone(),
            path,
            problem,
        }),
    }
}

/// Fetches (or verifies) one file; see the module docs for the order of sources.
pub fn fetch_file(
    dataset: &Dataset,
    file: &DataFile,
    opts: &FetchOptions,
    downloader: &Downloader,
) -> Result<FileReport> {
    let dest = file_path(opts, dataset, file);
    if dataset.shipped {
        return match verify_at(&dest, file) {
            Status::Verified => Ok(FileReport {
                path: dest,
                outcome: Outcome::Shipped,
            }),
            Status::Missing => Err(FetchError::ShippedFileModified {
                path: dest,
                problem: "the file is missing".into(),
            }),
            Status::Corrupt(problem) => Err(FetchError::ShippedFileModified {
                path: dest,
                problem,
            }),
        };
    }
    if file.sha256.is_none() {
        return Err(FetchError::NoVerifiedHash {
            dataset: dataset.name.clone(),
            file: file.path.clone(),
        });
    }
    match verify_at(&dest, file) {
        Status::Verified => {
            return Ok(FileReport {
                path: dest,
                outcome: Outcome::AlreadyInstalled,
            })
        }
        Status::Missing => {}
        Status::Corrupt(problem) => {
            eprintln!(
                "  {}: existing copy is bad ({problem}); removing it and fetching again",
                dest.display()
            );
            std::fs::remove_file(&dest).map_err(|e| FetchError::io("removing", &dest, e))?;
        }
    }
    let dir = dest.parent().unwrap_or(&opts.cache_dir).to_path_buf();
    std::fs::create_dir_all(&dir).map_err(|e| FetchError::io("creating directory", &dir, e))?;

    remove_stale_parts(&dir, file.path.rsplit('/').next().unwrap_or(&file.path));

    let sources = source::sources_for(dataset, file, opts.mirror.as_ref(), opts.offline);
    let mut attempts = Vec::new();
    if sources.is_empty() {
        attempts.push("no source to try: --offline was given without a mirror".to_string());
    }
    let label = format!("{}/{}", dataset.name, file.path);
    for (kind, src) in sources {
        match downloader.fetch_verified(&src, file, &dir, &label) {
            Ok(tmp) => {
                tmp.persist(&dest)
                    .map_err(|e| FetchError::io("renaming into place", &dest, e.error))?;
                sync_dir(&dir);
                for a in &attempts {
                    eprintln!("  note: {label}: {a}; used the next source");
                }
                return Ok(FileReport {
                    path: dest,
                    outcome: Outcome::Installed {
                        from: src.to_string(),
                    },
                });
            }
            Err(e) => attempts.push(format!("{kind}: {e}")),
        }
    }
    Err(FetchError::AllSourcesFailed {
        dataset: dataset.name.clone(),
        file: file.path.clone(),
        mirror_folder: dataset.mirror_folder().to_string(),
        dest,
        attempts,
    })
}

/// A temporary file untouched for this long is a leftover of an interrupted run: a live download
/// writes to its file continuously and gives up after a 60 s read timeout.
const STALE_PART_AGE: Duration = Duration::from_secs(3600);

/// Deletes leftover `.<file>.*.part` temporaries of `base` in `dir` (never read, only tidied).
fn remove_stale_parts(dir: &Path, base: &str) {
    let prefix = format!(".{base}.");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with(&prefix) && name.ends_with(".part")) {
            continue;
        }
        let stale = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > STALE_PART_AGE);
        if stale {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Makes the rename durable. Best effort: not every platform can open a directory for syncing.
fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}
