//! Per-op overhead of the tape, and one MLP training step.
//!
//! `chain_1000/*` runs 1,000 alternating `mul_scalar`/`add_scalar` ops on a `[4]` tensor:
//! `tracked` records them and runs backward; `untracked` is the same on constants (inference
//! mode); `bare_kernels` runs the same tensor kernels with no autodiff at all, forward plus the
//! 500 `mul_scalar` kernels the backward pass needs. The per-op overhead of the tape is
//! `(tracked - bare_kernels) / 1000`.
//!
//! `mlp_step` is a 784-256-128-10 MLP on a batch of 128: forward, cross-entropy, backward (no
//! optimizer).

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use gradwork_autodiff::loss::{cross_entropy_with_logits, Reduction};
use gradwork_autodiff::{Graph, Var};
use gradwork_tensor::{Rng, Tensor};

const CHAIN: usize = 1000;

fn chain(x: &Var) -> Var {
    let mut y = x.clone();
    for i in 0..CHAIN {
        y = if i % 2 == 0 {
            y.mul_scalar(1.0001)
        } else {
            y.add_scalar(0.001)
        };
    }
    y
}

fn bench_chain(c: &mut Criterion) {
    let input = Tensor::from_vec(vec![0.5, -1.0, 2.0, 0.25], &[4]);
    let mut group = c.benchmark_group("chain_1000");
    group.bench_function("tracked_forward_backward", |b| {
        b.iter(|| {
            let graph = Graph::new();
            let x = graph.leaf(input.clone());
            let loss = chain(&x).sum_all();
            let grads = graph.backward(&loss).unwrap();
            black_box(grads.get(&x).unwrap().to_vec())
        })
    });
    group.bench_function("untracked_forward", |b| {
        b.iter(|| black_box(chain(&Var::constant(input.clone())).value().to_vec()))
    });
    group.bench_function("bare_kernels_forward_backward", |b| {
        b.iter(|| {
            let mut y = input.clone();
            for i in 0..CHAIN {
                y = if i % 2 == 0 {
                    y.mul_scalar(1.0001)
                } else {
                    y.add_scalar(0.001)
                };
            }
            let mut g = Tensor::ones(&[4]);
            for _ in 0..CHAIN / 2 {
                g = g.mul_scalar(1.0001);
            }
            black_box((y.sum_all().to_vec(), g.to_vec()))
        })
    });
    group.finish();
}

fn bench_mlp(c: &mut Criterion) {
    let mut rng = Rng::seed_from(3);
    let sizes = [784, 256, 128, 10];
    let batch = 128;
    let x = Tensor::rand_normal(&[batch, sizes[0]], 0.0, 1.0, &mut rng);
    let labels: Vec<usize> = (0..batch).map(|_| rng.below(10) as usize).collect();
    let params: Vec<(Tensor, Tensor)> = sizes
        .windows(2)
        .map(|io| {
            let scale = (2.0 / io[0] as f32).sqrt();
            (
                Tensor::rand_normal(&[io[1], io[0]], 0.0, scale, &mut rng),
                Tensor::zeros(&[io[1]]),
            )
        })
        .collect();
    c.bench_function("mlp_step_784_256_128_10_batch128", |b| {
        b.iter(|| {
            let graph = Graph::new();
            let layers: Vec<(Var, Var)> = params
                .iter()
                .map(|(w, b)| (graph.leaf(w.clone()), graph.leaf(b.clone())))
                .collect();
            let mut h = Var::constant(x.clone());
            for (i, (w, b)) in layers.iter().enumerate() {
                h = h.linear(w, Some(b));
                if i + 1 < layers.len() {
                    h = h.relu();
                }
            }
            let loss = cross_entropy_with_logits(&h, &labels, Reduction::Mean);
            let grads = graph.backward(&loss).unwrap();
            black_box(grads.get(&layers[0].0).unwrap().numel())
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default();
    targets = bench_chain, bench_mlp
}
criterion_main!(benches);
