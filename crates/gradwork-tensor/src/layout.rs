//! Shapes, strides and offsets: how a tensor's elements sit in its storage.

use crate::dims::Dims;
use crate::error::{Result, TensorError};

/// An axis argument: `usize` counts from the front, negative signed integers count from the end
/// (`-1` is the last axis), as in NumPy and PyTorch.
pub trait Axis: Copy {
    /// Resolves the axis against `ndim` dimensions, or explains why it is out of range.
    fn resolve(self, op: &'static str, shape: &[usize]) -> Result<usize>;
}

fn resolve_signed(axis: i64, op: &'static str, shape: &[usize]) -> Result<usize> {
    let ndim = shape.len() as i64;
    let resolved = if axis < 0 { axis + ndim } else { axis };
    if resolved < 0 || resolved >= ndim {
        return Err(TensorError::AxisOutOfRange {
            op,
            axis,
            shape: shape.to_vec(),
        });
    }
    Ok(resolved as usize)
}

impl Axis for usize {
    fn resolve(self, op: &'static str, shape: &[usize]) -> Result<usize> {
        resolve_signed(self as i64, op, shape)
    }
}
impl Axis for i32 {
    fn resolve(self, op: &'static str, shape: &[usize]) -> Result<usize> {
        resolve_signed(self as i64, op, shape)
    }
}
impl Axis for i64 {
    fn resolve(self, op: &'static str, shape: &[usize]) -> Result<usize> {
        resolve_signed(self, op, shape)
    }
}
impl Axis for isize {
    fn resolve(self, op: &'static str, shape: &[usize]) -> Result<usize> {
        resolve_signed(self as i64, op, shape)
    }
}

/// Row-major (C order) strides for `shape`.
pub fn contiguous_strides(shape: &[usize]) -> Vec<usize> {
    contiguous_strides_dims(shape).to_vec()
}

/// [`contiguous_strides`] without a heap allocation for up to six axes.
pub(crate) fn contiguous_strides_dims(shape: &[usize]) -> Dims {
    let mut strides = Dims::zeros(shape.len());
    let mut acc = 1usize;
    for (stride, &dim) in strides.iter_mut().zip(shape).rev() {
        *stride = acc;
        acc = acc.saturating_mul(dim);
    }
    strides
}

/// The number of elements of `shape` (1 for a scalar), or `None` on overflow.
pub fn checked_numel(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

/// The NumPy broadcast of two shapes: align from the right; sizes must match or one must be 1.
pub fn broadcast_shapes(op: &'static str, lhs: &[usize], rhs: &[usize]) -> Result<Vec<usize>> {
    let ndim = lhs.len().max(rhs.len());
    let mut out = vec![0; ndim];
    for i in 0..ndim {
        let l = if i < ndim - lhs.len() {
            1
        } else {
            lhs[i - (ndim - lhs.len())]
        };
        let r = if i < ndim - rhs.len() {
            1
        } else {
            rhs[i - (ndim - rhs.len())]
        };
        out[i] = match (l, r) {
            (a, b) if a == b => a,
            (1, b) => b,
            (a, 1) => a,
            _ => {
                return Err(TensorError::shape_mismatch_because(
                    op,
                    lhs,
                    rhs,
                    format!("cannot broadcast size {l} against {r} at output axis {i}"),
                ))
            }
        };
    }
    Ok(out)
}

/// Where a tensor's elements live in its storage: element `[i0, i1, ...]` is at
/// `offset + i0 * strides[0] + i1 * strides[1] + ...`.
///
/// A stride of 0 repeats an element (broadcasting); transposes permute strides. No stride is
/// negative, so every view addresses storage between `offset` and `offset + span`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    shape: Dims,
    strides: Dims,
    offset: usize,
}

impl Layout {
    /// The row-major layout of `shape` starting at offset 0.
    pub fn contiguous(shape: &[usize]) -> Self {
        Layout {
            strides: contiguous_strides_dims(shape),
            shape: Dims::from(shape),
            offset: 0,
        }
    }

    /// A layout from its parts; the caller guarantees it stays inside the storage.
    pub(crate) fn from_parts(
        shape: impl Into<Dims>,
        strides: impl Into<Dims>,
        offset: usize,
    ) -> Self {
        let (shape, strides) = (shape.into(), strides.into());
        debug_assert_eq!(shape.len(), strides.len());
        Layout {
            shape,
            strides,
            offset,
        }
    }

    /// The size of each axis.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The storage step of each axis.
    pub fn strides(&self) -> &[usize] {
        &self.strides
    }

    /// The storage index of the first element.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The number of elements.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// True when the elements are stored in row-major order without gaps (size-1 axes may have
    /// any stride).
    pub fn is_contiguous(&self) -> bool {
        let mut expected = 1usize;
        for (&dim, &stride) in self.shape.iter().zip(&self.strides).rev() {
            if dim != 1 && stride != expected {
                return false;
            }
            expected *= dim;
        }
        true
    }

    /// The smallest storage length that holds every element of this layout.
    pub fn required_storage(&self) -> usize {
        if self.numel() == 0 {
            return self.offset;
        }
        self.offset
            + self
                .shape
                .iter()
                .zip(&self.strides)
                .map(|(&d, &s)| (d - 1) * s)
                .sum::<usize>()
            + 1
    }

    /// This layout with its axes permuted: axis `i` of the result is axis `perm[i]` of `self`.
    pub(crate) fn permuted(&self, perm: &[usize]) -> Self {
        Layout {
            shape: perm.iter().map(|&p| self.shape[p]).collect(),
            strides: perm.iter().map(|&p| self.strides[p]).collect(),
            offset: self.offset,
        }
    }

    /// This layout broadcast to `target` (which must be a valid broadcast of this shape):
    /// new leading axes and size-1 axes that grow get stride 0.
    pub(crate) fn broadcast_to(&self, target: &[usize]) -> Self {
        let lead = target.len() - self.shape.len();
        let mut strides = Dims::zeros(target.len());
        for i in 0..self.shape.len() {
            strides[lead + i] = if self.shape[i] == target[lead + i] {
                self.strides[i]
            } else {
                0
            };
        }
        Layout {
            shape: Dims::from(target),
            strides,
            offset: self.offset,
        }
    }

    /// Calls `f` with the storage index of every element, in row-major order of the shape.
    pub fn for_each_index(&self, mut f: impl FnMut(usize)) {
        let numel = self.numel();
        if numel == 0 {
            return;
        }
        let ndim = self.shape.len();
        if ndim == 0 {
            f(self.offset);
            return;
        }
        let inner = self.shape[ndim - 1];
        let inner_stride = self.strides[ndim - 1];
        let mut index = Dims::zeros(ndim - 1);
        let mut base = self.offset;
        loop {
            for k in 0..inner {
                f(base + k * inner_stride);
            }
            // Odometer over the outer axes.
            let mut axis = ndim - 1;
            loop {
                if axis == 0 {
                    return;
                }
                axis -= 1;
                index[axis] += 1;
                base += self.strides[axis];
                if index[axis] < self.shape[axis] {
                    break;
                }
                base -= self.strides[axis] * self.shape[axis];
                index[axis] = 0;
            }
        }
    }

    /// Calls `f(start, len, stride)` for each run of the innermost axis in row-major order, after
    /// merging adjacent axes that are contiguous with each other (so a permuted view whose trailing
    /// axes are untouched yields long `stride == 1` runs that can be copied as slices).
    pub fn for_each_run(&self, mut f: impl FnMut(usize, usize, usize)) {
        if self.numel() == 0 {
            return;
        }
        // Merge axis i into i+1 when stepping i once equals stepping i+1 over its whole length.
        let mut shape = Dims::with_capacity(self.shape.len());
        let mut strides = Dims::with_capacity(self.shape.len());
        for (&dim, &stride) in self.shape.iter().zip(&self.strides) {
            if dim == 1 {
                continue;
            }
            match (shape.last_mut(), strides.last_mut()) {
                (Some(d), Some(s)) if *s == stride * dim => {
                    *d *= dim;
                    *s = stride;
                }
                _ => {
                    shape.push(dim);
                    strides.push(stride);
                }
            }
        }
        if shape.is_empty() {
            f(self.offset, 1, 1);
            return;
        }
        let merged = Layout::from_parts(shape, strides, self.offset);
        let ndim = merged.shape.len();
        let (inner, inner_stride) = (merged.shape[ndim - 1], merged.strides[ndim - 1]);
        let outer = Layout::from_parts(
            &merged.shape[..ndim - 1],
            &merged.strides[..ndim - 1],
            merged.offset,
        );
        outer.for_each_index(|base| f(base, inner, inner_stride));
    }

    /// The storage index of the element at row-major position `flat`.
    pub fn index_of_flat(&self, mut flat: usize) -> usize {
        let mut index = self.offset;
        for (&dim, &stride) in self.shape.iter().zip(&self.strides).rev() {
            index += (flat % dim) * stride;
            flat /= dim;
        }
        index
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_follows_numpy_rules() {
        assert_eq!(
            broadcast_shapes("t", &[2, 1, 4], &[3, 1]).unwrap(),
            vec![2, 3, 4]
        );
        assert_eq!(broadcast_shapes("t", &[], &[5]).unwrap(), vec![5]);
        let err = broadcast_shapes("add", &[2, 3], &[4]).unwrap_err();
        assert!(
            err.to_string().contains("add: shapes [2, 3] and [4]"),
            "{err}"
        );
    }

    #[test]
    fn for_each_index_walks_a_transposed_view_in_row_major_order() {
        let layout = Layout::contiguous(&[2, 3]).permuted(&[1, 0]);
        let mut seen = vec![];
        layout.for_each_index(|i| seen.push(i));
        assert_eq!(seen, vec![0, 3, 1, 4, 2, 5]);
        for (flat, &i) in seen.iter().enumerate() {
            assert_eq!(layout.index_of_flat(flat), i);
        }
    }

    #[test]
    fn runs_cover_the_same_indices_in_the_same_order_as_for_each_index() {
        let layouts = [
            Layout::contiguous(&[2, 3, 4]),
            Layout::contiguous(&[2, 3, 4, 5]).permuted(&[1, 0, 2, 3]),
            Layout::contiguous(&[2, 3, 4]).permuted(&[2, 0, 1]),
            Layout::from_parts(vec![3, 1, 4], vec![0, 7, 1], 2), // broadcast + size-1 axis
            Layout::from_parts(vec![2, 3, 2], vec![20, 5, 1], 1), // narrowed rows
            Layout::from_parts(vec![4, 2], vec![0, 0], 5),       // fully broadcast
            Layout::from_parts(vec![1, 1], vec![3, 9], 4),       // one element
        ];
        for layout in &layouts {
            let mut want = vec![];
            layout.for_each_index(|i| want.push(i));
            let mut got = vec![];
            layout.for_each_run(|start, len, stride| {
                got.extend((0..len).map(|k| start + k * stride))
            });
            assert_eq!(got, want, "{layout:?}");
        }
    }

    #[test]
    fn contiguity_ignores_the_strides_of_size_one_axes() {
        let layout = Layout::from_parts(vec![1, 3], vec![99, 1], 0);
        assert!(layout.is_contiguous());
        assert!(!Layout::contiguous(&[2, 3])
            .permuted(&[1, 0])
            .is_contiguous());
    }

    #[test]
    fn negative_axes_count_from_the_end() {
        assert_eq!((-1i32).resolve("t", &[2, 3]).unwrap(), 1);
        assert!(2usize.resolve("t", &[2, 3]).is_err());
        assert!((-3i32).resolve("t", &[2, 3]).is_err());
    }
}
