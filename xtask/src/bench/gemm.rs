//! SGEMM workload: GFLOP/s of `Tensor::matmul` and of a direct `matrixmultiply::sgemm` call
//! (the kernel gradwork's matmul is built on, so the gap between them is gradwork's overhead).

use gradwork::tensor::Tensor;

use super::data::operand;
use super::protocol::{workload_id, Measurement, GRADWORK, MATRIXMULTIPLY};
use super::timing::{time_reps, Budget};

/// Every SGEMM shape `(m, k, n)`: squares from 64 to 2048, and the MLP's first layer at batch 128.
pub const GEMM_SHAPES: [(usize, usize, usize); 7] = [
    (64, 64, 64),
    (128, 128, 128),
    (256, 256, 256),
    (512, 512, 512),
    (1024, 1024, 1024),
    (2048, 2048, 2048),
    (128, 784, 256),
];

/// The shapes a budget covers: those whose largest side is at most `budget.max_gemm_side`.
pub fn shapes_for(budget: &Budget) -> Vec<(usize, usize, usize)> {
    GEMM_SHAPES
        .iter()
        .copied()
        .filter(|&(m, k, n)| m.max(k).max(n) <= budget.max_gemm_side)
        .collect()
}

/// The `case` label of a shape, `m x k x n`.
pub fn shape_label((m, k, n): (usize, usize, usize)) -> String {
    format!("{m}x{k}x{n}")
}

/// Runs every shape of the budget with both implementations; returns GFLOP/s medians.
pub fn run(threads: usize, budget: &Budget) -> Vec<Measurement> {
    let mut out = Vec::new();
    for shape in shapes_for(budget) {
        let (m, k, n) = shape;
        let a = operand(m * k, 1);
        let b = operand(k * n, 2);
        let flop = 2.0 * (m * k * n) as f64;
        // The 2048 cube takes ~0.2 s a call: three repetitions are enough.
        let reps = if m * k * n >= 2048 * 2048 * 2048 {
            3
        } else {
            budget.reps
        };
        let ta = Tensor::from_vec(a.clone(), &[m, k]);
        let tb = Tensor::from_vec(b.clone(), &[k, n]);
        let via_tensor = time_reps(|| ta.matmul(&tb), reps, budget);
        let mut c = vec![0f32; m * n];
        let direct = time_reps(|| raw_sgemm(m, k, n, &a, &b, &mut c), reps, budget);
        for (implementation, times) in [(GRADWORK, via_tensor), (MATRIXMULTIPLY, direct)] {
            let rates: Vec<f64> = times.per_call_s.iter().map(|s| flop / s / 1e9).collect();
            out.push(
                Measurement::new(
                    workload_id::GEMM,
                    shape_label(shape),
                    implementation,
                    threads,
                    flop / times.median_s() / 1e9,
                    "GFLOP/s",
                    true,
                )
                .with_samples(rates)
                .with_detail("iters_per_rep", times.iters),
            );
        }
    }
    out
}

/// `c = a b` for row-major `a: [m, k]`, `b: [k, n]`, `c: [m, n]`, one `sgemm` call.
pub fn raw_sgemm(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    assert!(a.len() == m * k && b.len() == k * n && c.len() == m * n);
    #[allow(unsafe_code)]
    // SAFETY: the assert above shows each slice holds exactly the m x k, k x n and m x n row-major
    // matrices the strides describe, so every pointer offset sgemm forms stays inside its slice;
    // `c` is a unique borrow, so the write aliases nothing.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            k as isize,
            1,
            b.as_ptr(),
            n as isize,
            1,
            0.0,
            c.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}
