//! Criterion benchmarks of gradwork-tensor's kernels (placeholder until the kernel benches land).
#![allow(missing_docs)]
use criterion::{criterion_group, criterion_main, Criterion};
use gradwork::tensor::Tensor;

fn elementwise(c: &mut Criterion) {
    let a = Tensor::ones(&[1 << 16]);
    c.bench_function("elementwise/add/65536", |b| {
        b.iter(|| std::hint::black_box(&a + &a))
    });
}

criterion_group!(benches, elementwise);
criterion_main!(benches);
