//! The side-by-side table and the JSON report.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::data::DataFingerprint;
use super::error::BenchError;
use super::protocol::{workload_id, Measurement, GRADWORK, MATRIXMULTIPLY, NUMPY, PYTORCH};
use super::python::PytorchStatus;
use super::system::Machine;
use super::timing::median;

/// One row of the table: a gradwork figure (or the direct-`sgemm` baseline) beside PyTorch's,
/// and for SGEMM beside numpy's BLAS too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// One of [`workload_id`].
    pub workload: String,
    /// The shape, e.g. `bs128`.
    pub case: String,
    /// `gradwork` or `matrixmultiply`: the Rust implementation of this row.
    pub implementation: String,
    /// Threads.
    pub threads: usize,
    /// `GFLOP/s`, `samples/s` or `us`.
    pub unit: String,
    /// True for rates, false for latencies.
    pub higher_is_better: bool,
    /// The Rust implementation's median.
    pub gradwork: Option<f64>,
    /// PyTorch's median.
    pub pytorch: Option<f64>,
    /// How many times faster the Rust side is (`> 1`: faster than PyTorch): the ratio of rates,
    /// or the inverse ratio of latencies.
    pub speedup: Option<f64>,
    /// numpy's median (SGEMM only: numpy's BLAS, OpenBLAS in the PyPI wheels).
    #[serde(default)]
    pub numpy: Option<f64>,
    /// How many times faster the Rust side is than numpy's BLAS.
    #[serde(default)]
    pub speedup_vs_numpy: Option<f64>,
}

/// One worker process: what it ran and the 1-minute load average around it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    /// Which round (from 0) of `--rounds` this process belonged to.
    #[serde(default)]
    pub round: usize,
    /// `gradwork` or `pytorch`.
    pub implementation: String,
    /// E.g. `mlp bs128`.
    pub job: String,
    /// Threads.
    pub threads: usize,
    /// Wall time of the process, seconds.
    pub wall_s: f64,
    /// Load average when it started.
    pub loadavg_before: Option<f64>,
    /// Load average when it ended.
    pub loadavg_after: Option<f64>,
    /// For processes of two or more threads: how far apart two CPUs were just before it started
    /// ([`super::system::core_round_trip_ns`]), in nanoseconds.
    #[serde(default)]
    pub core_round_trip_ns: Option<f64>,
    /// The data it generated, if any.
    pub data: Option<DataFingerprint>,
    /// `None` when it succeeded, else why it failed.
    pub error: Option<String>,
}

/// The core-to-core round trips measured before a run's multi-threaded processes
/// ([`BenchReport::cpu_placement`]).
#[derive(Debug, Clone, PartialEq)]
pub struct CpuPlacement<'a> {
    /// The shortest round trip, in nanoseconds.
    pub shortest_ns: f64,
    /// The median.
    pub median_ns: f64,
    /// The longest.
    pub longest_ns: f64,
    /// The processes whose round trip was under half or over twice the median. On the 2-vCPU VM
    /// of docs/performance.md three states showed: 28-31 ns (closer than two cores of one CCD),
    /// 59-72 ns (two cores of one CCD) and 320-400 ns (different CCDs); two-thread figures
    /// dropped in the last and some dropped in the first.
    pub unusual: Vec<&'a JobRecord>,
}

/// Everything one `cargo xtask bench` run measured, as written to JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchReport {
    /// The CPU.
    pub machine: Machine,
    /// Thread counts measured.
    pub threads: Vec<usize>,
    /// True for a `--quick` smoke run (sizes shrunk: not a measurement).
    pub quick: bool,
    /// `release` or `debug` build of the gradwork worker.
    pub build: String,
    /// Versions of gradwork, its kernels, rustc, torch, numpy, Python.
    pub versions: BTreeMap<String, String>,
    /// Whether PyTorch ran.
    pub pytorch: PytorchStatus,
    /// True when every worker that generated data reported identical data for the same size.
    pub data_identical: Option<bool>,
    /// Every worker process, in run order.
    pub jobs: Vec<JobRecord>,
    /// The table.
    pub rows: Vec<Row>,
    /// Every figure the workers reported.
    pub measurements: Vec<Measurement>,
}

impl BenchReport {
    /// Writes the report as pretty JSON, creating the parent directory.
    pub fn write_json(&self, path: &Path) -> Result<(), BenchError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| BenchError::Io {
                action: "create directory",
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let text = serde_json::to_string_pretty(self).expect("the report is plain data");
        std::fs::write(path, text + "\n").map_err(|source| BenchError::Io {
            action: "write",
            path: path.to_path_buf(),
            source,
        })
    }

    /// Where the multi-threaded processes' CPUs sat relative to each other, from the core-to-core
    /// round trip measured before each ([`super::system::core_round_trip_ns`]), or `None` when
    /// nothing was measured.
    pub fn cpu_placement(&self) -> Option<CpuPlacement<'_>> {
        let mut trips: Vec<f64> = self
            .jobs
            .iter()
            .filter_map(|j| j.core_round_trip_ns)
            .collect();
        trips.sort_by(f64::total_cmp);
        let median = *trips.get(trips.len() / 2)?;
        let unusual = self
            .jobs
            .iter()
            .filter(|j| {
                j.core_round_trip_ns
                    .is_some_and(|ns| ns > 2.0 * median || ns < 0.5 * median)
            })
            .collect();
        Some(CpuPlacement {
            shortest_ns: trips[0],
            median_ns: median,
            longest_ns: trips[trips.len() - 1],
            unusual,
        })
    }

    /// The highest load average seen around any job.
    pub fn max_loadavg(&self) -> Option<f64> {
        self.jobs
            .iter()
            .flat_map(|j| [j.loadavg_before, j.loadavg_after])
            .flatten()
            .reduce(f64::max)
    }
}

/// The order rows are listed in.
const WORKLOAD_ORDER: [&str; 7] = [
    workload_id::GEMM,
    workload_id::MLP_TRAIN,
    workload_id::CNN_TRAIN,
    workload_id::INFER_LATENCY,
    workload_id::INFER_THROUGHPUT,
    workload_id::MNIST_MLP_TRAIN,
    workload_id::MNIST_CNN_TRAIN,
];

/// Pairs each Rust figure with PyTorch's (and numpy's, where it ran) for the same workload, case
/// and thread count. With
/// several rounds, each side's figure is the median of its rounds' figures, and the speed-up is
/// the ratio of those medians. Rows follow the workload order, then cases in the order first
/// measured, the Rust implementations (gradwork first), then threads.
pub fn build_rows(measurements: &[Measurement]) -> Vec<Row> {
    let mut case_rank: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for m in measurements {
        let next = case_rank.len();
        case_rank.entry((&m.workload, &m.case)).or_insert(next);
    }
    // Every round's value of one (implementation, workload, case, threads).
    type Key<'a> = (&'a str, &'a str, &'a str, usize);
    fn key(m: &Measurement) -> Key<'_> {
        (&m.implementation, &m.workload, &m.case, m.threads)
    }
    let mut rounds: BTreeMap<Key, Vec<f64>> = BTreeMap::new();
    let mut firsts: Vec<&Measurement> = Vec::new();
    for m in measurements {
        let values = rounds.entry(key(m)).or_default();
        if values.is_empty() {
            firsts.push(m);
        }
        values.push(m.value);
    }
    let median_of = |k: Key| rounds.get(&k).map(|values| median(values));
    let mut rows: Vec<Row> = firsts
        .iter()
        .filter(|m| m.implementation != PYTORCH && m.implementation != NUMPY)
        .map(|m| {
            let value = median(&rounds[&key(m)]);
            let speedup_over = |peer: f64| {
                if m.higher_is_better {
                    value / peer
                } else {
                    peer / value
                }
            };
            let pytorch = median_of((PYTORCH, &m.workload, &m.case, m.threads));
            let numpy = median_of((NUMPY, &m.workload, &m.case, m.threads));
            Row {
                workload: m.workload.clone(),
                case: m.case.clone(),
                implementation: m.implementation.clone(),
                threads: m.threads,
                unit: m.unit.clone(),
                higher_is_better: m.higher_is_better,
                gradwork: Some(value),
                pytorch,
                speedup: pytorch.map(speedup_over),
                numpy,
                speedup_vs_numpy: numpy.map(speedup_over),
            }
        })
        .collect();
    let rank = |r: &Row| {
        let w = WORKLOAD_ORDER.iter().position(|w| *w == r.workload);
        let c = case_rank[&(r.workload.as_str(), r.case.as_str())];
        (
            w.unwrap_or(WORKLOAD_ORDER.len()),
            c,
            r.implementation != GRADWORK,
            r.threads,
        )
    };
    rows.sort_by_key(rank);
    rows
}

/// The name a row's workload is shown with.
pub fn display_name(workload: &str, implementation: &str) -> String {
    match (workload, implementation) {
        (workload_id::GEMM, MATRIXMULTIPLY) => "SGEMM direct matrixmultiply".into(),
        (workload_id::GEMM, _) => "SGEMM Tensor::matmul".into(),
        (workload_id::MLP_TRAIN, _) => "MLP train".into(),
        (workload_id::CNN_TRAIN, _) => "CNN train".into(),
        (workload_id::INFER_LATENCY, _) => "MLP infer latency".into(),
        (workload_id::INFER_THROUGHPUT, _) => "MLP infer throughput".into(),
        (workload_id::MNIST_MLP_TRAIN, _) => "mnist_mlp example train".into(),
        (workload_id::MNIST_CNN_TRAIN, _) => "mnist_cnn example train".into(),
        (other, _) => other.into(),
    }
}

/// A figure with digits that matter: thousands separated, fewer decimals for larger values.
///
/// ```
/// use xtask::bench::report::format_value;
/// assert_eq!(format_value(31234.6), "31,235");
/// assert_eq!(format_value(72.345), "72.3");
/// assert_eq!(format_value(3.14159), "3.14");
/// ```
pub fn format_value(v: f64) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    if v.abs() < 10.0 {
        return format!("{v:.2}");
    }
    if v.abs() < 1000.0 {
        return format!("{v:.1}");
    }
    let digits = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if v < 0.0 {
        out.insert(0, '-');
    }
    out
}

/// The table: one line per row, with a header and notes on how to read it. The numpy columns
/// appear when some row has a numpy figure.
pub fn render_table(rows: &[Row]) -> String {
    let with_numpy = rows.iter().any(|r| r.numpy.is_some());
    let mut header = vec![
        "workload", "case", "thr", "gradwork", "pytorch", "unit", "speed-up",
    ];
    if with_numpy {
        header.extend(["numpy", "vs numpy"]);
    }
    let ratio = |s: Option<f64>| s.map_or("-".into(), |s| format!("{s:.2}x"));
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let opt = |v: Option<f64>| v.map_or("-".to_string(), format_value);
            let mut row = vec![
                display_name(&r.workload, &r.implementation),
                r.case.clone(),
                r.threads.to_string(),
                opt(r.gradwork),
                opt(r.pytorch),
                r.unit.clone(),
                ratio(r.speedup),
            ];
            if with_numpy {
                row.extend([opt(r.numpy), ratio(r.speedup_vs_numpy)]);
            }
            row
        })
        .collect();
    let mut width: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in &cells {
        for (w, c) in width.iter_mut().zip(row) {
            *w = (*w).max(c.len());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cols: &[&str]| {
        let mut s = String::new();
        for (i, (c, w)) in cols.iter().zip(&width).enumerate() {
            // Text columns left-aligned, numbers right-aligned.
            if i < 2 || i == 5 {
                let _ = write!(s, "{c:<w$}  ");
            } else {
                let _ = write!(s, "{c:>w$}  ");
            }
        }
        out.push_str(s.trim_end());
        out.push('\n');
    };
    line(&mut out, &header);
    let rule: Vec<String> = width.iter().map(|w| "-".repeat(*w)).collect();
    line(
        &mut out,
        &rule.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    for row in &cells {
        line(
            &mut out,
            &row.iter().map(String::as_str).collect::<Vec<_>>(),
        );
    }
    out.push_str(
        "speed-up = how many times faster the Rust side is than PyTorch (> 1: faster); \
         rates are divided, latencies (us) inverted.\n",
    );
    if with_numpy {
        out.push_str(
            "vs numpy = the same against numpy's matmul (its BLAS: OpenBLAS in the PyPI wheels), \
             the SGEMM reference of issue 8.\n",
        );
    }
    out
}
