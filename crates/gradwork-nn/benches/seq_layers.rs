//! Criterion benches of the sequence layers' forward+backward at typical sizes: an LSTM
//! (B=32, T=35, in=64, H=128, the classic word-level language-model shape) and self-attention
//! (B=32, T=64, E=128, 4 heads).
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use gradwork_autodiff::Graph;
use gradwork_nn::layers::{Lstm, MultiHeadAttention};
use gradwork_nn::{Ctx, Module};
use gradwork_tensor::{Rng, Tensor};

fn lstm_forward_backward(c: &mut Criterion) {
    let mut rng = Rng::seed_from(0);
    let lstm = Lstm::new(64, 128, 1, &mut rng).unwrap();
    let x = Tensor::rand_uniform(&[32, 35, 64], -1.0, 1.0, &mut rng);
    let mut group = c.benchmark_group("seq_layers");
    group.sample_size(10);
    group.bench_function("lstm_b32_t35_in64_h128/forward_backward", |b| {
        b.iter(|| {
            let graph = Graph::new();
            let mut cx = Ctx::train(&graph, Rng::seed_from(1));
            let input = graph.leaf(x.clone());
            let out = lstm.forward_seq(&mut cx, &input, None).unwrap();
            let grads = graph.backward(&out.output.square().mean_all()).unwrap();
            std::hint::black_box(cx.param_grads(&grads).len())
        })
    });
    group.finish();
}

fn attention_forward_backward(c: &mut Criterion) {
    let mut rng = Rng::seed_from(2);
    let mut mha = MultiHeadAttention::new(128, 4, &mut rng).unwrap();
    let x = Tensor::rand_uniform(&[32, 64, 128], -1.0, 1.0, &mut rng);
    let mut group = c.benchmark_group("seq_layers");
    group.sample_size(10);
    group.bench_function("mha_b32_t64_e128_h4/forward_backward", |b| {
        b.iter(|| {
            let graph = Graph::new();
            let mut cx = Ctx::train(&graph, Rng::seed_from(3));
            let input = graph.leaf(x.clone());
            let out = mha.forward(&mut cx, &input).unwrap();
            let grads = graph.backward(&out.square().mean_all()).unwrap();
            std::hint::black_box(grads.get(&input).map(Tensor::numel))
        })
    });
    group.finish();
}

fn quick() -> Criterion {
    Criterion::default()
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(5))
}

criterion_group! {
    name = benches;
    config = quick();
    targets = lstm_forward_backward, attention_forward_backward
}
criterion_main!(benches);
