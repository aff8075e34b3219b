//! # gradwork
//!
//! A deep-learning and classical-ML toolkit for Rust, built from small crates you can also use
//! on their own. This umbrella crate re-exports them:
//!
//! | module | crate | what |
//! |---|---|---|
//! | [`tensor`] | `gradwork-tensor` | n-d f32 tensors, kernels, RNG |
//! | [`data`] | `gradwork-data` | CSV/IDX/text readers, splits, scalers, batching |
//! | [`metrics`] | `gradwork-metrics` | classification and regression metrics |
//!
//! ```
//! use gradwork::prelude::*;
//! let t = Tensor::ones(&[2, 2]);
//! assert_eq!(t.sum_all().item(), 4.0);
//! ```

pub use gradwork_data as data;
pub use gradwork_metrics as metrics;
pub use gradwork_tensor as tensor;

/// The names most programs need, in one import.
pub mod prelude {
    pub use gradwork_tensor::{Rng, Tensor, TensorError};
}
