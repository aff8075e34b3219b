//! Train/test splits with scikit-learn's semantics: `n_test = ceil(test_fraction * n)` computed in
//! `f64` exactly as scikit-learn does, an error when a side would be empty, a seeded shuffle, and a
//! stratified variant with `StratifiedShuffleSplit`'s per-class allocation. Splits are index
//! vectors, so they can be hashed, stored and applied to any number of arrays.

use gradwork_tensor::Rng;
use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};

/// The RNG sub-stream a split draws from (so a split and, say, weight init never share numbers).
pub const SPLIT_STREAM: u64 = 0x0053_504c_4954; // "SPLIT"

/// How to split `n` rows into a training and a test part.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SplitConfig {
    /// The fraction of rows in the test part, in `(0, 1)`. Kept as `f64` on purpose: scikit-learn
    /// evaluates `ceil(test_fraction * n)` in double precision (`0.14 * 50` gives 8 test rows),
    /// and an `f32` fraction would differ for 32 of the 500 reference cases.
    pub test_fraction: f64,
    /// Shuffle before splitting (otherwise the first rows train and the last rows test).
    pub shuffle: bool,
    /// The seed of the shuffle.
    pub seed: u64,
}

impl Default for SplitConfig {
    /// scikit-learn's article pipeline: 20 % test, shuffled, seed 42.
    fn default() -> Self {
        SplitConfig {
            test_fraction: 0.2,
            shuffle: true,
            seed: 42,
        }
    }
}

/// The row indices of the training and the test part.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Split {
    /// Training rows.
    pub train: Vec<usize>,
    /// Test rows.
    pub test: Vec<usize>,
}

/// `(n_train, n_test)` for `n` rows: `n_test = ceil(test_fraction * n)` in `f64`, and an error
/// when the fraction is outside `(0, 1)` or a part would be empty.
///
/// ```
/// use gradwork_data::split_sizes;
/// assert_eq!(split_sizes(50, 0.14).unwrap(), (42, 8)); // 0.14 * 50 = 7.000000000000001 in f64
/// assert!(split_sizes(1, 0.1).is_err()); // the training part would be empty
/// ```
pub fn split_sizes(n: usize, test_fraction: f64) -> Result<(usize, usize)> {
    const OP: &str = "train_test_split";
    if test_fraction.is_nan() || test_fraction <= 0.0 || test_fraction >= 1.0 {
        return Err(DataError::invalid(
            OP,
            format!("test_fraction={test_fraction} must be in (0, 1)"),
        ));
    }
    if n == 0 {
        return Err(DataError::invalid(OP, "there are no rows to split (n=0)"));
    }
    let n_test = (test_fraction * n as f64).ceil() as usize;
    let n_train = n - n_test.min(n);
    if n_train == 0 || n_test == 0 {
        return Err(DataError::invalid(
            OP,
            format!(
                "with n={n} and test_fraction={test_fraction}, the {} part would be empty",
                if n_train == 0 { "training" } else { "test" }
            ),
        ));
    }
    Ok((n_train, n_test))
}

/// Splits rows `0..n`. With `shuffle`, the test part is the first `n_test` entries of a seeded
/// permutation and the training part the rest (scikit-learn's `ShuffleSplit` layout; the
/// permutation itself is gradwork's, not NumPy's). Without, the last `n_test` rows are the test part.
///
/// ```
/// use gradwork_data::{train_test_split, SplitConfig};
/// let split = train_test_split(10, &SplitConfig { test_fraction: 0.3, shuffle: true, seed: 7 }).unwrap();
/// assert_eq!((split.train.len(), split.test.len()), (7, 3));
/// ```
pub fn train_test_split(n: usize, config: &SplitConfig) -> Result<Split> {
    let (n_train, n_test) = split_sizes(n, config.test_fraction)?;
    if !config.shuffle {
        return Ok(Split {
            train: (0..n_train).collect(),
            test: (n_train..n).collect(),
        });
    }
    let mut rng = Rng::seed_from(config.seed).fork(SPLIT_STREAM);
    let mut order = rng.permutation(n);
    let train = order.split_off(n_test);
    Ok(Split { train, test: order })
}

/// Splits rows so each class keeps its proportion, with `StratifiedShuffleSplit`'s allocation:
/// the training part first gets [`approximate_mode`]`(class_counts, n_train)`, then the test part
/// gets `approximate_mode(class_counts - train_counts, n_test)`. Errors (as scikit-learn): a class
/// with fewer than 2 rows, fewer training or test rows than classes, or `shuffle == false`.
///
/// ```
/// use gradwork_data::{stratified_train_test_split, SplitConfig};
/// let labels = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1];
/// let split = stratified_train_test_split(&labels, &SplitConfig { test_fraction: 0.5, ..Default::default() }).unwrap();
/// let test_ones = split.test.iter().filter(|&&i| labels[i] == 1).count();
/// assert_eq!(test_ones, 1);
/// ```
pub fn stratified_train_test_split(labels: &[usize], config: &SplitConfig) -> Result<Split> {
    const OP: &str = "stratified_train_test_split";
    let (n_train, n_test) = split_sizes(labels.len(), config.test_fraction)?;
    if !config.shuffle {
        return Err(DataError::invalid(
            OP,
            "a stratified split needs shuffle = true (as scikit-learn)",
        ));
    }
    // Classes are the distinct labels, sorted (np.unique); members listed in row order.
    let mut classes: Vec<usize> = labels.to_vec();
    classes.sort_unstable();
    classes.dedup();
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); classes.len()];
    for (row, label) in labels.iter().enumerate() {
        let class = classes
            .binary_search(label)
            .expect("every label is a class");
        members[class].push(row);
    }
    let counts: Vec<usize> = members.iter().map(Vec::len).collect();
    let too_few: Vec<usize> = classes
        .iter()
        .zip(&counts)
        .filter(|(_, &c)| c < 2)
        .map(|(&l, _)| l)
        .collect();
    if !too_few.is_empty() {
        return Err(DataError::invalid(
            OP,
            format!("classes {too_few:?} have fewer than 2 rows; every class needs at least 2"),
        ));
    }
    for (part, size) in [("training", n_train), ("test", n_test)] {
        if size < classes.len() {
            return Err(DataError::invalid(
                OP,
                format!(
                    "the {part} part has {size} rows, fewer than the {} classes",
                    classes.len()
                ),
            ));
        }
    }
    let mut rng = Rng::seed_from(config.seed).fork(SPLIT_STREAM);
    let train_counts = approximate_mode(&counts, n_train, &mut rng);
    let remaining: Vec<usize> = counts
        .iter()
        .zip(&train_counts)
        .map(|(c, t)| c - t)
        .collect();
    let test_counts = approximate_mode(&remaining, n_test, &mut rng);
    let mut train = Vec::with_capacity(n_train);
    let mut test = Vec::with_capacity(n_test);
    for (class, rows) in members.iter().enumerate() {
        let order = rng.permutation(rows.len());
        let (tr, te) = (train_counts[class], test_counts[class]);
        train.extend(order[..tr].iter().map(|&k| rows[k]));
        test.extend(order[tr..tr + te].iter().map(|&k| rows[k]));
    }
    rng.shuffle(&mut train);
    rng.shuffle(&mut test);
    Ok(Split { train, test })
}

/// scikit-learn's `_approximate_mode`: the most likely per-class counts of `n_draws` draws without
/// replacement from classes of sizes `class_counts`. Each class gets
/// `floor(count / total * n_draws)` (that float expression, in that order), and the draws left
/// over go to the largest fractional remainders; ties between equal remainders are broken by `rng`.
pub fn approximate_mode(class_counts: &[usize], n_draws: usize, rng: &mut Rng) -> Vec<usize> {
    let total: usize = class_counts.iter().sum();
    if total == 0 {
        return vec![0; class_counts.len()];
    }
    let continuous: Vec<f64> = class_counts
        .iter()
        .map(|&c| c as f64 / total as f64 * n_draws as f64)
        .collect();
    let mut result: Vec<usize> = continuous.iter().map(|x| x.floor() as usize).collect();
    let mut need = n_draws.saturating_sub(result.iter().sum());
    let remainders: Vec<f64> = continuous
        .iter()
        .zip(&result)
        .map(|(x, &f)| x - f as f64)
        .collect();
    let mut values = remainders.clone();
    values.sort_by(|a, b| b.total_cmp(a));
    values.dedup();
    for value in values {
        if need == 0 {
            break;
        }
        let mut tied: Vec<usize> = (0..remainders.len())
            .filter(|&i| remainders[i] == value)
            .collect();
        let take = tied.len().min(need);
        rng.shuffle(&mut tied);
        for &i in &tied[..take] {
            result[i] += 1;
        }
        need -= take;
    }
    result
}
