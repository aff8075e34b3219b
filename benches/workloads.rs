//! Criterion benches of single steps of the `cargo xtask bench` workloads, so regressions show in
//! `cargo bench`: one MLP training step at batch 128 and at batch 32, one CNN training step (batch
//! 64), and MLP inference on one sample and on a batch of 1,024. (SGEMM is in
//! `crates/gradwork-tensor/benches/matmul.rs`.) The side-by-side comparison with PyTorch (whole epochs, fresh
//! processes, 1 and 2 threads) is `cargo xtask bench --vs pytorch`; see docs/performance.md.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use gradwork::autodiff::loss::{cross_entropy_with_logits, Reduction};
use gradwork::nn::layers::{Conv2d, Flatten, MaxPool2d};
use gradwork::nn::predict;
use gradwork::prelude::*;

/// MNIST-shaped inputs in [0, 1) and labels, from gradwork's seeded RNG (the values do not
/// change the speed; the xtask uses the exact cross-language generator instead).
fn batch(shape: &[usize], seed: u64) -> (Tensor, Vec<usize>) {
    let mut rng = Rng::seed_from(seed);
    let x = Tensor::rand_uniform(shape, 0.0, 1.0, &mut rng);
    let labels = (0..shape[0]).map(|_| rng.below(10) as usize).collect();
    (x, labels)
}

fn mlp(rng: &mut Rng) -> Sequential {
    Sequential::new()
        .push(Linear::new(784, 256, rng))
        .push(Relu)
        .push(Linear::new(256, 128, rng))
        .push(Relu)
        .push(Linear::new(128, 10, rng))
}

fn cnn(rng: &mut Rng) -> Sequential {
    Sequential::new()
        .push(Conv2d::new(1, 32, (3, 3), rng).unwrap())
        .push(Relu)
        .push(MaxPool2d::new((2, 2)))
        .push(Conv2d::new(32, 64, (3, 3), rng).unwrap())
        .push(Relu)
        .push(MaxPool2d::new((2, 2)))
        .push(Flatten::new(1))
        .push(Linear::new(1600, 128, rng))
        .push(Relu)
        .push(Linear::new(128, 10, rng))
}

/// Forward, fused softmax cross-entropy, backward and an Adam step.
fn step(model: &mut Sequential, adam: &mut Adam, x: &Tensor, y: &[usize], rng: &Rng) -> f32 {
    let graph = Graph::new();
    let mut cx = Ctx::train(&graph, rng.clone());
    let logits = model.forward(&mut cx, &Var::constant(x.clone())).unwrap();
    let loss = cross_entropy_with_logits(&logits, y, Reduction::Mean);
    let grads = graph.backward(&loss).unwrap();
    adam.step(model, &cx.into_param_grads(&grads)).unwrap();
    loss.value().item()
}

fn training_steps(c: &mut Criterion) {
    let rng = Rng::seed_from(42);
    let mut group = c.benchmark_group("train_step");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));

    for (batch_size, seed) in [(128, 2), (32, 7)] {
        let mut model = mlp(&mut rng.fork(1));
        let mut adam = Adam::new(AdamConfig::adam()).unwrap();
        let (x, y) = batch(&[batch_size, 784], seed);
        group.bench_function(format!("mlp_784_256_128_10/bs{batch_size}"), |b| {
            b.iter(|| black_box(step(&mut model, &mut adam, &x, &y, &rng)))
        });
    }

    let mut model = cnn(&mut rng.fork(3));
    let mut adam = Adam::new(AdamConfig::adam()).unwrap();
    let (x, y) = batch(&[64, 1, 28, 28], 4);
    group.bench_function("keras_mnist_cnn/bs64", |b| {
        b.iter(|| black_box(step(&mut model, &mut adam, &x, &y, &rng)))
    });
    group.finish();
}

fn inference(c: &mut Criterion) {
    let mut model = mlp(&mut Rng::seed_from(5));
    let mut group = c.benchmark_group("infer");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(2));
    for batch_size in [1, 1024] {
        let (x, _) = batch(&[batch_size, 784], 6);
        group.bench_function(format!("mlp_784_256_128_10/bs{batch_size}"), |b| {
            b.iter(|| black_box(predict(&mut model, &x).unwrap()))
        });
    }
    group.finish();
}

criterion_group!(benches, training_steps, inference);
criterion_main!(benches);
