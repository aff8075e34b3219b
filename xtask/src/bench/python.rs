//! Finding a Python with PyTorch for the peer script, `xtask/bench/pytorch_peer.py`.

use std::path::PathBuf;
use std::process::Command;

use serde::{Deserialize, Serialize};

/// The environment variable naming the Python interpreter to run the peer with.
pub const ENV_PYTHON: &str = "GRADWORK_BENCH_PYTHON";
/// The interpreter used when [`ENV_PYTHON`] is unset.
pub const DEFAULT_PYTHON: &str = "python3";

/// The peer script shipped in this crate.
pub fn peer_script() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/bench/pytorch_peer.py"
    ))
}

/// The interpreter to use: `$GRADWORK_BENCH_PYTHON`, else `python3`.
pub fn python_from_env() -> String {
    crate::paths::env_nonempty(ENV_PYTHON).unwrap_or_else(|| DEFAULT_PYTHON.to_string())
}

/// Whether the PyTorch peer can run, and why not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PytorchStatus {
    /// The interpreter that was tried.
    pub python: String,
    /// `torch.__version__` when `import torch, numpy` worked.
    pub torch_version: Option<String>,
    /// Why the peer is skipped (or was not asked for).
    pub message: Option<String>,
}

impl PytorchStatus {
    /// True when the peer can run.
    pub fn available(&self) -> bool {
        self.torch_version.is_some()
    }

    /// The status when the comparison was not requested (`--vs` absent).
    pub fn not_requested() -> Self {
        PytorchStatus {
            python: String::new(),
            torch_version: None,
            message: Some("not requested (add --vs pytorch)".into()),
        }
    }

    /// Runs `python -c "import torch, numpy"` and reads torch's version.
    pub fn probe(python: &str) -> Self {
        let code = "import numpy, torch; print(torch.__version__)";
        let missing = |why: String| PytorchStatus {
            python: python.to_string(),
            torch_version: None,
            message: Some(format!(
                "PyTorch not found: pip install torch, or set {ENV_PYTHON} \
                 (tried `{python}`: {why})"
            )),
        };
        match Command::new(python).args(["-c", code]).output() {
            Err(e) => missing(format!("cannot run it: {e}")),
            Ok(o) if !o.status.success() => {
                let err = String::from_utf8_lossy(&o.stderr);
                let last = err.lines().last().unwrap_or("import failed").trim();
                missing(last.to_string())
            }
            Ok(o) => PytorchStatus {
                python: python.to_string(),
                torch_version: Some(String::from_utf8_lossy(&o.stdout).trim().to_string()),
                message: None,
            },
        }
    }
}
