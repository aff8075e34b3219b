//! One optimizer step over the MNIST MLP's 235,146 parameters (784-256-128-10): Adam, AdamW,
//! SGD with momentum and RMSprop with live gradients, and Adam once a long run of zero
//! gradients has left its first moments subnormal (a dead ReLU unit's weights). That last case
//! once ran 2-3x slower than the live one (`docs/performance.md`, change 29); it should stay
//! close to it. Throughput is in parameters, so criterion reports parameters per second.

// criterion_group! generates a public, undocumented `benches` function.
#![allow(missing_docs)]

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use gradwork_autodiff::Var;
use gradwork_nn::{join_path, Ctx, Module, Param, ParamGrads};
use gradwork_optim::{Adam, AdamConfig, Optimizer, RmsProp, RmsPropConfig, Sgd, SgdConfig};
use gradwork_tensor::{Rng, Tensor};

/// The MLP's weight and bias shapes, flattened.
const SIZES: [usize; 6] = [784 * 256, 256, 256 * 128, 128, 128 * 10, 10];

/// A model that is only its parameters: the step does not need a forward pass.
struct Parameters(Vec<Param>);

impl Module for Parameters {
    fn forward(&mut self, cx: &mut Ctx, _input: &Var) -> gradwork_nn::Result<Var> {
        Ok(cx.param(&self.0[0]))
    }
    fn visit_params(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param)) {
        for (i, p) in self.0.iter().enumerate() {
            f(&join_path(prefix, &i.to_string()), p)
        }
    }
    fn visit_params_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Param)) {
        for (i, p) in self.0.iter_mut().enumerate() {
            f(&join_path(prefix, &i.to_string()), p)
        }
    }
}

fn gradients(model: &Parameters, scale: f32, rng: &mut Rng) -> ParamGrads {
    let mut grads = ParamGrads::default();
    for p in &model.0 {
        let shape = p.value().shape().to_vec();
        grads.insert(p, Tensor::rand_uniform(&shape, -scale, scale, rng));
    }
    grads
}

fn steps(c: &mut Criterion) {
    let mut rng = Rng::seed_from(0);
    let mut model = Parameters(
        SIZES
            .iter()
            .map(|&n| Param::new(Tensor::rand_uniform(&[n], -0.05, 0.05, &mut rng)))
            .collect(),
    );
    let live = gradients(&model, 1e-2, &mut rng);
    let zero = gradients(&model, 0.0, &mut rng);
    let total: usize = SIZES.iter().sum();

    let mut group = c.benchmark_group("optimizer_step");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .throughput(Throughput::Elements(total as u64));
    let mut optimizers: Vec<(&str, Box<dyn Optimizer>)> = vec![
        (
            "adamw",
            Box::new(Adam::new_decoupled(AdamConfig::adamw()).unwrap()),
        ),
        (
            "sgd_momentum",
            Box::new(
                Sgd::new(SgdConfig {
                    momentum: 0.9,
                    ..SgdConfig::default()
                })
                .unwrap(),
            ),
        ),
        (
            "rmsprop",
            Box::new(RmsProp::new(RmsPropConfig::default()).unwrap()),
        ),
    ];
    for (name, optimizer) in &mut optimizers {
        group.bench_function(format!("{name}/live/{total}"), |b| {
            b.iter(|| optimizer.step(&mut model, &live).unwrap())
        });
    }

    // Adam twice, each step from a copy of a fixed state (the copy is not timed), so that the
    // two figures compare like with like: after 30 live steps, with live gradients; and after
    // 760 more steps of zero gradients, with zero gradients. By then `lr * m` has been subnormal
    // for a while (from about 650 steps) but `m` has not yet underflowed to zero (about 900),
    // and the copy keeps the moments from drifting out of that range.
    let mut adam = Adam::new(AdamConfig::adam()).unwrap();
    for _ in 0..30 {
        adam.step(&mut model, &live).unwrap();
    }
    let warmed = adam.clone();
    for _ in 0..760 {
        adam.step(&mut model, &zero).unwrap();
    }
    for (case, state, grads) in [
        ("live", &warmed, &live),
        ("subnormal_moments", &adam, &zero),
    ] {
        group.bench_function(format!("adam/{case}/{total}"), |b| {
            b.iter_batched_ref(
                || state.clone(),
                |adam| adam.step(&mut model, grads).unwrap(),
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, steps);
criterion_main!(benches);
