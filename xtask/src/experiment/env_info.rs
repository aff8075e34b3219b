//! The environment a run happened in: versions, OS, CPU and git state. Recorded so a result can be
//! traced; `verify` reports differences here but does not fail on them (see `docs/experiments.md`).

use std::path::Path;
use std::process::Command;

use serde::{Deserialize, Serialize};

/// Where and with what a run was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    /// The gradwork workspace version.
    pub gradwork_version: String,
    /// `rustc -V`, or `unknown`.
    pub rustc: String,
    /// Operating system and architecture (`linux x86_64`) with the kernel release when known.
    pub os: String,
    /// The CPU model name from `/proc/cpuinfo`, or `unknown`.
    pub cpu_model: String,
    /// The CPU feature flags relevant to float kernels (SSE/AVX/FMA/NEON) that the CPU reports.
    pub cpu_features: Vec<String>,
    /// Threads of the rayon pool the run executed in.
    pub threads: usize,
    /// Build profile of the xtask binary (`debug` or `release`).
    pub profile: String,
    /// The workspace's git state.
    pub git: GitState,
}

/// The git commit and whether the tree had uncommitted changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GitState {
    /// `git rev-parse HEAD`, or `unknown` outside a repository.
    pub commit: String,
    /// True when `git status --porcelain` lists anything.
    pub dirty: bool,
}

const FLAGS: &[&str] = &[
    "sse2", "sse4_1", "sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "neon",
    "asimd",
];

/// Collects the environment of the current process for a run at `threads` threads.
pub fn collect(workspace: &Path, threads: usize) -> Environment {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let field = |name: &str| {
        cpuinfo
            .lines()
            .find(|l| l.split(':').next().is_some_and(|k| k.trim() == name))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
    };
    let cpu_model = field("model name")
        .or_else(|| field("Hardware"))
        .unwrap_or_else(|| "unknown".into());
    let flags = field("flags")
        .or_else(|| field("Features"))
        .unwrap_or_default();
    let cpu_features = FLAGS
        .iter()
        .filter(|f| flags.split_whitespace().any(|x| x == **f))
        .map(|f| f.to_string())
        .collect();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let os = format!(
        "{} {} {}",
        std::env::consts::OS,
        std::env::consts::ARCH,
        kernel.trim()
    )
    .trim()
    .to_string();
    Environment {
        gradwork_version: env!("CARGO_PKG_VERSION").to_string(),
        rustc: run("rustc", &["-V"], workspace).unwrap_or_else(|| "unknown".into()),
        os,
        cpu_model,
        cpu_features,
        threads,
        profile: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
        .into(),
        git: GitState {
            commit: run("git", &["rev-parse", "HEAD"], workspace)
                .unwrap_or_else(|| "unknown".into()),
            dirty: run("git", &["status", "--porcelain"], workspace).is_some_and(|s| !s.is_empty()),
        },
    }
}

fn run(program: &str, args: &[&str], dir: &Path) -> Option<String> {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}
