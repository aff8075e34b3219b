//! Views: reshape, transpose/permute, broadcast, narrow, squeeze/unsqueeze. None of them copies
//! data, except `reshape` of a non-contiguous tensor, which must.

use crate::dims::Dims;
use crate::error::{or_panic, Result, TensorError};
use crate::layout::{broadcast_shapes, checked_numel, Axis, Layout};
use crate::tensor::Tensor;

impl Tensor {
    /// The same elements in a new shape; the sizes must multiply to the same count. A view when
    /// `self` is contiguous, else a copy.
    pub fn try_reshape(&self, shape: &[usize]) -> Result<Tensor> {
        let n = checked_numel(shape).ok_or_else(|| {
            TensorError::invalid(
                "reshape",
                self.shape(),
                "the target element count overflows",
            )
        })?;
        if n != self.numel() {
            return Err(TensorError::shape_mismatch_because(
                "reshape",
                self.shape(),
                shape,
                format!("{} elements cannot be viewed as {n}", self.numel()),
            ));
        }
        let source = self.contiguous();
        Ok(Tensor::from_layout(
            source.storage,
            Layout::from_parts(
                shape,
                crate::layout::contiguous_strides_dims(shape),
                source.layout.offset(),
            ),
        ))
    }

    /// The same elements in a new shape (see [`Tensor::try_reshape`]).
    #[track_caller]
    pub fn reshape(&self, shape: &[usize]) -> Tensor {
        or_panic(self.try_reshape(shape))
    }

    /// Collapses everything from `start_axis` on into one axis (`Flatten` in Keras uses 1).
    pub fn try_flatten_from(&self, start_axis: impl Axis) -> Result<Tensor> {
        if self.ndim() == 0 {
            return self.try_reshape(&[1]);
        }
        let start = start_axis.resolve("flatten", self.shape())?;
        let mut shape = self.shape()[..start].to_vec();
        shape.push(self.shape()[start..].iter().product());
        self.try_reshape(&shape)
    }

    /// Collapses everything from `start_axis` on into one axis.
    #[track_caller]
    pub fn flatten_from(&self, start_axis: impl Axis) -> Tensor {
        or_panic(self.try_flatten_from(start_axis))
    }

    /// Axes reordered: axis `i` of the result is axis `perm[i]` of `self`. A view.
    pub fn try_permute(&self, perm: &[usize]) -> Result<Tensor> {
        let mut seen = vec![false; self.ndim()];
        let valid = perm.len() == self.ndim()
            && perm
                .iter()
                .all(|&p| p < seen.len() && !std::mem::replace(&mut seen[p], true));
        if !valid {
            return Err(TensorError::invalid(
                "permute",
                self.shape(),
                format!("{perm:?} is not a permutation of the {} axes", self.ndim()),
            ));
        }
        Ok(Tensor::from_layout(
            self.storage.clone(),
            self.layout.permuted(perm),
        ))
    }

    /// Axes reordered (see [`Tensor::try_permute`]).
    #[track_caller]
    pub fn permute(&self, perm: &[usize]) -> Tensor {
        or_panic(self.try_permute(perm))
    }

    /// Two axes swapped. A view.
    pub fn try_transpose(&self, a: impl Axis, b: impl Axis) -> Result<Tensor> {
        let a = a.resolve("transpose", self.shape())?;
        let b = b.resolve("transpose", self.shape())?;
        let mut perm: Vec<usize> = (0..self.ndim()).collect();
        perm.swap(a, b);
        self.try_permute(&perm)
    }

    /// Two axes swapped. A view.
    #[track_caller]
    pub fn transpose(&self, a: impl Axis, b: impl Axis) -> Tensor {
        or_panic(self.try_transpose(a, b))
    }

    /// The last two axes swapped (the matrix transpose; a 1-D tensor is returned unchanged).
    pub fn t(&self) -> Tensor {
        if self.ndim() < 2 {
            return self.clone();
        }
        self.transpose(-2, -1)
    }

    /// A view of `self` broadcast to `shape` (NumPy rules; repeated elements share storage).
    pub fn try_broadcast_to(&self, shape: &[usize]) -> Result<Tensor> {
        let out = broadcast_shapes("broadcast_to", self.shape(), shape)?;
        if out != shape {
            return Err(TensorError::shape_mismatch_because(
                "broadcast_to",
                self.shape(),
                shape,
                "the target shape must be the broadcast result",
            ));
        }
        Ok(Tensor::from_layout(
            self.storage.clone(),
            self.layout.broadcast_to(shape),
        ))
    }

    /// A view of `self` broadcast to `shape`.
    #[track_caller]
    pub fn broadcast_to(&self, shape: &[usize]) -> Tensor {
        or_panic(self.try_broadcast_to(shape))
    }

    /// The slice `start..start + len` of `axis`. A view.
    pub fn try_narrow(&self, axis: impl Axis, start: usize, len: usize) -> Result<Tensor> {
        let axis = axis.resolve("narrow", self.shape())?;
        let size = self.shape()[axis];
        if start.checked_add(len).is_none_or(|end| end > size) {
            return Err(TensorError::invalid(
                "narrow",
                self.shape(),
                format!(
                    "range {start}..{} exceeds axis {axis} of size {size}",
                    start.saturating_add(len)
                ),
            ));
        }
        let mut shape = Dims::from(self.shape());
        shape[axis] = len;
        // An empty result addresses no element, so it keeps the offset: moving it could point
        // past the end of an empty buffer (e.g. narrowing axis 1 of a `[0, 3]` tensor).
        let offset = if shape.contains(&0) {
            self.layout.offset()
        } else {
            self.layout.offset() + start * self.strides()[axis]
        };
        Ok(Tensor::from_layout(
            self.storage.clone(),
            Layout::from_parts(shape, self.strides(), offset),
        ))
    }

    /// The slice `start..start + len` of `axis`. A view.
    #[track_caller]
    pub fn narrow(&self, axis: impl Axis, start: usize, len: usize) -> Tensor {
        or_panic(self.try_narrow(axis, start, len))
    }

    /// Index `index` of `axis`, with that axis removed (PyTorch's `select`). A view.
    pub fn try_select(&self, axis: impl Axis, index: usize) -> Result<Tensor> {
        let axis = axis.resolve("select", self.shape())?;
        if index >= self.shape()[axis] {
            return Err(TensorError::IndexOutOfRange {
                op: "select",
                index,
                axis,
                size: self.shape()[axis],
                shape: self.shape().to_vec(),
            });
        }
        let view = self.try_narrow(axis, index, 1)?;
        view.try_squeeze(axis)
    }

    /// Index `index` of `axis`, with that axis removed. A view.
    #[track_caller]
    pub fn select(&self, axis: impl Axis, index: usize) -> Tensor {
        or_panic(self.try_select(axis, index))
    }

    /// Removes `axis`, which must have size 1. A view.
    pub fn try_squeeze(&self, axis: impl Axis) -> Result<Tensor> {
        let axis = axis.resolve("squeeze", self.shape())?;
        if self.shape()[axis] != 1 {
            return Err(TensorError::invalid(
                "squeeze",
                self.shape(),
                format!("axis {axis} has size {}, not 1", self.shape()[axis]),
            ));
        }
        let mut shape = self.shape().to_vec();
        let mut strides = self.strides().to_vec();
        shape.remove(axis);
        strides.remove(axis);
        Ok(Tensor::from_layout(
            self.storage.clone(),
            Layout::from_parts(shape, strides, self.layout.offset()),
        ))
    }

    /// Removes `axis`, which must have size 1. A view.
    #[track_caller]
    pub fn squeeze(&self, axis: impl Axis) -> Tensor {
        or_panic(self.try_squeeze(axis))
    }

    /// Removes every axis of size 1. A view.
    pub fn squeeze_all(&self) -> Tensor {
        let (shape, strides): (Vec<usize>, Vec<usize>) = self
            .shape()
            .iter()
            .zip(self.strides())
            .filter(|(&d, _)| d != 1)
            .map(|(&d, &s)| (d, s))
            .unzip();
        Tensor::from_layout(
            self.storage.clone(),
            Layout::from_parts(shape, strides, self.layout.offset()),
        )
    }

    /// Inserts an axis of size 1 so that it becomes axis `axis` of the result (`-1` appends). A view.
    pub fn try_unsqueeze(&self, axis: impl Axis) -> Result<Tensor> {
        // Resolve against the result's rank, which has one more axis.
        let mut probe = self.shape().to_vec();
        probe.push(1);
        let axis = axis.resolve("unsqueeze", &probe)?;
        let mut shape = self.shape().to_vec();
        let mut strides = self.strides().to_vec();
        let stride = if axis < strides.len() {
            strides[axis] * shape[axis]
        } else {
            1
        };
        shape.insert(axis, 1);
        strides.insert(axis, stride);
        Ok(Tensor::from_layout(
            self.storage.clone(),
            Layout::from_parts(shape, strides, self.layout.offset()),
        ))
    }

    /// Inserts an axis of size 1 at `axis`. A view.
    #[track_caller]
    pub fn unsqueeze(&self, axis: impl Axis) -> Tensor {
        or_panic(self.try_unsqueeze(axis))
    }
}

#[cfg(test)]
mod tests {
    use crate::Tensor;

    fn iota(shape: &[usize]) -> Tensor {
        Tensor::from_fn(shape, |i| i as f32)
    }

    #[test]
    fn transpose_is_a_view_and_reshape_of_it_copies() {
        let a = iota(&[2, 3]);
        let t = a.t();
        assert!(t.shares_storage_with(&a));
        assert_eq!(t.reshape(&[6]).to_vec(), vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
        assert!(a.reshape(&[3, 2]).shares_storage_with(&a));
    }

    #[test]
    fn narrow_select_and_squeeze_pick_the_right_elements() {
        let a = iota(&[3, 4]);
        assert_eq!(
            a.narrow(1, 1, 2).to_vec(),
            vec![1.0, 2.0, 5.0, 6.0, 9.0, 10.0]
        );
        assert_eq!(a.select(0, 2).to_vec(), vec![8.0, 9.0, 10.0, 11.0]);
        assert_eq!(a.select(-1, 0).to_vec(), vec![0.0, 4.0, 8.0]);
        assert!(a.try_narrow(1, 3, 2).is_err());
        assert_eq!(a.unsqueeze(0).shape(), &[1, 3, 4]);
        assert_eq!(a.unsqueeze(-1).shape(), &[3, 4, 1]);
        assert_eq!(a.unsqueeze(1).squeeze(1).to_vec(), a.to_vec());
    }

    #[test]
    fn broadcast_to_repeats_without_copying() {
        let row = iota(&[3]);
        let b = row.broadcast_to(&[2, 3]);
        assert_eq!(b.to_vec(), vec![0.0, 1.0, 2.0, 0.0, 1.0, 2.0]);
        assert!(row.try_broadcast_to(&[2, 4]).is_err());
    }

    #[test]
    fn permute_rejects_a_non_permutation() {
        let a = iota(&[2, 3, 4]);
        assert_eq!(a.permute(&[2, 0, 1]).shape(), &[4, 2, 3]);
        assert!(a.try_permute(&[0, 0, 1]).is_err());
        assert!(a.try_permute(&[0, 1]).is_err());
    }
}
