//! The worker protocol: a worker (the `bench-worker` subcommand or `pytorch_peer.py`) prints one
//! JSON object per line on stdout, each a [`WorkerLine`]; anything else on stdout is ignored, and
//! stderr is kept for error messages.
//!
//! ```
//! use xtask::bench::protocol::WorkerLine;
//! let line = r#"{"type":"measurement","workload":"gemm","case":"64x64x64","implementation":"pytorch",
//!               "threads":1,"value":40.5,"unit":"GFLOP/s","higher_is_better":true}"#;
//! match WorkerLine::parse(&line.replace('\n', "")).unwrap() {
//!     WorkerLine::Measurement(m) => assert_eq!(m.value, 40.5),
//!     other => panic!("{other:?}"),
//! }
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::data::DataFingerprint;

/// The implementation name of gradwork's own kernels and models.
pub const GRADWORK: &str = "gradwork";
/// The implementation name of the raw `matrixmultiply::sgemm` baseline (SGEMM only).
pub const MATRIXMULTIPLY: &str = "matrixmultiply";
/// The implementation name of the PyTorch peer.
pub const PYTORCH: &str = "pytorch";
/// The implementation name of numpy's `matmul` (its BLAS: OpenBLAS in the PyPI wheels), the
/// SGEMM reference the issue's target is stated against. Run by the peer script with `--numpy`.
pub const NUMPY: &str = "numpy";

/// Workload ids, as they appear in the `workload` field.
pub mod workload_id {
    /// SGEMM GFLOP/s.
    pub const GEMM: &str = "gemm";
    /// MLP training samples/s.
    pub const MLP_TRAIN: &str = "mlp_train";
    /// CNN training samples/s.
    pub const CNN_TRAIN: &str = "cnn_train";
    /// MLP single-sample inference latency, microseconds.
    pub const INFER_LATENCY: &str = "mlp_infer_latency";
    /// MLP batch-1024 inference samples/s.
    pub const INFER_THROUGHPUT: &str = "mlp_infer_throughput";
    /// Training samples/s of `examples/mnist_mlp.rs`'s model.
    pub const MNIST_MLP_TRAIN: &str = "mnist_mlp_train";
    /// Training samples/s of `examples/mnist_cnn.rs`'s model.
    pub const MNIST_CNN_TRAIN: &str = "mnist_cnn_train";
}

/// One line of worker output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WorkerLine {
    /// What ran: implementation, threads, versions, data.
    Meta(WorkerMeta),
    /// One measured figure.
    Measurement(Measurement),
}

impl WorkerLine {
    /// Parses one line; `None` for lines that are not protocol objects (blank lines, stray prints).
    pub fn parse(line: &str) -> Option<WorkerLine> {
        let line = line.trim();
        if !line.starts_with('{') {
            return None;
        }
        serde_json::from_str(line).ok()
    }

    /// The line as compact JSON (no newline).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("worker lines hold only strings and numbers")
    }
}

/// A worker's description of itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerMeta {
    /// `gradwork`, `pytorch` or `numpy`.
    pub implementation: String,
    /// The thread count the worker was asked for.
    pub threads: usize,
    /// The thread count the runtime reports it will use (rayon's pool, `torch.get_num_threads()`).
    #[serde(default)]
    pub runtime_threads: Option<usize>,
    /// Library and language versions, by name.
    #[serde(default)]
    pub versions: BTreeMap<String, String>,
    /// The synthetic data the worker generated, if its workload uses the data set.
    #[serde(default)]
    pub data: Option<DataFingerprint>,
    /// Free-form facts (build profile, CPU capability).
    #[serde(default)]
    pub notes: BTreeMap<String, String>,
}

/// One figure: a median over repetitions (kernels, inference) or over chunks of batches
/// (training).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// One of [`workload_id`].
    pub workload: String,
    /// The shape: `512x512x512` (m x k x n), `bs128`, ...
    pub case: String,
    /// `gradwork`, `matrixmultiply`, `pytorch` or `numpy`.
    pub implementation: String,
    /// Threads the worker ran with.
    pub threads: usize,
    /// The median.
    pub value: f64,
    /// `GFLOP/s`, `samples/s` or `us`.
    pub unit: String,
    /// True for rates, false for latencies.
    pub higher_is_better: bool,
    /// The per-repetition (or per-chunk) values the median was taken of.
    #[serde(default)]
    pub samples: Vec<f64>,
    /// Extra facts (e.g. `partial` when a training run hit its time cap, the final loss).
    #[serde(default)]
    pub details: BTreeMap<String, serde_json::Value>,
}

impl Measurement {
    /// A measurement with no per-repetition samples or details.
    pub fn new(
        workload: &str,
        case: impl Into<String>,
        implementation: &str,
        threads: usize,
        value: f64,
        unit: &str,
        higher_is_better: bool,
    ) -> Self {
        Measurement {
            workload: workload.to_string(),
            case: case.into(),
            implementation: implementation.to_string(),
            threads,
            value,
            unit: unit.to_string(),
            higher_is_better,
            samples: Vec::new(),
            details: BTreeMap::new(),
        }
    }

    /// With the per-repetition values.
    pub fn with_samples(mut self, samples: Vec<f64>) -> Self {
        self.samples = samples;
        self
    }

    /// With one more detail.
    pub fn with_detail(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.details.insert(key.to_string(), value.into());
        self
    }
}

/// Everything a worker printed, split by kind.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorkerOutput {
    /// Its `meta` lines (usually one).
    pub metas: Vec<WorkerMeta>,
    /// Its measurements, in order.
    pub measurements: Vec<Measurement>,
}

impl WorkerOutput {
    /// Collects the protocol lines of a worker's stdout.
    pub fn parse(stdout: &str) -> Self {
        let mut out = WorkerOutput::default();
        for line in stdout.lines().filter_map(WorkerLine::parse) {
            match line {
                WorkerLine::Meta(m) => out.metas.push(m),
                WorkerLine::Measurement(m) => out.measurements.push(m),
            }
        }
        out
    }
}
