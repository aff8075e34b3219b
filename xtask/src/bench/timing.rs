//! How long the workloads run and how their times are summarised: medians of repetitions.
//!
//! The same scheme is implemented in `xtask/bench/pytorch_peer.py`; change both together.

use std::hint::black_box;
use std::time::Instant;

/// Repetition counts and time limits of one run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    /// Timed repetitions of a kernel (fewer for the 2048 SGEMM).
    pub reps: usize,
    /// Each repetition loops the kernel until at least this long has passed.
    pub min_rep_s: f64,
    /// Stop repeating once this much time has gone (after at least 3 repetitions).
    pub max_measure_s: f64,
    /// A training run is timed in this many chunks of batches; the rate is their median.
    pub chunks: usize,
    /// A training run stops (marked partial) after this many timed seconds.
    pub train_cap_s: f64,
    /// Samples the MLP trains on (one epoch of the synthetic data).
    pub mlp_samples: usize,
    /// Samples the CNN trains on.
    pub cnn_samples: usize,
    /// Single-sample inference calls timed individually.
    pub latency_calls: usize,
    /// The largest square SGEMM side.
    pub max_gemm_side: usize,
}

impl Budget {
    /// The measurement run (about a minute per workload and thread count on an idle 2-core machine).
    pub fn full() -> Self {
        Budget {
            reps: 5,
            min_rep_s: 0.15,
            max_measure_s: 4.0,
            chunks: 5,
            train_cap_s: 20.0,
            mlp_samples: super::data::N_TRAIN,
            cnn_samples: 2048,
            latency_calls: 10_000,
            max_gemm_side: 2048,
        }
    }

    /// A smoke run that checks the plumbing, not the speed: seconds in total.
    pub fn quick() -> Self {
        Budget {
            reps: 3,
            min_rep_s: 0.01,
            max_measure_s: 0.5,
            chunks: 2,
            train_cap_s: 2.0,
            mlp_samples: 1024,
            cnn_samples: 128,
            latency_calls: 200,
            max_gemm_side: 128,
        }
    }

    /// [`Budget::quick`] when `quick`, else [`Budget::full`].
    pub fn select(quick: bool) -> Self {
        if quick {
            Self::quick()
        } else {
            Self::full()
        }
    }
}

/// The median of `values` (the mean of the middle two for an even count); NaN when empty.
///
/// ```
/// use xtask::bench::timing::median;
/// assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
/// assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
/// ```
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => v[n / 2],
        _ => 0.5 * (v[n / 2 - 1] + v[n / 2]),
    }
}

/// Seconds per call of a kernel, per repetition.
#[derive(Debug, Clone, PartialEq)]
pub struct RepTimes {
    /// Seconds per call in each repetition.
    pub per_call_s: Vec<f64>,
    /// Calls per repetition.
    pub iters: usize,
}

impl RepTimes {
    /// The median seconds per call.
    pub fn median_s(&self) -> f64 {
        median(&self.per_call_s)
    }
}

/// Times `f`: a warm-up of at least 50 ms (and 2 calls) that also calibrates how many calls make
/// one repetition of `min_rep_s`, then up to `reps` repetitions.
pub fn time_reps<R>(mut f: impl FnMut() -> R, reps: usize, budget: &Budget) -> RepTimes {
    let warm = Instant::now();
    let mut calls = 0usize;
    while calls < 2 || warm.elapsed().as_secs_f64() < 0.05 {
        black_box(f());
        calls += 1;
    }
    let one = (warm.elapsed().as_secs_f64() / calls as f64).max(1e-7);
    let iters = ((budget.min_rep_s / one) as usize).max(1);
    let start = Instant::now();
    let mut per_call_s = Vec::with_capacity(reps);
    for _ in 0..reps.max(1) {
        let t0 = Instant::now();
        for _ in 0..iters {
            black_box(f());
        }
        per_call_s.push(t0.elapsed().as_secs_f64() / iters as f64);
        if per_call_s.len() >= 3 && start.elapsed().as_secs_f64() > budget.max_measure_s {
            break;
        }
    }
    RepTimes { per_call_s, iters }
}

/// Median latency in microseconds of individually timed calls (after 50 warm-up calls), with the
/// number of calls made: at most `calls`, fewer if `cap_s` runs out first.
pub fn latency_us<R>(mut f: impl FnMut() -> R, calls: usize, cap_s: f64) -> (f64, usize) {
    for _ in 0..50 {
        black_box(f());
    }
    let start = Instant::now();
    let mut us = Vec::with_capacity(calls);
    for i in 0..calls.max(1) {
        let t0 = Instant::now();
        black_box(f());
        us.push(t0.elapsed().as_secs_f64() * 1e6);
        if i % 256 == 255 && start.elapsed().as_secs_f64() > cap_s {
            break;
        }
    }
    (median(&us), us.len())
}

/// `n_batches` batch indices split into at most `chunks` nearly equal, contiguous ranges.
///
/// ```
/// use xtask::bench::timing::chunk_ranges;
/// assert_eq!(chunk_ranges(5, 2), vec![0..2, 2..5]);
/// assert_eq!(chunk_ranges(1, 4), vec![0..1]);
/// ```
pub fn chunk_ranges(n_batches: usize, chunks: usize) -> Vec<std::ops::Range<usize>> {
    let k = chunks.clamp(1, n_batches.max(1));
    (0..k)
        .map(|i| i * n_batches / k..(i + 1) * n_batches / k)
        .collect()
}
