//! # gradwork-metrics
//!
//! Classification and regression metrics with scikit-learn's semantics, as pure functions that
//! accumulate in f64 in sample order, plus streaming versions for training loops. It depends on
//! `gradwork-tensor` only (no autodiff, no data loading).
//!
//! ```
//! use gradwork_metrics::{
//!     accuracy, classification_report, f1_score, roc_auc, Average, PrfOptions, ReportOptions,
//! };
//!
//! let y_true = [0, 1, 1, 0, 1, 1];
//! let y_pred = [0, 1, 0, 0, 1, 1];
//! assert_eq!(accuracy(&y_true, &y_pred)?, 5.0 / 6.0);
//! let f1 = f1_score(&y_true, &y_pred, Average::Binary { pos_label: 1 }, &PrfOptions::default())?;
//! assert!((f1 - 6.0 / 7.0).abs() < 1e-15);
//! assert_eq!(roc_auc(&y_true, &[0.1, 0.9, 0.4, 0.3, 0.8, 0.7])?, 1.0);
//! println!("{}", classification_report(&y_true, &y_pred, &ReportOptions::default())?);
//! # Ok::<(), gradwork_metrics::MetricsError>(())
//! ```
//!
//! ## Map of the API
//!
//! | what | functions and types | file |
//! |---|---|---|
//! | accuracy, top-k accuracy | [`accuracy`], [`accuracy_count`], [`accuracy_from_scores`], [`top_k_accuracy`], [`top_k_accuracy_count`], [`top_k_accuracy_from_scores`] | `accuracy.rs` |
//! | confusion matrix | [`ConfusionMatrix`], [`confusion_matrix`], [`Labels`] | `confusion.rs` |
//! | precision / recall / F1 | [`precision_recall_f1`], [`per_class_scores`], [`precision_score`], [`recall_score`], [`f1_score`], [`Average`], [`ZeroDivision`], [`PrfOptions`] | `prf.rs` |
//! | ROC-AUC | [`roc_auc`], [`roc_auc_from_scores`] | `roc_auc.rs` |
//! | log loss | [`log_loss`], [`binary_log_loss`], [`log_loss_from_probs`], [`Reduction`] | `log_loss.rs` |
//! | regression | [`mean_squared_error`], [`mean_absolute_error`], [`root_mean_squared_error`], [`r2_score`], [`RegressionScores`] (multi-output, raw values) | `regression.rs` |
//! | streaming | [`Metric`], [`Batch`], [`Accuracy`], [`MeanLoss`], [`MeanSquaredError`], [`MeanAbsoluteError`], [`ConfusionMetric`] | `streaming/` |
//! | report | [`classification_report`], [`ClassificationReport`], [`ReportOptions`] | `report.rs` |
//! | inputs | [`AsF64`] (`f32` or `f64` slices), [`labels_from_tensor`], [`predicted_labels`] | `input.rs` |
//! | errors | [`MetricsError`], [`Result`] | `error.rs` |
//!
//! ## Conventions
//!
//! * Labels are `&[usize]`; scores and probabilities are `&[f32]` or `&[f64]` (widened to f64);
//!   `[n, C]` matrices are row-major slices with an explicit `n_classes`, or gradwork tensors in
//!   the `*_from_*` functions.
//! * Bad input (different lengths, empty input, a label out of range, NaN scores, probabilities
//!   outside [0, 1]) gives a [`MetricsError`] naming the metric and the values; nothing panics.
//! * Where scikit-learn returns NaN with a warning, gradwork returns an error instead: ROC-AUC
//!   with one class in `y_true` ([`MetricsError::SingleClass`]), R² of one sample.
//! * 0/0 in precision, recall and F1 is 0 by default ([`ZeroDivision`]); top-k ties rank the
//!   higher class index first; ROC-AUC ties count 1/2; log loss clips to `[eps, 1 - eps]` with
//!   f64 eps; a constant target gives R² = 1 for a perfect prediction and 0 otherwise.

mod accuracy;
mod confusion;
mod error;
mod input;
mod log_loss;
mod prf;
mod regression;
mod report;
mod roc_auc;
mod streaming;

pub use accuracy::{
    accuracy, accuracy_count, accuracy_from_scores, top_k_accuracy, top_k_accuracy_count,
    top_k_accuracy_from_scores,
};
pub use confusion::{confusion_matrix, ConfusionMatrix, Labels};
pub use error::{MetricsError, Result};
pub use input::{labels_from_tensor, predicted_labels, AsF64};
pub use log_loss::{binary_log_loss, log_loss, log_loss_from_probs, Reduction};
pub use prf::{
    f1_score, per_class_scores, precision_recall_f1, precision_score, recall_score, Average,
    PerClassScores, PrecisionRecallF1, PrfOptions, ZeroDivision,
};
pub use regression::{
    mean_absolute_error, mean_squared_error, r2_score, root_mean_squared_error, RegressionScores,
};
pub use report::{classification_report, ClassificationReport, ReportOptions};
pub use roc_auc::{roc_auc, roc_auc_from_scores};
pub use streaming::{
    Accuracy, Batch, ConfusionMetric, MeanAbsoluteError, MeanLoss, MeanSquaredError, Metric,
    ScoreKind,
};
