//! Linear, Embedding and Dropout pass grad_check with respect to the input (where it is
//! differentiable) and every parameter, over random small sizes.

mod prop_layers_support;

use gradwork_autodiff::GradCheckConfig;
use gradwork_nn::layers::{Dropout, Embedding, Linear};
use gradwork_nn::Module;
use gradwork_tensor::Rng;
use prop_layers_support::{check_layer, normal, param_values};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn linear_gradients_match_finite_differences(
        lead in proptest::collection::vec(1usize..=3, 1..=2),
        fan_in in 1usize..=4, fan_out in 1usize..=4, bias: bool, seed: u64,
    ) {
        let make = move || {
            let mut rng = Rng::seed_from(seed);
            if bias { Linear::new(fan_in, fan_out, &mut rng) } else { Linear::without_bias(fan_in, fan_out, &mut rng) }
        };
        let mut shape = lead.clone();
        shape.push(fan_in);
        let params = param_values(&make());
        let report = check_layer(
            make,
            |layer: &mut Linear, cx, x| layer.forward(cx, x.unwrap()),
            Some(normal(&shape, seed ^ 1)),
            params,
            true,
            GradCheckConfig::default(),
        );
        prop_assert!(report.passed(), "{}", report);
    }

    #[test]
    fn embedding_weight_gradients_match_finite_differences(
        rows in 1usize..=5, dim in 1usize..=3, batch in 1usize..=3, steps in 1usize..=4, seed: u64,
    ) {
        let mut rng = Rng::seed_from(seed);
        // Repeated indices are likely with few rows: their gradients must add up.
        let indices: Vec<usize> = (0..batch * steps).map(|_| rng.below(rows as u64) as usize).collect();
        let table = Embedding::new(rows, dim, &mut rng);
        let report = check_layer(
            move || Embedding::new(rows, dim, &mut Rng::seed_from(0)),
            move |layer: &mut Embedding, cx, _| layer.forward_indices(cx, &indices, &[batch, steps]),
            None,
            param_values(&table),
            true,
            GradCheckConfig::default(),
        );
        prop_assert!(report.passed(), "{}", report);
    }

    #[test]
    fn dropout_gradients_match_finite_differences_in_training_and_evaluation(
        dims in proptest::collection::vec(1usize..=4, 1..=3), p in 0.0f32..0.9, training: bool, seed: u64,
    ) {
        let report = check_layer(
            move || Dropout::new(p).unwrap(),
            |layer: &mut Dropout, cx, x| layer.forward(cx, x.unwrap()),
            Some(normal(&dims, seed)),
            vec![],
            training,
            GradCheckConfig::default(),
        );
        prop_assert!(report.passed(), "{}", report);
    }
}

/// A "layer" whose recorded gradient is deliberately wrong (y = 2x, backward 3g): the harness
/// must catch it, or the passing checks above would mean nothing.
struct WrongGradient;

impl Module for WrongGradient {
    fn forward(
        &mut self,
        _cx: &mut gradwork_nn::Ctx,
        x: &gradwork_autodiff::Var,
    ) -> gradwork_nn::Result<gradwork_autodiff::Var> {
        Ok(gradwork_autodiff::Var::from_op(
            "wrong",
            &[x],
            x.value().mul_scalar(2.0),
            || |g: &gradwork_tensor::Tensor, _: &[bool]| Ok(vec![Some(g.mul_scalar(3.0))]),
        )?)
    }
    fn visit_params(&self, _: &str, _: &mut dyn FnMut(&str, &gradwork_nn::Param)) {}
    fn visit_params_mut(&mut self, _: &str, _: &mut dyn FnMut(&str, &mut gradwork_nn::Param)) {}
}

#[test]
fn the_harness_catches_a_wrong_gradient() {
    let report = check_layer(
        || WrongGradient,
        |layer: &mut WrongGradient, cx, x| layer.forward(cx, x.unwrap()),
        Some(normal(&[3, 2], 1)),
        vec![],
        true,
        GradCheckConfig::default(),
    );
    assert!(!report.passed());
}

#[test]
fn dropout_drops_about_p_scales_survivors_and_repeats_with_the_seed() {
    use gradwork_autodiff::{Graph, Var};
    use gradwork_nn::Ctx;
    use gradwork_tensor::Tensor;
    let mut dropout = Dropout::new(0.3).unwrap();
    let x = Var::constant(Tensor::ones(&[10_000]));
    let run = |dropout: &mut Dropout, seed| {
        let graph = Graph::new();
        let mut cx = Ctx::train(&graph, Rng::seed_from(seed));
        dropout.forward(&mut cx, &x).unwrap().into_value().to_vec()
    };
    let y = run(&mut dropout, 1);
    let dropped = y.iter().filter(|v| **v == 0.0).count() as f64 / y.len() as f64;
    assert!((dropped - 0.3).abs() < 0.02, "dropped fraction {dropped}");
    assert!(y.iter().all(|v| *v == 0.0 || (v - 1.0 / 0.7).abs() < 1e-6));
    assert_eq!(run(&mut dropout, 1), y, "same seed, same mask");
    assert_ne!(run(&mut dropout, 2), y, "another seed, another mask");
    assert!(Dropout::new(1.5).is_err() && Dropout::new(-0.1).is_err());
    let mut all = Dropout::new(1.0).unwrap();
    assert!(run(&mut all, 3).iter().all(|v| *v == 0.0));
}

#[test]
fn embedding_refuses_out_of_range_negative_and_fractional_ids() {
    use gradwork_autodiff::Var;
    use gradwork_nn::Ctx;
    use gradwork_tensor::Tensor;
    let mut table = Embedding::new(5, 2, &mut Rng::seed_from(0));
    let mut cx = Ctx::eval();
    let err = table
        .forward_indices(&mut cx, &[0, 7], &[2])
        .unwrap_err()
        .to_string();
    assert!(err.contains("index 7") && err.contains("5 rows"), "{err}");
    for bad in [5.0, -1.0, 1.5, f32::NAN] {
        let ids = Var::constant(Tensor::from_vec(vec![0.0, bad], &[1, 2]));
        assert!(table.forward(&mut cx, &ids).is_err(), "{bad} accepted");
    }
    assert!(
        table.forward_indices(&mut cx, &[0, 1, 2], &[2, 2]).is_err(),
        "count must match the shape"
    );
}
