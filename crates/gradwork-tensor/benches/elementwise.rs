//! Elementwise and reduction throughput on 2^20 elements: add, relu, exp, a broadcast add,
//! sum (whole tensor and along the last axis) and softmax along the last axis.
//! Throughput is in elements, so criterion reports elements per second.

// criterion_group! generates a public, undocumented `benches` function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gradwork_tensor::{Rng, Tensor};

const ROWS: usize = 1024;
const COLUMNS: usize = 1024;

fn kernels(c: &mut Criterion) {
    let mut rng = Rng::seed_from(0);
    let x = Tensor::rand_normal(&[ROWS, COLUMNS], 0.0, 1.0, &mut rng);
    let y = Tensor::rand_normal(&[ROWS, COLUMNS], 0.0, 1.0, &mut rng);
    let bias = Tensor::rand_normal(&[COLUMNS], 0.0, 1.0, &mut rng);
    let n = ROWS * COLUMNS;

    let mut group = c.benchmark_group("elementwise");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .throughput(Throughput::Elements(n as u64));
    group.bench_function("add/1048576", |b| {
        b.iter(|| black_box(black_box(&x).add(&y)))
    });
    group.bench_function("add_broadcast_row/1048576", |b| {
        b.iter(|| black_box(black_box(&x).add(&bias)))
    });
    group.bench_function("relu/1048576", |b| {
        b.iter(|| black_box(black_box(&x).relu()))
    });
    group.bench_function("exp/1048576", |b| b.iter(|| black_box(black_box(&x).exp())));
    group.finish();

    let mut group = c.benchmark_group("reduction");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .throughput(Throughput::Elements(n as u64));
    group.bench_function("sum_all/1048576", |b| {
        b.iter(|| black_box(black_box(&x).sum_all()))
    });
    group.bench_function("sum_last_axis/1024x1024", |b| {
        b.iter(|| black_box(black_box(&x).sum(-1, false)))
    });
    group.bench_function("sum_first_axis/1024x1024", |b| {
        b.iter(|| black_box(black_box(&x).sum(0, false)))
    });
    group.bench_function("softmax_last_axis/1024x1024", |b| {
        b.iter(|| black_box(black_box(&x).softmax(-1)))
    });
    group.finish();
}

criterion_group!(benches, kernels);
criterion_main!(benches);
