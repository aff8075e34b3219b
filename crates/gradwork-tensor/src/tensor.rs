//! The `Tensor` type: shared f32 storage plus a layout; constructors, accessors and copy-on-write.

use std::sync::Arc;

use crate::buffer::Buffer;
use crate::error::{or_panic, Result, TensorError};
use crate::layout::{checked_numel, Layout};
use crate::rng::Rng;

/// The element type of every tensor.
pub type Elem = f32;

/// An n-dimensional array of `f32` over shared, reference-counted storage.
///
/// Cloning a tensor and taking views (transpose, permute, broadcast, narrow, reshape of contiguous
/// data) share storage and copy nothing; mutation through [`Tensor::data_mut`] copies only when the
/// storage is shared or the layout is not contiguous (copy-on-write). Results of computations are
/// always contiguous.
///
/// ```
/// use gradwork_tensor::Tensor;
/// let a = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
/// let t = a.t(); // a view, no copy
/// assert_eq!(t.shape(), &[3, 2]);
/// assert_eq!(t.to_vec(), vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
/// assert_eq!((&a + &a).to_vec(), vec![2.0, 4.0, 6.0, 8.0, 10.0, 12.0]);
/// ```
#[derive(Clone)]
pub struct Tensor {
    pub(crate) storage: Arc<Buffer>,
    pub(crate) layout: Layout,
}

impl Tensor {
    // ----------------------------------------------------------------- construction

    /// A tensor of `shape` holding `data` in row-major order, or an error when the lengths differ.
    pub fn try_from_vec(data: Vec<Elem>, shape: &[usize]) -> Result<Self> {
        let expected = checked_numel(shape).ok_or_else(|| {
            TensorError::invalid(
                "from_vec",
                shape,
                "the shape's element count overflows usize",
            )
        })?;
        if data.len() != expected {
            return Err(TensorError::DataLength {
                op: "from_vec",
                len: data.len(),
                shape: shape.to_vec(),
                expected,
            });
        }
        Ok(Tensor {
            storage: Arc::new(Buffer::from(data)),
            layout: Layout::contiguous(shape),
        })
    }

    /// A tensor of `shape` holding `data` in row-major order.
    ///
    /// # Panics
    /// When `data.len()` is not the product of `shape`.
    #[track_caller]
    pub fn from_vec(data: Vec<Elem>, shape: &[usize]) -> Self {
        or_panic(Self::try_from_vec(data, shape))
    }

    /// A tensor of `shape` copied from `data`.
    #[track_caller]
    pub fn from_slice(data: &[Elem], shape: &[usize]) -> Self {
        Self::from_vec(data.to_vec(), shape)
    }

    /// A 0-dimensional tensor holding `value`.
    pub fn scalar(value: Elem) -> Self {
        Self::from_vec(vec![value], &[])
    }

    /// A tensor of `shape` whose every element is `value`.
    pub fn full(shape: &[usize], value: Elem) -> Self {
        let n = checked_numel(shape).expect("full: the shape's element count overflows usize");
        Self::from_vec(vec![value; n], shape)
    }

    /// A tensor of zeros.
    pub fn zeros(shape: &[usize]) -> Self {
        Self::full(shape, 0.0)
    }

    /// A tensor of ones.
    pub fn ones(shape: &[usize]) -> Self {
        Self::full(shape, 1.0)
    }

    /// Zeros with the shape of `other`.
    pub fn zeros_like(other: &Tensor) -> Self {
        Self::zeros(other.shape())
    }

    /// The `n x n` identity matrix.
    pub fn eye(n: usize) -> Self {
        let mut data = crate::buffer::zeroed(n * n);
        for i in 0..n {
            data[i * n + i] = 1.0;
        }
        Self::from_vec(data, &[n, n])
    }

    /// `start, start + step, ...` up to but excluding `end`, as in `numpy.arange`.
    ///
    /// # Panics
    /// When `step` is zero or not finite.
    #[track_caller]
    pub fn arange(start: Elem, end: Elem, step: Elem) -> Self {
        assert!(
            step != 0.0 && step.is_finite(),
            "arange: step must be finite and non-zero, got {step}"
        );
        let count = (((end as f64) - (start as f64)) / step as f64)
            .ceil()
            .max(0.0) as usize;
        let data = (0..count)
            .map(|i| (start as f64 + i as f64 * step as f64) as Elem)
            .collect::<Vec<_>>();
        let n = data.len();
        Self::from_vec(data, &[n])
    }

    /// `count` evenly spaced values from `start` to `end` inclusive, as in `numpy.linspace`.
    pub fn linspace(start: Elem, end: Elem, count: usize) -> Self {
        let data = match count {
            0 => vec![],
            1 => vec![start],
            _ => {
                let step = (end as f64 - start as f64) / (count - 1) as f64;
                (0..count)
                    .map(|i| {
                        if i == count - 1 {
                            end
                        } else {
                            (start as f64 + i as f64 * step) as Elem
                        }
                    })
                    .collect()
            }
        };
        Self::from_vec(data, &[count])
    }

    /// Uniform samples in `[low, high)` drawn from `rng` in row-major order.
    pub fn rand_uniform(shape: &[usize], low: Elem, high: Elem, rng: &mut Rng) -> Self {
        let n = checked_numel(shape).expect("rand_uniform: element count overflows usize");
        let span = high - low;
        let data = (0..n).map(|_| low + span * rng.next_f32()).collect();
        Self::from_vec(data, shape)
    }

    /// Normal samples with the given mean and standard deviation, drawn from `rng` in row-major order.
    pub fn rand_normal(shape: &[usize], mean: Elem, std: Elem, rng: &mut Rng) -> Self {
        let n = checked_numel(shape).expect("rand_normal: element count overflows usize");
        let data = (0..n)
            .map(|_| (mean as f64 + std as f64 * rng.next_normal()) as Elem)
            .collect();
        Self::from_vec(data, shape)
    }

    /// A tensor whose element at row-major position `i` is `f(i)`.
    pub fn from_fn(shape: &[usize], f: impl FnMut(usize) -> Elem) -> Self {
        let n = checked_numel(shape).expect("from_fn: element count overflows usize");
        Self::from_vec((0..n).map(f).collect(), shape)
    }

    pub(crate) fn from_layout(storage: Arc<Buffer>, layout: Layout) -> Self {
        debug_assert!(layout.required_storage() <= storage.len());
        Tensor { storage, layout }
    }

    // ----------------------------------------------------------------- inspection

    /// The size of each axis.
    pub fn shape(&self) -> &[usize] {
        self.layout.shape()
    }

    /// The size of each axis (alias of [`Tensor::shape`], PyTorch's `size()`).
    pub fn dims(&self) -> &[usize] {
        self.layout.shape()
    }

    /// The number of axes.
    pub fn ndim(&self) -> usize {
        self.layout.shape().len()
    }

    /// The number of elements.
    pub fn numel(&self) -> usize {
        self.layout.numel()
    }

    /// The layout (shape, strides, offset) into the storage.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The storage step of each axis.
    pub fn strides(&self) -> &[usize] {
        self.layout.strides()
    }

    /// True when the elements are contiguous and row-major in storage.
    pub fn is_contiguous(&self) -> bool {
        self.layout.is_contiguous()
    }

    /// True when `self` and `other` view the same storage buffer.
    pub fn shares_storage_with(&self, other: &Tensor) -> bool {
        Arc::ptr_eq(&self.storage, &other.storage)
    }

    /// The elements as a row-major slice when the tensor is contiguous, else `None`.
    pub fn as_slice(&self) -> Option<&[Elem]> {
        if self.is_contiguous() {
            let start = self.layout.offset();
            Some(&self.storage[start..start + self.numel()])
        } else {
            None
        }
    }

    /// The whole underlying storage buffer (which a view may only partly use).
    pub fn storage(&self) -> &[Elem] {
        &self.storage
    }

    /// The elements in row-major order, copied into a new `Vec`.
    pub fn to_vec(&self) -> Vec<Elem> {
        if let Some(slice) = self.as_slice() {
            let mut out = crate::buffer::with_capacity(slice.len());
            out.extend_from_slice(slice);
            return out;
        }
        let mut out = crate::buffer::with_capacity(self.numel());
        self.layout.for_each_run(|start, len, stride| {
            if stride == 1 {
                out.extend_from_slice(&self.storage[start..start + len]);
            } else {
                out.extend((0..len).map(|k| self.storage[start + k * stride]));
            }
        });
        out
    }

    /// A contiguous tensor with the same elements: `self` (shared) when already contiguous, else a copy.
    pub fn contiguous(&self) -> Tensor {
        if self.is_contiguous() {
            return self.clone();
        }
        Tensor::from_vec(self.to_vec(), self.shape())
    }

    /// The value of a one-element tensor (any shape with one element).
    ///
    /// # Panics
    /// When the tensor does not hold exactly one element.
    #[track_caller]
    pub fn item(&self) -> Elem {
        or_panic(self.try_item())
    }

    /// The value of a one-element tensor, or an error naming its shape.
    pub fn try_item(&self) -> Result<Elem> {
        if self.numel() != 1 {
            return Err(TensorError::invalid(
                "item",
                self.shape(),
                "only a tensor with exactly one element has an item",
            ));
        }
        Ok(self.storage[self.layout.offset()])
    }

    /// The element at a multi-index, or an error when it is out of range.
    pub fn try_get(&self, index: &[usize]) -> Result<Elem> {
        if index.len() != self.ndim() {
            return Err(TensorError::invalid(
                "get",
                self.shape(),
                format!("an index of {} axes was given", index.len()),
            ));
        }
        let mut at = self.layout.offset();
        for (axis, ((&i, &dim), &stride)) in index
            .iter()
            .zip(self.shape())
            .zip(self.strides())
            .enumerate()
        {
            if i >= dim {
                return Err(TensorError::IndexOutOfRange {
                    op: "get",
                    index: i,
                    axis,
                    size: dim,
                    shape: self.shape().to_vec(),
                });
            }
            at += i * stride;
        }
        Ok(self.storage[at])
    }

    /// The element at a multi-index.
    #[track_caller]
    pub fn get(&self, index: &[usize]) -> Elem {
        or_panic(self.try_get(index))
    }

    // ----------------------------------------------------------------- mutation (copy-on-write)

    /// Mutable access to the elements in row-major order. Copies first when the storage is
    /// shared with another tensor or the layout is not a contiguous view of the whole buffer.
    pub fn data_mut(&mut self) -> &mut [Elem] {
        let whole =
            self.is_contiguous() && self.layout.offset() == 0 && self.storage.len() == self.numel();
        if !whole {
            let copy = self.to_vec();
            self.storage = Arc::new(Buffer::from(copy));
            self.layout = Layout::contiguous(self.shape());
        }
        Arc::make_mut(&mut self.storage).as_mut_slice()
    }

    /// Consumes the tensor and returns its row-major elements, without copying when it owns a
    /// whole contiguous buffer.
    pub fn into_vec(self) -> Vec<Elem> {
        let whole =
            self.is_contiguous() && self.layout.offset() == 0 && self.storage.len() == self.numel();
        if whole {
            match Arc::try_unwrap(self.storage) {
                Ok(buffer) => buffer.into_vec(),
                Err(shared) => shared.to_vec(),
            }
        } else {
            self.to_vec()
        }
    }

    /// Sets every element to `value` (copy-on-write).
    pub fn fill_(&mut self, value: Elem) {
        self.data_mut().fill(value);
    }

    /// True when shapes are equal and every element is within `atol + rtol * |other|` (NumPy's
    /// `allclose`); NaNs are never close.
    pub fn allclose(&self, other: &Tensor, rtol: Elem, atol: Elem) -> bool {
        self.shape() == other.shape()
            && self
                .to_vec()
                .iter()
                .zip(other.to_vec())
                .all(|(&a, b)| (a - b).abs() <= atol + rtol * b.abs())
    }
}

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tensor(shape={:?}, ", self.shape())?;
        std::fmt::Display::fmt(self, f)?;
        write!(f, ")")
    }
}

impl PartialEq for Tensor {
    /// Equal shapes and numerically equal elements (so NaN is never equal).
    fn eq(&self, other: &Self) -> bool {
        self.shape() == other.shape() && self.to_vec() == other.to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_vec_checks_the_length_and_names_the_shape() {
        let err = Tensor::try_from_vec(vec![1.0; 5], &[2, 3]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "from_vec: 5 values cannot fill shape [2, 3] (6 elements)"
        );
    }

    #[test]
    fn data_mut_copies_shared_storage_only() {
        let a = Tensor::ones(&[2, 2]);
        let mut b = a.clone();
        assert!(a.shares_storage_with(&b));
        b.data_mut()[0] = 5.0;
        assert_eq!(a.to_vec(), vec![1.0; 4]);
        assert_eq!(b.to_vec(), vec![5.0, 1.0, 1.0, 1.0]);
        let ptr = b.storage.as_ptr();
        b.data_mut()[1] = 6.0;
        assert_eq!(
            ptr,
            b.storage.as_ptr(),
            "an unshared buffer must not be copied again"
        );
    }

    #[test]
    fn arange_and_linspace_match_numpy() {
        assert_eq!(Tensor::arange(0.0, 5.0, 2.0).to_vec(), vec![0.0, 2.0, 4.0]);
        assert_eq!(
            Tensor::arange(1.0, 0.0, -0.25).to_vec(),
            vec![1.0, 0.75, 0.5, 0.25]
        );
        assert_eq!(
            Tensor::linspace(0.0, 1.0, 5).to_vec(),
            vec![0.0, 0.25, 0.5, 0.75, 1.0]
        );
        assert_eq!(Tensor::linspace(2.0, 3.0, 1).to_vec(), vec![2.0]);
    }

    #[test]
    fn eye_has_ones_on_the_diagonal() {
        let e = Tensor::eye(3);
        for i in 0..3 {
            for j in 0..3 {
                assert_eq!(e.get(&[i, j]), if i == j { 1.0 } else { 0.0 });
            }
        }
    }

    #[test]
    fn random_constructors_are_reproducible_and_in_range() {
        let a = Tensor::rand_uniform(&[100], -2.0, 3.0, &mut Rng::seed_from(1));
        let b = Tensor::rand_uniform(&[100], -2.0, 3.0, &mut Rng::seed_from(1));
        assert_eq!(a.to_vec(), b.to_vec());
        assert!(a.to_vec().iter().all(|&x| (-2.0..3.0).contains(&x)));
        let n = Tensor::rand_normal(&[10_000], 3.0, 0.5, &mut Rng::seed_from(2)).to_vec();
        let mean = n.iter().map(|&x| x as f64).sum::<f64>() / n.len() as f64;
        assert!((mean - 3.0).abs() < 0.02);
    }

    #[test]
    fn get_reports_the_axis_of_an_out_of_range_index() {
        let t = Tensor::zeros(&[2, 3]);
        let err = t.try_get(&[1, 3]).unwrap_err();
        assert!(err
            .to_string()
            .contains("index 3 is out of range for axis 1 of size 3"));
    }
}
