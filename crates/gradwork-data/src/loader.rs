//! Mini-batches over `(features, targets)`. An epoch's order is a permutation drawn from
//! `Rng::seed_from(seed).fork(SHUFFLE_STREAM).fork(epoch)`, so it depends only on `(seed, epoch)`:
//! a resumed run sees the same batches with no saved state. Each batch is one row gather.

use gradwork_tensor::{Rng, Tensor};
use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};
use crate::split::{train_test_split, SplitConfig};

/// The RNG sub-stream of the epoch shuffles.
pub const SHUFFLE_STREAM: u64 = 0x0053_4855_4646_4c45; // "SHUFFLE"
/// The RNG sub-stream of the validation split.
pub const VALIDATION_STREAM: u64 = 0x0056_414c_4944; // "VALID"

/// How a [`DataLoader`] batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataLoaderConfig {
    /// Rows per batch (the last batch may be smaller unless `drop_last`).
    pub batch_size: usize,
    /// Visit the rows in a fresh seeded order each epoch.
    pub shuffle: bool,
    /// Drop the last batch when it is smaller than `batch_size`.
    pub drop_last: bool,
    /// The seed of the shuffles.
    pub seed: u64,
}

impl Default for DataLoaderConfig {
    fn default() -> Self {
        DataLoaderConfig {
            batch_size: 32,
            shuffle: true,
            drop_last: false,
            seed: 0,
        }
    }
}

/// One mini-batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// The batch's feature rows, `[b, ...]`.
    pub features: Tensor,
    /// The batch's targets, `[b, ...]`, if the loader has targets.
    pub targets: Option<Tensor>,
    /// The source row of each batch row.
    pub indices: Vec<usize>,
}

/// Batches over a feature tensor and optional targets (both indexed by their first axis).
///
/// ```
/// use gradwork_data::{DataLoader, DataLoaderConfig};
/// use gradwork_tensor::Tensor;
/// let x = Tensor::from_fn(&[10, 3], |i| i as f32);
/// let y = Tensor::from_fn(&[10], |i| i as f32);
/// let config = DataLoaderConfig { batch_size: 4, shuffle: true, drop_last: false, seed: 1 };
/// let loader = DataLoader::new(x, Some(y), config).unwrap();
/// let sizes: Vec<usize> = loader.epoch(0).map(|b| b.indices.len()).collect();
/// assert_eq!(sizes, [4, 4, 2]);
/// assert_eq!(loader.epoch_order(3), loader.epoch_order(3)); // depends only on (seed, epoch)
/// ```
#[derive(Debug, Clone)]
pub struct DataLoader {
    features: Tensor,
    targets: Option<Tensor>,
    config: DataLoaderConfig,
}

impl DataLoader {
    /// A loader over `features` and `targets`, which must have the same number of rows.
    pub fn new(
        features: Tensor,
        targets: Option<Tensor>,
        config: DataLoaderConfig,
    ) -> Result<Self> {
        if config.batch_size == 0 {
            return Err(DataError::invalid(
                "DataLoader::new",
                "batch_size must be positive",
            ));
        }
        if features.ndim() == 0 {
            return Err(DataError::shape(
                "DataLoader::new",
                "[n, ...]",
                features.shape(),
            ));
        }
        if let Some(t) = &targets {
            if t.ndim() == 0 || t.shape()[0] != features.shape()[0] {
                let expected = format!(
                    "[{}, ...] (as many rows as the features {:?})",
                    features.shape()[0],
                    features.shape()
                );
                return Err(DataError::shape("DataLoader::new", expected, t.shape()));
            }
        }
        Ok(DataLoader {
            features,
            targets,
            config,
        })
    }

    /// The number of rows.
    pub fn n_rows(&self) -> usize {
        self.features.shape()[0]
    }

    /// The configuration.
    pub fn config(&self) -> &DataLoaderConfig {
        &self.config
    }

    /// The number of batches per epoch.
    pub fn n_batches(&self) -> usize {
        let (n, b) = (self.n_rows(), self.config.batch_size);
        if self.config.drop_last {
            n / b
        } else {
            n.div_ceil(b)
        }
    }

    /// The order in which epoch `epoch` visits the rows.
    pub fn epoch_order(&self, epoch: u64) -> Vec<usize> {
        if self.config.shuffle {
            Rng::seed_from(self.config.seed)
                .fork(SHUFFLE_STREAM)
                .fork(epoch)
                .permutation(self.n_rows())
        } else {
            (0..self.n_rows()).collect()
        }
    }

    /// The batches of epoch `epoch`.
    pub fn epoch(&self, epoch: u64) -> Batches<'_> {
        Batches {
            loader: self,
            order: self.epoch_order(epoch),
            next_batch: 0,
        }
    }

    /// Splits off a validation loader: the rows are shuffled with the loader's seed first, then
    /// `validation_fraction` of them (`ceil`, as [`crate::split_sizes`]) go to validation, so the
    /// validation rows are not simply the file's last rows (Keras's `validation_split`). The
    /// validation loader does not shuffle.
    pub fn split_validation(&self, validation_fraction: f64) -> Result<(DataLoader, DataLoader)> {
        let config = SplitConfig {
            test_fraction: validation_fraction,
            shuffle: true,
            seed: Rng::seed_from(self.config.seed)
                .fork(VALIDATION_STREAM)
                .key(),
        };
        let split = train_test_split(self.n_rows(), &config)?;
        let part = |rows: &[usize], config: DataLoaderConfig| -> Result<DataLoader> {
            let targets = match &self.targets {
                Some(t) => Some(t.try_index_select(0, rows)?),
                None => None,
            };
            DataLoader::new(self.features.try_index_select(0, rows)?, targets, config)
        };
        let validation_config = DataLoaderConfig {
            shuffle: false,
            drop_last: false,
            ..self.config
        };
        Ok((
            part(&split.train, self.config)?,
            part(&split.test, validation_config)?,
        ))
    }
}

/// The batches of one epoch (see [`DataLoader::epoch`]).
#[derive(Debug)]
pub struct Batches<'a> {
    loader: &'a DataLoader,
    order: Vec<usize>,
    next_batch: usize,
}

impl Iterator for Batches<'_> {
    type Item = Batch;

    fn next(&mut self) -> Option<Batch> {
        if self.next_batch >= self.loader.n_batches() {
            return None;
        }
        let b = self.loader.config.batch_size;
        let start = self.next_batch * b;
        let indices = self.order[start..(start + b).min(self.order.len())].to_vec();
        self.next_batch += 1;
        // The indices come from a permutation of 0..n, so the gathers cannot fail.
        let features = self.loader.features.index_select(0, &indices);
        let targets = self
            .loader
            .targets
            .as_ref()
            .map(|t| t.index_select(0, &indices));
        Some(Batch {
            features,
            targets,
            indices,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.loader.n_batches() - self.next_batch;
        (left, Some(left))
    }
}

impl ExactSizeIterator for Batches<'_> {}
