//! The confusion matrix, and the choice of which class labels it counts.

use crate::error::{MetricsError, Result};
use std::collections::BTreeMap;

/// Which class labels a classification metric counts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Labels {
    /// The sorted union of the labels seen in `y_true` and `y_pred` (scikit-learn's default).
    /// A streaming matrix grows when a new label appears.
    #[default]
    Inferred,
    /// Exactly the classes `0..n`. A label `>= n` is an error
    /// ([`MetricsError::LabelOutOfRange`]), which catches bugs in training loops.
    Classes(usize),
    /// These labels, in this order (scikit-learn's `labels=`). Labels that never occur still
    /// count (a class absent everywhere lowers the macro average). Samples whose true or predicted
    /// label is not listed are left out of the matrix, as scikit-learn does.
    Explicit(Vec<usize>),
}

/// Counts of (true label, predicted label) pairs: `count(i, j)` is the number of samples of class
/// `labels()[i]` predicted as `labels()[j]` (rows are true classes, as in scikit-learn).
///
/// ```
/// use gradwork_metrics::{ConfusionMatrix, Labels};
///
/// let cm = ConfusionMatrix::from_predictions(&[0, 1, 1, 2], &[0, 2, 1, 2], &Labels::Inferred).unwrap();
/// assert_eq!(cm.labels(), &[0, 1, 2]);
/// assert_eq!(cm.rows(), vec![vec![1, 0, 0], vec![0, 1, 1], vec![0, 0, 1]]);
/// assert_eq!(cm.accuracy().unwrap(), 0.75);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfusionMatrix {
    labels: Vec<usize>,
    /// Row-major `[labels.len(), labels.len()]`.
    counts: Vec<u64>,
    /// label -> row/column position.
    position: BTreeMap<usize, usize>,
    mode: Mode,
    /// Samples left out because a label was not listed (`Labels::Explicit` only).
    n_ignored: u64,
    /// Per listed class: samples of that true class predicted as an unlisted label.
    true_unlisted_pred: Vec<u64>,
    /// Per listed class: predictions of that class whose true label is unlisted.
    pred_unlisted_true: Vec<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Inferred,
    Classes,
    Explicit,
}

const METRIC: &str = "confusion_matrix";

impl ConfusionMatrix {
    /// An empty matrix over `labels` (no samples counted yet). Errors when an explicit label list
    /// repeats a label.
    pub fn new(labels: &Labels) -> Result<Self> {
        let (list, mode) = match labels {
            Labels::Inferred => (Vec::new(), Mode::Inferred),
            Labels::Classes(n) => ((0..*n).collect(), Mode::Classes),
            Labels::Explicit(list) => (list.clone(), Mode::Explicit),
        };
        let mut position = BTreeMap::new();
        for (i, &label) in list.iter().enumerate() {
            if position.insert(label, i).is_some() {
                return Err(MetricsError::InvalidArgument {
                    metric: METRIC,
                    reason: format!("label {label} is listed twice in {list:?}"),
                });
            }
        }
        let k = list.len();
        Ok(ConfusionMatrix {
            labels: list,
            counts: vec![0; k * k],
            position,
            mode,
            n_ignored: 0,
            true_unlisted_pred: vec![0; k],
            pred_unlisted_true: vec![0; k],
        })
    }

    /// The matrix of one set of predictions. Errors on different lengths or empty input.
    pub fn from_predictions(y_true: &[usize], y_pred: &[usize], labels: &Labels) -> Result<Self> {
        crate::input::check_pair(METRIC, y_true.len(), "y_pred", y_pred.len())?;
        let mut cm = ConfusionMatrix::new(labels)?;
        cm.update(y_true, y_pred)?;
        Ok(cm)
    }

    /// Adds a batch of predictions. On error nothing is counted, so the matrix stays consistent.
    pub fn update(&mut self, y_true: &[usize], y_pred: &[usize]) -> Result<()> {
        if y_true.len() != y_pred.len() {
            return Err(MetricsError::LengthMismatch {
                metric: METRIC,
                left: "y_true",
                left_len: y_true.len(),
                right: "y_pred",
                right_len: y_pred.len(),
            });
        }
        match self.mode {
            Mode::Classes => {
                let n = self.labels.len();
                crate::input::check_labels(METRIC, "y_true", y_true, n)?;
                crate::input::check_labels(METRIC, "y_pred", y_pred, n)?;
            }
            Mode::Inferred => {
                let new: Vec<usize> = y_true
                    .iter()
                    .chain(y_pred)
                    .copied()
                    .filter(|l| !self.position.contains_key(l))
                    .collect();
                if !new.is_empty() {
                    self.grow(new);
                }
            }
            Mode::Explicit => {}
        }
        let k = self.labels.len();
        for (t, p) in y_true.iter().zip(y_pred) {
            match (self.position.get(t), self.position.get(p)) {
                (Some(&i), Some(&j)) => self.counts[i * k + j] += 1,
                (Some(&i), None) => {
                    self.true_unlisted_pred[i] += 1;
                    self.n_ignored += 1;
                }
                (None, Some(&j)) => {
                    self.pred_unlisted_true[j] += 1;
                    self.n_ignored += 1;
                }
                (None, None) => self.n_ignored += 1,
            }
        }
        Ok(())
    }

    /// Re-lays the matrix out over the sorted union of the old labels and `new`.
    fn grow(&mut self, new: Vec<usize>) {
        let mut labels = self.labels.clone();
        labels.extend(new);
        labels.sort_unstable();
        labels.dedup();
        let k = labels.len();
        let mut counts = vec![0; k * k];
        let old_k = self.labels.len();
        for (i, a) in self.labels.iter().enumerate() {
            for (j, b) in self.labels.iter().enumerate() {
                // Both labels are in the new list by construction.
                let ni = labels.binary_search(a).unwrap_or(0);
                let nj = labels.binary_search(b).unwrap_or(0);
                counts[ni * k + nj] = self.counts[i * old_k + j];
            }
        }
        self.position = labels.iter().enumerate().map(|(i, &l)| (l, i)).collect();
        self.labels = labels;
        self.counts = counts;
        // Inferred labels list every label seen, so nothing is ever unlisted.
        self.true_unlisted_pred = vec![0; k];
        self.pred_unlisted_true = vec![0; k];
    }

    /// Forgets every counted sample (the labels stay, except inferred ones, which are dropped).
    pub fn reset(&mut self) {
        if self.mode == Mode::Inferred {
            self.labels.clear();
            self.position.clear();
            self.counts.clear();
            self.true_unlisted_pred.clear();
            self.pred_unlisted_true.clear();
        } else {
            self.counts.iter_mut().for_each(|c| *c = 0);
            self.true_unlisted_pred.iter_mut().for_each(|c| *c = 0);
            self.pred_unlisted_true.iter_mut().for_each(|c| *c = 0);
        }
        self.n_ignored = 0;
    }

    /// The class labels of the rows and columns, in order.
    pub fn labels(&self) -> &[usize] {
        &self.labels
    }

    /// The number of classes (rows).
    pub fn n_classes(&self) -> usize {
        self.labels.len()
    }

    /// The number of samples of class `labels()[true_index]` predicted as `labels()[pred_index]`
    /// (`None` when an index is out of range).
    pub fn count(&self, true_index: usize, pred_index: usize) -> Option<u64> {
        let k = self.labels.len();
        (true_index < k && pred_index < k).then(|| self.counts[true_index * k + pred_index])
    }

    /// The counts, row-major (`[true][pred]`).
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// The counts as one `Vec` per true class.
    pub fn rows(&self) -> Vec<Vec<u64>> {
        let k = self.labels.len().max(1);
        self.counts.chunks(k).map(<[u64]>::to_vec).collect()
    }

    /// Correct predictions per class (the diagonal).
    pub fn true_positives(&self) -> Vec<u64> {
        let k = self.labels.len();
        (0..k).map(|i| self.counts[i * k + i]).collect()
    }

    /// Samples per true class: scikit-learn's `support`. This is the row sum plus, with an
    /// explicit label list, the samples of that class predicted as an unlisted label (scikit-learn
    /// counts those as false negatives in precision/recall, though `confusion_matrix` drops them).
    pub fn support(&self) -> Vec<u64> {
        let k = self.labels.len();
        (0..k)
            .map(|i| {
                self.counts[i * k..(i + 1) * k].iter().sum::<u64>() + self.true_unlisted_pred[i]
            })
            .collect()
    }

    /// Predictions per class: the column sum plus, with an explicit label list, predictions of
    /// that class for samples whose true label is unlisted (false positives for scikit-learn).
    pub fn predicted(&self) -> Vec<u64> {
        let k = self.labels.len();
        (0..k)
            .map(|j| {
                (0..k).map(|i| self.counts[i * k + j]).sum::<u64>() + self.pred_unlisted_true[j]
            })
            .collect()
    }

    /// The number of counted samples.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The number of correctly classified counted samples (the trace).
    pub fn trace(&self) -> u64 {
        self.true_positives().iter().sum()
    }

    /// Samples that were left out because a label was not in an explicit label list.
    pub fn n_ignored(&self) -> u64 {
        self.n_ignored
    }

    /// trace / total over the counted samples; an error when nothing was counted.
    pub fn accuracy(&self) -> Result<f64> {
        match self.total() {
            0 => Err(MetricsError::Empty { metric: METRIC }),
            total => Ok(self.trace() as f64 / total as f64),
        }
    }
}

/// The confusion matrix of `y_true` against `y_pred` over `labels`
/// (the same as [`ConfusionMatrix::from_predictions`]).
pub fn confusion_matrix(
    y_true: &[usize],
    y_pred: &[usize],
    labels: &Labels,
) -> Result<ConfusionMatrix> {
    ConfusionMatrix::from_predictions(y_true, y_pred, labels)
}

impl std::fmt::Display for ConfusionMatrix {
    /// A table with the predicted labels across and the true labels down, columns right-aligned
    /// to the widest label or count.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let width = self
            .labels
            .iter()
            .map(|l| l.to_string().len())
            .chain(self.counts.iter().map(|c| c.to_string().len()))
            .chain(std::iter::once("true\\pred".len()))
            .max()
            .unwrap_or(1);
        write!(f, "{:>width$}", "true\\pred")?;
        for label in &self.labels {
            write!(f, " {label:>width$}")?;
        }
        writeln!(f)?;
        for (label, row) in self.labels.iter().zip(self.rows()) {
            write!(f, "{label:>width$}")?;
            for count in row {
                write!(f, " {count:>width$}")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}
