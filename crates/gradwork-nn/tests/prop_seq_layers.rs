//! Sequence layers: `grad_check` over random small sizes (inputs, initial states and every
//! parameter), masks, the fully-masked-row guard, positional encodings and bad input.

use gradwork_autodiff::{grad_check, AutodiffError, GradCheckConfig, Var};
use gradwork_nn::layers::{
    AttnMask, FeedForwardActivation, Gru, LearnedPositionalEncoding, Lstm, MultiHeadAttention,
    RecurrentOutput, RecurrentState, Rnn, SinusoidalPositionalEncoding, TransformerEncoder,
    TransformerEncoderLayer,
};
use gradwork_nn::{Ctx, Module, NnError};
use gradwork_tensor::{Rng, Tensor};
use proptest::prelude::*;

fn param_values(module: &dyn Module) -> Vec<Tensor> {
    let mut values = Vec::new();
    module.visit_params("", &mut |_, p| values.push(p.value().clone()));
    values
}

fn nn(e: NnError) -> AutodiffError {
    AutodiffError::Invalid {
        op: "sequence layer",
        reason: e.to_string(),
    }
}

/// `sum(out * w)` over several outputs with fixed random weights: one scalar whose gradient
/// flows in through every output, as the fixtures' upstream does.
fn weighted_sum(outputs: &[&Var], seed: u64) -> Var {
    let mut rng = Rng::seed_from(seed);
    let mut total: Option<Var> = None;
    for out in outputs {
        let w = Var::constant(Tensor::rand_uniform(out.shape(), -1.0, 1.0, &mut rng));
        let term = out.mul(&w).sum_all();
        total = Some(match total {
            None => term,
            Some(t) => t.add(&term),
        });
    }
    total.expect("at least one output")
}

fn assert_grads(report: gradwork_autodiff::GradCheckReport) {
    assert!(report.passed(), "{report}");
}

fn uniform(shape: &[usize], rng: &mut Rng) -> Tensor {
    Tensor::rand_uniform(shape, -1.0, 1.0, rng)
}

/// A key padding mask `[B, S]` from random bits (rows may be fully masked: the guard is tested).
fn padding_mask(b: usize, s: usize, rng: &mut Rng) -> Tensor {
    Tensor::from_fn(&[b, s], |_| if rng.next_f32() < 0.3 { 1.0 } else { 0.0 })
}

fn attn_mask(kind: u8, t: usize, s: usize, rng: &mut Rng) -> Option<AttnMask> {
    match kind {
        0 => None,
        1 => Some(AttnMask::Causal),
        _ => Some(AttnMask::Additive(uniform(&[t, s], rng))),
    }
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Rnn,
    Lstm,
    Gru,
}

fn recurrent_case(
    kind: Kind,
    b: usize,
    t: usize,
    input: usize,
    hidden: usize,
    layers: usize,
    with_state: bool,
    seed: u64,
) {
    let mut rng = Rng::seed_from(seed);
    type Run =
        Box<dyn Fn(&[Var], &Var, Option<&RecurrentState>) -> Result<RecurrentOutput, NnError>>;
    let (params, run): (Vec<Tensor>, Run) = match kind {
        Kind::Rnn => {
            let m = Rnn::new(input, hidden, layers, &mut rng).unwrap();
            (
                param_values(&m),
                Box::new(move |p, x, s| m.forward_seq_with_params(p, x, s)),
            )
        }
        Kind::Lstm => {
            let m = Lstm::new(input, hidden, layers, &mut rng).unwrap();
            (
                param_values(&m),
                Box::new(move |p, x, s| m.forward_seq_with_params(p, x, s)),
            )
        }
        Kind::Gru => {
            let m = Gru::new(input, hidden, layers, &mut rng).unwrap();
            (
                param_values(&m),
                Box::new(move |p, x, s| m.forward_seq_with_params(p, x, s)),
            )
        }
    };
    let state_shape = [layers, b, hidden];
    let mut inputs = vec![uniform(&[b, t, input], &mut rng)];
    let state_count = match (with_state, kind) {
        (false, _) => 0,
        (true, Kind::Lstm) => 2,
        (true, _) => 1,
    };
    for _ in 0..state_count {
        inputs.push(uniform(&state_shape, &mut rng));
    }
    inputs.extend(params);
    let report = grad_check(
        |v: &[Var]| {
            let state = (state_count > 0).then(|| RecurrentState {
                h: v[1].clone(),
                c: (state_count == 2).then(|| v[2].clone()),
            });
            let out = run(&v[1 + state_count..], &v[0], state.as_ref()).map_err(nn)?;
            assert_eq!(out.output.shape(), &[b, t, hidden]);
            assert_eq!(out.h_n.shape(), &state_shape);
            let mut outs = vec![&out.output, &out.h_n];
            if let Some(c) = &out.c_n {
                outs.push(c);
            }
            Ok(weighted_sum(&outs, seed ^ 7))
        },
        &inputs,
        GradCheckConfig::default(),
    )
    .unwrap();
    assert_grads(report);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn rnn_gradients_match_finite_differences(b in 1usize..=2, t in 1usize..=3, i in 1usize..=3,
        h in 1usize..=3, l in 1usize..=2, state: bool, seed: u64) {
        recurrent_case(Kind::Rnn, b, t, i, h, l, state, seed);
    }

    #[test]
    fn lstm_gradients_match_finite_differences(b in 1usize..=2, t in 1usize..=3, i in 1usize..=3,
        h in 1usize..=3, l in 1usize..=2, state: bool, seed: u64) {
        recurrent_case(Kind::Lstm, b, t, i, h, l, state, seed);
    }

    #[test]
    fn gru_gradients_match_finite_differences(b in 1usize..=2, t in 1usize..=3, i in 1usize..=3,
        h in 1usize..=3, l in 1usize..=2, state: bool, seed: u64) {
        recurrent_case(Kind::Gru, b, t, i, h, l, state, seed);
    }

    #[test]
    fn attention_gradients_match_finite_differences(b in 1usize..=2, t in 1usize..=3,
        s in 1usize..=3, heads in 1usize..=2, head_dim in 1usize..=2, padded: bool,
        mask_kind in 0u8..=2, cross: bool, seed: u64) {
        let e = heads * head_dim;
        let s = if cross { s } else { t };
        let mut rng = Rng::seed_from(seed);
        let mha = MultiHeadAttention::new(e, heads, &mut rng).unwrap();
        // Non-zero biases, so their gradients are tested away from a special point.
        let mut inputs = vec![uniform(&[b, t, e], &mut rng)];
        if cross {
            inputs.push(uniform(&[b, s, e], &mut rng));
            inputs.push(uniform(&[b, s, e], &mut rng));
        }
        let n_in = inputs.len();
        inputs.extend(param_values(&mha).into_iter().map(|p| p.add_scalar(0.1)));
        let padding = padded.then(|| padding_mask(b, s, &mut rng));
        let mask = attn_mask(mask_kind, t, s, &mut rng);
        let report = grad_check(|v: &[Var]| {
            let (q, k, val) = if cross { (&v[0], &v[1], &v[2]) } else { (&v[0], &v[0], &v[0]) };
            let (out, weights) = mha
                .forward_attn_with_params(&v[n_in..], &mut Ctx::eval(), q, k, val,
                    padding.as_ref(), mask.as_ref())
                .map_err(nn)?;
            Ok(weighted_sum(&[&out, &weights], seed ^ 3))
        }, &inputs, GradCheckConfig::default()).unwrap();
        assert_grads(report);
    }

    #[test]
    fn encoder_layer_gradients_match_finite_differences(b in 1usize..=2, t in 1usize..=3,
        heads in 1usize..=2, ff in 1usize..=4, norm_first: bool, padded: bool,
        causal: bool, seed: u64) {
        // d_model 4: LayerNorm over fewer features is nearly a sign function, too sharp for
        // finite differences. GELU instead of ReLU keeps the check away from kinks (ReLU is
        // covered by the PyTorch fixtures).
        let mut rng = Rng::seed_from(seed);
        let layer = TransformerEncoderLayer::new(4, heads, ff, 0.0, &mut rng)
            .unwrap()
            .with_norm_first(norm_first)
            .with_activation(FeedForwardActivation::Gelu);
        let mut inputs = vec![uniform(&[b, t, 4], &mut rng)];
        inputs.extend(param_values(&layer).into_iter().map(|p| p.add_scalar(0.05)));
        let padding = padded.then(|| padding_mask(b, t, &mut rng));
        let mask = causal.then_some(AttnMask::Causal);
        let report = grad_check(|v: &[Var]| {
            let out = layer
                .forward_masked_with_params(&v[1..], &mut Ctx::eval(), &v[0], mask.as_ref(),
                    padding.as_ref())
                .map_err(nn)?;
            Ok(weighted_sum(&[&out], seed ^ 5))
        // LayerNorm over 4 features has a large curvature when its input's spread is small, and
        // the central difference's error grows with step^2 times that curvature: at the default
        // step of 1e-2 it reached 5% of the gradient (halving the step quartered the error, so the
        // analytic gradient is the one that is right). 1e-3 keeps it near 1e-3 relative.
        }, &inputs, GradCheckConfig { step: 1e-3, ..GradCheckConfig::default() }).unwrap();
        assert_grads(report);
    }
}

#[test]
fn a_query_with_every_key_masked_gets_zero_weights_and_the_output_bias() {
    let mut rng = Rng::seed_from(4);
    let mha = MultiHeadAttention::new(4, 2, &mut rng).unwrap();
    let x = Var::constant(uniform(&[1, 3, 4], &mut rng));
    // Key 0 is padding and the mask is causal: query 0 can see nothing.
    let padding = Tensor::from_vec(vec![1.0, 0.0, 0.0], &[1, 3]);
    let (out, weights) = mha
        .forward_attn(
            &mut Ctx::eval(),
            &x,
            &x,
            &x,
            Some(&padding),
            Some(&AttnMask::Causal),
        )
        .unwrap();
    let w = weights.value();
    assert_eq!(
        (0..3).map(|s| w.get(&[0, 0, s])).collect::<Vec<_>>(),
        vec![0.0; 3]
    );
    assert_eq!(w.get(&[0, 1, 0]), 0.0, "padded key stays unseen");
    assert!((w.get(&[0, 1, 1]) - 1.0).abs() < 1e-6);
    let bias = mha.out_proj.bias.as_ref().unwrap().value().to_vec();
    for (j, b) in bias.iter().enumerate() {
        assert_eq!(out.value().get(&[0, 0, j]), *b);
    }
    assert!(out.value().all_finite());
}

#[test]
fn keras_style_last_step_equals_the_last_output_row() {
    let mut rng = Rng::seed_from(5);
    let lstm = Lstm::new(3, 4, 2, &mut rng).unwrap();
    let x = Var::constant(uniform(&[2, 5, 3], &mut rng));
    let full = lstm.forward_seq(&mut Ctx::eval(), &x, None).unwrap();
    let mut last_only = lstm.clone().with_return_sequences(false);
    // The clone has the same values; Module::forward returns [B, H].
    let last = last_only.forward(&mut Ctx::eval(), &x).unwrap();
    assert_eq!(last.shape(), &[2, 4]);
    assert_eq!(
        last.value().to_vec(),
        full.output.value().select(1, 4).contiguous().to_vec()
    );
    assert_eq!(
        last.value().to_vec(),
        full.h_n.value().select(0, 1).contiguous().to_vec()
    );
}

#[test]
fn recurrent_parameters_follow_pytorch_names_shapes_and_init_bounds() {
    let lstm = Lstm::new(3, 5, 2, &mut Rng::seed_from(6)).unwrap();
    let mut seen = Vec::new();
    lstm.visit_params("rnn", &mut |path, p| {
        seen.push((path.to_string(), p.value().shape().to_vec()));
        let bound = 1.0 / 5f32.sqrt();
        assert!(
            p.value().to_vec().iter().all(|v| v.abs() <= bound),
            "{path}"
        );
    });
    let expected = [
        ("rnn.weight_ih_l0", vec![20, 3]),
        ("rnn.weight_hh_l0", vec![20, 5]),
        ("rnn.bias_ih_l0", vec![20]),
        ("rnn.bias_hh_l0", vec![20]),
        ("rnn.weight_ih_l1", vec![20, 5]),
        ("rnn.weight_hh_l1", vec![20, 5]),
        ("rnn.bias_ih_l1", vec![20]),
        ("rnn.bias_hh_l1", vec![20]),
    ];
    let expected: Vec<(String, Vec<usize>)> = expected
        .into_iter()
        .map(|(n, s)| (n.to_string(), s))
        .collect();
    assert_eq!(seen, expected);
    assert_eq!(
        Gru::new(2, 3, 1, &mut Rng::seed_from(0))
            .unwrap()
            .num_params(),
        9 * 2 + 9 * 3 + 18
    );
}

#[test]
fn encoder_stack_names_layers_and_one_layer_stack_equals_the_layer() {
    let mut rng = Rng::seed_from(7);
    let layer = TransformerEncoderLayer::new(4, 2, 6, 0.0, &mut rng)
        .unwrap()
        .with_norm_first(true);
    let stack =
        TransformerEncoder::new(vec![layer.clone(), layer.clone()]).with_final_norm(4, 1e-5);
    let keys: Vec<String> = stack.state_dict().keys().cloned().collect();
    assert!(keys.contains(&"layers.1.self_attn.in_proj_weight".to_string()));
    assert!(keys.contains(&"norm.weight".to_string()));
    assert_eq!(keys.len(), 2 * 12 + 2);
    let x = Var::constant(uniform(&[2, 3, 4], &mut rng));
    let single = TransformerEncoder::new(vec![layer.clone()]);
    let padding = Tensor::from_vec(vec![0.0, 0.0, 1.0, 0.0, 0.0, 0.0], &[2, 3]);
    let a = single
        .forward_masked(
            &mut Ctx::eval(),
            &x,
            Some(&AttnMask::Causal),
            Some(&padding),
        )
        .unwrap();
    let b = layer
        .forward_masked(
            &mut Ctx::eval(),
            &x,
            Some(&AttnMask::Causal),
            Some(&padding),
        )
        .unwrap();
    assert_eq!(a.value().to_vec(), b.value().to_vec());
}

#[test]
fn sinusoidal_encoding_matches_the_formula_and_learned_encoding_trains() {
    let (d, len) = (6, 7);
    let mut pe = SinusoidalPositionalEncoding::new(d, len, 0.0).unwrap();
    for pos in 0..len {
        for i in 0..d {
            let rate = 10000f64.powf((i / 2 * 2) as f64 / d as f64);
            let angle = pos as f64 / rate;
            let want = if i % 2 == 0 { angle.sin() } else { angle.cos() };
            assert!((pe.table().get(&[pos, i]) as f64 - want).abs() < 1e-6);
        }
    }
    let x = uniform(&[2, 4, d], &mut Rng::seed_from(8));
    let y = pe
        .forward(&mut Ctx::eval(), &Var::constant(x.clone()))
        .unwrap();
    assert!((y.value().get(&[1, 3, 2]) - x.get(&[1, 3, 2]) - pe.table().get(&[3, 2])).abs() < 1e-6);
    assert!(pe
        .forward(&mut Ctx::eval(), &Var::constant(Tensor::zeros(&[1, 8, d])))
        .is_err());

    let mut learned = LearnedPositionalEncoding::new(d, len, 0.0, &mut Rng::seed_from(9)).unwrap();
    let graph = gradwork_autodiff::Graph::new();
    let mut cx = Ctx::train(&graph, Rng::seed_from(0));
    let out = learned
        .forward(&mut cx, &Var::constant(x))
        .unwrap()
        .sum_all();
    let grads = cx.param_grads(&graph.backward(&out).unwrap());
    let g = grads.get(&learned.weight).unwrap();
    // Rows 0..4 are used by both batch items, the rest not at all.
    assert_eq!(g.get(&[3, 1]), 2.0);
    assert_eq!(g.get(&[5, 1]), 0.0);
}

#[test]
fn bad_shapes_and_configs_are_errors_not_panics() {
    let mut rng = Rng::seed_from(10);
    let lstm = Lstm::new(3, 4, 1, &mut rng).unwrap();
    let cx = &mut Ctx::eval();
    let x = Var::constant(Tensor::zeros(&[2, 5, 2]));
    assert!(matches!(
        lstm.forward_seq(cx, &x, None),
        Err(NnError::BadInput { .. })
    ));
    let x = Var::constant(Tensor::zeros(&[2, 5, 3]));
    let h = Var::constant(Tensor::zeros(&[1, 2, 4]));
    let no_c = RecurrentState {
        h: h.clone(),
        c: None,
    };
    assert!(lstm.forward_seq(cx, &x, Some(&no_c)).is_err());
    let gru = Gru::new(3, 4, 1, &mut rng).unwrap();
    let with_c = RecurrentState {
        h: h.clone(),
        c: Some(h.clone()),
    };
    assert!(gru.forward_seq(cx, &x, Some(&with_c)).is_err());
    let wrong_h = RecurrentState {
        h: Var::constant(Tensor::zeros(&[2, 2, 4])),
        c: None,
    };
    assert!(gru.forward_seq(cx, &x, Some(&wrong_h)).is_err());
    assert!(Lstm::new(0, 4, 1, &mut rng).is_err());
    assert!(MultiHeadAttention::new(6, 4, &mut rng).is_err());
    assert!(TransformerEncoderLayer::new(4, 2, 8, 1.0, &mut rng).is_err());
    let mha = MultiHeadAttention::new(4, 2, &mut rng).unwrap();
    let q = Var::constant(Tensor::zeros(&[2, 3, 4]));
    let bad_padding = Tensor::zeros(&[2, 4]);
    assert!(mha
        .forward_attn(cx, &q, &q, &q, Some(&bad_padding), None)
        .is_err());
    let bad_mask = AttnMask::Bool(Tensor::zeros(&[3, 2]));
    assert!(mha
        .forward_attn(cx, &q, &q, &q, None, Some(&bad_mask))
        .is_err());
    let k = Var::constant(Tensor::zeros(&[2, 3, 5]));
    assert!(mha.forward_attn(cx, &q, &k, &k, None, None).is_err());
}

#[test]
fn dropout_in_training_is_random_and_identity_in_eval() {
    let mut rng = Rng::seed_from(11);
    let mut layer = TransformerEncoderLayer::new(4, 2, 8, 0.5, &mut rng).unwrap();
    let x = Var::constant(uniform(&[2, 3, 4], &mut rng));
    let eval_a = layer
        .forward(&mut Ctx::eval(), &x)
        .unwrap()
        .into_value()
        .to_vec();
    let eval_b = layer
        .forward(&mut Ctx::eval(), &x)
        .unwrap()
        .into_value()
        .to_vec();
    assert_eq!(eval_a, eval_b);
    let train = layer
        .forward(&mut Ctx::new(None, true, Rng::seed_from(1)), &x)
        .unwrap()
        .into_value()
        .to_vec();
    assert_ne!(train, eval_a);
}

#[test]
fn attention_weights_in_training_are_the_dropped_out_ones_applied_to_the_values() {
    // One head, dropout 0.5: each returned weight is 0 (dropped) or twice the evaluation-mode
    // weight (kept and rescaled), as PyTorch returns them; rows no longer sum to 1.
    let mut rng = Rng::seed_from(5);
    let mha = MultiHeadAttention::new(4, 1, &mut rng)
        .unwrap()
        .with_dropout(0.5)
        .unwrap();
    let x = Var::constant(uniform(&[2, 5, 4], &mut rng));
    let (_, eval) = mha
        .forward_attn(&mut Ctx::eval(), &x, &x, &x, None, None)
        .unwrap();
    let graph = gradwork_autodiff::Graph::new();
    let mut cx = Ctx::train(&graph, Rng::seed_from(6));
    let (_, train) = mha.forward_attn(&mut cx, &x, &x, &x, None, None).unwrap();
    let (eval, train) = (eval.value().to_vec(), train.value().to_vec());
    let dropped = train.iter().filter(|&&w| w == 0.0).count();
    assert!(
        dropped > 0 && dropped < train.len(),
        "{dropped} of {} dropped",
        train.len()
    );
    for (&e, &t) in eval.iter().zip(&train) {
        assert!(
            t == 0.0 || (t - 2.0 * e).abs() <= 1e-6 * (1.0 + e.abs()),
            "{t} vs 2 x {e}"
        );
    }
}
