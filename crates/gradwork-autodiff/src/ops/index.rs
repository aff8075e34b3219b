//! Indexing: index_select, gather and the embedding lookup. Indices are constants; backward
//! scatter-adds the gradient to the positions that were read, so repeated indices accumulate
//! (in index order, a fixed order).

use gradwork_tensor::{Axis, Tensor, TensorError};

use crate::error::{or_panic, Result};
use crate::var::Var;

impl Var {
    /// The slices `indices[k]` of `axis`, in that order (repeats allowed), as
    /// `torch.index_select`. Backward: `index_add` of the gradient slices.
    pub fn try_index_select(&self, axis: impl Axis, indices: &[usize]) -> Result<Var> {
        let axis = axis.resolve("index_select", self.shape())?;
        let value = self.value().try_index_select(axis, indices)?;
        let size = self.shape()[axis];
        let indices = indices.to_vec();
        Var::from_op("index_select", &[self], value, move || {
            move |g: &Tensor, _: &[bool]| Ok(vec![Some(g.try_index_add(axis, &indices, size)?)])
        })
    }

    /// The slices `indices[k]` of `axis` (see [`Var::try_index_select`]).
    #[track_caller]
    pub fn index_select(&self, axis: impl Axis, indices: &[usize]) -> Var {
        or_panic(self.try_index_select(axis, indices))
    }

    /// `torch.gather`: `out[.., j, ..] = self[.., index[.., j, ..], ..]` along `axis`, with `index`
    /// row-major of shape `index_shape` (same rank as `self`). Backward: `scatter_add`.
    pub fn try_gather(
        &self,
        axis: impl Axis,
        index: &[usize],
        index_shape: &[usize],
    ) -> Result<Var> {
        let axis = axis.resolve("gather", self.shape())?;
        let value = self.value().try_gather(axis, index, index_shape)?;
        let shape = self.shape().to_vec();
        let index = index.to_vec();
        Var::from_op("gather", &[self], value, move || {
            move |g: &Tensor, _: &[bool]| Ok(vec![Some(g.try_scatter_add(axis, &index, &shape)?)])
        })
    }

    /// `torch.gather` (see [`Var::try_gather`]).
    #[track_caller]
    pub fn gather(&self, axis: impl Axis, index: &[usize], index_shape: &[usize]) -> Var {
        or_panic(self.try_gather(axis, index, index_shape))
    }

    /// The embedding lookup: `self` is the table `[V, D]`, `indices` (row-major, shape
    /// `index_shape`) pick rows, and the result has shape `[index_shape.., D]`. Backward
    /// scatter-adds each output row's gradient into the table row it came from, so an index used
    /// `n` times gets `n` contributions.
    ///
    /// ```
    /// use gradwork_autodiff::Graph;
    /// use gradwork_tensor::Tensor;
    ///
    /// let graph = Graph::new();
    /// let table = graph.leaf(Tensor::from_fn(&[3, 2], |i| i as f32));
    /// let y = table.embedding(&[2, 0, 2], &[1, 3]);
    /// assert_eq!(y.shape(), &[1, 3, 2]);
    /// let grads = graph.backward(&y.sum_all()).unwrap();
    /// assert_eq!(grads.get(&table).unwrap().to_vec(), vec![1.0, 1.0, 0.0, 0.0, 2.0, 2.0]);
    /// ```
    pub fn try_embedding(&self, indices: &[usize], index_shape: &[usize]) -> Result<Var> {
        let table = self.shape();
        if table.len() != 2 {
            return Err(TensorError::invalid(
                "embedding",
                table,
                "the table must be [num_embeddings, dim]",
            )
            .into());
        }
        if index_shape.iter().product::<usize>() != indices.len() {
            return Err(TensorError::invalid(
                "embedding",
                index_shape,
                format!(
                    "the index shape does not hold the {} indices given",
                    indices.len()
                ),
            )
            .into());
        }
        let (rows, dim) = (table[0], table[1]);
        let mut out_shape = index_shape.to_vec();
        out_shape.push(dim);
        // index_select reports an out-of-range index with the index and the table size.
        let value = self
            .value()
            .try_index_select(0, indices)
            .map_err(|e| rename(e, "embedding"))?
            .try_reshape(&out_shape)?;
        let indices = indices.to_vec();
        Var::from_op("embedding", &[self], value, move || {
            move |g: &Tensor, _: &[bool]| {
                let g = g.try_reshape(&[indices.len(), dim])?;
                Ok(vec![Some(g.try_index_add(0, &indices, rows)?)])
            }
        })
    }

    /// The embedding lookup (see [`Var::try_embedding`]).
    #[track_caller]
    pub fn embedding(&self, indices: &[usize], index_shape: &[usize]) -> Var {
        or_panic(self.try_embedding(indices, index_shape))
    }
}

/// The same tensor error, reported under the name of the op the user called.
fn rename(error: TensorError, op: &'static str) -> TensorError {
    match error {
        TensorError::IndexOutOfRange {
            index,
            axis,
            size,
            shape,
            ..
        } => TensorError::IndexOutOfRange {
            op,
            index,
            axis,
            size,
            shape,
        },
        other => other,
    }
}
