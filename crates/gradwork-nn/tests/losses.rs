//! The loss wrappers compute what their documentation says (checked against naive formulas),
//! reduce as PyTorch does, and refuse bad targets. The fused ops underneath are checked against
//! PyTorch in gradwork-autodiff.

use gradwork_autodiff::{Graph, Var};
use gradwork_nn::losses::{
    binary_cross_entropy, binary_cross_entropy_with_logits, categorical_cross_entropy,
    categorical_cross_entropy_from_probabilities, mae, mse, sparse_categorical_cross_entropy, Loss,
    Reduction,
};
use gradwork_tensor::Tensor;

fn close(a: f32, b: f64) -> bool {
    (a as f64 - b).abs() <= 1e-5 * (1.0 + b.abs())
}

fn logits() -> Var {
    Var::constant(Tensor::from_vec(
        vec![1.0, -0.5, 0.25, 2.0, 0.0, -1.0],
        &[2, 3],
    ))
}

fn naive_log_softmax(row: &[f32]) -> Vec<f64> {
    let lse = row.iter().map(|&x| (x as f64).exp()).sum::<f64>().ln();
    row.iter().map(|&x| x as f64 - lse).collect()
}

#[test]
fn regression_losses_average_over_all_elements_or_sum() {
    let x = Var::constant(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]));
    let t = Tensor::from_vec(vec![0.0, 2.0, 5.0, 3.0], &[2, 2]);
    assert!(close(
        mse(&x, &t, Reduction::Mean).unwrap().value().item(),
        6.0 / 4.0
    ));
    assert!(close(
        mse(&x, &t, Reduction::Sum).unwrap().value().item(),
        6.0
    ));
    assert!(close(
        mae(&x, &t, Reduction::Mean).unwrap().value().item(),
        4.0 / 4.0
    ));
    assert!(mse(&x, &Tensor::zeros(&[4]), Reduction::Mean).is_err());
}

#[test]
fn binary_cross_entropies_agree_on_probabilities_and_logits() {
    let z = [-2.0f32, 0.5, 3.0];
    let t = Tensor::from_vec(vec![0.0, 1.0, 0.3], &[3]);
    let p: Vec<f32> = z.iter().map(|z| 1.0 / (1.0 + (-z).exp())).collect();
    let naive: f64 = p
        .iter()
        .zip(t.to_vec())
        .map(|(&p, t)| -(t as f64 * (p as f64).ln() + (1.0 - t as f64) * (1.0 - p as f64).ln()))
        .sum::<f64>()
        / 3.0;
    let from_probs = binary_cross_entropy(
        &Var::constant(Tensor::from_vec(p, &[3])),
        &t,
        Reduction::Mean,
    )
    .unwrap();
    let from_logits = binary_cross_entropy_with_logits(
        &Var::constant(Tensor::from_vec(z.to_vec(), &[3])),
        &t,
        Reduction::Mean,
    )
    .unwrap();
    assert!(close(from_probs.value().item(), naive));
    assert!(close(from_logits.value().item(), naive));
    let outside = Var::constant(Tensor::from_vec(vec![1.5], &[1]));
    assert!(binary_cross_entropy(&outside, &Tensor::ones(&[1]), Reduction::Mean).is_err());
    // A saturated probability is clamped, not infinite.
    let saturated = Var::constant(Tensor::from_vec(vec![0.0], &[1]));
    let loss = binary_cross_entropy(&saturated, &Tensor::ones(&[1]), Reduction::Sum).unwrap();
    assert!(close(loss.value().item(), 100.0));
}

#[test]
fn categorical_losses_divide_by_the_batch_and_agree_with_each_other() {
    let x = logits();
    let rows = x.value().to_vec();
    let classes = [2usize, 0];
    let naive: f64 = classes
        .iter()
        .enumerate()
        .map(|(i, &c)| -naive_log_softmax(&rows[i * 3..i * 3 + 3])[c])
        .sum::<f64>();
    let sparse = sparse_categorical_cross_entropy(&x, &classes, Reduction::Mean).unwrap();
    assert!(
        close(sparse.value().item(), naive / 2.0),
        "mean divides by N = 2, not N*C"
    );
    let one_hot = Tensor::one_hot(&classes, 3);
    let dense = categorical_cross_entropy(&x, &one_hot, Reduction::Sum).unwrap();
    assert!(close(dense.value().item(), naive));
    let probs = Var::constant(x.value().softmax(-1));
    let from_probs =
        categorical_cross_entropy_from_probabilities(&probs, &one_hot, Reduction::Mean).unwrap();
    assert!(close(from_probs.value().item(), naive / 2.0));
    let err = sparse_categorical_cross_entropy(&x, &[3, 0], Reduction::Mean).unwrap_err();
    assert!(err.to_string().contains('3'), "{err}");
}

#[test]
fn loss_enum_dispatches_and_reads_class_indices_from_a_tensor() {
    let x = logits();
    let by_enum = Loss::SparseCategoricalCrossEntropy(Reduction::Mean)
        .compute(&x, &Tensor::from_vec(vec![2.0, 0.0], &[2]))
        .unwrap();
    let direct = sparse_categorical_cross_entropy(&x, &[2, 0], Reduction::Mean).unwrap();
    assert_eq!(by_enum.value().item(), direct.value().item());
    let bad = Loss::SparseCategoricalCrossEntropy(Reduction::Mean)
        .compute(&x, &Tensor::from_vec(vec![1.5, 0.0], &[2]));
    assert!(bad.is_err());
    let mse_loss = Loss::MeanSquaredError(Reduction::Sum)
        .compute(&x, &Tensor::zeros(&[2, 3]))
        .unwrap();
    let sum_sq: f32 = x.value().to_vec().iter().map(|v| v * v).sum();
    assert!(close(mse_loss.value().item(), sum_sq as f64));
}

#[test]
fn loss_gradients_reach_the_logits() {
    let graph = Graph::new();
    let x = graph.leaf(logits().into_value());
    let loss = sparse_categorical_cross_entropy(&x, &[2, 0], Reduction::Mean).unwrap();
    let g = graph.backward(&loss).unwrap().get(&x).unwrap().to_vec();
    // (softmax - one_hot) / N: each row sums to zero, the target entry is negative.
    assert!(g[..3].iter().sum::<f32>().abs() < 1e-6 && g[2] < 0.0 && g[3] < 0.0);
}

mod regularization {
    use gradwork_autodiff::Graph;
    use gradwork_nn::regularization::{l1_penalty, l2_penalty, penalty, weight_matrices, Norm};
    use gradwork_nn::{activations::Relu, layers::Linear, Ctx, Module, Sequential};
    use gradwork_tensor::Rng;

    fn model() -> Sequential {
        let mut rng = Rng::seed_from(4);
        Sequential::new()
            .push(Linear::new(3, 4, &mut rng))
            .push(Relu)
            .push(Linear::new(4, 2, &mut rng))
    }

    fn all_values(m: &Sequential, only_matrices: bool) -> Vec<f32> {
        let mut v = Vec::new();
        m.visit_params("", &mut |_, p| {
            if !only_matrices || p.value().shape().len() >= 2 {
                v.extend(p.value().to_vec())
            }
        });
        v
    }

    #[test]
    fn l1_and_l2_penalties_equal_their_sums_and_have_the_right_gradients() {
        let m = model();
        let graph = Graph::new();
        let mut cx = Ctx::train(&graph, Rng::seed_from(0));
        let l1 = l1_penalty(&mut cx, &m, 0.01).unwrap();
        let l2 = l2_penalty(&mut cx, &m, 0.5).unwrap();
        let w = all_values(&m, false);
        let sum_abs: f32 = w.iter().map(|x| x.abs()).sum();
        let sum_sq: f32 = w.iter().map(|x| x * x).sum();
        assert!((l1.value().item() - 0.01 * sum_abs).abs() < 1e-5);
        assert!((l2.value().item() - 0.5 * sum_sq).abs() < 1e-5);
        let total = l1.add(&l2);
        let grads = cx.param_grads(&graph.backward(&total).unwrap());
        m.visit_params("", &mut |path, p| {
            let g = grads.get(p).unwrap().to_vec();
            for (w, g) in p.value().to_vec().iter().zip(g) {
                let expected = 0.01 * w.signum() + 2.0 * 0.5 * w;
                assert!((g - expected).abs() < 1e-6, "{path}: {g} vs {expected}");
            }
        });
    }

    #[test]
    fn weight_matrix_selection_leaves_biases_out() {
        let m = model();
        let mut cx = Ctx::eval();
        let p = penalty(&mut cx, &m, Norm::L2, 1.0, &weight_matrices).unwrap();
        let expected: f32 = all_values(&m, true).iter().map(|x| x * x).sum();
        assert!((p.value().item() - expected).abs() < 1e-5);
        let everything = l2_penalty(&mut cx, &m, 1.0).unwrap();
        assert!(everything.value().item() > p.value().item());
    }
}
