//! The single-threaded matrix product every `matmul` piece and convolution block runs:
//! gradwork's own packed kernel on CPUs with AVX-512F, `matrixmultiply::sgemm` elsewhere.
//!
//! Why a kernel of our own: `matrixmultiply` packs a row-major left operand, and any right
//! operand that is a transpose (`x @ w^T` in every linear layer, `dy @ cols^T` in every
//! convolution's weight gradient), one element at a time. On the MLP benchmark that packing
//! was 16% of a training step, as much as a third of the time in the kernel itself. Here those
//! operands are packed with 16x16 register transposes (`sgemm_x86`).
//!
//! **The same bits as `matrixmultiply`.** Both compute every output element the same way: the
//! K axis is cut into blocks of [`KC`] from the start, each block's products are summed in order
//! by a chain of fused multiply-adds starting from zero, and the block sums are added to the
//! output in block order (the first one stored, unless accumulating). Micro-tile shapes and the
//! blocking of M and N do not enter into it. So switching kernels (or CPUs with and without
//! AVX-512, both of which have FMA) changes no result, which the tests check bit for bit; the
//! references recorded before this kernel existed still reproduce.

/// The K block: must equal `matrixmultiply`'s f32 `kc` (256 in 0.3.11, the pinned version), or
/// the two kernels would round differently.
pub(crate) const KC: usize = 256;

/// `c[i * rsc + j] = sum_p a[i * rsa + p * csa] * b[p * rsb + j * csb]` for `i < m`, `j < n`,
/// plus the old `c` when `accumulate`, with the rounding described in the module docs.
///
/// # Safety
/// Every element named above lies inside a live allocation: `a` and `b` readable for the
/// offsets with `i < m`, `p < k`, `j < n`, and `c` writable (and readable when accumulating) at
/// `i * rsc + j`, not touched by any other thread during the call. `k > 0`.
#[allow(unsafe_code, clippy::too_many_arguments)]
pub(crate) unsafe fn sgemm(
    m: usize,
    k: usize,
    n: usize,
    a: *const f32,
    (rsa, csa): (usize, usize),
    b: *const f32,
    (rsb, csb): (usize, usize),
    c: *mut f32,
    rsc: usize,
    accumulate: bool,
) {
    debug_assert!(k > 0);
    if m == 0 || n == 0 {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if crate::sgemm_x86::available() {
        // SAFETY: the caller's contract, and the CPU has AVX-512F.
        unsafe {
            crate::sgemm_x86::sgemm(m, k, n, a, (rsa, csa), b, (rsb, csb), c, rsc, accumulate)
        };
        return;
    }
    // SAFETY: the caller's contract is sgemm's: it reads `a` and `b` at exactly those offsets
    // and reads `c` only when beta is nonzero.
    unsafe { with_matrixmultiply(m, k, n, a, (rsa, csa), b, (rsb, csb), c, rsc, accumulate) }
}

/// [`sgemm`] on `matrixmultiply`. Separate so that the tests can compare the two.
///
/// # Safety
/// As [`sgemm`].
#[allow(unsafe_code, clippy::too_many_arguments)]
pub(crate) unsafe fn with_matrixmultiply(
    m: usize,
    k: usize,
    n: usize,
    a: *const f32,
    (rsa, csa): (usize, usize),
    b: *const f32,
    (rsb, csb): (usize, usize),
    c: *mut f32,
    rsc: usize,
    accumulate: bool,
) {
    let beta = if accumulate { 1.0 } else { 0.0 };
    // SAFETY: see `sgemm`.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a,
            rsa as isize,
            csa as isize,
            b,
            rsb as isize,
            csb as isize,
            beta,
            c,
            rsc as isize,
            1,
        )
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    #![allow(unsafe_code)]

    use super::*;
    use crate::rng::Rng;

    /// One product through both kernels (`a`: `m x k` at strides `sa`, `b`: `k x n` at `sb`,
    /// `c` of row stride `rsc`, prefilled with `c0`); returns both outputs.
    #[allow(clippy::too_many_arguments)]
    fn both(
        (m, k, n): (usize, usize, usize),
        a: &[f32],
        sa: (usize, usize),
        b: &[f32],
        sb: (usize, usize),
        rsc: usize,
        c0: &[f32],
        accumulate: bool,
    ) -> (Vec<f32>, Vec<f32>) {
        assert!((m - 1) * sa.0 + (k - 1) * sa.1 < a.len());
        assert!((k - 1) * sb.0 + (n - 1) * sb.1 < b.len());
        assert!((m - 1) * rsc + n <= c0.len());
        let mut ours = c0.to_vec();
        let mut theirs = c0.to_vec();
        // SAFETY: the asserts above bound every offset either kernel touches.
        unsafe {
            crate::sgemm_x86::sgemm(
                m,
                k,
                n,
                a.as_ptr(),
                sa,
                b.as_ptr(),
                sb,
                ours.as_mut_ptr(),
                rsc,
                accumulate,
            );
            with_matrixmultiply(
                m,
                k,
                n,
                a.as_ptr(),
                sa,
                b.as_ptr(),
                sb,
                theirs.as_mut_ptr(),
                rsc,
                accumulate,
            );
        }
        (ours, theirs)
    }

    fn random(len: usize, rng: &mut Rng) -> Vec<f32> {
        (0..len).map(|_| rng.next_normal() as f32).collect()
    }

    /// Equal bits, or both NaN: which NaN payload an operation with two NaN operands returns
    /// depends on operand order, which even `matrixmultiply`'s own edge and interior tiles do
    /// not agree on (and IEEE 754 leaves open).
    fn same_bits(ours: &[f32], theirs: &[f32], what: &str) {
        let first_difference = ours
            .iter()
            .zip(theirs)
            .position(|(x, y)| x.to_bits() != y.to_bits() && !(x.is_nan() && y.is_nan()));
        if let Some(i) = first_difference {
            panic!("{what}: element {i}: {} vs {}", ours[i], theirs[i]);
        }
    }

    /// Every layout the callers use (row-major, either operand transposed, both, a strided view),
    /// on shapes that cross every block edge: K past one and two KC blocks, M past MC, N past NC,
    /// and ragged micro-tiles. Skipped without AVX-512F (there `sgemm` is matrixmultiply).
    #[test]
    fn packed_kernel_gives_matrixmultiplys_bits() {
        if !crate::sgemm_x86::available() {
            eprintln!("skipped: this CPU has no AVX-512F, so sgemm is matrixmultiply itself");
            return;
        }
        let mut rng = Rng::seed_from(7);
        let shapes = [
            (1, 1, 1),
            (3, 5, 2),
            (16, 16, 16),
            (17, 255, 33),
            (31, 256, 15),
            (64, 257, 121),
            (5, 600, 40),
            (130, 300, 20),
            (40, 70, 1100),
            (2, 2000, 3),
        ];
        for &(m, k, n) in &shapes {
            let a = random(m * k * 2, &mut rng);
            let b = random(k * n * 2, &mut rng);
            let rsc = n + 3;
            let c0 = random(m * rsc, &mut rng);
            let layouts_a = [(k, 1), (1, m), (2 * k, 2)];
            let layouts_b = [(n, 1), (1, k), (1, 2 * k)];
            for sa in layouts_a {
                for sb in layouts_b {
                    for accumulate in [false, true] {
                        let (ours, theirs) = both((m, k, n), &a, sa, &b, sb, rsc, &c0, accumulate);
                        let what = format!(
                            "{m}x{k}x{n}, a strides {sa:?}, b strides {sb:?}, accumulate {accumulate}"
                        );
                        same_bits(&ours, &theirs, &what);
                    }
                }
            }
        }
    }

    /// Infinities, NaN and signed zeros go through the same operations in both kernels: the same
    /// signed zeros, infinities and NaN positions.
    #[test]
    fn special_values_match_too() {
        if !crate::sgemm_x86::available() {
            eprintln!("skipped: no AVX-512F");
            return;
        }
        let (m, k, n) = (18, 300, 19);
        let mut rng = Rng::seed_from(3);
        let specials = [
            0.0,
            -0.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            1e-40,
            -3e38,
        ];
        let mut pick = |len: usize| -> Vec<f32> {
            (0..len)
                .map(|_| {
                    let u = rng.next_u64();
                    if u.is_multiple_of(5) {
                        specials[(u >> 8) as usize % specials.len()]
                    } else {
                        rng.next_normal() as f32
                    }
                })
                .collect()
        };
        let (a, b, c0) = (pick(m * k), pick(k * n), pick(m * n));
        for accumulate in [false, true] {
            let (ours, theirs) = both((m, k, n), &a, (k, 1), &b, (1, k), n, &c0, accumulate);
            same_bits(&ours, &theirs, "special values");
        }
    }

    /// The columns of `c` outside `0..n` and the rows past `m` are never written.
    #[test]
    fn writes_only_the_output_window() {
        if !crate::sgemm_x86::available() {
            eprintln!("skipped: no AVX-512F");
            return;
        }
        let (m, k, n, rsc) = (20, 9, 13, 40);
        let a = vec![1.0; m * k];
        let b = vec![1.0; k * n];
        let mut c = vec![-7.0; (m + 2) * rsc];
        // SAFETY: a, b and the m rows of c at stride rsc are in bounds.
        unsafe {
            crate::sgemm_x86::sgemm(
                m,
                k,
                n,
                a.as_ptr(),
                (k, 1),
                b.as_ptr(),
                (n, 1),
                c.as_mut_ptr(),
                rsc,
                false,
            )
        };
        for (at, &v) in c.iter().enumerate() {
            let (i, j) = (at / rsc, at % rsc);
            let expected = if i < m && j < n { k as f32 } else { -7.0 };
            assert_eq!(v, expected, "element ({i}, {j})");
        }
    }
}
