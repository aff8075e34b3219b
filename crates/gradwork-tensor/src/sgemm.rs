//! The single-threaded matrix product every `matmul` piece and convolution block runs:
//! gradwork's own packed kernels (`sgemm_x86`) on CPUs with AVX-512F, and with AVX2 for products
//! whose right operand is a transpose or that multiply two row-major operands over a deep K;
//! `matrixmultiply::sgemm` elsewhere (see `use_packed`).
//!
//! Why a kernel of our own: `matrixmultiply` packs a row-major left operand, and any right
//! operand that is a transpose (`x @ w^T` in every linear layer, `dy @ cols^T` in every
//! convolution's weight gradient), one element at a time. On the MLP benchmark that packing
//! was 16% of a training step, as much as a third of the time in the kernel itself. Here those
//! operands are packed with register transposes (16x16 with AVX-512, 8x8 with AVX2).
//!
//! **The same bits as `matrixmultiply`.** Both compute every output element the same way: the
//! K axis is cut into blocks of [`KC`] from the start, each block's products are summed in order
//! by a chain of fused multiply-adds starting from zero, and the block sums are added to the
//! output in block order (the first one stored, unless accumulating). Micro-tile shapes and the
//! blocking of M and N do not enter into it. So switching kernels (or CPUs with and without
//! AVX-512, both of which have FMA) changes no result, which the tests check bit for bit; the
//! references recorded before this kernel existed still reproduce.

use crate::epilogue::Epilogue;
#[cfg(target_arch = "x86_64")]
const NONE: Epilogue<'static> = Epilogue::NONE;

/// The K block: must equal `matrixmultiply`'s f32 `kc` (256 in 0.3.11, the pinned version), or
/// the two kernels would round differently.
pub(crate) const KC: usize = 256;

/// The right operand of a product, as the packed kernel reads it.
#[derive(Clone, Copy)]
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub(crate) enum RightOperand<'a> {
    /// Element `(p, j)` at `ptr + p * row_stride + j * col_stride`.
    Strided {
        ptr: *const f32,
        row_stride: usize,
        col_stride: usize,
    },
    /// Element `(p, j)` at `ptr + row_offsets[p] + col_offsets[j]`: a column matrix of a
    /// convolution read straight from the image, without writing it out (an implicit im2col).
    /// The column offsets are non-negative.
    Gathered {
        ptr: *const f32,
        row_offsets: &'a [usize],
        col_offsets: &'a [i32],
    },
}

/// `c[i * rsc + j] = sum_p a[i * rsa + p * csa] * b[p * rsb + j * csb]` for `i < m`, `j < n`,
/// plus the old `c` when `accumulate`, with the rounding described in the module docs; then
/// `epilogue` on each finished element.
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
    epilogue: Epilogue,
) {
    debug_assert!(k > 0);
    if m == 0 || n == 0 {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if let Some(isa) =
        crate::sgemm_x86::isa().filter(|&isa| use_packed(isa, (rsa, csa), (rsb, csb), k))
    {
        let b = RightOperand::Strided {
            ptr: b,
            row_stride: rsb,
            col_stride: csb,
        };
        // SAFETY: the caller's contract, and the CPU has the kernel's features.
        unsafe {
            crate::sgemm_x86::sgemm(isa, m, k, n, a, (rsa, csa), b, c, rsc, accumulate, epilogue)
        };
        return;
    }
    // SAFETY: the caller's contract is sgemm's: it reads `a` and `b` at exactly those offsets
    // and reads `c` only when beta is nonzero; the epilogue touches the same m x n elements.
    unsafe {
        with_matrixmultiply(m, k, n, a, (rsa, csa), b, (rsb, csb), c, rsc, accumulate);
        epilogue.apply(c, rsc, m, n);
    }
}

/// Whether the packed kernel `isa` should run a product whose right operand has strides `(rsb,
/// csb)`, left operand column stride `csa` and depth `k`. The AVX-512 kernel runs them all. The
/// AVX2 one takes a transposed right operand (`x @ w^T`, `dy @ cols^T`), where its register
/// transposes beat `matrixmultiply`'s element-wise packing (64x968x288: 89.7 against 63.3
/// GFLOP/s on Zen 4 with AVX-512 switched off), and a row-major right operand when the left one
/// is row-major too, readable in place (`sgemm_x86::reads_rows_in_place`: not a row stride that
/// is a multiple of 1,024 floats, where packing it cost more than the kernel gained: 1024^3
/// 85.4-86.5 against 93.0-95.3) and `k >= AVX2_ROW_MAJOR_MIN_K`. In-process A/B, one thread,
/// medians of 25 rounds, AVX2 only: 512x512x512 96.6-97.8 against 94.9-95.9, 1000x1000x1000
/// 93.0-96.5 against 91.9-93.7, 1024x784x256 93.0-95.0 against 86.1-89.0, 128x128x256
/// 90.8-92.8 against 83.0-87.6. With a shallow `k` (32x9x5408: 51.9-55.7 against 69.0-71.5)
/// or a transposed left operand (256x128x784: 65.3-80.9 against 84.1-85.2) `matrixmultiply`'s
/// 8x8 kernel stays ahead. All paths give the same bits.
#[cfg(target_arch = "x86_64")]
fn use_packed(
    isa: crate::sgemm_x86::Isa,
    (rsa, csa): (usize, usize),
    (rsb, csb): (usize, usize),
    k: usize,
) -> bool {
    let transposed_right = rsb == 1 && csb != 1;
    let both_row_major = csb == 1
        && csa == 1
        && k >= AVX2_ROW_MAJOR_MIN_K
        && crate::sgemm_x86::reads_rows_in_place(isa, rsa);
    isa == crate::sgemm_x86::Isa::Avx512 || transposed_right || both_row_major
}

/// The depth from which the AVX2 kernel runs products of two row-major operands (see
/// `use_packed`): below it a kernel call's fixed costs (the tile's loads and stores) outweigh its
/// short K loop, where `matrixmultiply`'s smaller 8x8 tile pays less.
#[cfg(target_arch = "x86_64")]
const AVX2_ROW_MAJOR_MIN_K: usize = 128;

/// [`sgemm`] with a gathered right operand `x[row_offsets[p] + col_offsets[j]]` (`k` row and `n`
/// column offsets): the same bits as [`sgemm`] on the matrix those offsets describe. Returns
/// `false`, writing nothing, where the packed kernel does not run (no AVX-512F): the caller
/// then builds the matrix and calls [`sgemm`].
///
/// # Panics
/// When an offset pair reaches outside `x`, or the offset lists do not have `k` and `n` entries.
///
/// # Safety
/// `a` and `c` as in [`sgemm`] (`x` is checked here).
#[allow(unsafe_code, clippy::too_many_arguments)]
pub(crate) unsafe fn sgemm_gathered(
    m: usize,
    a: *const f32,
    (rsa, csa): (usize, usize),
    x: &[f32],
    row_offsets: &[usize],
    col_offsets: &[i32],
    c: *mut f32,
    rsc: usize,
    accumulate: bool,
) -> bool {
    #[cfg(target_arch = "x86_64")]
    if crate::sgemm_x86::gathers_available() {
        let (k, n) = (row_offsets.len(), col_offsets.len());
        if m == 0 || n == 0 || k == 0 {
            return true;
        }
        let max_row = row_offsets.iter().copied().max().unwrap_or(0);
        let (min_col, max_col) = col_offsets
            .iter()
            .fold((i32::MAX, i32::MIN), |(lo, hi), &o| (lo.min(o), hi.max(o)));
        assert!(
            min_col >= 0 && max_row + (max_col as usize) < x.len(),
            "gathered sgemm: operand offsets out of bounds"
        );
        let b = RightOperand::Gathered {
            ptr: x.as_ptr(),
            row_offsets,
            col_offsets,
        };
        // SAFETY: the caller's contract for a and c; every element of b is inside x (asserted
        // above); the CPU has AVX-512F.
        let isa = crate::sgemm_x86::Isa::Avx512;
        unsafe {
            crate::sgemm_x86::sgemm(isa, m, k, n, a, (rsa, csa), b, c, rsc, accumulate, NONE)
        };
        return true;
    }
    let _ = (
        m,
        a,
        rsa,
        csa,
        x,
        row_offsets,
        col_offsets,
        c,
        rsc,
        accumulate,
    );
    false
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

/// Panics unless `ours` and `theirs` have equal bits, or are both NaN: which NaN payload an
/// operation with two NaN operands returns depends on operand order, which even
/// `matrixmultiply`'s own edge and interior tiles do not agree on (and IEEE 754 leaves open).
#[cfg(test)]
pub(crate) fn same_bits(ours: &[f32], theirs: &[f32], what: &str) {
    let first_difference = ours
        .iter()
        .zip(theirs)
        .position(|(x, y)| x.to_bits() != y.to_bits() && !(x.is_nan() && y.is_nan()));
    if let Some(i) = first_difference {
        panic!("{what}: element {i}: {} vs {}", ours[i], theirs[i]);
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    #![allow(unsafe_code)]

    use super::*;
    use crate::rng::Rng;
    use crate::sgemm_x86::Isa;

    /// The packed kernels this CPU can run (the AVX2 one also on AVX-512 machines).
    fn isas() -> Vec<Isa> {
        let mut isas = Vec::new();
        if std::is_x86_feature_detected!("avx512f") {
            isas.push(Isa::Avx512);
        }
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            isas.push(Isa::Avx2);
        }
        if isas.is_empty() {
            eprintln!("skipped: no packed kernel runs here, so sgemm is matrixmultiply itself");
        }
        isas
    }

    /// One product through both kernels (`a`: `m x k` at strides `sa`, `b`: `k x n` at `sb`,
    /// `c` of row stride `rsc`, prefilled with `c0`); returns both outputs.
    #[allow(clippy::too_many_arguments)]
    fn both(
        isa: Isa,
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
            let b_operand = RightOperand::Strided {
                ptr: b.as_ptr(),
                row_stride: sb.0,
                col_stride: sb.1,
            };
            let c = ours.as_mut_ptr();
            let none = Epilogue::NONE;
            crate::sgemm_x86::sgemm(
                isa,
                m,
                k,
                n,
                a.as_ptr(),
                sa,
                b_operand,
                c,
                rsc,
                accumulate,
                none,
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

    /// Every layout the callers use (row-major, either operand transposed, both, a strided view),
    /// on shapes that cross every block edge: K past one and two KC blocks, M past MC, N past NC,
    /// and ragged micro-tiles. Skipped without AVX-512F (there `sgemm` is matrixmultiply).
    #[test]
    fn packed_kernels_give_matrixmultiplys_bits() {
        for isa in isas() {
            packed_kernel_gives_matrixmultiplys_bits(isa);
        }
    }

    fn packed_kernel_gives_matrixmultiplys_bits(isa: Isa) {
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
                        let (ours, theirs) =
                            both(isa, (m, k, n), &a, sa, &b, sb, rsc, &c0, accumulate);
                        let what = format!(
                            "{isa:?} {m}x{k}x{n}, a strides {sa:?}, b strides {sb:?}, accumulate {accumulate}"
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
        for isa in isas() {
            special_values_match(isa);
        }
    }

    fn special_values_match(isa: Isa) {
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
            let (ours, theirs) = both(isa, (m, k, n), &a, (k, 1), &b, (1, k), n, &c0, accumulate);
            same_bits(&ours, &theirs, &format!("{isa:?} special values"));
        }
    }

    /// The columns of `c` outside `0..n` and the rows past `m` are never written.
    #[test]
    fn writes_only_the_output_window() {
        for isa in isas() {
            writes_only_the_window(isa);
        }
    }

    fn writes_only_the_window(isa: Isa) {
        let (m, k, n, rsc) = (20, 9, 13, 40);
        let a = vec![1.0; m * k];
        let b = vec![1.0; k * n];
        let mut c = vec![-7.0; (m + 2) * rsc];
        let b_operand = RightOperand::Strided {
            ptr: b.as_ptr(),
            row_stride: n,
            col_stride: 1,
        };
        // SAFETY: a, b and the m rows of c at stride rsc are in bounds.
        unsafe {
            let c = c.as_mut_ptr();
            let (ap, none) = (a.as_ptr(), Epilogue::NONE);
            crate::sgemm_x86::sgemm(isa, m, k, n, ap, (k, 1), b_operand, c, rsc, false, none)
        };
        for (at, &v) in c.iter().enumerate() {
            let (i, j) = (at / rsc, at % rsc);
            let expected = if i < m && j < n { k as f32 } else { -7.0 };
            assert_eq!(v, expected, "element ({i}, {j})");
        }
    }

    /// A gathered operand gives the bits of the same matrix written out, on shapes crossing a
    /// K block and ragged column panels.
    #[test]
    fn gathered_operand_is_the_written_out_matrix() {
        if !crate::sgemm_x86::gathers_available() {
            eprintln!("skipped: no AVX-512F");
            return;
        }
        let mut rng = Rng::seed_from(5);
        let x = random(5000, &mut rng);
        // A 3x3 convolution over 4 channels of 13x13 (an 11x11 output), in both roles: the
        // forward product's (taps x positions: lanes in one window per step) and the weight
        // gradient's (positions x taps: 16 steps in one window per lane).
        let taps: Vec<usize> = (0..4 * 9)
            .map(|t| t / 9 * 169 + t % 9 / 3 * 13 + t % 3)
            .collect();
        let positions: Vec<usize> = (0..121).map(|q| q / 11 * 13 + q % 11).collect();
        let wide: Vec<usize> = (0..40).map(|q| q * 31 % 97).collect();
        let edges: Vec<usize> = vec![0, 31, 5, 2, 30, 16, 15, 17, 1, 0, 31, 8, 9, 10, 3, 4, 32];
        let structured = [
            (taps.clone(), positions.clone()),
            (positions.clone(), taps.clone()),
            (wide.clone(), edges.clone()),
            (edges.clone(), wide.clone()),
            (edges[..16].to_vec(), edges[..16].to_vec()),
        ];
        let random_offsets = [(3, 5, 1), (20, 300, 37), (64, 121, 288), (17, 9, 600)].map(
            |(_, k, n): (usize, usize, usize)| {
                let rows: Vec<usize> = (0..k).map(|_| rng.below(2500) as usize).collect();
                let cols: Vec<usize> = (0..n).map(|_| rng.below(2500) as usize).collect();
                (rows, cols)
            },
        );
        for (row_offsets, cols) in structured.into_iter().chain(random_offsets) {
            let col_offsets: Vec<i32> = cols.iter().map(|&c| c as i32).collect();
            let (m, k, n) = (19, row_offsets.len(), col_offsets.len());
            let written: Vec<f32> = row_offsets
                .iter()
                .flat_map(|&r| {
                    col_offsets
                        .iter()
                        .map(|&c| x[r + c as usize])
                        .collect::<Vec<_>>()
                })
                .collect();
            let a = random(m * k, &mut rng);
            let c0 = random(m * n, &mut rng);
            for accumulate in [false, true] {
                let (mut gathered, mut strided) = (c0.clone(), c0.clone());
                // SAFETY: a is m x k row-major, c0 m x n; the gathered offsets are checked by
                // sgemm_gathered, the written-out matrix is k x n row-major.
                unsafe {
                    let ran = sgemm_gathered(
                        m,
                        a.as_ptr(),
                        (k, 1),
                        &x,
                        &row_offsets,
                        &col_offsets,
                        gathered.as_mut_ptr(),
                        n,
                        accumulate,
                    );
                    assert!(ran);
                    sgemm(
                        m,
                        k,
                        n,
                        a.as_ptr(),
                        (k, 1),
                        written.as_ptr(),
                        (n, 1),
                        strided.as_mut_ptr(),
                        n,
                        accumulate,
                        Epilogue::NONE,
                    );
                }
                same_bits(&gathered, &strided, &format!("gathered {m}x{k}x{n}"));
            }
        }
    }

    /// Offsets reaching past the operand are refused before anything is read.
    #[test]
    #[should_panic(expected = "out of bounds")]
    fn gathered_offsets_past_the_end_panic() {
        if !crate::sgemm_x86::gathers_available() {
            panic!("out of bounds (skipped: no AVX-512F, where the gathered path is unused)");
        }
        let x = vec![0.0; 10];
        let (a, mut c) = (vec![0.0; 2], vec![0.0; 2]);
        // SAFETY: a is 1 x 2 and c 1 x 2; x's offsets are the ones under test.
        unsafe {
            sgemm_gathered(
                1,
                a.as_ptr(),
                (2, 1),
                &x,
                &[0, 8],
                &[0, 2],
                c.as_mut_ptr(),
                2,
                false,
            )
        };
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

        /// Random shapes (K up to three blocks), any of the layouts and either way of writing
        /// the output: every packed kernel this CPU runs gives `matrixmultiply`'s bits.
        #[test]
        fn random_products_match_matrixmultiply(
            m in 1usize..40,
            k in 1usize..700,
            n in 1usize..40,
            layout_a in 0usize..3,
            layout_b in 0usize..3,
            accumulate in proptest::prelude::any::<bool>(),
            seed in 0u64..1000,
        ) {
            let mut rng = Rng::seed_from(seed);
            let a = random(2 * m * k, &mut rng);
            let b = random(2 * k * n, &mut rng);
            let c0 = random(m * (n + 1), &mut rng);
            let sa = [(k, 1), (1, m), (2 * k, 2)][layout_a];
            let sb = [(n, 1), (1, k), (1, 2 * k)][layout_b];
            for isa in isas() {
                let (ours, theirs) = both(isa, (m, k, n), &a, sa, &b, sb, n + 1, &c0, accumulate);
                same_bits(&ours, &theirs, &format!("{isa:?} {m}x{k}x{n} {sa:?} {sb:?}"));
            }
        }
    }
}
