//! Streaming precision, recall and F1 on an accumulated confusion matrix.

use super::{class_labels, Batch, Metric};
use crate::confusion::{ConfusionMatrix, Labels};
use crate::error::{MetricsError, Result};
use crate::prf::{Average, ZeroDivision};

/// Which confusion-matrix score a [`ConfusionMetric`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScoreKind {
    /// Precision.
    Precision,
    /// Recall.
    Recall,
    /// F1.
    F1,
}

/// Streaming precision, recall or F1: accumulates a [`ConfusionMatrix`] and averages on `compute`.
///
/// ```
/// use gradwork_metrics::{f1_score, Average, Batch, ConfusionMetric, Labels, Metric, PrfOptions};
///
/// let (y_true, y_pred) = ([0, 1, 2, 2, 1], [0, 2, 2, 2, 1]);
/// let mut f1 = ConfusionMetric::f1(Average::Macro, Labels::Classes(3)).unwrap();
/// f1.update(&Batch::Labels { y_true: &y_true[..2], y_pred: &y_pred[..2] }).unwrap();
/// f1.update(&Batch::Labels { y_true: &y_true[2..], y_pred: &y_pred[2..] }).unwrap();
/// let options = PrfOptions { labels: Labels::Classes(3), ..Default::default() };
/// assert_eq!(f1.compute().unwrap(), f1_score(&y_true, &y_pred, Average::Macro, &options).unwrap());
/// assert_eq!(f1.name(), "f1_macro");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ConfusionMetric {
    matrix: ConfusionMatrix,
    score: ScoreKind,
    average: Average,
    zero_division: ZeroDivision,
    name: String,
}

impl ConfusionMetric {
    /// A metric reporting `score` combined by `average` over `labels`. Errors when an explicit
    /// label list repeats a label.
    pub fn new(score: ScoreKind, average: Average, labels: Labels) -> Result<Self> {
        let score_name = match score {
            ScoreKind::Precision => "precision",
            ScoreKind::Recall => "recall",
            ScoreKind::F1 => "f1",
        };
        let average_name = match average {
            Average::Binary { .. } => "binary",
            Average::Micro => "micro",
            Average::Macro => "macro",
            Average::Weighted => "weighted",
        };
        Ok(ConfusionMetric {
            matrix: ConfusionMatrix::new(&labels)?,
            score,
            average,
            zero_division: ZeroDivision::Zero,
            name: format!("{score_name}_{average_name}"),
        })
    }

    /// Streaming precision.
    pub fn precision(average: Average, labels: Labels) -> Result<Self> {
        Self::new(ScoreKind::Precision, average, labels)
    }

    /// Streaming recall.
    pub fn recall(average: Average, labels: Labels) -> Result<Self> {
        Self::new(ScoreKind::Recall, average, labels)
    }

    /// Streaming F1.
    pub fn f1(average: Average, labels: Labels) -> Result<Self> {
        Self::new(ScoreKind::F1, average, labels)
    }

    /// The same metric with another value for 0/0 ratios.
    pub fn with_zero_division(mut self, zero_division: ZeroDivision) -> Self {
        self.zero_division = zero_division;
        self
    }

    /// The confusion matrix accumulated so far.
    pub fn confusion_matrix(&self) -> &ConfusionMatrix {
        &self.matrix
    }
}

impl Metric for ConfusionMetric {
    fn name(&self) -> &str {
        &self.name
    }

    fn update(&mut self, batch: &Batch<'_>) -> Result<()> {
        let (y_true, y_pred) = class_labels(&self.name, batch)?;
        self.matrix.update(&y_true, &y_pred)
    }

    fn compute(&self) -> Result<f64> {
        if self.matrix.total() + self.matrix.n_ignored() == 0 {
            return Err(MetricsError::Empty {
                metric: "confusion_metric",
            });
        }
        let s = self.matrix.average(self.average, self.zero_division)?;
        Ok(match self.score {
            ScoreKind::Precision => s.precision,
            ScoreKind::Recall => s.recall,
            ScoreKind::F1 => s.f1,
        })
    }

    fn reset(&mut self) {
        self.matrix.reset();
    }
}
