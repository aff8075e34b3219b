//! Optimizer semantics beyond the fixtures: skipping, validation, state refusal, dyn use,
//! and independent naive references for AMSGrad and dampening.

mod common;

use common::OneParam;
use gradwork_nn::{Module, Param, ParamGrads};
use gradwork_optim::{
    Adam, AdamConfig, OptimError, Optimizer, OptimizerConfig, RmsPropConfig, Sgd, SgdConfig,
};
use gradwork_tensor::Tensor;

fn grads_for(p: &Param, g: &[f32]) -> ParamGrads {
    let mut grads = ParamGrads::default();
    grads.insert(p, Tensor::from_slice(g, p.value().shape()));
    grads
}

#[test]
fn frozen_params_and_params_without_grad_are_skipped() {
    let mut model = OneParam(Param::new(Tensor::from_vec(vec![1.0, 2.0], &[2])));
    let grads = grads_for(&model.0, &[0.5, 0.5]);
    model.0.set_trainable(false);
    let mut opt = Adam::new(AdamConfig::adam()).expect("config");
    opt.step(&mut model, &grads).expect("step");
    assert_eq!(model.0.value().to_vec(), vec![1.0, 2.0]);
    assert!(opt.state().params.is_empty());
    model.0.set_trainable(true);
    opt.step(&mut model, &ParamGrads::default()).expect("step");
    assert_eq!(model.0.value().to_vec(), vec![1.0, 2.0]);
    assert!(opt.state().params.is_empty());
    opt.step(&mut model, &grads).expect("step");
    assert_ne!(model.0.value().to_vec(), vec![1.0, 2.0]);
    assert_eq!(opt.state().params["theta"].step, 1);
}

#[test]
fn a_gradient_of_the_wrong_shape_is_an_error_and_changes_nothing() {
    let mut model = OneParam(Param::new(Tensor::from_vec(vec![1.0, 2.0], &[2])));
    let mut grads = ParamGrads::default();
    grads.insert(&model.0, Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3]));
    let mut opt = Sgd::new(SgdConfig::default()).expect("config");
    match opt.step(&mut model, &grads) {
        Err(OptimError::GradShape { path, .. }) => assert_eq!(path, "theta"),
        other => panic!("expected GradShape, got {other:?}"),
    }
    assert_eq!(model.0.value().to_vec(), vec![1.0, 2.0]);
    assert_eq!(opt.state().steps, 0);
}

#[test]
fn loading_another_kind_or_mismatched_shapes_is_refused() {
    let mut model = OneParam(Param::new(Tensor::from_vec(vec![1.0, 2.0], &[2])));
    let grads = grads_for(&model.0, &[0.1, -0.1]);
    let mut adam = Adam::new(AdamConfig::adam()).expect("config");
    adam.step(&mut model, &grads).expect("step");
    let state = adam.state();

    let mut sgd = Sgd::new(SgdConfig::default()).expect("config");
    assert!(matches!(
        sgd.load_state(&state),
        Err(OptimError::StateKind { .. })
    ));
    let mut adamw = Adam::new_decoupled(AdamConfig::adamw()).expect("config");
    assert!(matches!(
        adamw.load_state(&state),
        Err(OptimError::StateKind { .. })
    ));

    // Into a model whose `theta` has 3 elements: refused up front and at the step.
    let mut bigger = OneParam(Param::new(Tensor::zeros(&[3])));
    assert!(matches!(
        state.check_against(&bigger),
        Err(OptimError::StateShape { .. })
    ));
    let mut fresh = Adam::new(AdamConfig::adam()).expect("config");
    fresh.load_state(&state).expect("same kind loads");
    let g3 = grads_for(&bigger.0, &[1.0, 1.0, 1.0]);
    assert!(matches!(
        fresh.step(&mut bigger, &g3),
        Err(OptimError::StateShape { .. })
    ));
    assert_eq!(bigger.0.value().to_vec(), vec![0.0; 3]);

    // Unknown buffer names and data that does not fill its shape.
    let mut odd = state.clone();
    let ps = odd.params.get_mut("theta").expect("theta");
    let rec = ps.buffers["exp_avg"].clone();
    ps.buffers.insert("momentum_buffer".into(), rec);
    assert!(matches!(
        fresh.load_state(&odd),
        Err(OptimError::StateContent { .. })
    ));
    let mut short = state.clone();
    short
        .params
        .get_mut("theta")
        .expect("theta")
        .buffers
        .get_mut("exp_avg")
        .expect("m")
        .data
        .pop();
    assert!(matches!(
        fresh.load_state(&short),
        Err(OptimError::StateContent { .. })
    ));
}

#[test]
fn invalid_hyper_parameters_are_refused() {
    assert!(Sgd::new(SgdConfig {
        lr: -1.0,
        ..SgdConfig::default()
    })
    .is_err());
    assert!(Sgd::new(SgdConfig {
        nesterov: true,
        ..SgdConfig::default()
    })
    .is_err());
    assert!(Adam::new(AdamConfig {
        beta1: 1.0,
        ..AdamConfig::adam()
    })
    .is_err());
    assert!(Adam::new(AdamConfig {
        eps: f64::NAN,
        ..AdamConfig::adam()
    })
    .is_err());
    assert!(OptimizerConfig::RmsProp(RmsPropConfig {
        alpha: -0.1,
        ..RmsPropConfig::default()
    })
    .build()
    .is_err());
}

#[test]
fn amsgrad_matches_a_naive_f64_reference() {
    let c = AdamConfig {
        lr: 0.05,
        amsgrad: true,
        weight_decay: 0.1,
        ..AdamConfig::adam()
    };
    let mut model = OneParam(Param::new(Tensor::from_vec(vec![0.3, -0.7, 1.1], &[3])));
    let mut opt = Adam::new(c.clone()).expect("config");
    let mut p: Vec<f64> = vec![0.3f32 as f64, -0.7f32 as f64, 1.1f32 as f64];
    let (mut m, mut v, mut vmax) = (vec![0.0; 3], vec![0.0; 3], vec![0.0f64; 3]);
    for t in 1..=30 {
        // Large early gradients, then small ones: the running maximum matters.
        let scale = if t < 5 { 3.0 } else { 0.1 };
        let g: Vec<f32> = (0..3)
            .map(|i| scale * ((t * 7 + i * 3) % 5) as f32 - scale)
            .collect();
        let grads = grads_for(&model.0, &g);
        opt.step(&mut model, &grads).expect("step");
        for i in 0..3 {
            let gi = g[i] as f64 + c.weight_decay * p[i];
            m[i] = c.beta1 * m[i] + (1.0 - c.beta1) * gi;
            v[i] = c.beta2 * v[i] + (1.0 - c.beta2) * gi * gi;
            vmax[i] = vmax[i].max(v[i]);
            let bc1 = 1.0 - c.beta1.powi(t);
            let bc2 = 1.0 - c.beta2.powi(t);
            p[i] -= c.lr / bc1 * m[i] / (vmax[i].sqrt() / bc2.sqrt() + c.eps);
        }
    }
    for (got, want) in model.0.value().to_vec().iter().zip(&p) {
        assert!(
            (*got as f64 - want).abs() < 1e-4 * want.abs().max(1.0),
            "{got} vs {want}"
        );
    }
    assert!(opt.state().params["theta"]
        .buffers
        .contains_key("max_exp_avg_sq"));
}

#[test]
fn sgd_dampening_skips_the_first_step_like_pytorch() {
    let c = SgdConfig {
        lr: 0.1,
        momentum: 0.5,
        dampening: 0.3,
        ..SgdConfig::default()
    };
    let mut model = OneParam(Param::new(Tensor::from_vec(vec![1.0], &[1])));
    let mut opt = Sgd::new(c).expect("config");
    let gs = [2.0f64, -1.0, 0.5];
    let (mut p, mut buf) = (1.0f64, 0.0f64);
    for (t, g) in gs.iter().enumerate() {
        let grads = grads_for(&model.0, &[*g as f32]);
        opt.step(&mut model, &grads).expect("step");
        buf = if t == 0 { *g } else { 0.5 * buf + 0.7 * g };
        p -= 0.1 * buf;
        assert!((model.0.value().to_vec()[0] as f64 - p).abs() < 1e-6);
    }
}

#[test]
fn optimizers_work_through_dyn_and_set_learning_rate() {
    let mut model = OneParam(Param::new(Tensor::from_vec(vec![1.0], &[1])));
    let mut opt: Box<dyn Optimizer> = OptimizerConfig::Sgd(SgdConfig {
        lr: 0.5,
        ..SgdConfig::default()
    })
    .build()
    .expect("config");
    opt.set_learning_rate(0.25);
    assert_eq!(opt.learning_rate(), 0.25);
    let grads = grads_for(&model.0, &[2.0]);
    opt.step(&mut model as &mut dyn Module, &grads)
        .expect("step");
    assert_eq!(model.0.value().to_vec(), vec![0.5]);
}

/// With the context consumed by `into_param_grads`, a step updates each parameter's buffer in
/// place; with the context still alive its leaves share that buffer, so the step must copy
/// first (copy-on-write) and the leaves keep the old values. Both give the same new values.
#[test]
fn a_step_after_into_param_grads_updates_parameters_in_place() {
    use gradwork_autodiff::Graph;
    use gradwork_nn::{layers::Linear, Ctx};
    use gradwork_tensor::Rng;

    let step = |consume: bool| {
        let mut layer = Linear::new(4, 3, &mut Rng::seed_from(1));
        let mut adam = Adam::new(AdamConfig::adam()).expect("config");
        let graph = Graph::new();
        let mut cx = Ctx::train(&graph, Rng::seed_from(2));
        let x = cx.input(Tensor::ones(&[2, 4]));
        let loss = layer.forward(&mut cx, &x).expect("forward").sum_all();
        let grads = graph.backward(&loss).expect("backward");
        let before = layer.weight.value().storage().as_ptr();
        let (param_grads, kept) = if consume {
            (cx.into_param_grads(&grads), None)
        } else {
            (cx.param_grads(&grads), Some(cx))
        };
        adam.step(&mut layer, &param_grads).expect("step");
        let in_place = layer.weight.value().storage().as_ptr() == before;
        drop(kept);
        (in_place, layer.weight.value().to_vec())
    };
    let (in_place, consumed) = step(true);
    assert!(
        in_place,
        "the weight was copied although nothing else shared it"
    );
    let (in_place, kept) = step(false);
    assert!(
        !in_place,
        "a weight shared with a live leaf must be copied, not overwritten"
    );
    assert_eq!(consumed, kept);
}
