//! Streaming metrics: every batch form gives the one-shot value, reset forgets, wrong batches error.

use gradwork_metrics::*;
use gradwork_tensor::Tensor;

#[test]
fn score_and_tensor_batches_agree_with_label_batches() {
    let y_true = [2usize, 0, 1, 1];
    let logits = Tensor::from_vec(
        vec![0.1, 0.2, 0.9, 1.0, 0.0, 0.0, 0.3, 0.8, 0.1, 0.5, 0.4, 0.1],
        &[4, 3],
    );
    let y_pred = [2usize, 0, 1, 0]; // row argmaxes
    let labels_tensor = Tensor::from_vec(vec![2.0, 0.0, 1.0, 1.0], &[4]);
    let batches = [
        Batch::Labels {
            y_true: &y_true,
            y_pred: &y_pred,
        },
        Batch::Scores {
            y_true: &y_true,
            scores: &logits,
        },
        Batch::Tensors {
            y_true: &labels_tensor,
            y_pred: &logits,
        },
    ];
    for batch in &batches {
        let mut acc = Accuracy::new();
        acc.update(batch).unwrap();
        assert_eq!(acc.compute().unwrap(), 0.75, "{}", batch.kind());
        let mut recall = ConfusionMetric::recall(Average::Macro, Labels::Classes(3)).unwrap();
        recall.update(batch).unwrap();
        // Recall per class: 1, 1/2, 1.
        assert_eq!(recall.compute().unwrap(), 2.5 / 3.0, "{}", batch.kind());
        assert_eq!(recall.confusion_matrix().trace(), 3);
    }
}

#[test]
fn regression_metrics_accept_values_and_tensors() {
    let (t, p) = ([1.0f32, 2.0, 4.0], [1.5f32, 2.0, 3.0]);
    let wide = |v: &[f32]| v.iter().map(|&x| f64::from(x)).collect::<Vec<f64>>();
    let (tt, pt) = (
        Tensor::from_vec(t.to_vec(), &[3]),
        Tensor::from_vec(p.to_vec(), &[3]),
    );
    let mut mse = MeanSquaredError::new();
    mse.update(&Batch::Tensors {
        y_true: &tt,
        y_pred: &pt,
    })
    .unwrap();
    assert_eq!(mse.compute().unwrap(), 1.25 / 3.0);
    let mut mae = MeanAbsoluteError::new();
    mae.update(&Batch::Values {
        y_true: &wide(&t),
        y_pred: &wide(&p),
    })
    .unwrap();
    assert_eq!(mae.compute().unwrap(), 0.5);
    assert_eq!(RegressionScores::from_tensors(&tt, &pt).unwrap().mae, 0.5);
    let err = mse
        .update(&Batch::Values {
            y_true: &[1.0, f64::NAN],
            y_pred: &[1.0, 1.0],
        })
        .unwrap_err();
    assert!(
        matches!(err, MetricsError::InvalidValue { index: 1, .. }),
        "{err}"
    );
    assert_eq!(
        mse.compute().unwrap(),
        1.25 / 3.0,
        "a rejected batch changes nothing"
    );
}

#[test]
fn mean_loss_weights_batch_means_by_their_counts() {
    let mut loss = MeanLoss::new();
    loss.update(&Batch::MeanLoss {
        mean: 2.0,
        count: 3,
    })
    .unwrap();
    loss.update(&Batch::Losses(&[1.0])).unwrap();
    assert_eq!(loss.compute().unwrap(), 7.0 / 4.0);
    loss.reset();
    assert!(loss.compute().is_err());
}

#[test]
fn reset_forgets_every_batch() {
    let mut f1 = ConfusionMetric::f1(Average::Micro, Labels::Inferred).unwrap();
    f1.update(&Batch::Labels {
        y_true: &[0, 1, 7],
        y_pred: &[0, 0, 7],
    })
    .unwrap();
    assert_eq!(f1.confusion_matrix().labels(), &[0, 1, 7]);
    f1.reset();
    assert!(f1.compute().is_err());
    f1.update(&Batch::Labels {
        y_true: &[3],
        y_pred: &[3],
    })
    .unwrap();
    assert_eq!(f1.compute().unwrap(), 1.0);
    assert_eq!(f1.confusion_matrix().labels(), &[3]);
}

#[test]
fn unsupported_batches_and_bad_updates_leave_the_state_unchanged() {
    let mut metrics: Vec<Box<dyn Metric>> = vec![
        Box::new(Accuracy::new()),
        Box::new(MeanSquaredError::new()),
        Box::new(ConfusionMetric::precision(Average::Weighted, Labels::Classes(2)).unwrap()),
    ];
    for m in &mut metrics {
        let err = m.update(&Batch::Losses(&[1.0])).unwrap_err();
        assert!(
            matches!(err, MetricsError::UnsupportedBatch { .. }),
            "{}: {err}",
            m.name()
        );
        assert!(err.to_string().contains(m.name()), "{err}");
    }
    let mut precision = ConfusionMetric::precision(Average::Weighted, Labels::Classes(2)).unwrap();
    precision
        .update(&Batch::Labels {
            y_true: &[0, 1],
            y_pred: &[0, 1],
        })
        .unwrap();
    assert!(precision
        .update(&Batch::Labels {
            y_true: &[0, 1],
            y_pred: &[0, 2]
        })
        .is_err());
    assert!(precision
        .update(&Batch::Labels {
            y_true: &[0],
            y_pred: &[0, 1]
        })
        .is_err());
    assert_eq!(precision.confusion_matrix().total(), 2);
    assert_eq!(precision.compute().unwrap(), 1.0);
    assert_eq!(precision.name(), "precision_weighted");
}
