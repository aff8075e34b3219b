//! Shape ops: reshape, permute/transpose, broadcast_to, squeeze/unsqueeze, narrow/select, pad.

use gradwork_tensor::{Axis, Tensor};

use crate::error::{or_panic, Result};
use crate::var::Var;

impl Var {
    /// The same elements in a new shape; backward reshapes the gradient back.
    pub fn try_reshape(&self, shape: &[usize]) -> Result<Var> {
        let value = self.value().try_reshape(shape)?;
        let original = self.shape().to_vec();
        Var::from_op("reshape", &[self], value, move || {
            move |g: &Tensor, _: &[bool]| Ok(vec![Some(g.try_reshape(&original)?)])
        })
    }

    /// The same elements in a new shape.
    #[track_caller]
    pub fn reshape(&self, shape: &[usize]) -> Var {
        or_panic(self.try_reshape(shape))
    }

    /// Collapses the axes from `start_axis` on into one.
    pub fn try_flatten_from(&self, start_axis: impl Axis) -> Result<Var> {
        let flat = self.value().try_flatten_from(start_axis)?;
        self.try_reshape(flat.shape())
    }

    /// Collapses the axes from `start_axis` on into one.
    #[track_caller]
    pub fn flatten_from(&self, start_axis: impl Axis) -> Var {
        or_panic(self.try_flatten_from(start_axis))
    }

    /// Axes reordered; backward applies the inverse permutation.
    pub fn try_permute(&self, perm: &[usize]) -> Result<Var> {
        let value = self.value().try_permute(perm)?;
        let mut inverse = vec![0; perm.len()];
        for (i, &p) in perm.iter().enumerate() {
            inverse[p] = i;
        }
        Var::from_op("permute", &[self], value, move || {
            move |g: &Tensor, _: &[bool]| Ok(vec![Some(g.try_permute(&inverse)?)])
        })
    }

    /// Axes reordered.
    #[track_caller]
    pub fn permute(&self, perm: &[usize]) -> Var {
        or_panic(self.try_permute(perm))
    }

    /// Two axes swapped.
    pub fn try_transpose(&self, a: impl Axis, b: impl Axis) -> Result<Var> {
        let a = a.resolve("transpose", self.shape())?;
        let b = b.resolve("transpose", self.shape())?;
        let mut perm: Vec<usize> = (0..self.shape().len()).collect();
        perm.swap(a, b);
        self.try_permute(&perm)
    }

    /// Two axes swapped.
    #[track_caller]
    pub fn transpose(&self, a: impl Axis, b: impl Axis) -> Var {
        or_panic(self.try_transpose(a, b))
    }

    /// The last two axes swapped (1-D and 0-D unchanged).
    pub fn t(&self) -> Var {
        if self.shape().len() < 2 {
            return self.clone();
        }
        self.transpose(-2, -1)
    }

    /// Broadcast to `shape`; backward sums the gradient back.
    pub fn try_broadcast_to(&self, shape: &[usize]) -> Result<Var> {
        let value = self.value().try_broadcast_to(shape)?;
        let original = self.shape().to_vec();
        Var::from_op("broadcast_to", &[self], value, move || {
            move |g: &Tensor, _: &[bool]| Ok(vec![Some(g.try_sum_to_shape(&original)?)])
        })
    }

    /// Broadcast to `shape`.
    #[track_caller]
    pub fn broadcast_to(&self, shape: &[usize]) -> Var {
        or_panic(self.try_broadcast_to(shape))
    }

    /// Inserts a size-1 axis.
    pub fn try_unsqueeze(&self, axis: impl Axis) -> Result<Var> {
        let shape = self.value().try_unsqueeze(axis)?.shape().to_vec();
        self.try_reshape(&shape)
    }

    /// Inserts a size-1 axis.
    #[track_caller]
    pub fn unsqueeze(&self, axis: impl Axis) -> Var {
        or_panic(self.try_unsqueeze(axis))
    }

    /// Removes a size-1 axis.
    pub fn try_squeeze(&self, axis: impl Axis) -> Result<Var> {
        let shape = self.value().try_squeeze(axis)?.shape().to_vec();
        self.try_reshape(&shape)
    }

    /// Removes a size-1 axis.
    #[track_caller]
    pub fn squeeze(&self, axis: impl Axis) -> Var {
        or_panic(self.try_squeeze(axis))
    }

    /// The slice `start..start + len` of `axis`; backward pads the gradient with zeros.
    pub fn try_narrow(&self, axis: impl Axis, start: usize, len: usize) -> Result<Var> {
        let axis = axis.resolve("narrow", self.shape())?;
        let value = self.value().try_narrow(axis, start, len)?.contiguous();
        let size = self.shape()[axis];
        Var::from_op("narrow", &[self], value, move || {
            move |g: &Tensor, _: &[bool]| {
                let mut padding = vec![(0, 0); axis + 1];
                padding[axis] = (start, size - start - len);
                Ok(vec![Some(g.try_pad(&padding, 0.0)?)])
            }
        })
    }

    /// The slice `start..start + len` of `axis`.
    #[track_caller]
    pub fn narrow(&self, axis: impl Axis, start: usize, len: usize) -> Var {
        or_panic(self.try_narrow(axis, start, len))
    }

    /// Index `index` of `axis`, with the axis removed.
    pub fn try_select(&self, axis: impl Axis, index: usize) -> Result<Var> {
        let axis = axis.resolve("select", self.shape())?;
        self.try_narrow(axis, index, 1)?.try_squeeze(axis)
    }

    /// Index `index` of `axis`, with the axis removed.
    #[track_caller]
    pub fn select(&self, axis: impl Axis, index: usize) -> Var {
        or_panic(self.try_select(axis, index))
    }

    /// Pads with a constant: `padding[i] = (before, after)` for axis `i` (axes past
    /// `padding.len()` are not padded). Backward: the interior slice of the gradient.
    pub fn try_pad(&self, padding: &[(usize, usize)], value: f32) -> Result<Var> {
        let out = self.value().try_pad(padding, value)?;
        let shape = self.shape().to_vec();
        let padding = padding.to_vec();
        Var::from_op("pad", &[self], out, move || {
            move |g: &Tensor, _: &[bool]| {
                let mut interior = g.clone();
                for (axis, &(before, _)) in padding.iter().enumerate() {
                    interior = interior.try_narrow(axis, before, shape[axis])?;
                }
                Ok(vec![Some(interior.contiguous())])
            }
        })
    }

    /// Pads with a constant (see [`Var::try_pad`]).
    #[track_caller]
    pub fn pad(&self, padding: &[(usize, usize)], value: f32) -> Var {
        or_panic(self.try_pad(padding, value))
    }
}
