//! Bad inputs give errors that name the op (or loss) and what is wrong; nothing panics in the
//! `try_` forms. Also the numerical edge cases the losses promise to handle.

use gradwork_autodiff::loss::{self, Reduction};
use gradwork_autodiff::{AutodiffError, Graph, Var};
use gradwork_tensor::{Conv2dOptions, Pool2dOptions, Tensor};

fn message(result: gradwork_autodiff::Result<Var>) -> String {
    result.expect_err("an error").to_string()
}

#[test]
fn an_out_of_range_class_index_names_the_loss_the_index_and_the_class_count() {
    let graph = Graph::new();
    let logits = graph.leaf(Tensor::zeros(&[3, 4]));
    let error = loss::try_cross_entropy_with_logits(&logits, &[0, 4, 1], Reduction::Mean)
        .expect_err("index 4 of 4 classes");
    assert_eq!(
        error,
        AutodiffError::TargetOutOfRange {
            loss: "cross_entropy_with_logits",
            position: 1,
            index: 4,
            classes: 4,
        }
    );
    let text = error.to_string();
    assert!(
        text.contains("cross_entropy_with_logits")
            && text.contains('4')
            && text.contains("classes"),
        "{text}"
    );
    let nll = message(loss::try_nll_loss(&logits, &[9, 0, 0], Reduction::Sum));
    assert!(
        nll.contains("nll_loss") && nll.contains('9') && nll.contains("4 classes"),
        "{nll}"
    );
    // The wrong number of targets, and logits that are not [N, C].
    let count = message(loss::try_cross_entropy_with_logits(
        &logits,
        &[0],
        Reduction::Mean,
    ));
    assert!(count.contains("1 targets for a batch of 3"), "{count}");
    let flat = graph.leaf(Tensor::zeros(&[4]));
    assert!(message(loss::try_nll_loss(&flat, &[0], Reduction::Mean)).contains("[N, C]"));
}

#[test]
fn loss_target_shapes_and_probability_ranges_are_checked() {
    let graph = Graph::new();
    let x = graph.leaf(Tensor::full(&[2, 3], 0.5));
    let wrong = Tensor::zeros(&[3, 2]);
    for text in [
        message(loss::try_mse_loss(&x, &wrong, Reduction::Mean)),
        message(loss::try_l1_loss(&x, &wrong, Reduction::Mean)),
        message(loss::try_binary_cross_entropy(&x, &wrong, Reduction::Mean)),
        message(loss::try_binary_cross_entropy_with_logits(
            &x,
            &wrong,
            Reduction::Mean,
        )),
        message(loss::try_cross_entropy_with_probs(
            &x,
            &wrong,
            Reduction::Mean,
        )),
    ] {
        assert!(text.contains("[2, 3]") && text.contains("[3, 2]"), "{text}");
    }
    let p = graph.leaf(Tensor::from_vec(vec![0.5, 1.5], &[2]));
    let text = message(loss::try_binary_cross_entropy(
        &p,
        &Tensor::zeros(&[2]),
        Reduction::Mean,
    ));
    assert!(
        text.contains("binary_cross_entropy") && text.contains("1.5"),
        "{text}"
    );
}

#[test]
fn binary_cross_entropy_with_logits_is_exact_for_huge_logits() {
    let graph = Graph::new();
    let x = graph.leaf(Tensor::from_vec(vec![100.0, -100.0, 40.0, -40.0], &[4]));
    let t = Tensor::from_vec(vec![0.0, 1.0, 1.0, 0.0], &[4]);
    let loss = loss::binary_cross_entropy_with_logits(&x, &t, Reduction::Sum);
    // Wrong with confidence 100 costs 100 each; right with confidence 40 costs ln(1 + e^-40).
    let expected = 200.0 + 2.0 * (-40f64).exp().ln_1p();
    assert!((loss.value().item() as f64 - expected).abs() < 1e-4);
    let grads = graph.backward(&loss).unwrap();
    let g = grads.get(&x).unwrap().to_vec();
    // sigmoid(x) - t: 1, -1, then tiny.
    assert!((g[0] - 1.0).abs() < 1e-6 && (g[1] + 1.0).abs() < 1e-6);
    assert!(g[2].abs() < 1e-6 && g[3].abs() < 1e-6 && g.iter().all(|v| v.is_finite()));
}

#[test]
fn binary_cross_entropy_clamps_its_logs_at_minus_100() {
    let graph = Graph::new();
    let p = graph.leaf(Tensor::from_vec(vec![0.0, 1.0], &[2]));
    let t = Tensor::from_vec(vec![1.0, 0.0], &[2]);
    let loss = loss::binary_cross_entropy(&p, &t, Reduction::Mean);
    assert_eq!(loss.value().item(), 100.0);
    let grads = graph.backward(&loss).unwrap();
    assert!(grads.get(&p).unwrap().all_finite());
}

#[test]
fn cross_entropy_with_probs_divides_the_mean_by_the_batch_not_the_elements() {
    let graph = Graph::new();
    let logits = graph.leaf(Tensor::zeros(&[2, 4]));
    let onehot = Tensor::one_hot(&[1, 3], 4);
    let mean = loss::cross_entropy_with_probs(&logits, &onehot, Reduction::Mean);
    let sum = loss::cross_entropy_with_probs(&logits, &onehot, Reduction::Sum);
    assert!((mean.value().item() - 4f32.ln()).abs() < 1e-6);
    assert!((sum.value().item() - 2.0 * 4f32.ln()).abs() < 1e-6);
    // One-hot targets give the same loss as the class indices.
    let indexed = loss::cross_entropy_with_logits(&logits, &[1, 3], Reduction::Mean);
    assert_eq!(mean.value().item(), indexed.value().item());
}

#[test]
fn op_argument_errors_name_the_op() {
    let graph = Graph::new();
    let x = graph.leaf(Tensor::zeros(&[2, 3]));
    let cases = [
        ("embedding", x.try_embedding(&[0, 2], &[2])),
        ("embedding", x.try_embedding(&[0], &[2])),
        ("index_select", x.try_index_select(0, &[5])),
        ("gather", x.try_gather(1, &[7, 0], &[2, 1])),
        (
            "dropout",
            x.try_dropout_with_mask(&Tensor::ones(&[2, 3]), 0.0),
        ),
        (
            "dropout",
            x.try_dropout_with_mask(&Tensor::ones(&[4, 3]), 0.5),
        ),
        (
            "concat",
            Var::try_concat(&[&x, &graph.leaf(Tensor::zeros(&[3, 3]))], 1),
        ),
        ("stack", Var::try_stack(&[], 0)),
        ("pad", x.try_pad(&[(1, 1), (0, 0), (2, 2)], 0.0)),
        ("conv2d", x.try_conv2d(&x, None, &Conv2dOptions::default())),
        ("max_pool2d", x.try_max_pool2d(&Pool2dOptions::new((2, 2)))),
        ("avg_pool2d", x.try_avg_pool2d(&Pool2dOptions::new((2, 2)))),
        ("where", Var::try_where_cond(&Tensor::ones(&[4]), &x, &x)),
    ];
    for (op, result) in cases {
        let text = message(result);
        assert!(text.contains(op), "expected {op} in: {text}");
    }
    assert!(x.try_split_sizes(&[1, 1], 0).is_ok());
    assert!(x
        .try_split_sizes(&[1, 3], 0)
        .unwrap_err()
        .to_string()
        .contains("split"));
    assert!(x.try_split(0, 0).unwrap_err().to_string().contains("split"));
    assert!(x.try_chunk(0, 0).unwrap_err().to_string().contains("chunk"));
}
