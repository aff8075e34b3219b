//! Max pooling that remembers, in one byte per output, which element of each window won, and
//! the backward pass that routes gradients by those bytes alone.
//!
//! The backward pass of [`Tensor::try_max_pool2d_backward_from_output`] reads the whole input
//! again (5.5 MB on the MNIST CNN's first pooling, long evicted from the caches by the time the
//! backward pass runs) and the output, only to find again what the forward pass had found. The
//! codes are a sixteenth of the input's size, and with them the backward pass reads just the
//! codes and the gradient. It also no longer needs the input kept alive, so the training step
//! holds one activation less. PyTorch keeps 8-byte indices for the same purpose.
//!
//! A code is the winner's offset `i * kw + j` in its window's `kh x kw` grid, counted from the
//! window's unclipped top-left corner (so padding shifts nothing), which fits a byte for windows
//! of up to 256 elements. The winner follows the rule of every max-pooling kernel here: a NaN
//! wins, the last NaN of a window if there are several; otherwise the first maximum in row-major
//! order; a window of only -inf picks its first real element.

use rayon::prelude::*;

use crate::error::{Result, TensorError};
use crate::max_pool::is_plain_2x2;
use crate::par::PARALLEL_THRESHOLD;
use crate::pool::{for_each_plane, output_shape, plan, Pool2dOptions, PoolGeometry, Spans};
use crate::simd::{run_fused, FusedKernel, MulAdd, Unfused};
use crate::tensor::{Elem, Tensor};

/// Planes per task, as in the other pooling kernels: a fixed split, so the bits do not depend on
/// the thread count (each plane is independent anyway).
const PLANE_BLOCK: usize = 16;

/// The largest window whose offsets fit a byte.
pub const MAX_CODED_WINDOW: usize = 256;

/// Which element of each window max pooling picked, one byte per output (see
/// [`Tensor::try_max_pool2d_with_codes`]), with the input shape and options the gradient needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolCodes {
    codes: Vec<u8>,
    input_shape: [usize; 4],
    options: Pool2dOptions,
}

impl PoolCodes {
    /// Codes for the input shape `[N, C, H, W]` pooled with `options`.
    pub(crate) fn new(codes: Vec<u8>, input_shape: [usize; 4], options: Pool2dOptions) -> Self {
        PoolCodes {
            codes,
            input_shape,
            options,
        }
    }

    /// The winner's offset `i * kw + j` in each window, in the output's `[N, C, Ho, Wo]` order.
    pub fn codes(&self) -> &[u8] {
        &self.codes
    }

    /// The shape `[N, C, H, W]` of the pooled input.
    pub fn input_shape(&self) -> &[usize] {
        &self.input_shape
    }

    /// The pooling options the codes were made with.
    pub fn options(&self) -> &Pool2dOptions {
        &self.options
    }
}

impl Pool2dOptions {
    /// Whether a window has at most [`MAX_CODED_WINDOW`] elements, so that max pooling can
    /// name each window's winner in one byte ([`Tensor::try_max_pool2d_with_codes`]).
    ///
    /// ```
    /// use gradwork_tensor::Pool2dOptions;
    /// assert!(Pool2dOptions::new((16, 16)).fits_codes());
    /// assert!(!Pool2dOptions::new((17, 16)).fits_codes());
    /// ```
    pub fn fits_codes(&self) -> bool {
        self.kernel.0.saturating_mul(self.kernel.1) <= MAX_CODED_WINDOW
    }
}

/// Refuses windows too large for one-byte codes, naming the op and the input shape.
pub(crate) fn check_coded_window(
    op: &'static str,
    input: &[usize],
    options: &Pool2dOptions,
) -> Result<()> {
    if options.fits_codes() {
        return Ok(());
    }
    let (kh, kw) = options.kernel;
    Err(TensorError::invalid(
        op,
        input,
        format!("a {kh}x{kw} window has more than {MAX_CODED_WINDOW} elements, too many for one-byte codes"),
    ))
}

impl Tensor {
    /// 2-D max pooling (the values of [`Tensor::try_max_pool2d`]) together with one byte per
    /// output naming the element of its window that won, for
    /// [`Tensor::try_max_pool2d_backward_codes`]. Windows may have at most
    /// [`MAX_CODED_WINDOW`] elements; larger ones are refused (use
    /// [`Tensor::try_max_pool2d_with_indices`]).
    ///
    /// ```
    /// use gradwork_tensor::{Pool2dOptions, Tensor};
    /// let x = Tensor::from_vec(vec![1.0, 5.0, 2.0, 0.0, 3.0, 4.0, 9.0, 8.0], &[1, 1, 2, 4]);
    /// let (y, codes) = x.try_max_pool2d_with_codes(&Pool2dOptions::new((2, 2))).unwrap();
    /// assert_eq!(y.to_vec(), vec![5.0, 9.0]);
    /// // 5 is the top-right element of its window, 9 the bottom-left of its.
    /// assert_eq!(codes.codes(), &[1, 2]);
    /// ```
    pub fn try_max_pool2d_with_codes(
        &self,
        options: &Pool2dOptions,
    ) -> Result<(Tensor, PoolCodes)> {
        let op = "max_pool2d";
        let g = plan(op, self.shape(), options)?;
        check_coded_window(op, self.shape(), options)?;
        let x = self.contiguous();
        // `contiguous()` always returns a contiguous tensor, so `as_slice` is `Some`.
        let x = x.as_slice().unwrap();
        let (plane_in, plane_out) = (g.h * g.w, g.ho * g.wo);
        let mut y = crate::buffer::scratch(g.planes * plane_out);
        let mut codes = vec![0u8; g.planes * plane_out];
        let (rows, cols) = g.windows();
        let pool_plane = |plane: usize, y: &mut [Elem], codes: &mut [u8]| {
            let x = &x[plane * plane_in..(plane + 1) * plane_in];
            pool_plane_with_codes(&g, (&rows, &cols), x, y, codes);
        };
        if plane_out > 0 {
            let block = PLANE_BLOCK * plane_out;
            let run = |(b, (y, codes)): (usize, (&mut [Elem], &mut [u8]))| {
                let planes = y.chunks_mut(plane_out).zip(codes.chunks_mut(plane_out));
                for (i, (y, codes)) in planes.enumerate() {
                    pool_plane(b * PLANE_BLOCK + i, y, codes);
                }
            };
            if y.len() >= PARALLEL_THRESHOLD {
                let tasks = y.par_chunks_mut(block).zip(codes.par_chunks_mut(block));
                tasks.enumerate().for_each(run);
            } else {
                let tasks = y.chunks_mut(block).zip(codes.chunks_mut(block));
                tasks.enumerate().for_each(run);
            }
        }
        let shape = output_shape(self.shape(), &g);
        let input_shape = [shape[0], shape[1], g.h, g.w];
        Ok((
            Tensor::try_from_vec(y, &shape)?,
            PoolCodes {
                codes,
                input_shape,
                options: *options,
            },
        ))
    }

    /// The gradient of max pooling with respect to its input, from the codes
    /// [`Tensor::try_max_pool2d_with_codes`] returned: each output's gradient goes to the
    /// element its code names (overlapping windows add up), every other element is zero. The
    /// bits equal those of [`Tensor::try_max_pool2d_backward`] with the indices of
    /// [`Tensor::try_max_pool2d_with_indices`].
    ///
    /// Errors name the op and both shapes when `grad_out` does not have the pooled shape.
    ///
    /// ```
    /// use gradwork_tensor::{Pool2dOptions, Tensor};
    /// let x = Tensor::from_vec(vec![1.0, 5.0, 2.0, 0.0, 3.0, 4.0, 9.0, 8.0], &[1, 1, 2, 4]);
    /// let (_, codes) = x.try_max_pool2d_with_codes(&Pool2dOptions::new((2, 2))).unwrap();
    /// let dy = Tensor::from_vec(vec![0.5, -2.0], &[1, 1, 1, 2]);
    /// let dx = Tensor::try_max_pool2d_backward_codes(&dy, &codes).unwrap();
    /// assert_eq!(dx.to_vec(), vec![0.0, 0.5, 0.0, 0.0, 0.0, 0.0, -2.0, 0.0]);
    /// ```
    pub fn try_max_pool2d_backward_codes(grad_out: &Tensor, codes: &PoolCodes) -> Result<Tensor> {
        let op = "max_pool2d_backward";
        let g = plan(op, &codes.input_shape, &codes.options)?;
        let expected = output_shape(&codes.input_shape, &g);
        if grad_out.shape() != expected {
            return Err(TensorError::shape_mismatch_because(
                op,
                grad_out.shape(),
                &codes.input_shape,
                format!("grad_out must have the pooled shape {expected:?} of the input"),
            ));
        }
        let dy = grad_out.contiguous();
        // `contiguous()` always returns a contiguous tensor, so `as_slice` is `Some`.
        let dy = dy.as_slice().unwrap();
        let (plane_in, plane_out) = (g.h * g.w, g.ho * g.wo);
        // The routing writes every element.
        let mut dx = crate::buffer::scratch(g.planes * plane_in);
        for_each_plane(&mut dx, plane_in, |plane, dx| {
            let outputs = plane * plane_out..(plane + 1) * plane_out;
            route_plane_by_codes(&g, &codes.codes[outputs.clone()], &dy[outputs], dx);
        });
        Tensor::try_from_vec(dx, &codes.input_shape)
    }
}

/// Max-pools one plane `x` into `y`, writing each window's code: the plain 2x2 kernel or the
/// general one (`windows` are the geometry's row and column spans).
pub(crate) fn pool_plane_with_codes(
    g: &PoolGeometry,
    windows: (&Spans, &Spans),
    x: &[Elem],
    y: &mut [Elem],
    codes: &mut [u8],
) {
    if is_plain_2x2(g) {
        code_plane_2x2(g, x, y, codes);
    } else {
        code_plane(g, windows.0, windows.1, x, y, codes);
    }
}

/// Routes one plane's gradient `dy` by its `codes` into `dx`, writing every element of `dx`
/// (whatever it held): the plain 2x2 kernel writes each element directly, the general one
/// zeroes the plane and adds into it (overlapping windows add up).
pub(crate) fn route_plane_by_codes(g: &PoolGeometry, codes: &[u8], dy: &[Elem], dx: &mut [Elem]) {
    if is_plain_2x2(g) {
        route_codes_2x2(g, codes, dy, dx);
    } else {
        dx.fill(0.0);
        route_codes(g, codes, dy, dx);
    }
}

/// The row (or column) where output `o`'s unclipped window starts, which may lie in the
/// padding: `o * s - p` as a signed offset.
fn window_origin(o: usize, s: usize, p: usize) -> isize {
    (o * s) as isize - p as isize
}

/// Max-pools one plane with any window, writing each output's value and code.
fn code_plane(
    g: &PoolGeometry,
    rows: &Spans,
    cols: &Spans,
    x: &[Elem],
    y: &mut [Elem],
    codes: &mut [u8],
) {
    let Pool2dOptions {
        kernel: (_, kw),
        stride,
        padding,
        ..
    } = g.options;
    let outputs = y.chunks_mut(g.wo).zip(codes.chunks_mut(g.wo));
    for (oh, ((y, codes), &(h0, h1))) in outputs.zip(rows).enumerate() {
        let top = window_origin(oh, stride.0, padding.0);
        for (ow, ((y, code), &(w0, w1))) in y.iter_mut().zip(codes).zip(cols).enumerate() {
            let left = window_origin(ow, stride.1, padding.1);
            let (mut best, mut at) = (Elem::NEG_INFINITY, (h0, w0));
            for ih in h0..h1 {
                for (iw, &v) in x[ih * g.w + w0..ih * g.w + w1].iter().enumerate() {
                    if v > best || v.is_nan() {
                        (best, at) = (v, (ih, w0 + iw));
                    }
                }
            }
            *y = best;
            // Inside the window, so both offsets are below the kernel and the code below 256.
            *code = ((at.0 as isize - top) as usize * kw + (at.1 as isize - left) as usize) as u8;
        }
    }
}

/// Adds each gradient of one plane into the element its code names (`dx` starts zeroed).
fn route_codes(g: &PoolGeometry, codes: &[u8], dy: &[Elem], dx: &mut [Elem]) {
    let Pool2dOptions {
        kernel: (_, kw),
        stride,
        padding,
        ..
    } = g.options;
    let outputs = codes.chunks(g.wo).zip(dy.chunks(g.wo));
    for (oh, (codes, dy)) in outputs.enumerate() {
        let top = window_origin(oh, stride.0, padding.0);
        for (ow, (&code, &d)) in codes.iter().zip(dy).enumerate() {
            let left = window_origin(ow, stride.1, padding.1);
            let (i, j) = (code as usize / kw, code as usize % kw);
            // The codes name a real element of the window (made by `code_plane`).
            let at = (top + i as isize) as usize * g.w + (left + j as isize) as usize;
            dx[at] += d;
        }
    }
}

/// [`code_plane`] for plain 2x2 windows: AVX-512 where the CPU has it, else AVX2, else the
/// portable loop.
fn code_plane_2x2(g: &PoolGeometry, x: &[Elem], y: &mut [Elem], codes: &mut [u8]) {
    #[cfg(target_arch = "x86_64")]
    if crate::max_pool_x86::code_plane_2x2((g.h, g.w), (g.ho, g.wo), x, y, codes)
        || crate::max_pool_x86::code_plane_2x2_avx2((g.h, g.w), (g.ho, g.wo), x, y, codes)
    {
        return;
    }
    run_fused::<_, Unfused>(&mut Code2x2 { g, x, y, codes });
}

/// [`route_codes`] for plain 2x2 windows, writing every element of `dx` (the odd last row and
/// column no window covers get zeros); dispatched like [`code_plane_2x2`].
fn route_codes_2x2(g: &PoolGeometry, codes: &[u8], dy: &[Elem], dx: &mut [Elem]) {
    #[cfg(target_arch = "x86_64")]
    if crate::max_pool_x86::route_codes_2x2((g.h, g.w), (g.ho, g.wo), codes, dy, dx) {
        return;
    }
    run_fused::<_, Unfused>(&mut RouteCodes2x2 { g, codes, dy, dx });
}

/// [`code_plane_2x2_portable`] as a [`FusedKernel`], to be compiled for AVX2 (it does no
/// multiply-add).
struct Code2x2<'a> {
    g: &'a PoolGeometry,
    x: &'a [Elem],
    y: &'a mut [Elem],
    codes: &'a mut [u8],
}

impl FusedKernel for Code2x2<'_> {
    #[inline(always)]
    fn run<F: MulAdd>(&mut self) {
        code_plane_2x2_portable(self.g, self.x, self.y, self.codes);
    }
}

/// [`route_codes_2x2_portable`] as a [`FusedKernel`].
struct RouteCodes2x2<'a> {
    g: &'a PoolGeometry,
    codes: &'a [u8],
    dy: &'a [Elem],
    dx: &'a mut [Elem],
}

impl FusedKernel for RouteCodes2x2<'_> {
    #[inline(always)]
    fn run<F: MulAdd>(&mut self) {
        route_codes_2x2_portable(self.g, self.codes, self.dy, self.dx);
    }
}

/// Plain 2x2 pooling of one plane with codes, in straight-line selects (which element wins is
/// unpredictable; a branch per element would mispredict often). The reference the vector kernel
/// is tested against.
#[inline(always)]
pub(crate) fn code_plane_2x2_portable(
    g: &PoolGeometry,
    x: &[Elem],
    y: &mut [Elem],
    codes: &mut [u8],
) {
    let outputs = y.chunks_exact_mut(g.wo).zip(codes.chunks_exact_mut(g.wo));
    for (oh, (y, codes)) in outputs.enumerate() {
        let top = &x[2 * oh * g.w..][..2 * g.wo];
        let bottom = &x[(2 * oh + 1) * g.w..][..2 * g.wo];
        let windows = top.chunks_exact(2).zip(bottom.chunks_exact(2));
        for ((y, code), (t, b)) in y.iter_mut().zip(codes.iter_mut()).zip(windows) {
            let (mut best, mut at) = (t[0], 0u32);
            for (v, c) in [(t[1], 1u32), (b[0], 2), (b[1], 3)] {
                // `|` and masks rather than `||` and `if`, which compiled to branches that
                // mispredicted on every other window (6x slower than the plain pooling).
                let take = ((v > best) | v.is_nan()) as u32;
                let keep = take.wrapping_sub(1); // all ones when the old best stays
                best = f32::from_bits((best.to_bits() & keep) | (v.to_bits() & !keep));
                at = (at & keep) | (c & !keep);
            }
            (*y, *code) = (best, at as u8);
        }
    }
}

/// Plain 2x2 routing of one plane by codes, writing `0.0 + d` (what adding into a zeroed
/// gradient gives: +0.0 for a -0.0 gradient) at each code and +0.0 elsewhere.
#[inline(always)]
pub(crate) fn route_codes_2x2_portable(
    g: &PoolGeometry,
    codes: &[u8],
    dy: &[Elem],
    dx: &mut [Elem],
) {
    let used = 2 * g.wo;
    dx[2 * g.ho * g.w..].fill(0.0);
    let rows = dx.chunks_exact_mut(2 * g.w);
    for (dx, (codes, dy)) in rows.zip(codes.chunks_exact(g.wo).zip(dy.chunks_exact(g.wo))) {
        let (dx_top, dx_bottom) = dx.split_at_mut(g.w);
        dx_top[used..].fill(0.0);
        dx_bottom[used..].fill(0.0);
        let cells = dx_top[..used]
            .chunks_exact_mut(2)
            .zip(dx_bottom[..used].chunks_exact_mut(2));
        for ((dt, db), (&code, &d)) in cells.zip(codes.iter().zip(dy)) {
            let d = 0.0 + d;
            let route = |c: u8| if code == c { d } else { 0.0 };
            (dt[0], dt[1], db[0], db[1]) = (route(0), route(1), route(2), route(3));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn bits(v: &[Elem]) -> Vec<u32> {
        v.iter().map(|e| e.to_bits()).collect()
    }

    /// Values with many ties (drawn from five, signed zeros included), and optionally
    /// infinities and NaNs.
    fn awkward(rng: &mut Rng, n: usize, special: bool) -> Vec<Elem> {
        let common = [-1.0, -0.0, 0.0, 1.0, 2.0];
        let rare = [Elem::NAN, Elem::NEG_INFINITY, Elem::INFINITY];
        (0..n)
            .map(|_| {
                if special && rng.below(6) == 0 {
                    rare[rng.below(3) as usize]
                } else {
                    common[rng.below(5) as usize]
                }
            })
            .collect()
    }

    /// On every geometry (kernels 1-4, strides 1-3, padding up to half the kernel, odd and even
    /// sides), the values equal `try_max_pool2d`'s and the gradient from the codes has the bits
    /// of the gradient from `try_max_pool2d_with_indices`' indices, with ties, signed zeros,
    /// infinities, NaNs and planes of only -inf.
    #[test]
    fn codes_route_like_the_indices_on_every_geometry() {
        let mut rng = Rng::seed_from(5);
        for kh in 1..=4 {
            for kw in 1..=4 {
                for s in 1..=3 {
                    for p in 0..=kh.min(kw) / 2 {
                        for (h, w) in [(kh, kw), (5, 7), (8, 6), (9, 9)] {
                            let options = Pool2dOptions::new((kh, kw))
                                .with_stride((s, s))
                                .with_padding((p, p));
                            let shape = [2, 2, h.max(kh), w.max(kw)];
                            let n: usize = shape.iter().product();
                            let special = rng.below(2) == 0;
                            let mut values = awkward(&mut rng, n, special);
                            if rng.below(5) == 0 {
                                values.fill(Elem::NEG_INFINITY);
                            }
                            let x = Tensor::from_vec(values, &shape);
                            let (y, codes) = x.try_max_pool2d_with_codes(&options).unwrap();
                            let (y_ref, indices) = x.try_max_pool2d_with_indices(&options).unwrap();
                            let case = format!("k {kh}x{kw} s {s} p {p} {h}x{w}");
                            assert_eq!(bits(&y.to_vec()), bits(&y_ref.to_vec()), "{case}");
                            let dy_values: Vec<Elem> =
                                (0..y.numel()).map(|_| rng.next_normal() as Elem).collect();
                            let dy = Tensor::from_vec(dy_values, y.shape());
                            let dx = Tensor::try_max_pool2d_backward_codes(&dy, &codes).unwrap();
                            let dx_ref =
                                Tensor::try_max_pool2d_backward(&dy, &indices, &shape).unwrap();
                            assert_eq!(bits(&dx.to_vec()), bits(&dx_ref.to_vec()), "{case}");
                        }
                    }
                }
            }
        }
    }

    /// The dispatched 2x2 kernels (AVX-512 where the CPU has it), and the portable loops
    /// compiled for AVX2, write the portable loops' bits on planes of up to 2 x 40 windows of
    /// odd and even sides, with ties, signed zeros, infinities, NaNs and negative-zero
    /// gradients. The portable loops themselves are checked against the indices above.
    #[test]
    fn vector_kernels_match_the_portable_loops() {
        let mut rng = Rng::seed_from(17);
        for h in 2..=5 {
            for w in 2..=81 {
                let g = plan("test", &[1, 1, h, w], &Pool2dOptions::new((2, 2))).unwrap();
                let special = rng.below(2) == 0;
                let x = awkward(&mut rng, h * w, special);
                let n = g.ho * g.wo;
                let (mut y, mut codes) = (vec![7.0; n], vec![9u8; n]);
                let (mut y_ref, mut codes_ref) = (vec![7.0; n], vec![9u8; n]);
                code_plane_2x2(&g, &x, &mut y, &mut codes);
                code_plane_2x2_portable(&g, &x, &mut y_ref, &mut codes_ref);
                assert_eq!(bits(&y), bits(&y_ref), "{h}x{w}");
                assert_eq!(codes, codes_ref, "{h}x{w}");
                let (mut y_avx2, mut codes_avx2) = (vec![7.0; n], vec![9u8; n]);
                run_fused::<_, Unfused>(&mut Code2x2 {
                    g: &g,
                    x: &x,
                    y: &mut y_avx2,
                    codes: &mut codes_avx2,
                });
                assert_eq!(bits(&y_avx2), bits(&y_ref), "{h}x{w}");
                assert_eq!(codes_avx2, codes_ref, "{h}x{w}");
                // The AVX2 intrinsics kernel, which CPUs without AVX-512 run.
                #[cfg(target_arch = "x86_64")]
                {
                    let (mut y_avx2, mut codes_avx2) = (vec![7.0; n], vec![9u8; n]);
                    let sizes = ((g.h, g.w), (g.ho, g.wo));
                    let ran = crate::max_pool_x86::code_plane_2x2_avx2(
                        sizes.0,
                        sizes.1,
                        &x,
                        &mut y_avx2,
                        &mut codes_avx2,
                    );
                    if ran {
                        assert_eq!(bits(&y_avx2), bits(&y_ref), "{h}x{w}");
                        assert_eq!(codes_avx2, codes_ref, "{h}x{w}");
                    }
                }

                let dy: Vec<Elem> = (0..n)
                    .map(|i| {
                        if i % 7 == 3 {
                            -0.0
                        } else {
                            rng.next_normal() as Elem
                        }
                    })
                    .collect();
                let mut dx = vec![Elem::NAN; h * w];
                let mut dx_ref = vec![Elem::NAN; h * w];
                let mut dx_avx2 = vec![Elem::NAN; h * w];
                route_codes_2x2(&g, &codes_ref, &dy, &mut dx);
                route_codes_2x2_portable(&g, &codes_ref, &dy, &mut dx_ref);
                run_fused::<_, Unfused>(&mut RouteCodes2x2 {
                    g: &g,
                    codes: &codes_ref,
                    dy: &dy,
                    dx: &mut dx_avx2,
                });
                assert_eq!(bits(&dx), bits(&dx_ref), "{h}x{w}");
                assert_eq!(bits(&dx_avx2), bits(&dx_ref), "{h}x{w}");
            }
        }
    }

    #[test]
    fn refuses_windows_too_large_and_gradients_of_the_wrong_shape() {
        let x = Tensor::zeros(&[1, 1, 17, 17]);
        let err = x
            .try_max_pool2d_with_codes(&Pool2dOptions::new((17, 16)))
            .unwrap_err()
            .to_string();
        assert!(err.contains("17x16") && err.contains("256"), "{err}");
        let (_, codes) = x
            .try_max_pool2d_with_codes(&Pool2dOptions::new((2, 2)))
            .unwrap();
        let err = Tensor::try_max_pool2d_backward_codes(&Tensor::zeros(&[1, 1, 8, 9]), &codes)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("max_pool2d_backward")
                && err.contains("[1, 1, 8, 9]")
                && err.contains("[1, 1, 8, 8]"),
            "{err}"
        );
    }
}
