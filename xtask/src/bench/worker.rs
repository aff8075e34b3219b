//! The `bench-worker` subcommand: runs one workload for gradwork in this (fresh) process and
//! prints [`WorkerLine`]s. The driver starts one per (workload, batch size, thread count), with
//! `RAYON_NUM_THREADS` set, because the allocator's state left behind by one workload moved
//! another's speed by 2-3x when they shared a process.

use std::collections::BTreeMap;
use std::io::Write;

use super::data::{SyntheticMnist, N_TRAIN};
use super::error::BenchError;
use super::mnist_examples::{mnist_cnn_train, mnist_mlp_train};
use super::models::{cnn_train, mlp_infer, mlp_train, INFER_BATCH};
use super::protocol::{Measurement, WorkerLine, WorkerMeta, GRADWORK};
use super::timing::Budget;
use super::{gemm, Job};

/// Arguments of `cargo xtask bench-worker` (also understood by `pytorch_peer.py`).
#[derive(Debug, Clone, clap::Args)]
pub struct WorkerArgs {
    /// `gemm`, `mlp`, `cnn`, `infer`, `mnist-mlp` or `mnist-cnn`.
    #[arg(long)]
    pub workload: String,
    /// The thread count to report (the caller sets `RAYON_NUM_THREADS`).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// MLP training batch size.
    #[arg(long, default_value_t = 128)]
    pub batch: usize,
    /// Smoke-test sizes.
    #[arg(long)]
    pub quick: bool,
}

impl WorkerArgs {
    /// The job these arguments describe.
    pub fn job(&self) -> Result<Job, BenchError> {
        Job::parse(&self.workload, self.batch)
    }
}

/// How many samples of the synthetic data a job trains or infers on (0: it needs none).
pub fn samples_needed(job: Job, budget: &Budget) -> usize {
    match job {
        Job::Gemm => 0,
        Job::Mlp { .. } | Job::MnistMlp => budget.mlp_samples.min(N_TRAIN),
        Job::Cnn | Job::MnistCnn => budget.cnn_samples.min(N_TRAIN),
        Job::Infer => INFER_BATCH,
    }
}

/// Runs the job and writes its protocol lines to `out`.
pub fn run_worker(args: &WorkerArgs, out: &mut dyn Write) -> Result<(), BenchError> {
    let job = args.job()?;
    let budget = Budget::select(args.quick);
    let n = samples_needed(job, &budget);
    let data = (n > 0).then(|| SyntheticMnist::generate(n));
    let meta = WorkerMeta {
        implementation: GRADWORK.to_string(),
        threads: args.threads,
        runtime_threads: Some(rayon::current_num_threads()),
        versions: BTreeMap::from([(GRADWORK.to_string(), env!("CARGO_PKG_VERSION").to_string())]),
        data: data.as_ref().map(SyntheticMnist::fingerprint),
        notes: BTreeMap::from([("build".to_string(), build_profile().to_string())]),
    };
    emit(out, &WorkerLine::Meta(meta))?;
    let t = args.threads;
    let results: Vec<Measurement> = match (job, data) {
        (Job::Gemm, _) => gemm::run(t, &budget),
        (Job::Mlp { batch }, Some(d)) => vec![mlp_train(d, batch, t, &budget)?],
        (Job::Cnn, Some(d)) => vec![cnn_train(d, t, &budget)?],
        (Job::Infer, Some(d)) => mlp_infer(&d, t, &budget)?,
        (Job::MnistMlp, Some(d)) => vec![mnist_mlp_train(d, t, &budget)?],
        (Job::MnistCnn, Some(d)) => vec![mnist_cnn_train(d, t, &budget)?],
        (_, None) => Vec::new(),
    };
    for m in results {
        emit(out, &WorkerLine::Measurement(m))?;
    }
    Ok(())
}

/// `release` or `debug` (numbers from a debug build are not worth comparing).
pub fn build_profile() -> &'static str {
    if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    }
}

fn emit(out: &mut dyn Write, line: &WorkerLine) -> Result<(), BenchError> {
    writeln!(out, "{}", line.to_json())
        .and_then(|()| out.flush())
        .map_err(|source| BenchError::Io {
            action: "write to",
            path: "stdout".into(),
            source,
        })
}
