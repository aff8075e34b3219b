//! # gradwork-tensor
//!
//! n-dimensional `f32` tensors for CPU machine learning: shared storage with strided views,
//! NumPy broadcasting, reductions that are accurate and bitwise reproducible on any thread
//! count, packed matrix products (AVX-512 and AVX2 kernels, `matrixmultiply` elsewhere),
//! convolution and pooling kernels, and a seeded, portable random number generator.
//!
//! The hand-written x86 kernels are chosen at run time from the CPU's features; the environment
//! variable `GRADWORK_CPU_CAPABILITY=avx2` (or `none`) caps them, like PyTorch's
//! `ATEN_CPU_CAPABILITY`. Every path gives the same bits, so the cap changes only the speed.
//!
//! ```
//! use gradwork_tensor::{Rng, Tensor};
//!
//! let mut rng = Rng::seed_from(42);
//! let x = Tensor::rand_normal(&[4, 3], 0.0, 1.0, &mut rng);
//! let w = Tensor::rand_uniform(&[3, 2], -0.5, 0.5, &mut rng);
//! let b = Tensor::zeros(&[2]);
//! let y = (x.matmul(&w) + &b).relu(); // broadcasting adds the bias to every row
//! assert_eq!(y.shape(), &[4, 2]);
//! let p = y.softmax(-1);
//! assert!(p.sum(-1, false).to_vec().iter().all(|s| (s - 1.0).abs() < 1e-6));
//! ```
//!
//! Every fallible operation comes in two forms: `try_op` returns a [`TensorError`] that names the
//! operation and the shapes involved, and `op` panics with the same message at the caller's
//! location. The determinism contract is in `docs/determinism.md`.

mod avg_pool;
mod binary;
mod buffer;
mod conv;
mod conv_blocks;
mod conv_pool;
mod cpu;
mod dims;
mod display;
mod epilogue;
mod error;
mod gemv;
#[cfg(target_arch = "x86_64")]
mod gemv_x86;
mod im2col;
#[cfg(target_arch = "x86_64")]
mod im2col_x86;
mod index;
#[cfg(feature = "nalgebra")]
mod interop_nalgebra;
mod layout;
mod matmul;
mod max_pool;
mod max_pool_codes;
#[cfg(target_arch = "x86_64")]
mod max_pool_x86;
pub mod par;
mod pool;
mod reduce;
mod rng;
mod sgemm;
#[cfg(target_arch = "x86_64")]
mod sgemm_avx2;
#[cfg(target_arch = "x86_64")]
mod sgemm_avx512;
#[cfg(target_arch = "x86_64")]
mod sgemm_x86;
mod shape_ops;
pub mod simd;
pub mod special;
mod tensor;
mod transpose;
mod unary;
mod view;
pub mod vmath;

pub use buffer::{buffer_pool_bytes, clear_buffer_pool, MAX_POOLED_BYTES, MIN_POOLED_LEN};
pub use conv::{Conv2dOptions, CONV_BATCH_BLOCK};
pub use conv_pool::ConvPoolGrads;
pub use epilogue::Activation;
pub use error::{Result, TensorError};
pub use layout::{broadcast_shapes, contiguous_strides, Axis, Layout};
pub use max_pool_codes::{PoolCodes, MAX_CODED_WINDOW};
pub use pool::Pool2dOptions;
pub use rng::{splitmix64, Rng};
pub use tensor::{Elem, Tensor};
pub use unary::{gelu_erf, gelu_tanh, sigmoid};
