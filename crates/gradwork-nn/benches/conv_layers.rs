//! Criterion benches of Conv2d forward+backward at the Keras MNIST CNN's sizes: 1 -> 32 channels
//! on 28x28 and 32 -> 64 channels on 13x13, 3x3 kernels, batch 64.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use gradwork_autodiff::Graph;
use gradwork_nn::layers::Conv2d;
use gradwork_nn::{Ctx, Module};
use gradwork_tensor::{Rng, Tensor};

fn conv_forward_backward(c: &mut Criterion) {
    let mut group = c.benchmark_group("conv_layers");
    group.sample_size(10);
    for (name, channels_in, channels_out, side) in [
        ("conv2d_b64_1x28x28_to_32_k3", 1, 32, 28),
        ("conv2d_b64_32x13x13_to_64_k3", 32, 64, 13),
    ] {
        let mut rng = Rng::seed_from(0);
        let mut conv = Conv2d::new(channels_in, channels_out, (3, 3), &mut rng).unwrap();
        let x = Tensor::rand_uniform(&[64, channels_in, side, side], 0.0, 1.0, &mut rng);
        group.bench_function(format!("{name}/forward_backward"), |b| {
            b.iter(|| {
                let graph = Graph::new();
                let mut cx = Ctx::train(&graph, Rng::seed_from(1));
                let input = graph.leaf(x.clone());
                let out = conv.forward(&mut cx, &input).unwrap();
                let grads = graph.backward(&out.square().mean_all()).unwrap();
                std::hint::black_box(cx.param_grads(&grads).len())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, conv_forward_backward);
criterion_main!(benches);
