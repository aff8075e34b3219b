//! # gradwork-nn
//!
//! Layers, activations, initialisers, losses and state dicts on top of `gradwork-autodiff`.
//!
//! A model is a [`Module`]: a forward pass that takes a [`Ctx`] (the graph, train/eval mode, an
//! RNG) and a [`Var`](gradwork_autodiff::Var), plus hand-written visitors that name every
//! parameter by a dotted path. Those paths key the [`StateDict`], so files survive refactors that
//! keep the names.
//!
//! ```
//! use gradwork_autodiff::{Graph, Var};
//! use gradwork_nn::{activations::Relu, layers::Linear, Ctx, Module, Sequential};
//! use gradwork_tensor::{Rng, Tensor};
//!
//! let mut rng = Rng::seed_from(42);
//! let mut model = Sequential::new()
//!     .push(Linear::new(2, 16, &mut rng))
//!     .push(Relu)
//!     .push(Linear::new(16, 1, &mut rng));
//! // One training step's forward and backward.
//! let graph = Graph::new();
//! let mut cx = Ctx::train(&graph, rng.fork(1));
//! let x = Var::constant(Tensor::ones(&[8, 2]));
//! let loss = model.forward(&mut cx, &x).unwrap().square().mean_all();
//! let grads = cx.into_param_grads(&graph.backward(&loss).unwrap());
//! assert_eq!(grads.len(), 4); // two weights, two biases
//! ```

pub mod activations;
pub mod codec;
mod ctx;
pub mod ensemble;
mod error;
pub mod init;
pub mod layers;
pub mod losses;
mod module;
mod param;
pub mod prune;
pub mod regularization;
pub mod reorder;
mod sequential;
mod state_dict;

pub use ctx::{Ctx, ParamGrads};
pub use error::{NnError, Result, ShapeMismatch};
pub use module::{join_path, predict, LayerKind, Module};
pub use param::{Param, ParamId};
pub use sequential::Sequential;
pub use state_dict::{StateDict, TensorRecord};
