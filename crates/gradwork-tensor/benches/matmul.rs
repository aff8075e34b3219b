//! Matrix-product throughput: `Tensor::matmul` against calling `matrixmultiply::sgemm` directly on
//! the same shapes, so the wrapper's cost (shape checks, output allocation, row blocking, rayon)
//! shows as the ratio of the two. Throughput is `2*m*k*n` elements, so criterion's "elem/s" is
//! FLOP/s. `matrixmultiply` is built without its own threading: the direct call is one thread,
//! while `Tensor::matmul` uses the rayon pool (set `RAYON_NUM_THREADS` to compare).

// criterion_group! generates a public, undocumented `benches` function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use gradwork_tensor::{Rng, Tensor};

/// (m, k, n): squares from 64 to 1024, and an MLP layer (batch 128, 784 inputs, 256 outputs).
const SHAPES: [(usize, usize, usize); 6] = [
    (64, 64, 64),
    (128, 128, 128),
    (256, 256, 256),
    (512, 512, 512),
    (1024, 1024, 1024),
    (128, 784, 256),
];

/// `c = a @ b` for row-major contiguous `a: [m, k]`, `b: [k, n]`, `c: [m, n]`.
fn sgemm_row_major(a: &[f32], b: &[f32], c: &mut [f32], m: usize, k: usize, n: usize) {
    assert!(a.len() == m * k && b.len() == k * n && c.len() == m * n);
    #[allow(unsafe_code)]
    // SAFETY: the assert above shows every index sgemm touches with these row-major strides
    // (a: i*k + p, b: p*n + j, c: i*n + j for i < m, p < k, j < n) is inside its slice, and `c`
    // is a unique borrow that aliases neither input.
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

fn matmul(c: &mut Criterion) {
    let mut group = c.benchmark_group("matmul");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    let mut rng = Rng::seed_from(0);
    for (m, k, n) in SHAPES {
        let a = Tensor::rand_uniform(&[m, k], -1.0, 1.0, &mut rng);
        let b = Tensor::rand_uniform(&[k, n], -1.0, 1.0, &mut rng);
        let name = format!("{m}x{k}x{n}");
        group.throughput(Throughput::Elements((2 * m * k * n) as u64));
        group.bench_function(BenchmarkId::new("gradwork", &name), |bench| {
            bench.iter(|| black_box(black_box(&a).matmul(black_box(&b))))
        });
        let (a_data, b_data) = (a.to_vec(), b.to_vec());
        let mut out = vec![0.0f32; m * n];
        group.bench_function(BenchmarkId::new("sgemm", &name), |bench| {
            bench.iter(|| {
                sgemm_row_major(black_box(&a_data), black_box(&b_data), &mut out, m, k, n);
                black_box(&out);
            })
        });
    }
    group.finish();
}

/// The matrix-vector path: one sample through the MLP's layers, `x [1, k] @ W^T` with `W` stored
/// `[n, k]` as `Linear` stores it, so the kernel reads the weights in place. Throughput is the
/// weights' bytes, so criterion's "B/s" is the bandwidth the kernel streams them at.
fn matrix_vector(c: &mut Criterion) {
    let mut group = c.benchmark_group("matrix_vector");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    let mut rng = Rng::seed_from(1);
    for (k, n) in [(784, 256), (256, 128), (128, 10)] {
        let weight = Tensor::rand_uniform(&[n, k], -1.0, 1.0, &mut rng);
        let x = Tensor::rand_uniform(&[1, k], 0.0, 1.0, &mut rng);
        group.throughput(Throughput::Bytes((4 * k * n) as u64));
        group.bench_function(BenchmarkId::new("x_wt", format!("1x{k}x{n}")), |bench| {
            bench.iter(|| black_box(black_box(&x).matmul(&black_box(&weight).t())))
        });
    }
    group.finish();
}

/// Products whose right operand is a transpose, as training runs them: a linear layer's forward
/// `x @ W^T` (batch 128, 784 -> 256) and the MNIST CNN's second weight gradient `dy @ cols^T`
/// (64 channels, 968 positions, 288 taps). gradwork packs these with register transposes;
/// `matrixmultiply` on the same strides, one element at a time. Throughput as in `matmul`.
fn matmul_transposed(c: &mut Criterion) {
    let mut group = c.benchmark_group("matmul_transposed");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    let mut rng = Rng::seed_from(2);
    for (m, k, n) in [(128, 784, 256), (64, 968, 288)] {
        let a = Tensor::rand_uniform(&[m, k], -1.0, 1.0, &mut rng);
        let w = Tensor::rand_uniform(&[n, k], -1.0, 1.0, &mut rng);
        let name = format!("{m}x{k}x{n}");
        group.throughput(Throughput::Elements((2 * m * k * n) as u64));
        group.bench_function(BenchmarkId::new("gradwork", &name), |bench| {
            bench.iter(|| black_box(black_box(&a).matmul(&black_box(&w).t())))
        });
        let (a_data, w_data) = (a.to_vec(), w.to_vec());
        let mut out = vec![0.0f32; m * n];
        group.bench_function(BenchmarkId::new("sgemm", &name), |bench| {
            bench.iter(|| {
                #[allow(unsafe_code)]
                // SAFETY: a is m x k row-major, w is n x k row-major read as its k x n transpose
                // (strides 1, k), and out is m x n row-major: every offset is in bounds.
                unsafe {
                    matrixmultiply::sgemm(
                        m,
                        k,
                        n,
                        1.0,
                        black_box(&a_data).as_ptr(),
                        k as isize,
                        1,
                        black_box(&w_data).as_ptr(),
                        1,
                        k as isize,
                        0.0,
                        out.as_mut_ptr(),
                        n as isize,
                        1,
                    )
                };
                black_box(&out);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, matmul, matmul_transposed, matrix_vector);
criterion_main!(benches);
