//! Invalid input gives a `MetricsError` that names the metric and the offending values; no panics.

use gradwork_metrics::*;
use gradwork_tensor::Tensor;

fn assert_length_mismatch<T: std::fmt::Debug>(
    result: Result<T>,
    metric: &str,
    left: usize,
    right: usize,
) {
    let err = result.expect_err("lengths differ");
    match &err {
        MetricsError::LengthMismatch {
            metric: m,
            left_len,
            right_len,
            ..
        } => {
            assert_eq!((*m, *left_len, *right_len), (metric, left, right), "{err}");
        }
        other => panic!("expected LengthMismatch, got {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains(metric)
            && text.contains(&left.to_string())
            && text.contains(&right.to_string()),
        "{text}"
    );
}

#[test]
fn mismatched_lengths_name_the_metric_and_both_lengths() {
    let o = PrfOptions::default();
    assert_length_mismatch(accuracy(&[0, 1, 1], &[0, 1]), "accuracy", 3, 2);
    assert_length_mismatch(
        confusion_matrix(&[0], &[0, 1], &Labels::Inferred),
        "confusion_matrix",
        1,
        2,
    );
    assert_length_mismatch(
        precision_recall_f1(&[0, 1], &[0], Average::Macro, &o),
        "precision_recall_f1",
        2,
        1,
    );
    assert_length_mismatch(
        per_class_scores(&[0], &[0, 1, 1], &o),
        "per_class_scores",
        1,
        3,
    );
    let r = ReportOptions::default();
    assert_length_mismatch(
        classification_report(&[0, 1], &[1], &r),
        "classification_report",
        2,
        1,
    );
    assert_length_mismatch(roc_auc(&[0, 1, 0], &[0.1, 0.2]), "roc_auc", 3, 2);
    assert_length_mismatch(
        binary_log_loss(&[0, 1], &[0.5], Reduction::Mean),
        "log_loss",
        2,
        1,
    );
    assert_length_mismatch(
        log_loss(&[0, 1], &[0.5, 0.5], 2, Reduction::Mean),
        "log_loss",
        2,
        1,
    );
    assert_length_mismatch(
        top_k_accuracy(&[0, 1, 2], &[0.1; 6], 3, 1),
        "top_k_accuracy",
        3,
        2,
    );
    assert_length_mismatch(
        mean_squared_error(&[1.0, 2.0], &[1.0]),
        "mean_squared_error",
        2,
        1,
    );
    assert_length_mismatch(r2_score(&[1.0f32], &[1.0, 2.0]), "r2_score", 1, 2);
    assert_length_mismatch(
        RegressionScores::compute(&[1.0; 4], &[1.0; 2], 2),
        "regression_scores",
        4,
        2,
    );
    let logits = Tensor::from_vec(vec![0.0; 6], &[3, 2]);
    assert_length_mismatch(accuracy_from_scores(&[0, 1], &logits), "accuracy", 2, 3);
}

#[test]
fn empty_input_is_an_error_not_nan() {
    let empty: [usize; 0] = [];
    assert!(matches!(
        accuracy(&empty, &empty),
        Err(MetricsError::Empty { metric: "accuracy" })
    ));
    assert!(matches!(
        mean_absolute_error::<f64>(&[], &[]),
        Err(MetricsError::Empty { .. })
    ));
    assert!(matches!(
        roc_auc::<f64>(&empty, &[]),
        Err(MetricsError::Empty { .. })
    ));
    assert!(matches!(
        Accuracy::new().compute(),
        Err(MetricsError::Empty { .. })
    ));
    assert!(matches!(
        MeanLoss::new().compute(),
        Err(MetricsError::Empty { .. })
    ));
}

#[test]
fn labels_out_of_range_are_reported_with_their_position() {
    let err = top_k_accuracy(&[0, 3], &[0.1f32; 6], 3, 1).unwrap_err();
    assert_eq!(
        err,
        MetricsError::LabelOutOfRange {
            metric: "top_k_accuracy",
            input: "y_true",
            index: 1,
            label: 3,
            n_classes: 3
        }
    );
    let err = confusion_matrix(&[0, 1], &[0, 5], &Labels::Classes(2)).unwrap_err();
    assert!(
        matches!(
            err,
            MetricsError::LabelOutOfRange {
                input: "y_pred",
                index: 1,
                label: 5,
                ..
            }
        ),
        "{err}"
    );
    assert!(matches!(
        roc_auc(&[0, 2], &[0.1, 0.2]),
        Err(MetricsError::LabelOutOfRange { label: 2, .. })
    ));
    assert!(matches!(
        log_loss(&[0, 2], &[0.5; 4], 2, Reduction::Sum),
        Err(MetricsError::LabelOutOfRange { .. })
    ));
}

#[test]
fn invalid_values_are_rejected() {
    let err = roc_auc(&[0, 1], &[0.3, f64::NAN]).unwrap_err();
    assert!(
        matches!(
            err,
            MetricsError::InvalidValue {
                metric: "roc_auc",
                index: 1,
                ..
            }
        ),
        "{err}"
    );
    let err = binary_log_loss(&[0, 1], &[0.5, 1.5], Reduction::Mean).unwrap_err();
    assert!(
        matches!(err, MetricsError::InvalidValue { index: 1, value, .. } if value == 1.5),
        "{err}"
    );
    assert!(matches!(
        log_loss(&[0], &[-0.1, 1.1], 2, Reduction::Mean),
        Err(MetricsError::InvalidValue { .. })
    ));
    assert!(matches!(
        mean_squared_error(&[1.0, f64::INFINITY], &[1.0, 2.0]),
        Err(MetricsError::InvalidValue { .. })
    ));
    assert!(matches!(
        top_k_accuracy(&[0], &[f32::NAN, 0.0], 2, 1),
        Err(MetricsError::InvalidValue { .. })
    ));
    let bad = Tensor::from_vec(vec![0.0, 1.5], &[2]);
    assert!(matches!(
        labels_from_tensor(&bad),
        Err(MetricsError::InvalidValue { index: 1, .. })
    ));
}

#[test]
fn invalid_arguments_are_explained() {
    assert!(matches!(
        top_k_accuracy(&[0], &[0.1, 0.2], 2, 0),
        Err(MetricsError::InvalidArgument { .. })
    ));
    assert!(matches!(
        top_k_accuracy(&[0], &[0.1, 0.2, 0.3], 2, 1),
        Err(MetricsError::InvalidArgument { .. })
    ));
    let err = precision_recall_f1(
        &[0, 1, 2],
        &[0, 1, 2],
        Average::Binary { pos_label: 1 },
        &PrfOptions::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("[0, 1, 2]"), "{err}");
    let err = f1_score(
        &[2, 3],
        &[3, 2],
        Average::Binary { pos_label: 1 },
        &PrfOptions::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("pos_label 1"), "{err}");
    assert!(ConfusionMatrix::new(&Labels::Explicit(vec![0, 1, 0])).is_err());
    assert!(ConfusionMetric::f1(Average::Macro, Labels::Explicit(vec![2, 2])).is_err());
    assert!(matches!(
        r2_score(&[1.0], &[2.0]),
        Err(MetricsError::InvalidArgument { .. })
    ));
    assert!(matches!(
        RegressionScores::compute(&[1.0; 3], &[1.0; 3], 2),
        Err(MetricsError::InvalidArgument { .. })
    ));
}

#[test]
fn roc_auc_with_one_class_is_a_single_class_error() {
    let err = roc_auc(&[0, 0, 0], &[0.1, 0.5, 0.9]).unwrap_err();
    assert_eq!(
        err,
        MetricsError::SingleClass {
            metric: "roc_auc",
            class: 0
        }
    );
}

#[test]
fn tensor_inputs_with_the_wrong_shape_are_rejected() {
    let cube = Tensor::zeros(&[2, 2, 2]);
    assert!(matches!(
        predicted_labels(&cube),
        Err(MetricsError::InvalidShape { .. })
    ));
    assert!(matches!(
        roc_auc_from_scores(&[0, 1], &cube),
        Err(MetricsError::InvalidShape { .. })
    ));
    assert!(matches!(
        log_loss_from_probs(&[0, 1], &cube, Reduction::Mean),
        Err(MetricsError::InvalidShape { .. })
    ));
    assert!(matches!(
        RegressionScores::from_tensors(&Tensor::zeros(&[3]), &Tensor::zeros(&[3, 1])),
        Err(MetricsError::InvalidShape { .. })
    ));
    assert!(matches!(
        labels_from_tensor(&Tensor::zeros(&[2, 2])),
        Err(MetricsError::InvalidShape { .. })
    ));
}

#[test]
fn zero_division_can_be_one_or_nan() {
    // Classes 0, 1, 2. Class 0: P 1, R 1/2, F1 2/3. Class 1: P 0, R 0/0, F1 0. Class 2: all 0/0.
    let (t, p) = ([0, 0], [0, 1]);
    let with = |z| PrfOptions {
        labels: Labels::Classes(3),
        zero_division: z,
    };
    let zero = precision_recall_f1(&t, &p, Average::Macro, &with(ZeroDivision::Zero)).unwrap();
    assert_eq!(
        (zero.precision, zero.recall, zero.f1),
        (1.0 / 3.0, 0.5 / 3.0, (2.0 / 3.0) / 3.0)
    );
    let one = precision_recall_f1(&t, &p, Average::Macro, &with(ZeroDivision::One)).unwrap();
    assert_eq!(
        (one.precision, one.recall, one.f1),
        (2.0 / 3.0, 2.5 / 3.0, (2.0 / 3.0 + 1.0) / 3.0)
    );
    // NaN classes are skipped by the averages.
    let nan = precision_recall_f1(&t, &p, Average::Macro, &with(ZeroDivision::NaN)).unwrap();
    assert_eq!(
        (nan.precision, nan.recall, nan.f1),
        (0.5, 0.5, (2.0 / 3.0) / 2.0)
    );
    let per = per_class_scores(&t, &p, &with(ZeroDivision::NaN)).unwrap();
    assert!(per.recall[1].is_nan() && per.precision[2].is_nan() && per.f1[2].is_nan());
    assert_eq!(per.f1[1], 0.0);
}
