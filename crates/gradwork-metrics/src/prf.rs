//! Precision, recall and F1: per class and averaged (binary, micro, macro, weighted).

use crate::confusion::{ConfusionMatrix, Labels};
use crate::error::{MetricsError, Result};

/// The value a ratio takes when its denominator is 0 (precision of a class that is never
/// predicted, recall of a class that never occurs, F1 when both are 0): scikit-learn's
/// `zero_division`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ZeroDivision {
    /// 0.0 (scikit-learn's behaviour with `zero_division=0`, and gradwork's default).
    #[default]
    Zero,
    /// 1.0.
    One,
    /// NaN; averages then skip the NaN classes (as scikit-learn's `_nanaverage`).
    NaN,
}

impl ZeroDivision {
    /// The value of a 0/0 ratio.
    pub fn value(self) -> f64 {
        match self {
            ZeroDivision::Zero => 0.0,
            ZeroDivision::One => 1.0,
            ZeroDivision::NaN => f64::NAN,
        }
    }

    fn ratio(self, numerator: u64, denominator: u64) -> f64 {
        if denominator == 0 {
            self.value()
        } else {
            numerator as f64 / denominator as f64
        }
    }
}

/// How per-class scores are combined into one number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Average {
    /// The scores of class `pos_label` only. Errors when more than two classes are present, or
    /// when two are and `pos_label` is not one of them.
    Binary {
        /// The positive class.
        pos_label: usize,
    },
    /// Global counts: total true positives over total predictions / total true samples.
    Micro,
    /// The unweighted mean over the classes (a class absent everywhere still counts).
    Macro,
    /// The mean weighted by each class's true support.
    Weighted,
}

/// Options shared by the precision / recall / F1 functions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PrfOptions {
    /// Which class labels count (default: the sorted union of both label vectors).
    pub labels: Labels,
    /// The value of a 0/0 ratio (default 0).
    pub zero_division: ZeroDivision,
}

/// Precision, recall and F1 of one class or one average.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PrecisionRecallF1 {
    /// TP / (TP + FP).
    pub precision: f64,
    /// TP / (TP + FN).
    pub recall: f64,
    /// 2 TP / (2 TP + FP + FN), the harmonic mean of precision and recall.
    pub f1: f64,
}

/// Per-class precision, recall, F1 and support, in the order of `labels`.
#[derive(Debug, Clone, PartialEq)]
pub struct PerClassScores {
    /// The class labels.
    pub labels: Vec<usize>,
    /// Precision of each class.
    pub precision: Vec<f64>,
    /// Recall of each class.
    pub recall: Vec<f64>,
    /// F1 of each class.
    pub f1: Vec<f64>,
    /// Number of true samples of each class.
    pub support: Vec<u64>,
}

/// The mean of `values` weighted by `weights`, skipping NaN values (and their weights);
/// `empty` when no weight remains.
fn nan_average(values: &[f64], weights: &[f64], empty: f64) -> f64 {
    let (mut sum, mut total) = (0.0f64, 0.0f64);
    for (v, w) in values.iter().zip(weights) {
        if !v.is_nan() {
            sum += v * w;
            total += w;
        }
    }
    if total == 0.0 {
        empty
    } else {
        sum / total
    }
}

impl ConfusionMatrix {
    /// Precision, recall, F1 and support of every class.
    pub fn per_class(&self, zero_division: ZeroDivision) -> PerClassScores {
        let tp = self.true_positives();
        let predicted = self.predicted();
        let support = self.support();
        let z = zero_division;
        PerClassScores {
            labels: self.labels().to_vec(),
            precision: (0..tp.len())
                .map(|i| z.ratio(tp[i], predicted[i]))
                .collect(),
            recall: (0..tp.len()).map(|i| z.ratio(tp[i], support[i])).collect(),
            f1: (0..tp.len())
                .map(|i| z.ratio(2 * tp[i], predicted[i] + support[i]))
                .collect(),
            support,
        }
    }

    /// Precision, recall and F1 combined by `average`.
    pub fn average(
        &self,
        average: Average,
        zero_division: ZeroDivision,
    ) -> Result<PrecisionRecallF1> {
        let z = zero_division;
        match average {
            Average::Micro => {
                let tp = self.trace();
                let predicted: u64 = self.predicted().iter().sum();
                let support: u64 = self.support().iter().sum();
                Ok(PrecisionRecallF1 {
                    precision: z.ratio(tp, predicted),
                    recall: z.ratio(tp, support),
                    f1: z.ratio(2 * tp, predicted + support),
                })
            }
            Average::Macro | Average::Weighted => {
                let s = self.per_class(z);
                let weights: Vec<f64> = if average == Average::Macro {
                    vec![1.0; s.labels.len()]
                } else {
                    s.support.iter().map(|&c| c as f64).collect()
                };
                Ok(PrecisionRecallF1 {
                    precision: nan_average(&s.precision, &weights, z.value()),
                    recall: nan_average(&s.recall, &weights, z.value()),
                    f1: nan_average(&s.f1, &weights, z.value()),
                })
            }
            Average::Binary { pos_label } => self.binary(pos_label, z),
        }
    }

    fn binary(&self, pos_label: usize, z: ZeroDivision) -> Result<PrecisionRecallF1> {
        let support = self.support();
        let predicted = self.predicted();
        let present: Vec<usize> = (0..self.n_classes())
            .filter(|&i| support[i] + predicted[i] > 0)
            .map(|i| self.labels()[i])
            .collect();
        let invalid = |reason: String| MetricsError::InvalidArgument {
            metric: "precision_recall_f1",
            reason,
        };
        if present.len() > 2 {
            return Err(invalid(format!(
                "average = Binary needs at most two classes, found {present:?}; use Macro, Micro or Weighted"
            )));
        }
        match self.labels().iter().position(|&l| l == pos_label) {
            Some(i) => {
                let tp = self.true_positives()[i];
                Ok(PrecisionRecallF1 {
                    precision: z.ratio(tp, predicted[i]),
                    recall: z.ratio(tp, support[i]),
                    f1: z.ratio(2 * tp, predicted[i] + support[i]),
                })
            }
            None if present.len() == 2 => Err(invalid(format!(
                "pos_label {pos_label} is not one of the classes present, {present:?}"
            ))),
            // The positive class never occurs nor is predicted: every ratio is 0/0.
            None => Ok(PrecisionRecallF1 {
                precision: z.value(),
                recall: z.value(),
                f1: z.value(),
            }),
        }
    }
}

/// Precision, recall and F1 of `y_pred` against `y_true`, combined by `average`.
///
/// ```
/// use gradwork_metrics::{precision_recall_f1, Average, PrfOptions};
///
/// let y_true = [0, 1, 1, 0, 1];
/// let y_pred = [0, 1, 0, 1, 1];
/// let s = precision_recall_f1(&y_true, &y_pred, Average::Binary { pos_label: 1 }, &PrfOptions::default()).unwrap();
/// assert_eq!((s.precision, s.recall), (2.0 / 3.0, 2.0 / 3.0));
/// let m = precision_recall_f1(&y_true, &y_pred, Average::Macro, &PrfOptions::default()).unwrap();
/// assert!((m.f1 - (0.5 + 2.0 / 3.0) / 2.0).abs() < 1e-15);
/// ```
pub fn precision_recall_f1(
    y_true: &[usize],
    y_pred: &[usize],
    average: Average,
    options: &PrfOptions,
) -> Result<PrecisionRecallF1> {
    crate::input::check_pair("precision_recall_f1", y_true.len(), "y_pred", y_pred.len())?;
    let cm = ConfusionMatrix::from_predictions(y_true, y_pred, &options.labels)?;
    cm.average(average, options.zero_division)
}

/// Precision, recall, F1 and support of every class.
pub fn per_class_scores(
    y_true: &[usize],
    y_pred: &[usize],
    options: &PrfOptions,
) -> Result<PerClassScores> {
    crate::input::check_pair("per_class_scores", y_true.len(), "y_pred", y_pred.len())?;
    let cm = ConfusionMatrix::from_predictions(y_true, y_pred, &options.labels)?;
    Ok(cm.per_class(options.zero_division))
}

/// Precision alone: see [`precision_recall_f1`].
pub fn precision_score(
    y_true: &[usize],
    y_pred: &[usize],
    average: Average,
    options: &PrfOptions,
) -> Result<f64> {
    Ok(precision_recall_f1(y_true, y_pred, average, options)?.precision)
}

/// Recall alone: see [`precision_recall_f1`].
pub fn recall_score(
    y_true: &[usize],
    y_pred: &[usize],
    average: Average,
    options: &PrfOptions,
) -> Result<f64> {
    Ok(precision_recall_f1(y_true, y_pred, average, options)?.recall)
}

/// F1 alone: see [`precision_recall_f1`].
pub fn f1_score(
    y_true: &[usize],
    y_pred: &[usize],
    average: Average,
    options: &PrfOptions,
) -> Result<f64> {
    Ok(precision_recall_f1(y_true, y_pred, average, options)?.f1)
}
