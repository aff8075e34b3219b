//! The classification report's text: rows, numbers and layout of scikit-learn's
//! `classification_report`, on an example whose scores are worked out by hand below.

use gradwork_metrics::{classification_report, Labels, MetricsError, ReportOptions};

// Confusion matrix (rows true, columns predicted): [[2, 1, 0], [0, 2, 0], [1, 1, 3]].
// precision = 2/3, 2/4, 3/3; recall = 2/3, 2/2, 3/5; f1 = 4/6, 4/6, 6/8; support 3, 2, 5.
const Y_TRUE: [usize; 10] = [0, 0, 0, 1, 1, 2, 2, 2, 2, 2];
const Y_PRED: [usize; 10] = [0, 0, 1, 1, 1, 2, 2, 0, 2, 1];

fn names() -> Option<Vec<String>> {
    Some(vec![
        "setosa".into(),
        "versicolor".into(),
        "virginica".into(),
    ])
}

#[test]
fn report_text_has_every_row_with_hand_computed_numbers() {
    let options = ReportOptions {
        target_names: names(),
        ..Default::default()
    };
    let text = classification_report(&Y_TRUE, &Y_PRED, &options)
        .unwrap()
        .to_string();
    // accuracy 7/10; macro P (2/3 + 1/2 + 1)/3 = 0.722, R (2/3 + 1 + 3/5)/3 = 0.756,
    // F1 (2/3 + 2/3 + 3/4)/3 = 0.694; weighted P (2 + 1 + 5)/10, R 7/10, F1 (2 + 4/3 + 15/4)/10 = 0.708.
    let expected = "              precision    recall  f1-score   support\n\
                    \n      setosa       0.67      0.67      0.67         3\n  versicolor       0.50      1.00      0.67         2\n   virginica       1.00      0.60      0.75         5\n\
                    \n    accuracy                           0.70        10\n   macro avg       0.72      0.76      0.69        10\nweighted avg       0.80      0.70      0.71        10\n";
    assert_eq!(text, expected, "got:\n{text}");
}

#[test]
fn report_uses_label_numbers_and_more_digits_when_asked() {
    let options = ReportOptions {
        digits: 4,
        ..Default::default()
    };
    let report = classification_report(&Y_TRUE, &Y_PRED, &options).unwrap();
    let text = report.to_string();
    assert!(
        text.contains("           0     0.6667    0.6667    0.6667         3\n"),
        "{text}"
    );
    assert!(
        text.contains("           2     1.0000    0.6000    0.7500         5\n"),
        "{text}"
    );
    assert!(
        text.contains("   macro avg     0.7222    0.7556    0.6944        10\n"),
        "{text}"
    );
    assert!(
        text.contains("weighted avg     0.8000    0.7000    0.7083        10\n"),
        "{text}"
    );
    assert_eq!(report.accuracy, Some(0.7));
    assert_eq!(report.total_support, 10);
}

#[test]
fn report_shows_micro_avg_instead_of_accuracy_when_labels_leave_samples_out() {
    // Only classes 0 and 1. Samples 7 and 9 (true 2, predicted 0 and 1) still count as false
    // positives of classes 0 and 1 (scikit-learn's precision does so), samples 5, 6 and 8 drop out:
    // micro P = 4 / (3 + 4), micro R = 4 / (3 + 2), F1 = 8 / 12.
    let options = ReportOptions {
        labels: Labels::Explicit(vec![0, 1]),
        ..Default::default()
    };
    let report = classification_report(&Y_TRUE, &Y_PRED, &options).unwrap();
    let text = report.to_string();
    assert!(!text.contains("accuracy"), "{text}");
    assert!(
        text.contains("   micro avg       0.57      0.80      0.67         5\n"),
        "{text}"
    );
    assert_eq!(report.per_class.precision, vec![2.0 / 3.0, 2.0 / 4.0]);
    assert_eq!(report.per_class.support, vec![3, 2]);
}

#[test]
fn report_rejects_a_wrong_number_of_target_names() {
    let options = ReportOptions {
        target_names: Some(vec!["a".into(), "b".into()]),
        ..Default::default()
    };
    let err = classification_report(&Y_TRUE, &Y_PRED, &options).unwrap_err();
    assert!(matches!(
        err,
        MetricsError::InvalidArgument {
            metric: "classification_report",
            ..
        }
    ));
    assert!(
        err.to_string().contains("2 target names for 3 labels"),
        "{err}"
    );
}
