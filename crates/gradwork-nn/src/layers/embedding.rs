//! `Embedding`: a lookup table from integer ids to learned vectors.

use gradwork_autodiff::Var;
use gradwork_tensor::{Rng, Tensor};

use crate::ctx::Ctx;
use crate::error::{NnError, Result};
use crate::module::{join_path, Module};
use crate::param::Param;

/// A table `weight [num_embeddings, dim]` (PyTorch's `nn.Embedding`, Keras' `Embedding`):
/// indices of any shape `S` give vectors of shape `[S..., dim]`. The weight gradient
/// scatter-adds, so an index used `n` times gets `n` contributions.
///
/// Two ways in:
/// - [`Embedding::forward_indices`] takes the indices as `usize` with their shape (preferred);
/// - [`Module::forward`] (so the layer fits in a [`Sequential`](crate::Sequential)) takes a
///   constant `Var` whose elements are the indices **stored as `f32`** (exact up to 2^24); each
///   must be a non-negative integer. Gradients never flow into the indices.
///
/// An index outside `0..num_embeddings` is an error naming the index and the table size.
///
/// ```
/// use gradwork_autodiff::Var;
/// use gradwork_nn::{layers::Embedding, Ctx, Module};
/// use gradwork_tensor::{Rng, Tensor};
///
/// let mut table = Embedding::new(10, 4, &mut Rng::seed_from(0));
/// let mut cx = Ctx::eval();
/// let y = table.forward_indices(&mut cx, &[1, 7, 7], &[1, 3]).unwrap();
/// assert_eq!(y.shape(), &[1, 3, 4]);
/// // The same lookup with the ids stored as f32 in a tensor.
/// let ids = Var::constant(Tensor::from_vec(vec![1.0, 7.0, 7.0], &[1, 3]));
/// assert_eq!(table.forward(&mut cx, &ids).unwrap().value().to_vec(), y.value().to_vec());
/// assert!(table.forward_indices(&mut cx, &[10], &[1]).unwrap_err().to_string().contains("10"));
/// ```
#[derive(Debug, Clone)]
pub struct Embedding {
    /// `[num_embeddings, dim]`.
    pub weight: Param,
}

impl Embedding {
    /// A table initialised from `N(0, 1)`, PyTorch's default.
    pub fn new(num_embeddings: usize, dim: usize, rng: &mut Rng) -> Self {
        Embedding {
            weight: Param::new(Tensor::rand_normal(&[num_embeddings, dim], 0.0, 1.0, rng)),
        }
    }

    /// A table with the given weight `[num_embeddings, dim]`.
    pub fn from_weight(weight: Tensor) -> Result<Self> {
        if weight.shape().len() != 2 {
            return Err(NnError::InvalidConfig {
                layer: "Embedding",
                reason: format!(
                    "the weight must be [num_embeddings, dim], got shape {:?}",
                    weight.shape()
                ),
            });
        }
        Ok(Embedding {
            weight: Param::new(weight),
        })
    }

    /// The number of rows in the table.
    pub fn num_embeddings(&self) -> usize {
        self.weight.value().shape()[0]
    }

    /// The vector size.
    pub fn dim(&self) -> usize {
        self.weight.value().shape()[1]
    }

    /// Looks up `indices` (row-major, of shape `shape`) and returns `[shape..., dim]`.
    pub fn forward_indices(
        &mut self,
        cx: &mut Ctx,
        indices: &[usize],
        shape: &[usize],
    ) -> Result<Var> {
        let count: usize = shape.iter().product();
        if count != indices.len() {
            return Err(NnError::BadInput {
                layer: self.describe(),
                expected: format!("{} indices for shape {shape:?}", count),
                got: vec![indices.len()],
            });
        }
        let rows = self.num_embeddings();
        if let Some((position, &index)) = indices.iter().enumerate().find(|(_, &i)| i >= rows) {
            return Err(self.out_of_range(index as f64, position, shape));
        }
        let weight = cx.param(&self.weight);
        Ok(weight.try_embedding(indices, shape)?)
    }

    fn out_of_range(&self, index: f64, position: usize, shape: &[usize]) -> NnError {
        NnError::BadInput {
            layer: self.describe(),
            expected: format!(
                "integer indices in 0..{} (the table has {} rows), but index {index} at flat \
                 position {position} is out of range",
                self.num_embeddings(),
                self.num_embeddings()
            ),
            got: shape.to_vec(),
        }
    }
}

impl Module for Embedding {
    /// `input` holds the indices as `f32` (see the type's docs).
    fn forward(&mut self, cx: &mut Ctx, input: &Var) -> Result<Var> {
        let values = input.value().to_vec();
        let mut indices = Vec::with_capacity(values.len());
        for (position, &v) in values.iter().enumerate() {
            // Non-integers, negatives and NaN are refused rather than truncated.
            if !(v >= 0.0 && v.fract() == 0.0 && (v as usize) < self.num_embeddings()) {
                return Err(self.out_of_range(v as f64, position, input.shape()));
            }
            indices.push(v as usize);
        }
        self.forward_indices(cx, &indices, input.shape())
    }

    fn visit_params(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param)) {
        f(&join_path(prefix, "weight"), &self.weight);
    }

    fn visit_params_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Param)) {
        f(&join_path(prefix, "weight"), &mut self.weight);
    }

    fn describe(&self) -> String {
        format!("Embedding({}, {})", self.num_embeddings(), self.dim())
    }
}
