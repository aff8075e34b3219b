//! The packed kernels behind [`crate::sgemm::sgemm`] on x86-64: AVX-512 (`sgemm_avx512`, 16x16
//! tiles) where the CPU has it, else AVX2 with FMA (`sgemm_avx2`, 6x16 tiles, for products
//! with a transposed right operand or a deep product of row-major operands; see
//! `sgemm::use_packed`).
//!
//! The classic blocking (Goto and van de Geijn): the right operand is packed `NC` columns by
//! [`KC`] rows at a time into panels of `NR` columns, the left operand `MC` rows by `KC` into
//! panels of `MR` rows, and a micro-kernel multiplies one panel of each, keeping its `MR x NR`
//! block of the output in vector registers. A panel is stored k-major (`NR` or `MR` floats per
//! k), so the kernel reads the right panel's vectors and broadcasts of the left per step.
//!
//! Packing is where this differs from `matrixmultiply`: a panel whose source runs along K (a
//! row-major left operand, a transposed right one) is read in square blocks into registers and
//! transposed there, instead of one strided element at a time; a source that runs along the
//! panel is copied one vector per k. Whole panels of a row-major left operand are not packed
//! at all: the kernel broadcasts their elements straight from the rows (it reads each element
//! once per step either way, and a panel's rows stay in L1/L2 across the right panels). That
//! saves a copy of the left operand: with AVX-512, batch-1024 inference 203k -> 215k samples/s
//! on one thread, 377k -> 405k on two. Strides that would crowd the panel's rows into a few L1
//! sets (multiples of 512 floats) are still packed.
//!
//! Every kernel sums each K block with a chain of fused multiply-adds from zero and adds the
//! block sum to the output: the arithmetic of `matrixmultiply`'s kernels (see the
//! [`crate::sgemm`] docs), so all paths give the same bits.

#![allow(unsafe_code)]

use std::cell::RefCell;

use crate::epilogue::{Activation, Epilogue};
use crate::sgemm::{RightOperand, KC};
use crate::sgemm_avx2::Avx2;
use crate::sgemm_avx512::Avx512;

/// Floats past each packing buffer's end that packers may overwrite (see [`PackedKernel`]).
const SLACK: usize = 16;

/// How a kernel writes its tile: added to the output's old values (the later K blocks) or over
/// them, and on a fused product's last K block with the epilogue (see [`crate::epilogue`]):
/// the bias of the tile's columns, then a ReLU, with the arithmetic of the separate ops.
#[derive(Clone, Copy)]
pub(crate) struct TileStore {
    /// Add the tile's sums to the output instead of overwriting it.
    pub add: bool,
    /// The bias of the tile's first column; the tile's `cols` values from there are added.
    pub bias: Option<*const f32>,
    /// Apply [`crate::epilogue::relu`] last.
    pub relu: bool,
}

impl TileStore {
    /// Just the sums, added or not.
    pub const fn plain(add: bool) -> Self {
        TileStore {
            add,
            bias: None,
            relu: false,
        }
    }
}

/// A micro-kernel and the packers that lay out its panels.
pub(crate) trait PackedKernel {
    /// Rows of a left panel (and of the output tile).
    const MR: usize;
    /// Columns of a right panel (and of the output tile).
    const NR: usize;
    /// Rows of the left operand packed at a time: a multiple of `MR`.
    const MC: usize;
    /// Columns of the right operand packed at a time: a multiple of `NR`. Each K block packs
    /// `KC x NC` floats, which every row block then reads panel by panel.
    const NC: usize;

    /// Packs a left panel: `dst[p * MR + l] = src[l * lane_stride + p * k_stride]` for lanes
    /// `l < lanes <= MR` and steps `p < kc`, zero for the lanes past `lanes`. May write up to
    /// [`SLACK`] floats past `kc * MR`.
    ///
    /// # Safety
    /// The CPU has the kernel's features; `src` readable at those offsets; `dst` holds
    /// `kc * MR + SLACK` floats.
    unsafe fn pack_a(
        src: *const f32,
        strides: (usize, usize),
        lanes: usize,
        kc: usize,
        dst: &mut [f32],
    );

    /// [`PackedKernel::pack_a`] for a right panel of `NR` lanes.
    ///
    /// # Safety
    /// As `pack_a`, with `NR`.
    unsafe fn pack_b(
        src: *const f32,
        strides: (usize, usize),
        lanes: usize,
        kc: usize,
        dst: &mut [f32],
    );

    /// Packs a right panel of a gathered operand: `dst[p * NR + l] = src[rows[p] + cols[l]]`,
    /// zero for the lanes past `cols.len() <= NR`.
    ///
    /// # Safety
    /// As `pack_b`, with `src` readable at every `rows[p] + cols[l]`.
    unsafe fn pack_b_gathered(src: *const f32, rows: &[usize], cols: &[i32], dst: &mut [f32]);

    /// `c[i * rsc + j] (+)= sum_p a[p * MR + i] * b[p * NR + j]` for `i < rows`, `j < cols`, the
    /// sum a chain of fused multiply-adds from zero in order of `p`, written as `store` says.
    ///
    /// # Safety
    /// The CPU has the kernel's features; `c` writable (and readable when `store.add`) at those
    /// offsets; `a` and `b` hold `kc * MR` and `kc * NR` floats; `store.bias` readable for
    /// `cols` floats.
    #[allow(clippy::too_many_arguments)]
    unsafe fn kernel(
        kc: usize,
        a: &[f32],
        b: &[f32],
        c: *mut f32,
        rsc: usize,
        rows: usize,
        cols: usize,
        store: TileStore,
    );

    /// Whether [`PackedKernel::kernel_rows`] exists.
    const READS_ROWS: bool = false;

    /// [`PackedKernel::kernel`] for a whole left panel (`MR` rows) read in place from a
    /// row-major operand: `a[i * lda + p]` instead of a packed `a[p * MR + i]`. Same arithmetic.
    ///
    /// # Safety
    /// As `kernel`, with `a` readable at `i * lda + p` for `i < MR`, `p < kc`; only called when
    /// [`PackedKernel::READS_ROWS`].
    #[allow(clippy::too_many_arguments)]
    unsafe fn kernel_rows(
        _kc: usize,
        _a: *const f32,
        _lda: usize,
        _b: &[f32],
        _c: *mut f32,
        _rsc: usize,
        _cols: usize,
        _store: TileStore,
    ) {
        unreachable!("kernel_rows without READS_ROWS")
    }
}

pub(crate) use crate::cpu::Isa;

/// The packed kernel this process runs ([`crate::cpu::isa`]), if any.
pub(crate) fn isa() -> Option<Isa> {
    crate::cpu::isa()
}

/// Whether gathered operands can be packed (the AVX-512 kernel: masked loads and two-source
/// permutes).
pub(crate) fn gathers_available() -> bool {
    crate::cpu::has_avx512()
}

thread_local! {
    /// The packing buffers of this thread, reused across calls (left, right).
    static PACKS: RefCell<(AlignedBuf, AlignedBuf)> = const {
        RefCell::new((AlignedBuf::new(), AlignedBuf::new()))
    };
}

/// A growable f32 buffer whose working slice starts on a 64-byte boundary.
struct AlignedBuf(Vec<f32>);

impl AlignedBuf {
    const fn new() -> Self {
        AlignedBuf(Vec::new())
    }

    /// `len` floats starting at a 64-byte boundary (contents unspecified).
    fn slice(&mut self, len: usize) -> &mut [f32] {
        if self.0.len() < len + 16 {
            self.0 = vec![0.0; len + 16];
        }
        let skip = self.0.as_ptr().align_offset(64).min(16);
        &mut self.0[skip..skip + len]
    }
}

/// See [`crate::sgemm::sgemm`]; this is its packed path, on the kernel `isa` names. The
/// kernels apply the epilogue as they store their tiles after the last K block, while the sums
/// are still in registers.
///
/// # Safety
/// As [`crate::sgemm::sgemm`], with a gathered `b` only for [`Isa::Avx512`], and the CPU has
/// the features `isa` needs.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn sgemm(
    isa: Isa,
    m: usize,
    k: usize,
    n: usize,
    a: *const f32,
    a_strides: (usize, usize),
    b: RightOperand,
    c: *mut f32,
    rsc: usize,
    accumulate: bool,
    epilogue: Epilogue,
) {
    let out = (c, rsc, accumulate, epilogue);
    // SAFETY: the caller's contract.
    unsafe {
        match isa {
            Isa::Avx512 => drive::<Avx512>(m, k, n, a, a_strides, b, out),
            Isa::Avx2 => drive::<Avx2>(m, k, n, a, a_strides, b, out),
        }
    }
}

/// Whether the packed kernel `isa` reads whole left panels of a row-major operand with row
/// stride `stride` in place (see [`PackedKernel::kernel_rows`]).
pub(crate) fn reads_rows_in_place(isa: Isa, stride: usize) -> bool {
    match isa {
        Isa::Avx512 => kernel_reads_rows::<Avx512>(stride),
        Isa::Avx2 => kernel_reads_rows::<Avx2>(stride),
    }
}

/// [`reads_rows_in_place`] for kernel `K`: the one rule that both `sgemm::use_packed` and the
/// blocked loops follow.
fn kernel_reads_rows<K: PackedKernel>(stride: usize) -> bool {
    K::READS_ROWS && rows_spread_over_l1(stride, K::MR)
}

/// Whether `rows` rows `stride` floats apart fall into enough different sets of a 32 KiB 8-way
/// L1 (64 sets of 64-byte lines) to be read side by side: at most four rows per set. A stride
/// that is a multiple of 1024 floats puts every row in the same set, and reading such a panel
/// in place ran at half speed (1024x1024x1024: 48 against 97 GFLOP/s packed); at 256 floats
/// (four rows per set) in place was faster (1024x256x128: 110-112 against 101-107).
fn rows_spread_over_l1(stride: usize, rows: usize) -> bool {
    let mut per_set = [0u8; 64];
    (0..rows).all(|i| {
        let set = &mut per_set[(i * stride / 16) % 64];
        *set += 1;
        *set <= 4
    })
}

/// The blocked loops around kernel `K`.
///
/// # Safety
/// As [`sgemm`].
#[allow(clippy::too_many_arguments)]
unsafe fn drive<K: PackedKernel>(
    m: usize,
    k: usize,
    n: usize,
    a: *const f32,
    (rsa, csa): (usize, usize),
    b: RightOperand,
    (c, rsc, accumulate, epilogue): (*mut f32, usize, bool, Epilogue),
) {
    if m == 0 || n == 0 || k == 0 {
        return;
    }
    assert!(
        epilogue.bias.is_none_or(|b| b.len() >= n),
        "sgemm: bias shorter than the output's {n} columns"
    );
    let (mr, nr) = (K::MR, K::NR);
    PACKS.with(|packs| {
        // Never re-entered: nothing below calls back into sgemm.
        let (a_buf, b_buf) = &mut *packs.borrow_mut();
        let a_pack = a_buf.slice(KC * K::MC.min(m).next_multiple_of(mr) + SLACK);
        let b_pack = b_buf.slice(KC * K::NC.min(n).next_multiple_of(nr) + SLACK);
        for jc in (0..n).step_by(K::NC) {
            let nc = K::NC.min(n - jc);
            for (block, pc) in (0..k).step_by(KC).enumerate() {
                let kc = KC.min(k - pc);
                let last_block = pc + kc == k;
                for (panel, j) in (0..nc).step_by(nr).enumerate() {
                    let lanes = nr.min(nc - j);
                    let dst = &mut b_pack[panel * kc * nr..];
                    // SAFETY: columns jc + j .. + lanes and rows pc .. pc + kc of b are in the
                    // caller's bounds; the panel slot holds kc * NR floats and the slack.
                    unsafe {
                        match b {
                            RightOperand::Strided {
                                ptr,
                                row_stride,
                                col_stride,
                            } => {
                                let src = ptr.add(pc * row_stride + (jc + j) * col_stride);
                                K::pack_b(src, (col_stride, row_stride), lanes, kc, dst)
                            }
                            RightOperand::Gathered {
                                ptr,
                                row_offsets,
                                col_offsets,
                            } => {
                                let rows = &row_offsets[pc..pc + kc];
                                let cols = &col_offsets[jc + j..jc + j + lanes];
                                K::pack_b_gathered(ptr, rows, cols, dst)
                            }
                        }
                    }
                }
                // Later blocks always add onto the earlier blocks' sums; the last one writes
                // the epilogue with them.
                let add = accumulate || block > 0;
                let store = |column: usize| {
                    if last_block {
                        TileStore {
                            add,
                            bias: epilogue.bias.map(|b| b[column..].as_ptr()),
                            relu: matches!(epilogue.activation, Activation::Relu),
                        }
                    } else {
                        TileStore::plain(add)
                    }
                };
                // A row-major left operand's whole panels are read in place.
                let in_place = csa == 1 && kernel_reads_rows::<K>(rsa);
                for ic in (0..m).step_by(K::MC) {
                    let mc = K::MC.min(m - ic);
                    for (panel, i) in (0..mc).step_by(mr).enumerate() {
                        let lanes = mr.min(mc - i);
                        if in_place && lanes == mr {
                            continue;
                        }
                        // SAFETY: rows ic + i .. + lanes and columns pc .. pc + kc of a are in
                        // bounds; the slot holds kc * MR floats and the slack.
                        unsafe {
                            let src = a.add((ic + i) * rsa + pc * csa);
                            K::pack_a(src, (rsa, csa), lanes, kc, &mut a_pack[panel * kc * mr..]);
                        }
                    }
                    for (b_panel, j) in (0..nc).step_by(nr).enumerate() {
                        let cols = nr.min(nc - j);
                        let bp = &b_pack[b_panel * kc * nr..][..kc * nr];
                        for (a_panel, i) in (0..mc).step_by(mr).enumerate() {
                            let rows = mr.min(mc - i);
                            // SAFETY: the tile's first element is inside the m x n output.
                            let out = unsafe { c.add((ic + i) * rsc + jc + j) };
                            if in_place && rows == mr {
                                // SAFETY: rows ic + i .. + MR and columns pc .. pc + kc of a
                                // are in bounds; the tile is inside the output.
                                unsafe {
                                    let src = a.add((ic + i) * rsa + pc);
                                    let store = store(jc + j);
                                    K::kernel_rows(kc, src, rsa, bp, out, rsc, cols, store);
                                }
                                continue;
                            }
                            let ap = &a_pack[a_panel * kc * mr..][..kc * mr];
                            // SAFETY: the tile's rows and columns are inside the m x n output.
                            unsafe { K::kernel(kc, ap, bp, out, rsc, rows, cols, store(jc + j)) };
                        }
                    }
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// Reading a left panel in place gives the bits of packing it first, for every column count,
    /// with and without accumulation, on a row stride that is not a multiple of the panel; and
    /// both kernels store the epilogue (bias, ReLU) with the bits of applying it afterwards.
    fn in_place_rows_match_the_packed_panel<K: PackedKernel>() {
        let mut rng = Rng::seed_from(3);
        let mut random =
            |n: usize| -> Vec<f32> { (0..n).map(|_| rng.next_normal() as f32).collect() };
        let (mr, nr) = (K::MR, K::NR);
        let (kc, lda, rsc) = (37, 45, 19);
        let a = random(mr * lda);
        let b = random(kc * nr);
        let mut c0 = random(mr * rsc);
        // NaN, zeros of both signs and an infinity in the old output (reached when adding).
        c0[..4].copy_from_slice(&[f32::NAN, -0.0, 0.0, f32::NEG_INFINITY]);
        let mut bias = random(nr);
        bias[1] = f32::NAN;
        let mut packed = vec![0.0; kc * mr + SLACK];
        // SAFETY: lane l, step p reads a[l * lda + p] with p < kc <= lda; the kernels run only
        // where the CPU has their features (checked by the caller).
        unsafe { K::pack_a(a.as_ptr(), (lda, 1), mr, kc, &mut packed) };
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        for cols in [1, 9, nr] {
            for add in [false, true] {
                for (with_bias, relu) in
                    [(false, false), (true, false), (false, true), (true, true)]
                {
                    let store = TileStore {
                        add,
                        bias: with_bias.then_some(bias.as_ptr()),
                        relu,
                    };
                    let (mut via_pack, mut in_place) = (c0.clone(), c0.clone());
                    let mut afterwards = c0.clone();
                    // SAFETY: MR rows of rsc >= cols floats; the panels hold kc * MR and
                    // kc * NR; the bias holds NR >= cols.
                    unsafe {
                        K::kernel(kc, &packed, &b, via_pack.as_mut_ptr(), rsc, mr, cols, store);
                        let c = in_place.as_mut_ptr();
                        K::kernel_rows(kc, a.as_ptr(), lda, &b, c, rsc, cols, store);
                        let c = afterwards.as_mut_ptr();
                        K::kernel(kc, &packed, &b, c, rsc, mr, cols, TileStore::plain(add));
                        let epilogue = Epilogue {
                            bias: with_bias.then_some(&bias[..]),
                            activation: if relu {
                                Activation::Relu
                            } else {
                                Activation::Identity
                            },
                        };
                        epilogue.apply(c, rsc, mr, cols);
                    }
                    let what = format!("{cols} columns, add {add}, bias {with_bias}, relu {relu}");
                    assert_eq!(bits(&via_pack), bits(&in_place), "{what}");
                    assert_eq!(bits(&via_pack), bits(&afterwards), "{what}: epilogue");
                }
            }
        }
    }

    #[test]
    fn rows_read_in_place_match_the_packed_panel() {
        if std::is_x86_feature_detected!("avx512f") {
            in_place_rows_match_the_packed_panel::<Avx512>();
        }
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            in_place_rows_match_the_packed_panel::<Avx2>();
        }
    }

    /// The strides the workloads use are read in place; those that stack a panel's rows into a
    /// few L1 sets are not.
    #[test]
    fn l1_spread_of_panel_rows() {
        for stride in [45, 128, 256, 288, 784, 968, 1600, 5408] {
            assert!(rows_spread_over_l1(stride, 16), "stride {stride}");
        }
        for stride in [512, 1024, 2048, 4096] {
            assert!(!rows_spread_over_l1(stride, 16), "stride {stride}");
        }
    }
}
