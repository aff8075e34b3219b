//! What a product applies to its output as it writes it: the bias and activation of a dense
//! layer (`relu(x @ W^T + b)`, see [`crate::Tensor::try_linear`]).
//!
//! The packed kernels apply it to each block of rows right after the block's last K step, while
//! the block is still in cache, instead of two more passes over the whole output (measured on
//! batch-1024 inference: the separate bias and ReLU passes were ~3.5% of a forward pass). The
//! arithmetic is that of the separate ops: one rounded addition of the bias, then
//! [`crate::Tensor::relu`]'s rule, so fusing changes no bit.

/// The element-wise function a fused dense product applies after the bias (see
/// [`crate::Tensor::try_linear`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Activation {
    /// None: the affine map itself.
    #[default]
    Identity,
    /// `max(x, 0)`, NaN propagating, as [`crate::Tensor::relu`].
    Relu,
}

/// `relu` of one element: [`crate::Tensor::relu`]'s rule (NaN propagates; both zeros give +0).
#[inline(always)]
pub(crate) fn relu(x: f32) -> f32 {
    if x > 0.0 || x.is_nan() {
        x
    } else {
        0.0
    }
}

/// A bias per output column and an activation, applied to finished output elements.
#[derive(Clone, Copy, Default)]
pub(crate) struct Epilogue<'a> {
    /// Added to column `j` of every row: `bias[j]`.
    pub bias: Option<&'a [f32]>,
    /// Applied after the bias.
    pub activation: Activation,
}

impl<'a> Epilogue<'a> {
    /// Leaves the output as the product wrote it.
    pub const NONE: Epilogue<'static> = Epilogue {
        bias: None,
        activation: Activation::Identity,
    };

    /// Whether it changes nothing.
    pub fn is_none(&self) -> bool {
        self.bias.is_none() && self.activation == Activation::Identity
    }

    /// The same epilogue for the output columns from `first` on.
    pub fn for_columns_from(self, first: usize) -> Epilogue<'a> {
        Epilogue {
            bias: self.bias.map(|b| &b[first..]),
            ..self
        }
    }

    /// Applies it to the `rows x cols` block at `c` (row stride `rsc`).
    ///
    /// # Panics
    /// When the bias has fewer than `cols` elements.
    ///
    /// # Safety
    /// `c` is valid for reads and writes at `i * rsc + j` for `i < rows`, `j < cols`, and no
    /// other thread touches those elements during the call.
    #[allow(unsafe_code)]
    pub unsafe fn apply(self, c: *mut f32, rsc: usize, rows: usize, cols: usize) {
        if self.is_none() || cols == 0 {
            return;
        }
        for i in 0..rows {
            // SAFETY: row i's `cols` elements are the caller's, and unaliased.
            let row = unsafe { std::slice::from_raw_parts_mut(c.add(i * rsc), cols) };
            self.apply_row(row);
        }
    }

    /// Applies it to every row of a contiguous output with `cols` columns.
    pub fn apply_rows(self, c: &mut [f32], cols: usize) {
        if !self.is_none() && cols > 0 {
            c.chunks_mut(cols).for_each(|row| self.apply_row(row));
        }
    }

    /// Applies it to one row of the output (from its first column).
    pub fn apply_row(self, row: &mut [f32]) {
        let n = row.len();
        // Each combination its own loop, so that each vectorises.
        match (self.bias, self.activation) {
            (None, Activation::Identity) => {}
            (Some(bias), Activation::Identity) => {
                for (o, b) in row.iter_mut().zip(&bias[..n]) {
                    *o += b;
                }
            }
            (None, Activation::Relu) => row.iter_mut().for_each(|o| *o = relu(*o)),
            (Some(bias), Activation::Relu) => {
                for (o, b) in row.iter_mut().zip(&bias[..n]) {
                    *o = relu(*o + b);
                }
            }
        }
    }
}
