//! A text report of per-class and averaged scores, laid out like scikit-learn's
//! `classification_report`.

use crate::confusion::{ConfusionMatrix, Labels};
use crate::error::{MetricsError, Result};
use crate::prf::{Average, PerClassScores, PrecisionRecallF1, ZeroDivision};
use std::fmt;

/// Options of [`classification_report`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportOptions {
    /// Which classes get a row (default: the sorted union of both label vectors).
    pub labels: Labels,
    /// Display names of the classes, one per label, in label order (default: the label numbers).
    pub target_names: Option<Vec<String>>,
    /// Digits after the decimal point (default 2, as scikit-learn).
    pub digits: usize,
    /// The value of a 0/0 ratio (default 0).
    pub zero_division: ZeroDivision,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            labels: Labels::Inferred,
            target_names: None,
            digits: 2,
            zero_division: ZeroDivision::Zero,
        }
    }
}

/// Per-class precision, recall, F1 and support with their averages; `Display` prints the table.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassificationReport {
    /// Name shown for each class row.
    pub names: Vec<String>,
    /// Per-class scores.
    pub per_class: PerClassScores,
    /// Accuracy, shown when every sample's labels are among the report's classes.
    pub accuracy: Option<f64>,
    /// Micro average, shown instead of accuracy when some labels were left out (it then differs
    /// from accuracy).
    pub micro_avg: Option<PrecisionRecallF1>,
    /// Unweighted mean over the classes.
    pub macro_avg: PrecisionRecallF1,
    /// Mean weighted by support.
    pub weighted_avg: PrecisionRecallF1,
    /// The sum of the supports (shown in the average rows).
    pub total_support: u64,
    /// Digits after the decimal point when printed.
    pub digits: usize,
}

/// Builds a [`ClassificationReport`] of `y_pred` against `y_true`.
///
/// ```
/// use gradwork_metrics::{classification_report, ReportOptions};
///
/// let options = ReportOptions { target_names: Some(vec!["cat".into(), "dog".into()]), ..Default::default() };
/// let report = classification_report(&[0, 0, 1, 1], &[0, 1, 1, 1], &options).unwrap();
/// let text = report.to_string();
/// assert!(text.contains("         cat       1.00      0.50      0.67         2"));
/// assert!(text.contains("    accuracy                           0.75         4"));
/// ```
pub fn classification_report(
    y_true: &[usize],
    y_pred: &[usize],
    options: &ReportOptions,
) -> Result<ClassificationReport> {
    crate::input::check_pair(
        "classification_report",
        y_true.len(),
        "y_pred",
        y_pred.len(),
    )?;
    let cm = ConfusionMatrix::from_predictions(y_true, y_pred, &options.labels)?;
    let names = match &options.target_names {
        Some(names) if names.len() != cm.n_classes() => {
            return Err(MetricsError::InvalidArgument {
                metric: "classification_report",
                reason: format!(
                    "{} target names for {} labels {:?}",
                    names.len(),
                    cm.n_classes(),
                    cm.labels()
                ),
            })
        }
        Some(names) => names.clone(),
        None => cm.labels().iter().map(|l| l.to_string()).collect(),
    };
    let z = options.zero_division;
    // As scikit-learn: the "accuracy" row replaces "micro avg" only when no sample was left out,
    // because only then are they equal.
    let (accuracy, micro_avg) = if cm.n_ignored() == 0 {
        (Some(cm.accuracy()?), None)
    } else {
        (None, Some(cm.average(Average::Micro, z)?))
    };
    let per_class = cm.per_class(z);
    Ok(ClassificationReport {
        names,
        total_support: per_class.support.iter().sum(),
        per_class,
        accuracy,
        micro_avg,
        macro_avg: cm.average(Average::Macro, z)?,
        weighted_avg: cm.average(Average::Weighted, z)?,
        digits: options.digits,
    })
}

impl fmt::Display for ClassificationReport {
    /// Prints the table: a header, one row per class, then accuracy (or micro avg), macro avg and
    /// weighted avg, in columns 9 wide after a name column as wide as the longest name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self
            .names
            .iter()
            .map(|n| n.chars().count())
            .chain(std::iter::once("weighted avg".len()))
            .max()
            .unwrap_or(0);
        let d = self.digits;
        write!(f, "{:>width$} ", "")?;
        for header in ["precision", "recall", "f1-score", "support"] {
            write!(f, " {header:>9}")?;
        }
        writeln!(f, "\n")?;
        let row = |f: &mut fmt::Formatter<'_>, name: &str, s: PrecisionRecallF1, support: u64| {
            writeln!(
                f,
                "{name:>width$}  {:>9.d$} {:>9.d$} {:>9.d$} {support:>9}",
                s.precision, s.recall, s.f1
            )
        };
        let p = &self.per_class;
        for (i, name) in self.names.iter().enumerate() {
            let scores = PrecisionRecallF1 {
                precision: p.precision[i],
                recall: p.recall[i],
                f1: p.f1[i],
            };
            row(f, name, scores, p.support[i])?;
        }
        writeln!(f)?;
        if let Some(accuracy) = self.accuracy {
            writeln!(
                f,
                "{:>width$}  {:>9} {:>9} {accuracy:>9.d$} {:>9}",
                "accuracy", "", "", self.total_support
            )?;
        }
        if let Some(micro) = self.micro_avg {
            row(f, "micro avg", micro, self.total_support)?;
        }
        row(f, "macro avg", self.macro_avg, self.total_support)?;
        row(f, "weighted avg", self.weighted_avg, self.total_support)
    }
}
