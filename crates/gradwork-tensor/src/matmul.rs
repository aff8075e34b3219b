//! Matrix multiplication with `torch.matmul` semantics, on [`crate::sgemm`].
//!
//! sgemm takes arbitrary row and column strides, so transposed operands (`a.t()`, `grad @ w^T`)
//! cost no copy. The output rows are split into one piece per thread, at multiples of
//! [`MATMUL_ROW_BLOCK`] rows, that run in parallel; sgemm never splits the K loop, so every
//! output element is the same sequence of operations whatever the split: results are bitwise
//! identical on 1 or 64 threads.

use std::borrow::Cow;

use rayon::prelude::*;

use crate::dims::Dims;
use crate::epilogue::{Activation, Epilogue};
use crate::error::{or_panic, Result, TensorError};
use crate::gemv::{row_times_matrix, GEMV_MAX_ROWS};
use crate::layout::{broadcast_shapes, Layout};
use crate::par::MATMUL_ROW_BLOCK;
use crate::tensor::{Elem, Tensor};

/// Column pieces start at multiples of sgemm's micro-tile width (8 columns of f32), so each piece
/// is whole tiles and the pieces are balanced (784 columns: 392 + 392, not 448 + 336).
const MATMUL_COLUMN_ALIGN: usize = 8;

/// Below this many multiply-adds a matmul runs on the calling thread.
const PARALLEL_FLOPS: usize = 1 << 18;

/// One operand of a 2-D product: where its matrix starts in storage and its strides.
#[derive(Clone, Copy)]
struct MatrixView<'a> {
    data: &'a [Elem],
    offset: usize,
    row_stride: usize,
    col_stride: usize,
}

/// `c = a @ b` for the `rows` rows of `c` starting at row `first_row` of `a`; `c` is contiguous
/// with `n` columns.
#[allow(clippy::too_many_arguments)]
fn gemm_rows(
    a: MatrixView,
    b: MatrixView,
    c: &mut [Elem],
    first_row: usize,
    k: usize,
    n: usize,
    epilogue: Epilogue,
) {
    let rows = c.len() / n.max(1);
    if rows == 0 || n == 0 {
        return;
    }
    #[allow(unsafe_code)]
    // SAFETY: `c` is a unique borrow of exactly `rows * n` elements, each written once at
    // `i * n + j`.
    unsafe {
        gemm_into(a, b, c.as_mut_ptr(), n, first_row, rows, k, n, epilogue)
    };
}

/// `c[i * c_row_stride + j] = (a @ b)[first_row + i, j]` for `i < rows`, `j < n`, then
/// `epilogue` (whose bias starts at this block's first column).
///
/// # Safety
/// Those `rows * n` elements of `c` are valid for writes and no other thread touches them
/// during the call (neighbouring elements, e.g. another piece's columns, may be in use).
#[allow(unsafe_code, clippy::too_many_arguments)]
unsafe fn gemm_into(
    a: MatrixView,
    b: MatrixView,
    c: *mut Elem,
    c_row_stride: usize,
    first_row: usize,
    rows: usize,
    k: usize,
    n: usize,
    epilogue: Epilogue,
) {
    if rows == 0 || n == 0 {
        return;
    }
    if k == 0 {
        for i in 0..rows {
            // SAFETY: row i's n elements are the caller's to write.
            let row = unsafe { std::slice::from_raw_parts_mut(c.add(i * c_row_stride), n) };
            row.fill(0.0);
            epilogue.apply_row(row);
        }
        return;
    }
    let a_start = a.offset + first_row * a.row_stride;
    // The last element each operand touches must be inside its buffer (the layouts guarantee it;
    // checked here so the unsafe call below can rely on it even if a caller is wrong).
    let a_last = a_start + (rows - 1) * a.row_stride + (k - 1) * a.col_stride;
    let b_last = b.offset + (k - 1) * b.row_stride + (n - 1) * b.col_stride;
    assert!(
        a_last < a.data.len() && b_last < b.data.len(),
        "matmul: operand view out of bounds"
    );
    // SAFETY: the asserts above show every element sgemm reads, `a_start + i*rsa + p*csa` for
    // i < rows, p < k, and `b.offset + p*rsb + j*csb` for p < k, j < n, lies inside its slice;
    // sgemm writes exactly the `rows * n` elements of `c` the caller vouches for, and reads none
    // of them since it does not accumulate.
    unsafe {
        crate::sgemm::sgemm(
            rows,
            k,
            n,
            a.data.as_ptr().add(a_start),
            (a.row_stride, a.col_stride),
            b.data.as_ptr().add(b.offset),
            (b.row_stride, b.col_stride),
            c,
            c_row_stride,
            false,
            epilogue,
        );
    }
}

/// The output of a product whose column pieces are computed on several threads at once.
#[derive(Clone, Copy)]
struct SharedOutput(*mut Elem);

// SAFETY: each piece writes only its own columns (see `gemm_column_pieces`), so sharing the
// pointer between threads never lets two of them write the same element.
#[allow(unsafe_code)]
unsafe impl Send for SharedOutput {}
#[allow(unsafe_code)]
unsafe impl Sync for SharedOutput {}

impl SharedOutput {
    /// The element `offset` places in. A method, so that closures capture the whole (`Sync`)
    /// wrapper rather than its raw-pointer field.
    fn at(self, offset: usize) -> *mut Elem {
        self.0.wrapping_add(offset)
    }
}

/// The matrix-vector path for a few rows (see `gemv`); false, with `c` untouched, when B's layout
/// needs sgemm.
fn gemv_rows(
    a: MatrixView,
    b: MatrixView,
    c: &mut [Elem],
    first_row: usize,
    k: usize,
    n: usize,
) -> bool {
    let mut gathered = Vec::new();
    for (i, out) in c.chunks_mut(n).enumerate() {
        let start = a.offset + (first_row + i) * a.row_stride;
        let a_row: &[Elem] = if a.col_stride == 1 {
            &a.data[start..start + k]
        } else {
            gathered.clear();
            gathered.extend((0..k).map(|p| a.data[start + p * a.col_stride]));
            &gathered
        };
        // B's layout is the same for every row: only the first can decline.
        if row_times_matrix(a_row, b.data, b.offset, b.row_stride, b.col_stride, out).is_none() {
            return false;
        }
    }
    true
}

/// Computes one `[m, k] @ [k, n]` product into `c`, in parallel when `parallel` is set.
///
/// Every sgemm call packs all of the other operand again, so the longer side is cut into as few
/// pieces as there are threads (one call, exactly like calling sgemm directly, on one thread), at
/// multiples of [`MATMUL_ROW_BLOCK`], which is sgemm's own row block. The cut depends on the thread count but
/// the bits do not: sgemm never splits K and runs the same micro-kernel on every tile, so each
/// output element is the same sequence of fused multiply-adds wherever its piece starts
/// (`tests/prop_determinism.rs` checks arbitrary row splits and pools of 1, 2, 3 and 8 threads).
fn gemm(
    a: MatrixView,
    b: MatrixView,
    c: &mut [Elem],
    m: usize,
    k: usize,
    n: usize,
    parallel: bool,
    epilogue: Epilogue,
) {
    // Decided by the whole product's row count, never by a piece's, so that the thread count
    // cannot change which kernel computes a row.
    if m <= GEMV_MAX_ROWS && gemv_rows(a, b, c, 0, k, n) {
        epilogue.apply_rows(c, n);
        return;
    }
    if transpose_is_cheaper(a, b, m, n) {
        let mut c_t = crate::buffer::scratch(m * n);
        gemm(
            transposed(b),
            transposed(a),
            &mut c_t,
            n,
            k,
            m,
            parallel,
            Epilogue::NONE,
        );
        crate::transpose::transpose_into(&c_t, n, m, c);
        crate::buffer::recycle(c_t);
        // Few rows (m < n): the output is small and still in cache.
        epilogue.apply_rows(c, n);
        return;
    }
    let threads = if parallel {
        rayon::current_num_threads()
    } else {
        1
    };
    // Split the longer side: each piece packs the whole of the other operand, so cutting rows of
    // a wide product (few samples, many features: batch 32 against a 784x256 weight) would leave
    // threads idle or pack the big operand once per thread.
    if m >= n {
        let pieces = threads.min(m.div_ceil(MATMUL_ROW_BLOCK));
        if pieces > 1 {
            let rows_per_piece = m.div_ceil(pieces).next_multiple_of(MATMUL_ROW_BLOCK);
            c.par_chunks_mut(rows_per_piece * n.max(1))
                .enumerate()
                .for_each(|(i, piece)| gemm_rows(a, b, piece, i * rows_per_piece, k, n, epilogue));
            return;
        }
    } else {
        let pieces = threads.min(n.div_ceil(MATMUL_COLUMN_ALIGN * 8));
        if pieces > 1 {
            gemm_column_pieces(a, b, c, (m, k, n), pieces, epilogue);
            return;
        }
    }
    gemm_rows(a, b, c, 0, k, n, epilogue);
}

/// The view of `v`'s transpose.
fn transposed(v: MatrixView) -> MatrixView {
    MatrixView {
        row_stride: v.col_stride,
        col_stride: v.row_stride,
        ..v
    }
}

/// Whether `a @ b` is cheaper computed as `(b^T @ a^T)^T`: when `b` is the transpose of a
/// row-major matrix with more rows than `a` (the `x @ W^T` of a dense layer on a batch smaller
/// than its output width).
///
/// The packed kernels read a row-major left operand in place and pack the right one. Directly,
/// that packs all of `W^T` at every call (800 KB for a 784x256 layer); swapped, `W` is read in
/// place and only the batch is packed, and the `m x n` result is transposed back (a few
/// microseconds). One thread, Zen 4, each median of 25: 32x784x256 0.146 -> 0.117 ms,
/// 64x1600x128 0.263 -> 0.247, 128x784x256 0.488 -> 0.478. MLP training at batch 32, 48.6k ->
/// 52.8k samples/s.
///
/// The bits do not change: each element is the same chain of fused multiply-adds over the same
/// K blocks, with the two factors of every product swapped, which a fused multiply-add does not
/// see. The choice depends only on the shapes and strides, never on the thread count.
fn transpose_is_cheaper(a: MatrixView, b: MatrixView, m: usize, n: usize) -> bool {
    #[cfg(target_arch = "x86_64")]
    if let Some(isa) = crate::sgemm_x86::isa() {
        // `W` must fill whole left panels (16 rows with AVX-512, 6 with AVX2) and be readable in
        // place; the batch, the new right operand, must be one the kernel packs (the AVX2
        // kernel takes transposed right operands, which `a^T` is when `a` is row-major).
        return m > GEMV_MAX_ROWS
            && m < n
            && n >= 16
            && a.col_stride == 1
            && b.row_stride == 1
            && b.col_stride != 1
            && crate::sgemm_x86::reads_rows_in_place(isa, b.col_stride);
    }
    let _ = (a, b, m, n);
    false
}

/// `c = a @ b` with the columns cut into `pieces` blocks (multiples of [`MATMUL_COLUMN_ALIGN`])
/// computed in parallel, each written straight into its columns of `c`. As with rows, sgemm runs
/// the same micro-kernel over the same K order for every tile, so the cut never changes a bit.
fn gemm_column_pieces(
    a: MatrixView,
    b: MatrixView,
    c: &mut [Elem],
    (m, k, n): (usize, usize, usize),
    pieces: usize,
    epilogue: Epilogue,
) {
    assert_eq!(c.len(), m * n, "matmul: output buffer size");
    let cols_per_piece = n.div_ceil(pieces).next_multiple_of(MATMUL_COLUMN_ALIGN);
    let out = SharedOutput(c.as_mut_ptr());
    (0..n.div_ceil(cols_per_piece))
        .into_par_iter()
        .for_each(|i| {
            let first = i * cols_per_piece;
            let width = cols_per_piece.min(n - first);
            let b_piece = MatrixView {
                offset: b.offset + first * b.col_stride,
                ..b
            };
            #[allow(unsafe_code)]
            // SAFETY: piece i writes columns first..first + width of every row of `c`, which
            // holds m * n elements (asserted above) and is borrowed uniquely for this call; the
            // pieces' column ranges are disjoint.
            unsafe {
                let piece_epilogue = epilogue.for_columns_from(first);
                gemm_into(a, b_piece, out.at(first), n, 0, m, k, width, piece_epilogue)
            };
        });
}

impl Tensor {
    /// Matrix product with `torch.matmul` semantics: 2-D @ 2-D; batched with broadcast batch
    /// axes (`[2,3,4] @ [4,5]`, `[1,3,4] @ [2,4,5]`); a 1-D left operand is a row vector and a
    /// 1-D right operand a column vector, and that axis is removed from the result.
    ///
    /// ```
    /// use gradwork_tensor::Tensor;
    /// let a = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]);
    /// let b = Tensor::from_vec(vec![5.0, 6.0, 7.0, 8.0], &[2, 2]);
    /// assert_eq!(a.matmul(&b).to_vec(), vec![19.0, 22.0, 43.0, 50.0]);
    /// // Transposes are free views.
    /// assert_eq!(a.t().matmul(&b).to_vec(), vec![26.0, 30.0, 38.0, 44.0]);
    /// ```
    pub fn try_matmul(&self, other: &Tensor) -> Result<Tensor> {
        if self.ndim() == 0 || other.ndim() == 0 {
            return Err(TensorError::shape_mismatch_because(
                "matmul",
                self.shape(),
                other.shape(),
                "both operands need at least one axis",
            ));
        }
        let a = if self.ndim() == 1 {
            self.unsqueeze(0)
        } else {
            self.clone()
        };
        let b = if other.ndim() == 1 {
            other.unsqueeze(1)
        } else {
            other.clone()
        };
        let (m, k) = (a.shape()[a.ndim() - 2], a.shape()[a.ndim() - 1]);
        let (k2, n) = (b.shape()[b.ndim() - 2], b.shape()[b.ndim() - 1]);
        if k != k2 {
            return Err(TensorError::shape_mismatch_because(
                "matmul",
                self.shape(),
                other.shape(),
                format!("inner dimensions {k} and {k2} differ"),
            ));
        }
        let a_batch = &a.shape()[..a.ndim() - 2];
        let b_batch = &b.shape()[..b.ndim() - 2];
        let batch = broadcast_shapes("matmul", a_batch, b_batch).map_err(|_| {
            TensorError::shape_mismatch_because(
                "matmul",
                self.shape(),
                other.shape(),
                "batch dimensions cannot broadcast",
            )
        })?;
        let batch_count: usize = batch.iter().product();
        // Per-batch storage offsets, from the batch axes broadcast to the common batch shape.
        let batch_offsets = |t: &Tensor, own: &[usize]| -> Dims {
            let nb = own.len();
            let layout =
                Layout::from_parts(own, &t.strides()[..nb], t.layout.offset()).broadcast_to(&batch);
            (0..batch_count).map(|i| layout.index_of_flat(i)).collect()
        };
        let a_offsets = batch_offsets(&a, a_batch);
        let b_offsets = batch_offsets(&b, b_batch);
        let (a_rs, a_cs) = (a.strides()[a.ndim() - 2], a.strides()[a.ndim() - 1]);
        let (b_rs, b_cs) = (b.strides()[b.ndim() - 2], b.strides()[b.ndim() - 1]);
        let mut out = crate::buffer::scratch(batch_count * m * n);
        let parallel = batch_count * m * n * k >= PARALLEL_FLOPS;
        let batches_in_parallel = parallel && batch_count >= rayon::current_num_threads();
        let run = |i: usize, c: &mut [Elem]| {
            let av = MatrixView {
                data: &a.storage,
                offset: a_offsets[i],
                row_stride: a_rs,
                col_stride: a_cs,
            };
            let bv = MatrixView {
                data: &b.storage,
                offset: b_offsets[i],
                row_stride: b_rs,
                col_stride: b_cs,
            };
            // When the batches already run in parallel, each product stays whole (one sgemm).
            gemm(
                av,
                bv,
                c,
                m,
                k,
                n,
                parallel && !batches_in_parallel,
                Epilogue::NONE,
            );
        };
        if m * n > 0 {
            if parallel && batch_count > 1 {
                out.par_chunks_mut(m * n)
                    .enumerate()
                    .for_each(|(i, c)| run(i, c));
            } else {
                out.chunks_mut(m * n)
                    .enumerate()
                    .for_each(|(i, c)| run(i, c));
            }
        }
        let mut shape = Dims::from(batch);
        if self.ndim() > 1 {
            shape.push(m);
        }
        if other.ndim() > 1 {
            shape.push(n);
        }
        Tensor::try_from_vec(out, &shape)
    }

    /// A dense layer's forward pass as one product: `activation(self @ weight^T + bias)` for
    /// `self` `[rows, in]`, `weight` `[out, in]` (PyTorch's layout) and `bias` `[out]`.
    ///
    /// The bias and the activation are applied to each block of output rows as soon as the
    /// product finishes it, while the block is in cache, instead of in two more passes over the
    /// whole output. The bits are those of the separate ops (`matmul`, adding the bias,
    /// [`Tensor::relu`]).
    ///
    /// ```
    /// use gradwork_tensor::{Activation, Tensor};
    /// let x = Tensor::from_vec(vec![1.0, 2.0], &[1, 2]);
    /// let w = Tensor::from_vec(vec![1.0, 1.0, -1.0, -1.0], &[2, 2]);
    /// let b = Tensor::from_vec(vec![0.5, 0.5], &[2]);
    /// let y = x.try_linear(&w, Some(&b), Activation::Relu).unwrap();
    /// assert_eq!(y.to_vec(), vec![3.5, 0.0]);
    /// ```
    pub fn try_linear(
        &self,
        weight: &Tensor,
        bias: Option<&Tensor>,
        activation: Activation,
    ) -> Result<Tensor> {
        if self.ndim() != 2 || weight.ndim() != 2 || self.shape()[1] != weight.shape()[1] {
            return Err(TensorError::shape_mismatch_because(
                "linear",
                self.shape(),
                weight.shape(),
                "expected x [rows, in] and weight [out, in]",
            ));
        }
        let (m, k, n) = (self.shape()[0], self.shape()[1], weight.shape()[0]);
        let bias_values = match bias {
            Some(b) if b.shape() != [n] => {
                return Err(TensorError::shape_mismatch_because(
                    "linear",
                    weight.shape(),
                    b.shape(),
                    format!("bias must have shape [{n}]"),
                ))
            }
            Some(b) => Some(
                b.as_slice()
                    .map_or_else(|| b.to_vec().into(), Cow::Borrowed),
            ),
            None => None,
        };
        let epilogue = Epilogue {
            bias: bias_values.as_deref(),
            activation,
        };
        let mut out = crate::buffer::scratch(m * n);
        if m * n > 0 {
            let a = MatrixView {
                data: &self.storage,
                offset: self.layout.offset(),
                row_stride: self.strides()[0],
                col_stride: self.strides()[1],
            };
            // `weight^T`: a free view.
            let b = MatrixView {
                data: &weight.storage,
                offset: weight.layout.offset(),
                row_stride: weight.strides()[1],
                col_stride: weight.strides()[0],
            };
            gemm(
                a,
                b,
                &mut out,
                m,
                k,
                n,
                m * n * k >= PARALLEL_FLOPS,
                epilogue,
            );
        }
        Tensor::try_from_vec(out, &[m, n])
    }

    /// Matrix product (see [`Tensor::try_matmul`]).
    ///
    /// # Panics
    /// When the shapes do not multiply; the message names both shapes.
    #[track_caller]
    pub fn matmul(&self, other: &Tensor) -> Tensor {
        or_panic(self.try_matmul(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sgemm::same_bits;
    use crate::Rng;

    /// `x @ W^T` with fewer rows than `W`, which runs as `(W @ x^T)^T`, gives the bits of the
    /// direct product (`matrixmultiply`, on the same operands), on one thread and split over
    /// three, with infinities, NaN and zeros among the inputs; and the shapes of the MLP's layers
    /// do take the transposed route where the packed kernels run.
    #[test]
    #[allow(unsafe_code)]
    fn transposed_products_keep_the_direct_products_bits() {
        let mut rng = Rng::seed_from(9);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        let shapes = [
            (3, 5, 16),
            (17, 300, 41),
            (32, 784, 256),
            (40, 600, 130),
            (64, 1600, 128),
            (100, 70, 101),
        ];
        for (m, k, n) in shapes {
            let mut x = Tensor::rand_normal(&[m, k], 0.0, 1.0, &mut rng).to_vec();
            let mut w = Tensor::rand_normal(&[n, k], 0.0, 1.0, &mut rng).to_vec();
            for (i, special) in [f32::INFINITY, f32::NEG_INFINITY, f32::NAN, 0.0, -0.0]
                .into_iter()
                .enumerate()
            {
                x[(7 * i + 1) % (m * k)] = special;
                w[(11 * i + 3) % (n * k)] = special;
            }
            let mut expected = vec![0.0; m * n];
            // SAFETY: x is m x k and w is n x k, both row-major; expected holds m * n.
            unsafe {
                crate::sgemm::with_matrixmultiply(
                    m,
                    k,
                    n,
                    x.as_ptr(),
                    (k, 1),
                    w.as_ptr(),
                    (1, k),
                    expected.as_mut_ptr(),
                    n,
                    false,
                )
            };
            let (x, w) = (Tensor::from_vec(x, &[m, k]), Tensor::from_vec(w, &[n, k]));
            let what = format!("{m}x{k}x{n}");
            same_bits(&x.matmul(&w.t()).to_vec(), &expected, &what);
            let split = pool.install(|| x.matmul(&w.t()));
            same_bits(&split.to_vec(), &expected, &format!("{what} on 3 threads"));
            #[cfg(target_arch = "x86_64")]
            if crate::sgemm_x86::isa().is_some() && m > GEMV_MAX_ROWS {
                fn view(t: &Tensor, row_stride: usize, col_stride: usize) -> MatrixView<'_> {
                    MatrixView {
                        data: t.as_slice().unwrap(),
                        offset: 0,
                        row_stride,
                        col_stride,
                    }
                }
                assert!(
                    transpose_is_cheaper(view(&x, k, 1), view(&w, 1, k), m, n),
                    "{what} not transposed"
                );
            }
        }
    }

    #[test]
    fn vector_cases_follow_torch() {
        let v = Tensor::from_vec(vec![1.0, 2.0], &[2]);
        let m = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]);
        assert_eq!(v.matmul(&v).shape(), &[] as &[usize]);
        assert_eq!(v.matmul(&v).item(), 5.0);
        assert_eq!(v.matmul(&m).to_vec(), vec![7.0, 10.0]);
        assert_eq!(m.matmul(&v).to_vec(), vec![5.0, 11.0]);
    }

    #[test]
    fn batched_broadcast_shapes() {
        let a = Tensor::ones(&[2, 1, 3, 4]);
        let b = Tensor::ones(&[3, 4, 2]);
        let c = a.matmul(&b);
        assert_eq!(c.shape(), &[2, 3, 3, 2]);
        assert!(c.to_vec().iter().all(|&x| x == 4.0));
    }

    #[test]
    fn mismatched_inner_dimensions_are_named() {
        let err = Tensor::zeros(&[2, 3])
            .try_matmul(&Tensor::zeros(&[4, 5]))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "matmul: shapes [2, 3] and [4, 5] are incompatible: inner dimensions 3 and 4 differ"
        );
    }

    #[test]
    fn empty_inner_dimension_gives_zeros() {
        let c = Tensor::zeros(&[3, 0]).matmul(&Tensor::zeros(&[0, 2]));
        assert_eq!(c.to_vec(), vec![0.0; 6]);
    }
}
