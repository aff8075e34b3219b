//! LayerNorm, BatchNorm1d and BatchNorm2d (training and evaluation mode) pass grad_check with
//! respect to the input and every parameter, over random small sizes.

mod prop_layers_support;

use gradwork_autodiff::GradCheckConfig;
use gradwork_nn::layers::{BatchNorm1d, BatchNorm2d, LayerNorm};
use gradwork_nn::Module;
use gradwork_tensor::{Rng, Tensor};
use prop_layers_support::{check_layer, normal};
use proptest::prelude::*;

/// Scale and shift away from the defaults (1 and 0), so their gradients are really exercised.
fn affine(channels: usize, seed: u64) -> Vec<Tensor> {
    let mut rng = Rng::seed_from(seed);
    vec![
        Tensor::rand_uniform(&[channels], 0.5, 1.5, &mut rng),
        Tensor::rand_uniform(&[channels], -0.5, 0.5, &mut rng),
    ]
}

/// `U(-0.2, 0.2)` noise plus a ramp of 0.6 per step of `rank(flat index)`, where `rank` numbers
/// the values each statistic is taken over. They are then at least 0.2 apart: near-equal values
/// make normalisation so curved that no finite-difference step is right (two values 0.05
/// apart normalise to about +-1, with a huge slope in between).
fn spread(shape: &[usize], seed: u64, rank: impl Fn(usize) -> usize) -> Tensor {
    let noise = Tensor::rand_uniform(shape, -0.2, 0.2, &mut Rng::seed_from(seed)).to_vec();
    Tensor::from_fn(shape, |i| noise[i] + 0.6 * rank(i) as f32 - 1.0)
}

/// Normalisation is smooth but curved: a smaller step keeps the truncation error small.
fn norm_config() -> GradCheckConfig {
    GradCheckConfig {
        step: 5e-3,
        rtol: 2e-2,
        atol: 2e-3,
        ..GradCheckConfig::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn layer_norm_gradients_match_finite_differences(
        lead in proptest::collection::vec(1usize..=3, 1..=2), dim in 2usize..=6, seed: u64,
    ) {
        let mut shape = lead.clone();
        shape.push(dim);
        let report = check_layer(
            move || LayerNorm::new(dim),
            |layer: &mut LayerNorm, cx, x| layer.forward(cx, x.unwrap()),
            Some(spread(&shape, seed, |i| i % dim)),
            affine(dim, seed ^ 3),
            true,
            norm_config(),
        );
        prop_assert!(report.passed(), "{}", report);
        prop_assert_eq!(report.inputs.len(), 3);
    }

    #[test]
    fn batch_norm1d_gradients_match_finite_differences(
        n in 2usize..=5, c in 1usize..=3, length in proptest::option::of(1usize..=3),
        training: bool, seed: u64,
    ) {
        let shape: Vec<usize> = match length {
            Some(l) => vec![n, c, l],
            None => vec![n, c],
        };
        let report = check_layer(
            move || {
                let mut bn = BatchNorm1d::new(c);
                // Non-trivial running statistics, so evaluation mode is not the identity.
                bn.state.running_mean = Tensor::full(&[c], 0.3);
                bn.state.running_var = Tensor::full(&[c], 1.7);
                bn
            },
            |layer: &mut BatchNorm1d, cx, x| layer.forward(cx, x.unwrap()),
            Some(spread(&shape, seed, |i| {
                let l = length.unwrap_or(1);
                (i / (c * l)) * l + i % l
            })),
            affine(c, seed ^ 5),
            training,
            norm_config(),
        );
        prop_assert!(report.passed(), "{}", report);
    }

    #[test]
    fn batch_norm2d_gradients_match_finite_differences(
        n in 1usize..=2, c in 1usize..=3, h in 1usize..=3, w in 2usize..=3,
        training: bool, seed: u64,
    ) {
        let report = check_layer(
            move || BatchNorm2d::new(c),
            |layer: &mut BatchNorm2d, cx, x| layer.forward(cx, x.unwrap()),
            Some(spread(&[n, c, h, w], seed, |i| (i / (c * h * w)) * (h * w) + i % (h * w))),
            affine(c, seed ^ 9),
            training,
            norm_config(),
        );
        prop_assert!(report.passed(), "{}", report);
    }
}

#[test]
fn batch_norm_state_dict_holds_buffers_and_round_trips_through_a_file() {
    let mut bn = BatchNorm2d::new(3);
    let graph = gradwork_autodiff::Graph::new();
    let mut cx = gradwork_nn::Ctx::train(&graph, Rng::seed_from(0));
    for seed in 0..2 {
        let x = gradwork_autodiff::Var::constant(normal(&[2, 3, 2, 2], seed).add_scalar(1.0));
        bn.forward(&mut cx, &x).unwrap();
    }
    let sd = bn.state_dict();
    let keys: Vec<&str> = sd.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        vec![
            "bias",
            "num_batches_tracked",
            "running_mean",
            "running_var",
            "weight"
        ]
    );
    assert_eq!(sd.get("num_batches_tracked").unwrap().item(), 2.0);
    // Two batches with mean about 1 moved the running mean away from 0.
    assert!(sd
        .get("running_mean")
        .unwrap()
        .to_vec()
        .iter()
        .all(|m| *m > 0.05));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bn.gwsd");
    sd.save(&path).unwrap();
    let mut fresh = BatchNorm2d::new(3);
    fresh
        .load_state_dict(&gradwork_nn::StateDict::load(&path).unwrap(), true)
        .unwrap();
    for (key, value) in sd.iter() {
        assert_eq!(
            fresh.state_dict().get(key).unwrap().to_vec(),
            value.to_vec(),
            "{key}"
        );
    }
    // The restored layer normalises in evaluation exactly like the original.
    let x = gradwork_autodiff::Var::constant(normal(&[1, 3, 2, 2], 9));
    let mut eval = gradwork_nn::Ctx::eval();
    assert_eq!(
        bn.forward(&mut eval, &x).unwrap().value().to_vec(),
        fresh.forward(&mut eval, &x).unwrap().value().to_vec()
    );
}

#[test]
fn batch_norm_running_var_uses_the_unbiased_batch_variance() {
    let mut bn = BatchNorm1d::new(1);
    let graph = gradwork_autodiff::Graph::new();
    let mut cx = gradwork_nn::Ctx::train(&graph, Rng::seed_from(0));
    // Values 0, 2, 4: mean 2, biased variance 8/3, unbiased 4.
    let x = gradwork_autodiff::Var::constant(Tensor::from_vec(vec![0.0, 2.0, 4.0], &[3, 1]));
    let y = bn.forward(&mut cx, &x).unwrap().value().to_vec();
    let expected = 2.0 / (8.0f32 / 3.0 + 1e-5).sqrt();
    assert!(
        (y[2] - expected).abs() < 1e-5,
        "normalised with the biased variance"
    );
    assert!((bn.state.running_mean.to_vec()[0] - 0.2).abs() < 1e-6);
    assert!((bn.state.running_var.to_vec()[0] - (0.9 + 0.1 * 4.0)).abs() < 1e-6);
    let one_value = gradwork_autodiff::Var::constant(Tensor::ones(&[1, 1]));
    assert!(
        bn.forward(&mut cx, &one_value).is_err(),
        "one value per channel cannot be normalised"
    );
}

#[test]
fn batch_norm1d_on_sequences_takes_statistics_over_batch_and_length() {
    let (n, c, l) = (3, 2, 4);
    let x = normal(&[n, c, l], 11);
    let values = x.to_vec();
    let mut bn = BatchNorm1d::new(c);
    let graph = gradwork_autodiff::Graph::new();
    let mut cx = gradwork_nn::Ctx::train(&graph, Rng::seed_from(0));
    let y = bn
        .forward(&mut cx, &gradwork_autodiff::Var::constant(x))
        .unwrap()
        .into_value()
        .to_vec();
    for channel in 0..c {
        // A naive f64 reference over the N * L values of this channel.
        let at = |b: usize, t: usize| b * c * l + channel * l + t;
        let xs: Vec<f64> = (0..n)
            .flat_map(|b| (0..l).map(move |t| (b, t)))
            .map(|(b, t)| values[at(b, t)] as f64)
            .collect();
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / xs.len() as f64;
        for b in 0..n {
            for t in 0..l {
                let expected = (values[at(b, t)] as f64 - mean) / (var + 1e-5).sqrt();
                assert!((y[at(b, t)] as f64 - expected).abs() < 1e-5);
            }
        }
        let unbiased = var * xs.len() as f64 / (xs.len() - 1) as f64;
        let running_var = bn.state.running_var.to_vec()[channel] as f64;
        assert!((running_var - (0.9 + 0.1 * unbiased)).abs() < 1e-6);
    }
}
