//! Products with one or two output rows (single-sample inference: `x[1, k] @ W^T`), without
//! sgemm's packing.
//!
//! sgemm copies all of B into a packed panel on every call. For one row of output that copy costs
//! about as much as the product itself (a 784x256 weight: ~45 us of a ~95 us forward pass), so a
//! product with at most [`GEMV_MAX_ROWS`] rows reads B in place instead: as dot products when B's
//! columns are contiguous (a transposed `[n, k]` weight, the `Linear` case) or as scaled row
//! additions when its rows are. Each output element's order of operations is fixed by the shapes
//! alone, so results do not depend on the thread count.
//!
//! On x86-64 the dot products run in `gemv_x86`'s intrinsic kernels, which give this file's
//! portable FMA kernel's bits while reading the input once for several outputs.

use crate::simd::{run_fused, FusedKernel, MulAdd, Unfused};

/// Products with at most this many output rows take the matrix-vector path.
pub(crate) const GEMV_MAX_ROWS: usize = 2;

/// Independent partial sums per dot product: enough to keep two FMA pipes busy through their
/// latency, and a whole number of 8-lane vectors.
pub(crate) const LANES: usize = 32;

/// `out[j] = sum_p a[p] * b[off + p*rs + j*cs]` for contiguous `a` of length `k`; `None` when B's
/// layout has neither contiguous rows nor contiguous columns (the caller falls back to sgemm).
pub(crate) fn row_times_matrix(
    a: &[f32],
    b: &[f32],
    b_offset: usize,
    b_row_stride: usize,
    b_col_stride: usize,
    out: &mut [f32],
) -> Option<()> {
    let (k, n) = (a.len(), out.len());
    if n == 0 {
        return Some(());
    }
    if k == 0 {
        out.fill(0.0);
        return Some(());
    }
    // Checked so the kernels index in bounds (they would panic, not misbehave, otherwise).
    let last = b_offset + (k - 1) * b_row_stride + (n - 1) * b_col_stride;
    if last >= b.len() {
        return None;
    }
    if b_row_stride == 1 {
        #[cfg(target_arch = "x86_64")]
        if crate::gemv_x86::dots(a, &b[b_offset..], b_col_stride, out) {
            return Some(());
        }
        run_fused::<_, Unfused>(&mut Dots {
            a,
            b: &b[b_offset..],
            col_stride: b_col_stride,
            out,
        });
        Some(())
    } else if b_col_stride == 1 {
        run_fused::<_, Unfused>(&mut RowSums {
            a,
            b: &b[b_offset..],
            row_stride: b_row_stride,
            out,
        });
        Some(())
    } else {
        None
    }
}

/// `out[j] = dot(a, column j)` where column `j` is `b[j*col_stride..][..k]`.
struct Dots<'a> {
    a: &'a [f32],
    b: &'a [f32],
    col_stride: usize,
    out: &'a mut [f32],
}

impl FusedKernel for Dots<'_> {
    #[inline(always)]
    fn run<F: MulAdd>(&mut self) {
        let k = self.a.len();
        for (j, o) in self.out.iter_mut().enumerate() {
            let column = &self.b[j * self.col_stride..][..k];
            *o = dot::<F>(self.a, column);
        }
    }
}

/// A dot product in a fixed order: `LANES` interleaved partial sums (the tail continuing the
/// first lanes), then a pairwise fold of the partials.
#[inline(always)]
fn dot<F: MulAdd>(x: &[f32], y: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    let mut xs = x.chunks_exact(LANES);
    let mut ys = y.chunks_exact(LANES);
    for (xc, yc) in (&mut xs).zip(&mut ys) {
        for l in 0..LANES {
            acc[l] = F::mul_add(xc[l], yc[l], acc[l]);
        }
    }
    // The tail, zero-padded to one more whole chunk: it continues the first lanes' independent
    // sums (not one long dependent chain), and fixed indices keep `acc` in registers.
    let (xr, yr) = (xs.remainder(), ys.remainder());
    if !xr.is_empty() {
        let (mut xt, mut yt) = ([0.0f32; LANES], [0.0f32; LANES]);
        xt[..xr.len()].copy_from_slice(xr);
        yt[..yr.len()].copy_from_slice(yr);
        for l in 0..LANES {
            acc[l] = F::mul_add(xt[l], yt[l], acc[l]);
        }
    }
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        for l in 0..width {
            acc[l] += acc[l + width];
        }
    }
    acc[0]
}

/// `out = sum_p a[p] * row p`, where row `p` is `b[p*row_stride..][..n]`, in increasing `p`.
struct RowSums<'a> {
    a: &'a [f32],
    b: &'a [f32],
    row_stride: usize,
    out: &'a mut [f32],
}

impl FusedKernel for RowSums<'_> {
    #[inline(always)]
    fn run<F: MulAdd>(&mut self) {
        let n = self.out.len();
        self.out.fill(0.0);
        for (p, &ap) in self.a.iter().enumerate() {
            let row = &self.b[p * self.row_stride..][..n];
            for (o, &bv) in self.out.iter_mut().zip(row) {
                *o = F::mul_add(ap, bv, *o);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::row_times_matrix;

    fn naive(a: &[f32], b: &[f32], off: usize, rs: usize, cs: usize, n: usize) -> Vec<f64> {
        (0..n)
            .map(|j| {
                a.iter()
                    .enumerate()
                    .map(|(p, &x)| f64::from(x) * f64::from(b[off + p * rs + j * cs]))
                    .sum()
            })
            .collect()
    }

    #[test]
    fn both_layouts_match_a_naive_f64_product() {
        for &(k, n) in &[(1, 1), (3, 5), (31, 2), (32, 7), (100, 33), (784, 10)] {
            let a: Vec<f32> = (0..k).map(|i| ((i * 7 % 13) as f32 - 6.0) / 5.0).collect();
            let b: Vec<f32> = (0..k * n + 3)
                .map(|i| ((i * 11 % 17) as f32 - 8.0) / 7.0)
                .collect();
            // Columns contiguous (row stride 1) and rows contiguous (column stride 1), offset 3.
            for (rs, cs) in [(1, k), (n, 1)] {
                let mut out = vec![f32::NAN; n];
                row_times_matrix(&a, &b, 3, rs, cs, &mut out).unwrap();
                for (got, want) in out.iter().zip(naive(&a, &b, 3, rs, cs, n)) {
                    assert!(
                        (f64::from(*got) - want).abs() <= 1e-5 * (1.0 + want.abs()),
                        "k={k} n={n} rs={rs}: {got} vs {want}"
                    );
                }
            }
        }
    }

    /// The vector-intrinsic kernels promise the portable FMA kernel's bits exactly: every tail
    /// length (k mod 32), block remainders (n mod 4 and mod 3), strided columns, signed zeros.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn intrinsic_dot_kernels_give_the_portable_fma_kernels_bits() {
        use super::Dots;
        use crate::gemv_x86::{dots_with_avx2, dots_with_avx512};
        use crate::simd::{has_fma, run_fused, Unfused};
        if !has_fma() {
            eprintln!("skipped: no FMA, so neither the portable FMA kernel nor the AVX2 one runs");
            return;
        }
        let mut rng = crate::Rng::seed_from(7);
        for k in (0..=70).chain([784, 799]) {
            for n in 1..=9 {
                let stride = k + n % 3;
                let a: Vec<f32> = (0..k).map(|_| rng.next_normal() as f32).collect();
                let mut b: Vec<f32> = (0..stride * n).map(|_| rng.next_normal() as f32).collect();
                if k > 1 {
                    // Products of signed zeros, whose sums the tail's padding must round alike.
                    b[0] = -0.0;
                    b[1] = 0.0;
                }
                let mut want = vec![0.0f32; n];
                run_fused::<_, Unfused>(&mut Dots {
                    a: &a,
                    b: &b,
                    col_stride: stride,
                    out: &mut want,
                });
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                let mut got = vec![f32::NAN; n];
                if dots_with_avx512(&a, &b, stride, &mut got) {
                    assert_eq!(bits(&got), bits(&want), "AVX-512, k={k} n={n}");
                }
                let mut got = vec![f32::NAN; n];
                if dots_with_avx2(&a, &b, stride, &mut got) {
                    assert_eq!(bits(&got), bits(&want), "AVX2, k={k} n={n}");
                }
            }
        }
    }

    #[test]
    fn other_layouts_and_out_of_bounds_views_are_declined() {
        let mut out = vec![0.0; 2];
        assert!(row_times_matrix(&[1.0, 2.0], &[0.0; 16], 0, 2, 3, &mut out).is_none());
        assert!(row_times_matrix(&[1.0, 2.0], &[0.0; 3], 0, 1, 2, &mut out).is_none());
    }
}
