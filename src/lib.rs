//! # gradwork
//!
//! A deep-learning and classical-ML toolkit for Rust, built from small crates you can also use
//! on their own. This umbrella crate re-exports them as modules, gathers the common names in a
//! [`prelude`], and converts every crate's error into one [`Error`].
//!
//! | module | crate | what |
//! |---|---|---|
//! | [`tensor`] | `gradwork-tensor` | n-d f32 tensors, kernels, seeded RNG |
//! | [`autodiff`] | `gradwork-autodiff` | reverse-mode autodiff, `grad_check` |
//! | [`nn`] | `gradwork-nn` | layers, activations, losses, init, state dicts |
//! | [`optim`] | `gradwork-optim` | optimizers, LR schedules, clipping, checkpoints |
//! | [`data`] | `gradwork-data` | CSV/IDX/text readers, splits, scalers, batching |
//! | [`metrics`] | `gradwork-metrics` | classification and regression metrics |
//! | [`train`] | `gradwork-train` | `fit`/`evaluate`/`predict`, callbacks, history |
//!
//! Keras-style training in a few lines:
//!
//! ```
//! use gradwork::prelude::*;
//!
//! # fn main() -> gradwork::Result<()> {
//! // XOR, the smallest problem a linear model cannot solve.
//! let x = Tensor::from_vec(vec![0., 0., 0., 1., 1., 0., 1., 1.], &[4, 2]);
//! let data = Dataset::new(x.clone(), Targets::Classes(vec![0, 1, 1, 0]))?;
//! let mut rng = Rng::seed_from(0);
//! let model = Sequential::new()
//!     .push(Linear::new(2, 8, &mut rng))
//!     .push(Tanh)
//!     .push(Linear::new(8, 2, &mut rng));
//! let adam = Adam::new(AdamConfig { lr: 0.05, ..AdamConfig::adam() })?;
//! let mut trainer = Trainer::new(model, Box::new(adam), Loss::SparseCategoricalCrossEntropy)
//!     .with_metric(MetricKind::Accuracy);
//! trainer.fit(&data, FitOptions { epochs: 300, batch_size: 4, ..FitOptions::default() })?;
//! assert_eq!(trainer.predict_classes(&x, 4)?, vec![0, 1, 1, 0]);
//! # Ok(())
//! # }
//! ```

mod error;

pub use error::{Error, Result};
pub use gradwork_autodiff as autodiff;
pub use gradwork_data as data;
pub use gradwork_metrics as metrics;
pub use gradwork_nn as nn;
pub use gradwork_optim as optim;
pub use gradwork_tensor as tensor;
pub use gradwork_train as train;

/// The names most programs need, in one import.
pub mod prelude {
    pub use crate::{Error, Result};
    pub use gradwork_autodiff::{grad_check, GradCheckConfig, Graph, Var};
    pub use gradwork_nn::activations::{Gelu, LeakyRelu, Relu, Sigmoid, Softmax, Tanh};
    pub use gradwork_nn::layers::Linear;
    pub use gradwork_nn::{Ctx, Module, Sequential, StateDict};
    pub use gradwork_optim::{Adam, AdamConfig, Optimizer, Sgd, SgdConfig};
    pub use gradwork_tensor::{Rng, Tensor, TensorError};
    pub use gradwork_train::{
        Dataset, EarlyStopping, FitOptions, History, Loss, MetricKind, Targets, Trainer, Validation,
    };
}
