//! K-fold cross-validation with scikit-learn's folds. `KFold` cuts the rows in order into folds,
//! the first `n % k` of them one row larger. `StratifiedKFold` follows scikit-learn's allocation
//! since 0.24: classes are numbered by first appearance, dealing the sorted class numbers
//! round-robin over the folds gives each fold's count of each class, and each class's rows, in
//! row order, then go to fold 0 for its first count, fold 1 for the next, and so on. Without
//! shuffling both are checked fold by fold against scikit-learn (`fixtures/sklearn_kfold.json`).

use gradwork_tensor::Rng;
use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};
use crate::split::Split;

/// The RNG sub-stream of the fold shuffles.
pub const KFOLD_STREAM: u64 = 0x004b_464f_4c44; // "KFOLD"

/// K-fold cross-validation: `n_splits` folds, each used once as the test part.
///
/// ```
/// use gradwork_data::KFold;
/// let folds = KFold { n_splits: 3, shuffle: false, seed: 0 }.split(10).unwrap();
/// let sizes: Vec<usize> = folds.iter().map(|f| f.test.len()).collect();
/// assert_eq!(sizes, [4, 3, 3]);
/// assert_eq!(folds[0].test, [0, 1, 2, 3]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KFold {
    /// The number of folds (at least 2).
    pub n_splits: usize,
    /// Shuffle the rows before cutting the folds.
    pub shuffle: bool,
    /// The seed of the shuffle.
    pub seed: u64,
}

fn check_folds(op: &'static str, n_splits: usize, n: usize) -> Result<()> {
    if n_splits < 2 {
        return Err(DataError::invalid(
            op,
            format!("n_splits={n_splits} must be at least 2"),
        ));
    }
    if n_splits > n {
        return Err(DataError::invalid(
            op,
            format!("n_splits={n_splits} is greater than the number of rows n={n}"),
        ));
    }
    Ok(())
}

/// Turns a fold number per row into one [`Split`] per fold; both parts in increasing row order.
fn splits_from_fold_of_row(fold_of_row: &[usize], n_splits: usize) -> Vec<Split> {
    (0..n_splits)
        .map(|fold| {
            let (test, train): (Vec<usize>, Vec<usize>) =
                (0..fold_of_row.len()).partition(|&row| fold_of_row[row] == fold);
            Split { train, test }
        })
        .collect()
}

impl KFold {
    /// The folds of rows `0..n`.
    pub fn split(&self, n: usize) -> Result<Vec<Split>> {
        check_folds("KFold::split", self.n_splits, n)?;
        let mut order: Vec<usize> = (0..n).collect();
        if self.shuffle {
            Rng::seed_from(self.seed)
                .fork(KFOLD_STREAM)
                .shuffle(&mut order);
        }
        let mut fold_of_row = vec![0; n];
        let mut start = 0;
        for fold in 0..self.n_splits {
            let size = n / self.n_splits + usize::from(fold < n % self.n_splits);
            for &row in &order[start..start + size] {
                fold_of_row[row] = fold;
            }
            start += size;
        }
        Ok(splits_from_fold_of_row(&fold_of_row, self.n_splits))
    }
}

/// Stratified k-fold: every fold keeps the class proportions as closely as possible.
///
/// ```
/// use gradwork_data::StratifiedKFold;
/// let labels = [0, 0, 0, 0, 1, 1, 1, 1, 1, 1];
/// let folds = StratifiedKFold { n_splits: 2, shuffle: false, seed: 0 }.split(&labels).unwrap();
/// for fold in &folds {
///     let ones = fold.test.iter().filter(|&&i| labels[i] == 1).count();
///     assert_eq!((fold.test.len(), ones), (5, 3));
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StratifiedKFold {
    /// The number of folds (at least 2, at most the size of the largest class).
    pub n_splits: usize,
    /// Shuffle each class's fold assignment.
    pub shuffle: bool,
    /// The seed of the shuffle.
    pub seed: u64,
}

impl StratifiedKFold {
    /// The folds for rows labelled `labels`.
    pub fn split(&self, labels: &[usize]) -> Result<Vec<Split>> {
        const OP: &str = "StratifiedKFold::split";
        let k = self.n_splits;
        check_folds(OP, k, labels.len())?;
        // Classes numbered in order of first appearance, as scikit-learn encodes them.
        let mut first_seen: Vec<usize> = Vec::new();
        let encoded: Vec<usize> = labels
            .iter()
            .map(|l| match first_seen.iter().position(|s| s == l) {
                Some(c) => c,
                None => {
                    first_seen.push(*l);
                    first_seen.len() - 1
                }
            })
            .collect();
        let n_classes = first_seen.len();
        let mut counts = vec![0usize; n_classes];
        for &c in &encoded {
            counts[c] += 1;
        }
        if counts.iter().all(|&c| c < k) {
            return Err(DataError::invalid(
                OP,
                format!(
                    "n_splits={k} is greater than the number of rows of every class ({counts:?})"
                ),
            ));
        }
        // Sorting the encoded labels and dealing them round-robin gives allocation[fold][class].
        let mut sorted = encoded.clone();
        sorted.sort_unstable();
        let mut allocation = vec![vec![0usize; n_classes]; k];
        for (position, &class) in sorted.iter().enumerate() {
            allocation[position % k][class] += 1;
        }
        let mut rng = Rng::seed_from(self.seed).fork(KFOLD_STREAM);
        let mut fold_of_row = vec![0; labels.len()];
        for class in 0..n_classes {
            let mut folds: Vec<usize> = (0..k)
                .flat_map(|fold| std::iter::repeat_n(fold, allocation[fold][class]))
                .collect();
            if self.shuffle {
                rng.shuffle(&mut folds);
            }
            let rows = (0..labels.len()).filter(|&row| encoded[row] == class);
            for (row, fold) in rows.zip(folds) {
                fold_of_row[row] = fold;
            }
        }
        Ok(splits_from_fold_of_row(&fold_of_row, k))
    }
}
