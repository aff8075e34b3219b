//! Parameters: tensors a model learns, with a process-unique identity.

use std::sync::atomic::{AtomicU64, Ordering};

use gradwork_tensor::Tensor;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A process-unique parameter identity, used to match gradients to parameters within one step.
/// On disk parameters are identified by their dotted path, never by this id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ParamId(u64);

impl ParamId {
    fn fresh() -> Self {
        ParamId(NEXT_ID.fetch_add(1, Ordering::Relaxed))
    }
}

/// A learnable tensor. Cloning gives a new parameter (a new id) with the same value, so a cloned
/// model trains independently of the original.
#[derive(Debug)]
pub struct Param {
    id: ParamId,
    value: Tensor,
    trainable: bool,
}

impl Param {
    /// A trainable parameter.
    pub fn new(value: Tensor) -> Self {
        Param {
            id: ParamId::fresh(),
            value,
            trainable: true,
        }
    }

    /// The identity used to match gradients within a step.
    pub fn id(&self) -> ParamId {
        self.id
    }

    /// The current value.
    pub fn value(&self) -> &Tensor {
        &self.value
    }

    /// Replaces the value (e.g. an optimizer update or a loaded state).
    ///
    /// # Panics
    /// When the shape changes: a parameter's shape is part of its model.
    #[track_caller]
    pub fn set_value(&mut self, value: Tensor) {
        assert_eq!(
            value.shape(),
            self.value.shape(),
            "Param::set_value: shape {:?} differs from the parameter's {:?}",
            value.shape(),
            self.value.shape()
        );
        self.value = value;
    }

    /// Mutable access to the elements (copy-on-write if the storage is shared).
    pub fn data_mut(&mut self) -> &mut [f32] {
        self.value.data_mut()
    }

    /// True when optimizers update this parameter and gradients are computed for it.
    pub fn is_trainable(&self) -> bool {
        self.trainable
    }

    /// Freezes (false) or unfreezes (true) the parameter, for fine-tuning.
    pub fn set_trainable(&mut self, trainable: bool) {
        self.trainable = trainable;
    }

    /// The number of elements.
    pub fn numel(&self) -> usize {
        self.value.numel()
    }
}

impl Clone for Param {
    fn clone(&self) -> Self {
        Param {
            id: ParamId::fresh(),
            value: self.value.clone(),
            trainable: self.trainable,
        }
    }
}
