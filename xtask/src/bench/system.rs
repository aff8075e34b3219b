//! Facts about the machine and the build that go into the report: CPU, load, library versions.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// The CPU the benchmark ran on, from `/proc/cpuinfo` (empty fields elsewhere).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// `model name`, e.g. `AMD EPYC`.
    pub cpu_model: String,
    /// Logical CPUs this process may use.
    pub logical_cpus: usize,
    /// The nominal clock in MHz of the first CPU listed.
    pub mhz: Option<f64>,
    /// The SIMD features that decide SGEMM speed, as listed in `flags` (`avx2`, `fma`, `avx512f`).
    pub simd: Vec<String>,
}

impl Machine {
    /// Reads `/proc/cpuinfo`.
    pub fn detect() -> Self {
        let text = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        Self::from_cpuinfo(&text)
    }

    /// Parses the text of a `/proc/cpuinfo`.
    pub fn from_cpuinfo(text: &str) -> Self {
        let field = |name: &str| {
            text.lines()
                .filter_map(|l| l.split_once(':'))
                .find(|(k, _)| k.trim() == name)
                .map(|(_, v)| v.trim().to_string())
        };
        let flags = field("flags").unwrap_or_default();
        let simd = ["avx2", "fma", "avx512f"]
            .into_iter()
            .filter(|f| flags.split_whitespace().any(|x| x == *f))
            .map(String::from)
            .collect();
        Machine {
            cpu_model: field("model name").unwrap_or_else(|| "unknown".into()),
            logical_cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            mhz: field("cpu MHz").and_then(|v| v.parse().ok()),
            simd,
        }
    }
}

/// The 1-minute load average, if the OS reports one.
pub fn loadavg_1m() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// How far apart two of this machine's CPUs are: the round trip, in nanoseconds, of a cache line
/// bounced between two spinning threads (median of five batches of 2,000), or `None` with fewer
/// than two CPUs or when the threads did not run side by side (a batch took over 50 ms).
///
/// Why the bench records it: on a VM the host decides which physical cores the virtual CPUs run
/// on, and it moves them every few seconds. On the 2-vCPU Zen 4 of docs/performance.md this
/// round trip was 28-31 ns (closer than two cores of one CCD), 59-72 ns (two cores of one CCD)
/// or 320-400 ns (different CCDs, each with its own L3). In the last, every fork, join and
/// hand-over of data between two threads pays the distance (gradwork's MLP at batch 128 on two
/// threads: 87k-95k samples/s against a median of 157k); one thread is unaffected.
pub fn core_round_trip_ns() -> Option<f64> {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::time::{Duration, Instant};

    const ROUND_TRIPS: u64 = 2_000;
    const BATCHES: usize = 5;
    const BATCH_LIMIT: Duration = Duration::from_millis(50);
    if std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
        return None;
    }
    let ball = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        // The partner answers every odd value with the next even one until told to stop.
        scope.spawn(|| {
            let mut expect = 1;
            while !stop.load(Ordering::Relaxed) {
                if ball.load(Ordering::Acquire) == expect {
                    ball.store(expect + 1, Ordering::Release);
                    expect += 2;
                } else {
                    std::hint::spin_loop();
                }
            }
        });
        let mut batches = Vec::with_capacity(BATCHES);
        let mut value = 0;
        'batches: for _ in 0..BATCHES {
            let start = Instant::now();
            for _ in 0..ROUND_TRIPS {
                ball.store(value + 1, Ordering::Release);
                value += 2;
                let mut spins = 0u32;
                while ball.load(Ordering::Acquire) != value {
                    std::hint::spin_loop();
                    spins = spins.wrapping_add(1);
                    if spins.is_multiple_of(4096) && start.elapsed() > BATCH_LIMIT {
                        break 'batches;
                    }
                }
            }
            batches.push(start.elapsed().as_nanos() as f64 / ROUND_TRIPS as f64);
        }
        stop.store(true, Ordering::Relaxed);
        (batches.len() == BATCHES).then(|| {
            batches.sort_by(f64::total_cmp);
            batches[BATCHES / 2]
        })
    })
}

/// Versions of the crates that set gradwork's speed, read from the workspace's `Cargo.lock`
/// (`matrixmultiply`, `rayon`), plus `rustc --version` if it runs.
pub fn rust_versions(workspace: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if let Ok(text) = std::fs::read_to_string(workspace.join("Cargo.lock")) {
        if let Ok(lock) = text.parse::<toml::Table>() {
            let packages = lock.get("package").and_then(|p| p.as_array());
            for p in packages.into_iter().flatten() {
                let name = p.get("name").and_then(|v| v.as_str()).unwrap_or("");
                if matches!(name, "matrixmultiply" | "rayon") {
                    if let Some(v) = p.get("version").and_then(|v| v.as_str()) {
                        out.insert(name.to_string(), v.to_string());
                    }
                }
            }
        }
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    if let Ok(o) = std::process::Command::new(rustc).arg("--version").output() {
        if o.status.success() {
            let v = String::from_utf8_lossy(&o.stdout)
                .trim()
                .trim_start_matches("rustc ")
                .to_string();
            out.insert("rustc".into(), v);
        }
    }
    out
}
