//! What can go wrong in `cargo xtask bench`.

use std::path::PathBuf;

/// Errors of the benchmark driver and its gradwork worker.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BenchError {
    /// A command-line value was malformed (`--threads 0`, an unknown workload, ...).
    #[error("bad argument {flag} {value:?}: {reason}")]
    Argument {
        /// The flag, e.g. `--threads`.
        flag: String,
        /// The value given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A gradwork call failed inside a workload.
    #[error("gradwork failed in workload {workload}: {source}")]
    Gradwork {
        /// The workload that was running.
        workload: String,
        /// The library's error (boxed: it is large and rare).
        #[source]
        source: Box<gradwork::Error>,
    },
    /// A worker process could not be started or did not finish cleanly.
    #[error(
        "{implementation} worker for {job} ({threads} threads) failed: {reason}\n{stderr_tail}"
    )]
    Worker {
        /// `gradwork` or `pytorch`.
        implementation: String,
        /// The job, e.g. `mlp bs128`.
        job: String,
        /// Its thread count.
        threads: usize,
        /// Exit status, timeout or spawn error.
        reason: String,
        /// The last lines it wrote to stderr.
        stderr_tail: String,
    },
    /// Reading or writing a file failed.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// `write`, `create directory`, ...
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

impl BenchError {
    /// A [`BenchError::Gradwork`] for `workload` from anything gradwork's umbrella error absorbs.
    pub fn gradwork(workload: &str, source: impl Into<gradwork::Error>) -> Self {
        BenchError::Gradwork {
            workload: workload.to_string(),
            source: Box::new(source.into()),
        }
    }

    /// A [`BenchError::Argument`].
    pub fn argument(flag: &str, value: &str, reason: impl Into<String>) -> Self {
        BenchError::Argument {
            flag: flag.to_string(),
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}
