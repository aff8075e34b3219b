//! # gradwork-optim
//!
//! Optimizers, learning-rate schedules, gradient clipping and training checkpoints for gradwork
//! models. Numbers follow PyTorch 2.x's single-tensor implementations in f32, checked step by
//! step against `fixtures/optim_*.json`.
//!
//! | module | what |
//! |---|---|
//! | [`Optimizer`], [`OptimizerState`], [`OptimizerConfig`] | the dyn-compatible optimizer trait and its serialisable state (per-parameter buffers keyed by dotted path) |
//! | [`Sgd`] | SGD with momentum, dampening, Nesterov, weight decay |
//! | [`Adam`] | Adam (bias correction, L2 weight decay, AMSGrad) and AdamW (decoupled decay) |
//! | [`RmsProp`] | RMSprop (centered, momentum, weight decay) |
//! | [`clip_grad_norm`], [`clip_grad_value`] | gradient clipping by global L2 norm and by value |
//! | [`LrSchedule`], [`Schedule`], [`ScheduleConfig`] | constant, step, exponential, TF/Keras exponential decay, cosine, linear warm-up, chains |
//! | [`Checkpoint`] | model + optimizer + schedule + metadata in a versioned, checksummed, atomically written file |
//!
//! A full manual training step, PyTorch style:
//!
//! ```
//! use gradwork_autodiff::{Graph, Var};
//! use gradwork_nn::{activations::Relu, layers::Linear, Ctx, Module, Sequential};
//! use gradwork_optim::{clip_grad_norm, Adam, AdamConfig, LrSchedule, Optimizer, Schedule, ScheduleConfig};
//! use gradwork_tensor::{Rng, Tensor};
//!
//! let mut rng = Rng::seed_from(7);
//! let mut model = Sequential::new()
//!     .push(Linear::new(2, 8, &mut rng))
//!     .push(Relu)
//!     .push(Linear::new(8, 1, &mut rng));
//! let mut opt = Adam::new(AdamConfig { lr: 0.01, ..AdamConfig::adam() }).unwrap();
//! let mut sched = Schedule::new(ScheduleConfig::Exponential { base_lr: 0.01, gamma: 0.9 }).unwrap();
//! let x = Var::constant(Tensor::from_vec(vec![0.0, 1.0, 1.0, 0.0, 1.0, 1.0], &[3, 2]));
//! let y = Var::constant(Tensor::from_vec(vec![1.0, 1.0, 0.0], &[3, 1]));
//!
//! let mut losses = Vec::new();
//! for step in 0..20 {
//!     let graph = Graph::new();
//!     let mut cx = Ctx::train(&graph, rng.fork(step));
//!     let out = model.forward(&mut cx, &x).unwrap();
//!     let loss = out.sub(&y).square().mean_all();
//!     losses.push(loss.value().item());
//!     let mut grads = cx.into_param_grads(&graph.backward(&loss).unwrap());
//!     clip_grad_norm(&mut grads, 5.0).unwrap();
//!     sched.apply(&mut opt);
//!     opt.step(&mut model, &grads).unwrap();
//!     sched.step();
//! }
//! assert!(losses[19] < losses[0]);
//! assert_eq!(opt.state().params.len(), 4); // both layers' weight and bias
//! assert!(opt.state().params.contains_key("0.weight"));
//! ```

mod adam;
mod checkpoint;
mod clip;
mod error;
mod fma;
mod optimizer;
mod rmsprop;
mod schedule;
mod schedule_config;
mod sgd;
mod tiny_moment;

pub use adam::{Adam, AdamConfig};
pub use checkpoint::{
    Checkpoint, CheckpointMeta, CHECKPOINT_MAGIC, CHECKPOINT_VERSION, DEFAULT_READ_LIMIT,
};
pub use clip::{clip_grad_norm, clip_grad_value, global_norm};
pub use error::{OptimError, Result};
pub use optimizer::{Optimizer, OptimizerConfig, OptimizerState, ParamState};
pub use rmsprop::{RmsProp, RmsPropConfig};
pub use schedule::{LrSchedule, Schedule, ScheduleState};
pub use schedule_config::ScheduleConfig;
pub use sgd::{Sgd, SgdConfig};
