//! `cargo xtask bench [--vs pytorch]`: gradwork's speed on the workloads of issue 8, side by side
//! with PyTorch on the same machine, the same synthetic data and the same timing scheme.
//!
//! Every (workload, batch size, thread count) runs in a fresh process — the `bench-worker`
//! subcommand of this binary for gradwork, `xtask/bench/pytorch_peer.py` for PyTorch — because
//! the allocator's state left behind by one workload moved another's speed by 2-3x. Threads are
//! pinned through the environment (`RAYON_NUM_THREADS`, `OMP_NUM_THREADS`, ...). The driver prints
//! one table and writes the figures, the CPU, the versions and the load average around each
//! process to JSON. `docs/performance.md` explains the workloads and records a run.
//!
//! Map of the module:
//! - [`data`]: the SplitMix64 synthetic MNIST-shaped data (bit-identical to the Python side);
//! - [`timing`]: budgets (full or `--quick`), medians, repetition and latency timers;
//! - [`gemm`], [`models`], [`mnist_examples`]: the gradwork workloads;
//! - [`protocol`]: the JSON lines a worker prints;
//! - [`worker`]: the `bench-worker` subcommand;
//! - [`driver`]: spawns the workers; [`python`]: finds a Python with torch;
//! - [`report`]: the table and the JSON; [`system`]: CPU, load, versions.
//!
//! ```no_run
//! use xtask::bench::{run, BenchArgs};
//! let args = BenchArgs {
//!     vs: Some("pytorch".into()),
//!     threads: vec![1],
//!     workloads: vec!["gemm".into()],
//!     quick: true,
//!     json: None,
//!     timeout_s: 600,
//!     rounds: 1,
//! };
//! let report = run(&args, &std::env::current_exe().unwrap())?;
//! assert!(!report.rows.is_empty());
//! # Ok::<(), xtask::bench::error::BenchError>(())
//! ```

pub mod data;
pub mod driver;
pub mod error;
pub mod gemm;
pub mod mnist_examples;
pub mod models;
pub mod protocol;
pub mod python;
pub mod report;
pub mod system;
pub mod timing;
pub mod worker;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use driver::DriverConfig;
use error::BenchError;
use python::PytorchStatus;
use report::{render_table, BenchReport};

/// The MLP training batch sizes of the `mlp` workload.
pub const MLP_BATCHES: [usize; 2] = [128, 32];

/// One worker process's worth of work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// Every SGEMM shape.
    Gemm,
    /// MLP training at one batch size.
    Mlp {
        /// The batch size.
        batch: usize,
    },
    /// CNN training.
    Cnn,
    /// MLP inference, latency and throughput.
    Infer,
    /// Training of `examples/mnist_mlp.rs`'s model (its batch, normalisation and lr schedule).
    MnistMlp,
    /// Training of `examples/mnist_cnn.rs`'s model (its batch).
    MnistCnn,
}

impl Job {
    /// The job for a workload name (`batch` is used by `mlp` only: the `mnist-*` workloads use
    /// their example's batch size).
    pub fn parse(workload: &str, batch: usize) -> Result<Job, BenchError> {
        match workload {
            "gemm" => Ok(Job::Gemm),
            "mlp" if batch > 0 => Ok(Job::Mlp { batch }),
            "mlp" => Err(BenchError::argument("--batch", "0", "must be positive")),
            "cnn" => Ok(Job::Cnn),
            "infer" => Ok(Job::Infer),
            "mnist-mlp" => Ok(Job::MnistMlp),
            "mnist-cnn" => Ok(Job::MnistCnn),
            other => Err(BenchError::argument(
                "--workloads",
                other,
                "expected gemm, mlp, cnn, infer, mnist-mlp or mnist-cnn",
            )),
        }
    }

    /// The jobs of a list of workload names (`mlp` expands to one job per [`MLP_BATCHES`]).
    pub fn expand(workloads: &[String]) -> Result<Vec<Job>, BenchError> {
        let mut jobs = Vec::new();
        for w in workloads.iter().map(|w| w.trim()).filter(|w| !w.is_empty()) {
            if w == "mlp" {
                jobs.extend(MLP_BATCHES.map(|batch| Job::Mlp { batch }));
            } else {
                jobs.push(Job::parse(w, 0)?);
            }
        }
        if jobs.is_empty() {
            return Err(BenchError::argument("--workloads", "", "no workload given"));
        }
        Ok(jobs)
    }

    /// A short name for logs: `gemm`, `mlp bs128`, ...
    pub fn label(&self) -> String {
        match self {
            Job::Gemm => "gemm".into(),
            Job::Mlp { batch } => format!("mlp bs{batch}"),
            Job::Cnn => "cnn".into(),
            Job::Infer => "infer".into(),
            Job::MnistMlp => "mnist-mlp".into(),
            Job::MnistCnn => "mnist-cnn".into(),
        }
    }

    /// The worker arguments naming this job (both workers take the same ones).
    pub fn worker_args(&self) -> Vec<String> {
        let (name, batch) = match self {
            Job::Gemm => ("gemm", None),
            Job::Mlp { batch } => ("mlp", Some(*batch)),
            Job::Cnn => ("cnn", None),
            Job::Infer => ("infer", None),
            Job::MnistMlp => ("mnist-mlp", None),
            Job::MnistCnn => ("mnist-cnn", None),
        };
        let mut args = vec!["--workload".to_string(), name.to_string()];
        if let Some(b) = batch {
            args.extend(["--batch".to_string(), b.to_string()]);
        }
        args
    }
}

/// Arguments of `cargo xtask bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Compare with a peer; `pytorch` is the one supported (needs a Python with torch and numpy:
    /// $GRADWORK_BENCH_PYTHON, else python3).
    #[arg(long, value_name = "PEER")]
    pub vs: Option<String>,
    /// Thread counts, each measured in separate processes.
    #[arg(long, value_delimiter = ',', default_value = "1,2")]
    pub threads: Vec<usize>,
    /// Workloads: gemm, mlp, cnn, infer, and mnist-mlp, mnist-cnn (the examples' models; not in
    /// the default list).
    #[arg(long, value_delimiter = ',', default_value = "gemm,mlp,cnn,infer")]
    pub workloads: Vec<String>,
    /// Shrink every workload to a smoke test (seconds; the figures mean nothing).
    #[arg(long)]
    pub quick: bool,
    /// Where to write the JSON report (default: `<workspace>/target/xtask-bench/bench.json`).
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// Kill a worker that runs longer than this many seconds.
    #[arg(long, default_value_t = 900)]
    pub timeout_s: u64,
    /// Run every (workload, thread count) pair this many times, gradwork and PyTorch back to
    /// back in fresh processes each round, and report each side's median over the rounds. On a
    /// shared VM one process's figure can move by 20%; the median of a few rounds does not.
    #[arg(long, default_value_t = 1)]
    pub rounds: usize,
}

/// The default JSON path.
pub fn default_json_path() -> PathBuf {
    crate::paths::workspace_root()
        .join("target")
        .join("xtask-bench")
        .join("bench.json")
}

/// Runs the benchmark with `worker_exe` as the gradwork worker, prints progress to stderr and
/// the table to stdout, writes the JSON, and returns the report. Fails on bad arguments, when the
/// JSON cannot be written, or when a gradwork worker failed (after printing what did run).
pub fn run(args: &BenchArgs, worker_exe: &Path) -> Result<BenchReport, BenchError> {
    if let Some(&t) = args.threads.iter().find(|&&t| t == 0) {
        return Err(BenchError::argument(
            "--threads",
            &t.to_string(),
            "must be at least 1",
        ));
    }
    if args.threads.is_empty() {
        return Err(BenchError::argument(
            "--threads",
            "",
            "no thread count given",
        ));
    }
    let jobs = Job::expand(&args.workloads)?;
    let (pytorch, pytorch_status) = match args.vs.as_deref() {
        None => (None, PytorchStatus::not_requested()),
        Some("pytorch" | "torch") => {
            let status = PytorchStatus::probe(&python::python_from_env());
            if let Some(msg) = &status.message {
                eprintln!("{msg}\nContinuing with gradwork's figures only.");
            }
            let peer = status
                .available()
                .then(|| (status.python.clone(), python::peer_script()));
            (peer, status)
        }
        Some(other) => {
            return Err(BenchError::argument(
                "--vs",
                other,
                "the supported peer is pytorch",
            ))
        }
    };
    let config = DriverConfig {
        threads: args.threads.clone(),
        jobs,
        quick: args.quick,
        worker_exe: worker_exe.to_path_buf(),
        pytorch,
        pytorch_status,
        timeout: Duration::from_secs(args.timeout_s.max(1)),
        rounds: args.rounds,
    };
    eprintln!(
        "cargo xtask bench: {} job(s) x {:?} threads, one process each (load average {})",
        config.jobs.len(),
        config.threads,
        system::loadavg_1m().map_or("?".into(), |l| format!("{l:.2}")),
    );
    let report = driver::run(&config, &mut std::io::stderr());
    println!("{}", render_summary(&report));
    let path = args.json.clone().unwrap_or_else(default_json_path);
    report.write_json(&path)?;
    println!("JSON report: {}", path.display());
    if let Some(j) = report
        .jobs
        .iter()
        .find(|j| j.implementation == protocol::GRADWORK && j.error.is_some())
    {
        return Err(BenchError::Worker {
            implementation: j.implementation.clone(),
            job: j.job.clone(),
            threads: j.threads,
            reason: j.error.clone().unwrap_or_default(),
            stderr_tail: String::new(),
        });
    }
    Ok(report)
}

/// The table plus the facts needed to read it: CPU, build, PyTorch status, data check, load.
pub fn render_summary(report: &BenchReport) -> String {
    let m = &report.machine;
    let mut out = format!(
        "\ngradwork vs PyTorch on {} ({} logical CPUs, {}), {} build{}\n\n",
        m.cpu_model,
        m.logical_cpus,
        if m.simd.is_empty() {
            "no AVX2".to_string()
        } else {
            m.simd.join("+")
        },
        report.build,
        if report.quick {
            ", --quick smoke run: sizes shrunk, figures not comparable"
        } else {
            ""
        },
    );
    out.push_str(&render_table(&report.rows));
    if let Some(msg) = &report.pytorch.message {
        out.push_str(&format!("pytorch: {msg}\n"));
    }
    match report.data_identical {
        Some(true) => out.push_str("synthetic data: identical in every worker\n"),
        Some(false) => out.push_str("synthetic data: DIFFERS between workers (see the JSON)\n"),
        None => {}
    }
    if report.build != "release" {
        out.push_str("warning: debug build; run `cargo run --release -p xtask -- bench ...`\n");
    }
    if let Some(load) = report.max_loadavg() {
        if load > m.logical_cpus as f64 * 0.75 {
            out.push_str(&format!(
                "warning: load average reached {load:.1} on {} CPUs: other processes competed \
                 for the cores, the figures are not representative\n",
                m.logical_cpus
            ));
        }
    }
    if let Some(placement) = report.cpu_placement() {
        out.push_str(&format!(
            "core-to-core round trip before each multi-threaded process: {:.0}-{:.0} ns, median {:.0}\n",
            placement.shortest_ns, placement.longest_ns, placement.median_ns
        ));
        if !placement.unusual.is_empty() {
            let names: Vec<String> = placement
                .unusual
                .iter()
                .map(|j| {
                    format!(
                        "{} {} threads={} round {} ({:.0} ns)",
                        j.implementation,
                        j.job,
                        j.threads,
                        j.round + 1,
                        j.core_round_trip_ns.unwrap_or(f64::NAN)
                    )
                })
                .collect();
            out.push_str(&format!(
                "note: {} multi-threaded process(es) started with their CPUs placed unlike the \
                 median (round trip under half or over twice it: on a VM, virtual CPUs \
                 moved closer together or farther apart), where two threads can run much \
                 slower: {}\n",
                names.len(),
                names.join(", ")
            ));
        }
    }
    let versions: Vec<String> = report
        .versions
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    out.push_str(&format!("versions: {}\n", versions.join(", ")));
    for j in report.jobs.iter().filter(|j| j.error.is_some()) {
        out.push_str(&format!(
            "failed: {} {} threads={}: {}\n",
            j.implementation,
            j.job,
            j.threads,
            j.error.as_deref().unwrap_or("")
        ));
    }
    out
}

/// `cargo xtask bench`, for `main`: runs and maps the outcome to an exit code.
pub fn main_exit(args: &BenchArgs) -> ExitCode {
    let exe = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: cannot locate the xtask binary to start workers: {e}");
            return ExitCode::FAILURE;
        }
    };
    report_exit(run(args, &exe).map(|_| ()))
}

/// `cargo xtask bench-worker`, for `main`.
pub fn worker_exit(args: &worker::WorkerArgs) -> ExitCode {
    report_exit(worker::run_worker(args, &mut std::io::stdout().lock()))
}

fn report_exit(result: Result<(), BenchError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
