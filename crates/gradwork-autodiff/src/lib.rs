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
//! use gradwork_autodiff::Graph;
//! use gradwork_tensor::Tensor;
//!
//! // One step of logistic regression by hand.
//! let graph = Graph::new();
//! let w = graph.leaf(Tensor::from_vec(vec![0.5, -0.25], &[2, 1]));
//! let x = gradwork_autodiff::Var::constant(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]));
//! let p = x.matmul(&w).sigmoid();
//! let loss = p.mean_all();
//! let grads = graph.backward(&loss).unwrap();
//! assert_eq!(grads.get(&w).unwrap().shape(), &[2, 1]);
//! ```
//!
//! Every op's gradient is checked against finite differences with [`grad_check`], which is public
//! so custom ops ([`Var::from_op`]) can be checked the same way.

mod error;
mod grad_check;
mod graph;
mod ops;
mod var;

pub use error::{AutodiffError, Phase, Result};
pub use grad_check::{grad_check, GradCheckConfig, GradCheckReport, InputReport};
pub use graph::{Backward, Gradients, Graph, NodeId};
pub use var::Var;
