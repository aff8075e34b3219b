//! `Dataset`: features and targets held in memory, with row subsets and batches.

use gradwork_tensor::Tensor;

use crate::error::{Result, TrainError};

/// What a model is trained to predict.
#[derive(Debug, Clone)]
pub enum Targets {
    /// One class index per sample (classification).
    Classes(Vec<usize>),
    /// A value tensor `[n, ...]` (regression, one-hot or probability targets, binary labels as 0/1).
    Values(Tensor),
}

impl Targets {
    /// The number of samples.
    pub fn len(&self) -> usize {
        match self {
            Targets::Classes(c) => c.len(),
            Targets::Values(t) => t.shape().first().copied().unwrap_or(0),
        }
    }

    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The targets of the given rows, in that order.
    pub fn select(&self, rows: &[usize]) -> Result<Targets> {
        Ok(match self {
            Targets::Classes(c) => Targets::Classes(rows.iter().map(|&r| c[r]).collect()),
            Targets::Values(t) => Targets::Values(t.try_index_select(0, rows)?),
        })
    }
}

/// Features `[n, ...]` and their targets.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The inputs, one sample per row of axis 0.
    pub features: Tensor,
    /// The targets, one per sample.
    pub targets: Targets,
}

impl Dataset {
    /// A dataset, or an error when the sample counts differ.
    pub fn new(features: Tensor, targets: Targets) -> Result<Self> {
        let n = features.shape().first().copied().unwrap_or(0);
        if n != targets.len() {
            return Err(TrainError::Data(format!(
                "features have {n} samples (shape {:?}) but targets have {}",
                features.shape(),
                targets.len()
            )));
        }
        Ok(Dataset { features, targets })
    }

    /// The number of samples.
    pub fn len(&self) -> usize {
        self.targets.len()
    }

    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The given rows, in that order (one gather for the features, one for the targets).
    pub fn select(&self, rows: &[usize]) -> Result<Dataset> {
        Ok(Dataset {
            features: self.features.try_index_select(0, rows)?,
            targets: self.targets.select(rows)?,
        })
    }
}
