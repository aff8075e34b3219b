//! # gradwork-autodiff
//!
//! Reverse-mode automatic differentiation over [`gradwork_tensor::Tensor`]s.
//!
//! A [`Graph`] is a tape of ops in creation order. [`Graph::leaf`] makes a tracked [`Var`]; every
//! op on tracked variables is recorded with its gradient rule; [`Graph::backward`] sweeps the tape
//! in reverse (a loop, not recursion) and returns [`Gradients`] for the leaves. Untracked
//! variables ([`Var::constant`]) record nothing, so inference costs only the kernels.
//!
//! ```
//! use gradwork_autodiff::loss::{cross_entropy_with_logits, Reduction};
//! use gradwork_autodiff::{Graph, Var};
//! use gradwork_tensor::Tensor;
//!
//! // One step of a two-layer classifier, by hand.
//! let graph = Graph::new();
//! let w1 = graph.leaf(Tensor::from_fn(&[4, 3], |i| (i as f32 * 0.37).sin()));
//! let w2 = graph.leaf(Tensor::from_fn(&[2, 4], |i| (i as f32 * 0.71).cos()));
//! let x = Var::constant(Tensor::from_vec(vec![1.0, 2.0, 3.0, -1.0, 0.5, 0.0], &[2, 3]));
//! let logits = x.linear(&w1, None).relu().linear(&w2, None);
//! let loss = cross_entropy_with_logits(&logits, &[0, 1], Reduction::Mean);
//! let grads = graph.backward(&loss).unwrap();
//! assert_eq!(grads.get(&w1).unwrap().shape(), &[4, 3]);
//! assert_eq!(grads.get(&w2).unwrap().shape(), &[2, 4]);
//! ```
//!
//! ## Map of the crate
//! - [`Graph`] (the tape: [`Graph::leaf`], [`Graph::backward`], [`Graph::backward_with`],
//!   anomaly mode via [`Graph::with_anomaly_detection`]), [`Gradients`] (the result, looked up
//!   by leaf), [`Backward`] (a gradient rule; closures implement it).
//! - [`Var`]: a value plus its node. Ops are methods, each with a `try_` form returning
//!   [`Result`] and a panicking form:
//!   - elementwise: `neg abs exp ln sqrt square recip powf sigmoid tanh relu leaky_relu gelu
//!     gelu_tanh clamp sin cos`, scalar `add/sub/mul/div_scalar`, and with broadcasting
//!     `add sub mul div pow maximum minimum` (also as `+ - * /` operators);
//!   - reductions: `sum_all mean_all max_all min_all sum sum_axes mean mean_axes var max min
//!     logsumexp softmax log_softmax`;
//!   - products: `matmul` (batched, broadcast), fused `linear`;
//!   - shapes: `reshape flatten_from permute transpose t broadcast_to unsqueeze squeeze narrow
//!     select pad`, and `concat stack split split_sizes chunk`;
//!   - indexing and masks: `index_select gather embedding where_cond dropout_with_mask`;
//!   - images: `conv2d max_pool2d(_with_indices) avg_pool2d`, and `conv2d_max_pool2d` (the two
//!     fused, block by block);
//!   - custom ops: [`Var::from_op`].
//! - [`loss`]: fused, numerically stable losses with a [`Reduction`].
//! - [`grad_check()`]: the finite-difference gradient checker every op is tested with, usable
//!   for custom ops; the [`grad_check`](mod@grad_check) module docs explain its tolerances.
//! - [`OP_NAMES`]: the name of every recorded op.
//! - [`AutodiffError`]: what can go wrong, with the op's name and shapes.

mod error;
pub mod grad_check;
mod graph;
pub mod loss;
mod ops;
mod small;
mod var;

pub use error::{AutodiffError, Phase, Result};
pub use grad_check::{grad_check, GradCheckConfig, GradCheckReport, InputReport};
pub use graph::{Backward, Gradients, Graph, NodeId};
pub use loss::Reduction;
pub use ops::OP_NAMES;
pub use var::Var;
