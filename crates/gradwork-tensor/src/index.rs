//! Indexing operations: index_select / index_add, gather / scatter_add, one_hot, where.

use crate::error::{or_panic, Result, TensorError};
use crate::layout::{broadcast_shapes, Axis};
use crate::tensor::Tensor;

fn check_indices(op: &'static str, shape: &[usize], axis: usize, indices: &[usize]) -> Result<()> {
    if let Some(&bad) = indices.iter().find(|&&i| i >= shape[axis]) {
        return Err(TensorError::IndexOutOfRange {
            op,
            index: bad,
            axis,
            size: shape[axis],
            shape: shape.to_vec(),
        });
    }
    Ok(())
}

impl Tensor {
    /// The slices `indices[k]` of `axis`, in that order (repeats allowed): `torch.index_select`.
    /// With axis 0 on an embedding table this is the embedding lookup.
    pub fn try_index_select(&self, axis: impl Axis, indices: &[usize]) -> Result<Tensor> {
        let axis = axis.resolve("index_select", self.shape())?;
        check_indices("index_select", self.shape(), axis, indices)?;
        let x = self.contiguous();
        let data = x.as_slice().expect("contiguous");
        let outer: usize = self.shape()[..axis].iter().product();
        let inner: usize = self.shape()[axis + 1..].iter().product();
        let len = self.shape()[axis];
        let mut out = crate::buffer::with_capacity(outer * indices.len() * inner);
        for o in 0..outer {
            for &i in indices {
                let start = (o * len + i) * inner;
                out.extend_from_slice(&data[start..start + inner]);
            }
        }
        let mut shape = self.shape().to_vec();
        shape[axis] = indices.len();
        Tensor::try_from_vec(out, &shape)
    }

    /// The slices `indices[k]` of `axis`, in that order.
    #[track_caller]
    pub fn index_select(&self, axis: impl Axis, indices: &[usize]) -> Tensor {
        or_panic(self.try_index_select(axis, indices))
    }

    /// The backward of `index_select`: a tensor whose `axis` has size `size`, holding the sum of
    /// the slices of `self` (whose `axis` has one slice per index) at `indices` (repeats add up).
    pub fn try_index_add(&self, axis: impl Axis, indices: &[usize], size: usize) -> Result<Tensor> {
        let axis = axis.resolve("index_add", self.shape())?;
        if self.shape()[axis] != indices.len() {
            return Err(TensorError::invalid(
                "index_add",
                self.shape(),
                format!(
                    "{} indices for axis {axis} of size {}",
                    indices.len(),
                    self.shape()[axis]
                ),
            ));
        }
        let mut out_shape = self.shape().to_vec();
        out_shape[axis] = size;
        check_indices("index_add", &out_shape, axis, indices)?;
        let src = self.contiguous();
        let src = src.as_slice().expect("contiguous");
        let outer: usize = self.shape()[..axis].iter().product();
        let inner: usize = self.shape()[axis + 1..].iter().product();
        let mut out = crate::buffer::zeroed(outer * size * inner);
        // In index order, so repeated indices accumulate in a fixed order.
        for o in 0..outer {
            for (k, &i) in indices.iter().enumerate() {
                let from = (o * indices.len() + k) * inner;
                let to = (o * size + i) * inner;
                for (d, &s) in out[to..to + inner].iter_mut().zip(&src[from..from + inner]) {
                    *d += s;
                }
            }
        }
        Tensor::try_from_vec(out, &out_shape)
    }

    /// The backward of `index_select` (see [`Tensor::try_index_add`]).
    #[track_caller]
    pub fn index_add(&self, axis: impl Axis, indices: &[usize], size: usize) -> Tensor {
        or_panic(self.try_index_add(axis, indices, size))
    }

    /// `torch.gather`: `out[..., j, ...] = self[..., index[..., j, ...], ...]` along `axis`, where
    /// `index` (row-major, shape `index_shape`, same rank as `self`) gives the position along
    /// `axis` and every other index of `index_shape` must be within `self`'s size.
    pub fn try_gather(
        &self,
        axis: impl Axis,
        index: &[usize],
        index_shape: &[usize],
    ) -> Result<Tensor> {
        let axis = axis.resolve("gather", self.shape())?;
        check_gather_shapes("gather", self.shape(), axis, index, index_shape)?;
        check_indices("gather", self.shape(), axis, index)?;
        let strides = self.strides();
        let mut out = crate::buffer::with_capacity(index.len());
        let mut position = vec![0usize; index_shape.len()];
        for &i in index {
            let mut at = self.layout.offset();
            for (a, (&p, &s)) in position.iter().zip(strides).enumerate() {
                at += if a == axis { i * s } else { p * s };
            }
            out.push(self.storage[at]);
            advance(&mut position, index_shape);
        }
        Tensor::try_from_vec(out, index_shape)
    }

    /// `torch.gather` (see [`Tensor::try_gather`]).
    #[track_caller]
    pub fn gather(&self, axis: impl Axis, index: &[usize], index_shape: &[usize]) -> Tensor {
        or_panic(self.try_gather(axis, index, index_shape))
    }

    /// The backward of `gather`: zeros of `out_shape` with each element of `self` (shaped like the
    /// index) added at the position `index` names along `axis`.
    pub fn try_scatter_add(
        &self,
        axis: impl Axis,
        index: &[usize],
        out_shape: &[usize],
    ) -> Result<Tensor> {
        let axis = axis.resolve("scatter_add", out_shape)?;
        check_gather_shapes("scatter_add", out_shape, axis, index, self.shape())?;
        check_indices("scatter_add", out_shape, axis, index)?;
        let strides = crate::layout::contiguous_strides(out_shape);
        let mut out = crate::buffer::zeroed(out_shape.iter().product());
        let src = self.to_vec();
        let mut position = vec![0usize; self.ndim()];
        for (&i, v) in index.iter().zip(src) {
            let mut at = 0;
            for (a, (&p, &s)) in position.iter().zip(&strides).enumerate() {
                at += if a == axis { i * s } else { p * s };
            }
            out[at] += v;
            advance(&mut position, self.shape());
        }
        Tensor::try_from_vec(out, out_shape)
    }

    /// The backward of `gather` (see [`Tensor::try_scatter_add`]).
    #[track_caller]
    pub fn scatter_add(&self, axis: impl Axis, index: &[usize], out_shape: &[usize]) -> Tensor {
        or_panic(self.try_scatter_add(axis, index, out_shape))
    }

    /// One-hot rows: `[labels.len(), classes]` with a 1 at each label.
    pub fn try_one_hot(labels: &[usize], classes: usize) -> Result<Tensor> {
        let mut out = crate::buffer::zeroed(labels.len() * classes);
        for (row, &label) in labels.iter().enumerate() {
            if label >= classes {
                return Err(TensorError::IndexOutOfRange {
                    op: "one_hot",
                    index: label,
                    axis: 1,
                    size: classes,
                    shape: vec![labels.len(), classes],
                });
            }
            out[row * classes + label] = 1.0;
        }
        Tensor::try_from_vec(out, &[labels.len(), classes])
    }

    /// One-hot rows (see [`Tensor::try_one_hot`]).
    #[track_caller]
    pub fn one_hot(labels: &[usize], classes: usize) -> Tensor {
        or_panic(Self::try_one_hot(labels, classes))
    }

    /// `condition ? on_true : on_false` elementwise, all three broadcast together; a non-zero
    /// condition element counts as true.
    pub fn try_where_cond(
        condition: &Tensor,
        on_true: &Tensor,
        on_false: &Tensor,
    ) -> Result<Tensor> {
        let shape = broadcast_shapes("where", condition.shape(), on_true.shape())?;
        let shape = broadcast_shapes("where", &shape, on_false.shape())?;
        let c = condition.broadcast_to(&shape).to_vec();
        let a = on_true.broadcast_to(&shape).to_vec();
        let b = on_false.broadcast_to(&shape).to_vec();
        let out = c
            .iter()
            .zip(a.iter().zip(&b))
            .map(|(&c, (&a, &b))| if c != 0.0 { a } else { b })
            .collect();
        Tensor::try_from_vec(out, &shape)
    }

    /// `condition ? on_true : on_false` elementwise (see [`Tensor::try_where_cond`]).
    #[track_caller]
    pub fn where_cond(condition: &Tensor, on_true: &Tensor, on_false: &Tensor) -> Tensor {
        or_panic(Self::try_where_cond(condition, on_true, on_false))
    }
}

fn check_gather_shapes(
    op: &'static str,
    source: &[usize],
    axis: usize,
    index: &[usize],
    index_shape: &[usize],
) -> Result<()> {
    let fits = index_shape.len() == source.len()
        && index_shape
            .iter()
            .zip(source)
            .enumerate()
            .all(|(a, (&i, &s))| a == axis || i <= s)
        && index.len() == index_shape.iter().product::<usize>();
    if fits {
        Ok(())
    } else {
        Err(TensorError::shape_mismatch_because(
            op,
            source,
            index_shape,
            format!("the index ({} values) must have the source's rank and fit inside it off axis {axis}", index.len()),
        ))
    }
}

/// Advances a row-major multi-index by one.
fn advance(position: &mut [usize], shape: &[usize]) {
    for a in (0..position.len()).rev() {
        position[a] += 1;
        if position[a] < shape[a] {
            return;
        }
        position[a] = 0;
    }
}

#[cfg(test)]
mod tests {
    use crate::Tensor;

    #[test]
    fn index_select_and_index_add_are_adjoint() {
        let table = Tensor::from_fn(&[4, 2], |i| i as f32);
        let picked = table.index_select(0, &[3, 0, 3]);
        assert_eq!(picked.to_vec(), vec![6.0, 7.0, 0.0, 1.0, 6.0, 7.0]);
        let back = Tensor::ones(&[3, 2]).index_add(0, &[3, 0, 3], 4);
        assert_eq!(back.to_vec(), vec![1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 2.0, 2.0]);
        assert!(table.try_index_select(0, &[4]).is_err());
    }

    #[test]
    fn gather_picks_class_scores_and_scatter_add_returns_them() {
        let logits = Tensor::from_fn(&[2, 3], |i| i as f32);
        let picked = logits.gather(1, &[2, 0], &[2, 1]);
        assert_eq!(picked.to_vec(), vec![2.0, 3.0]);
        let back = Tensor::ones(&[2, 1]).scatter_add(1, &[2, 0], &[2, 3]);
        assert_eq!(back.to_vec(), vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
        assert!(logits.try_gather(1, &[3, 0], &[2, 1]).is_err());
    }

    #[test]
    fn one_hot_and_where() {
        let h = Tensor::one_hot(&[1, 0], 3);
        assert_eq!(h.to_vec(), vec![0.0, 1.0, 0.0, 1.0, 0.0, 0.0]);
        assert!(Tensor::try_one_hot(&[3], 3).is_err());
        let w = Tensor::where_cond(&h, &Tensor::scalar(5.0), &Tensor::full(&[2, 3], -1.0));
        assert_eq!(w.to_vec(), vec![-1.0, 5.0, -1.0, 5.0, -1.0, -1.0]);
    }
}
