//! Max pooling without indices, and its backward pass from the input and the output.
//!
//! A training step does not need the argmax indices that [`Tensor::try_max_pool2d_with_indices`]
//! returns: they are eight bytes per output (more memory traffic than the input itself), and a
//! fresh allocation per step. The backward pass here finds each window's maximum again in the
//! saved input, by the same rule the forward pass uses (a NaN wins, the last NaN of a window if
//! there are several; otherwise the first maximum in row-major order), so it sends every gradient
//! to exactly the position the indices would name. Measured on the MNIST CNN's first pooling
//! (`[64, 32, 26, 26]`, one thread, forward and backward as a training step runs them): 4.5-6.5 ms
//! with indices (most of it allocating and copying them), 1.8-2.2 ms without.

use crate::error::{or_panic, Result, TensorError};
use crate::pool::{for_each_plane, output_shape, plan, pool_planes, Pool2dOptions, PoolGeometry};
use crate::simd::{run_fused, FusedKernel, MulAdd, Unfused};
use crate::tensor::{Elem, Tensor};

/// The running maximum after `v`: NaN wins over everything, and a later NaN replaces an earlier
/// one, as in the indexed kernel. Branch-free, so planes need no NaN scan first.
#[inline(always)]
fn pick(best: Elem, v: Elem) -> Elem {
    if v > best || v.is_nan() {
        v
    } else {
        best
    }
}

/// Max-pools one plane `x` into `y`; windows of exactly `KH x KW` real elements take a fixed-size
/// loop (`KH = 0`: none do).
fn max_values<const KH: usize, const KW: usize>(
    g: &PoolGeometry,
    rows: &[(usize, usize)],
    cols: &[(usize, usize)],
    x: &[Elem],
    y: &mut [Elem],
) {
    for (y, &(h0, h1)) in y.chunks_mut(g.wo).zip(rows) {
        for (y, &(w0, w1)) in y.iter_mut().zip(cols) {
            let mut best = Elem::NEG_INFINITY;
            if KH > 0 && h1 - h0 == KH && w1 - w0 == KW {
                for i in 0..KH {
                    let start = (h0 + i) * g.w + w0;
                    for &v in &x[start..start + KW] {
                        best = pick(best, v);
                    }
                }
            } else {
                for start in (h0..h1).map(|ih| ih * g.w) {
                    for &v in &x[start + w0..start + w1] {
                        best = pick(best, v);
                    }
                }
            }
            *y = best;
        }
    }
}

/// Sends each gradient of one plane (`dy`, with the pooled values `y`) to the element of its
/// window in `x` that max pooling picked: the last NaN if the output is NaN, else the first
/// element equal to it (a window of all -inf picks its first element). Windows of exactly
/// `KH x KW` real elements take a fixed-size loop (`KH = 0`: none do). Returns false if some
/// window does not contain its output value.
#[allow(clippy::too_many_arguments)]
fn route_plane<const KH: usize, const KW: usize>(
    g: &PoolGeometry,
    rows: &[(usize, usize)],
    cols: &[(usize, usize)],
    x: &[Elem],
    y: &[Elem],
    dy: &[Elem],
    dx: &mut [Elem],
) -> bool {
    let mut all_found = true;
    let outputs = y.chunks(g.wo).zip(dy.chunks(g.wo));
    for ((y, dy), &(h0, h1)) in outputs.zip(rows) {
        for ((&y, &d), &(w0, w1)) in y.iter().zip(dy).zip(cols) {
            let (kh, kw) = if KH > 0 && h1 - h0 == KH && w1 - w0 == KW {
                (KH, KW)
            } else {
                (h1 - h0, w1 - w0)
            };
            // Branch-free selects: which element of a window is the maximum is unpredictable,
            // and a mispredicted branch per window cost ten times the memory traffic.
            let mut at = usize::MAX;
            if y.is_nan() {
                // The last NaN: scan forward, every NaN overwrites.
                for i in 0..kh {
                    let start = (h0 + i) * g.w + w0;
                    for (j, &v) in x[start..start + kw].iter().enumerate() {
                        at = if v.is_nan() { start + j } else { at };
                    }
                }
            } else {
                // The first element equal to the output: scan backward, every match overwrites.
                for i in (0..kh).rev() {
                    let start = (h0 + i) * g.w + w0;
                    for (j, &v) in x[start..start + kw].iter().enumerate().rev() {
                        at = if v == y { start + j } else { at };
                    }
                }
            }
            let at = (at != usize::MAX).then_some(at);
            match at {
                Some(at) => dx[at] += d,
                None => all_found = false,
            }
        }
    }
    all_found
}

/// Whether `g` pools non-overlapping 2x2 windows with no padding (the usual `MaxPool2d(2)`),
/// which the kernels below handle without window lists or searches.
pub(crate) fn is_plain_2x2(g: &PoolGeometry) -> bool {
    let o = &g.options;
    o.kernel == (2, 2) && o.stride == (2, 2) && o.padding == (0, 0)
}

/// Max-pools one plane with plain 2x2 windows (see [`is_plain_2x2`]), in the window's row-major
/// order like every other kernel.
fn max_values_2x2(g: &PoolGeometry, x: &[Elem], y: &mut [Elem]) {
    for (oh, y) in y.chunks_exact_mut(g.wo).enumerate() {
        let top = &x[2 * oh * g.w..][..2 * g.wo];
        let bottom = &x[(2 * oh + 1) * g.w..][..2 * g.wo];
        for ((y, t), b) in y
            .iter_mut()
            .zip(top.chunks_exact(2))
            .zip(bottom.chunks_exact(2))
        {
            *y = pick(pick(pick(pick(Elem::NEG_INFINITY, t[0]), t[1]), b[0]), b[1]);
        }
    }
}

/// The backward pass of [`max_values_2x2`] on one plane: windows do not overlap, so each
/// element of `dx` is either its window's gradient or zero, written directly (including the odd
/// last row and column no window covers). Returns false if some window's output equals none of
/// its elements: a NaN output (which the caller routes with [`route_plane`]) or a wrong output.
fn route_plane_2x2(g: &PoolGeometry, x: &[Elem], y: &[Elem], dy: &[Elem], dx: &mut [Elem]) -> bool {
    #[cfg(target_arch = "x86_64")]
    if let Some(found) =
        crate::max_pool_x86::route_plane_2x2((g.h, g.w), (g.ho, g.wo), x, y, dy, dx)
    {
        return found;
    }
    let mut route = Route2x2 {
        g,
        x,
        y,
        dy,
        dx,
        found: false,
    };
    run_fused::<_, Unfused>(&mut route);
    route.found
}

/// [`route_plane_2x2_portable`] as a [`FusedKernel`], so that CPUs without the AVX-512 kernel
/// run it compiled for AVX2 (8-lane vectors instead of SSE2's 4). The same code, so the same
/// bits; it does no multiply-add.
struct Route2x2<'a> {
    g: &'a PoolGeometry,
    x: &'a [Elem],
    y: &'a [Elem],
    dy: &'a [Elem],
    dx: &'a mut [Elem],
    found: bool,
}

impl FusedKernel for Route2x2<'_> {
    #[inline(always)]
    fn run<F: MulAdd>(&mut self) {
        self.found = route_plane_2x2_portable(self.g, self.x, self.y, self.dy, self.dx);
    }
}

/// [`route_plane_2x2`] without vector intrinsics (and the reference their test compares with).
#[inline(always)]
fn route_plane_2x2_portable(
    g: &PoolGeometry,
    x: &[Elem],
    y: &[Elem],
    dy: &[Elem],
    dx: &mut [Elem],
) -> bool {
    let mut missing = 0u32;
    let used = 2 * g.wo;
    dx[2 * g.ho * g.w..].fill(0.0);
    let rows = dx.chunks_exact_mut(2 * g.w).zip(x.chunks_exact(2 * g.w));
    for ((dx, x), (y, dy)) in rows.zip(y.chunks_exact(g.wo).zip(dy.chunks_exact(g.wo))) {
        let (dx_top, dx_bottom) = dx.split_at_mut(g.w);
        let (x_top, x_bottom) = x.split_at(g.w);
        dx_top[used..].fill(0.0);
        dx_bottom[used..].fill(0.0);
        let cells = dx_top[..used]
            .chunks_exact_mut(2)
            .zip(dx_bottom[..used].chunks_exact_mut(2))
            .zip(
                x_top[..used]
                    .chunks_exact(2)
                    .zip(x_bottom[..used].chunks_exact(2)),
            );
        // Straight-line code the compiler vectorises: which cell holds the maximum is
        // unpredictable, and a branch per window cost several times the memory traffic.
        for (((dt, db), (t, b)), (&y, &d)) in cells.zip(y.iter().zip(dy)) {
            // The first element equal to the output wins.
            let e = [t[0], t[1], b[0], b[1]].map(|v| (v == y) as u32);
            let hit = [
                e[0],
                e[1] & !e[0],
                e[2] & !(e[0] | e[1]),
                e[3] & !(e[0] | e[1] | e[2]),
            ];
            missing += 1 ^ (e[0] | e[1] | e[2] | e[3]);
            // `0.0 + d` (what adding into a zeroed gradient gives: +0.0 for a -0.0 gradient)
            // or +0.0, by masking its bits.
            let d = 0.0 + d;
            let route = |h: u32| Elem::from_bits(d.to_bits() & h.wrapping_neg());
            (dt[0], dt[1], db[0], db[1]) =
                (route(hit[0]), route(hit[1]), route(hit[2]), route(hit[3]));
        }
    }
    missing == 0
}

impl Tensor {
    /// 2-D max pooling of an input `[N, C, H, W]` into `[N, C, Ho, Wo]`
    /// (`Ho = floor((H + 2p - kh) / s) + 1`), as PyTorch's `MaxPool2d` in floor mode. Padding
    /// counts as -inf, and a NaN in a window wins. For the positions of the maxima, see
    /// [`Tensor::try_max_pool2d_with_indices`].
    ///
    /// ```
    /// use gradwork_tensor::{Pool2dOptions, Tensor};
    /// let x = Tensor::from_vec(vec![1.0, 5.0, 2.0, 0.0, 3.0, 4.0, 9.0, 8.0], &[1, 1, 2, 4]);
    /// let y = x.try_max_pool2d(&Pool2dOptions::new((2, 2))).unwrap();
    /// assert_eq!(y.to_vec(), vec![5.0, 9.0]);
    /// ```
    pub fn try_max_pool2d(&self, options: &Pool2dOptions) -> Result<Tensor> {
        pool_planes("max_pool2d", self, options, |g, rows, cols, x, y| {
            if is_plain_2x2(g) {
                return max_values_2x2(g, x, y);
            }
            match g.options.kernel {
                (2, 2) => max_values::<2, 2>(g, rows, cols, x, y),
                (3, 3) => max_values::<3, 3>(g, rows, cols, x, y),
                _ => max_values::<0, 0>(g, rows, cols, x, y),
            }
        })
    }

    /// 2-D max pooling (see [`Tensor::try_max_pool2d`]).
    ///
    /// # Panics
    /// When the input is not 4-D or the options are invalid.
    #[track_caller]
    pub fn max_pool2d(&self, options: &Pool2dOptions) -> Tensor {
        or_panic(self.try_max_pool2d(options))
    }

    /// The gradient of max pooling with respect to its `input` `[N, C, H, W]`, given the pooled
    /// `output` (`input.max_pool2d(options)`) and `grad_out` of the output's shape: each gradient
    /// goes to the position of its window's maximum, found again in `input` by the forward
    /// pass's rule, so the result equals [`Tensor::try_max_pool2d_backward`] with the indices
    /// [`Tensor::try_max_pool2d_with_indices`] returns. Overlapping windows add up.
    ///
    /// Errors name the op and the shapes when `grad_out` or `output` does not have the pooled
    /// shape, and refuse an `output` that is not the max pooling of `input` (a window whose
    /// output value does not occur in it).
    ///
    /// ```
    /// use gradwork_tensor::{Pool2dOptions, Tensor};
    /// let x = Tensor::from_vec(vec![1.0, 5.0, 2.0, 0.0, 3.0, 4.0, 9.0, 8.0], &[1, 1, 2, 4]);
    /// let options = Pool2dOptions::new((2, 2));
    /// let y = x.max_pool2d(&options);
    /// let dx = Tensor::try_max_pool2d_backward_from_output(&Tensor::ones(&[1, 1, 1, 2]), &x, &y, &options).unwrap();
    /// assert_eq!(dx.to_vec(), vec![0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
    /// ```
    pub fn try_max_pool2d_backward_from_output(
        grad_out: &Tensor,
        input: &Tensor,
        output: &Tensor,
        options: &Pool2dOptions,
    ) -> Result<Tensor> {
        let op = "max_pool2d_backward";
        let g = plan(op, input.shape(), options)?;
        let expected = output_shape(input.shape(), &g);
        for (what, t) in [("grad_out", grad_out), ("output", output)] {
            if t.shape() != expected {
                return Err(TensorError::shape_mismatch_because(
                    op,
                    t.shape(),
                    input.shape(),
                    format!("{what} must have the pooled shape {expected:?} of the input"),
                ));
            }
        }
        let (x, y, dy) = (
            input.contiguous(),
            output.contiguous(),
            grad_out.contiguous(),
        );
        // `contiguous()` always returns a contiguous tensor, so `as_slice` is `Some`.
        let (x, y, dy) = (
            x.as_slice().unwrap(),
            y.as_slice().unwrap(),
            dy.as_slice().unwrap(),
        );
        let (plane_in, plane_out) = (g.h * g.w, g.ho * g.wo);
        let (rows, cols) = g.windows();
        // The 2x2 kernel writes every element; the others add into zeros.
        let mut dx = if is_plain_2x2(&g) {
            crate::buffer::scratch(x.len())
        } else {
            crate::buffer::zeroed(x.len())
        };
        let missing = std::sync::atomic::AtomicBool::new(false);
        for_each_plane(&mut dx, plane_in, |plane, dx| {
            let x = &x[plane * plane_in..(plane + 1) * plane_in];
            let outputs = plane * plane_out..(plane + 1) * plane_out;
            let (y, dy) = (&y[outputs.clone()], &dy[outputs]);
            let found = match g.options.kernel {
                // A NaN output matches no element: such planes take the general search.
                _ if is_plain_2x2(&g) => {
                    route_plane_2x2(&g, x, y, dy, dx) || {
                        dx.fill(0.0);
                        route_plane::<2, 2>(&g, &rows, &cols, x, y, dy, dx)
                    }
                }
                (2, 2) => route_plane::<2, 2>(&g, &rows, &cols, x, y, dy, dx),
                (3, 3) => route_plane::<3, 3>(&g, &rows, &cols, x, y, dy, dx),
                _ => route_plane::<0, 0>(&g, &rows, &cols, x, y, dy, dx),
            };
            if !found {
                missing.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        });
        if missing.into_inner() {
            return Err(TensorError::invalid(
                op,
                output.shape(),
                "the output is not the max pooling of the input: a window does not contain its output value",
            ));
        }
        Tensor::try_from_vec(dx, input.shape())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// The dispatched 2x2 routing (AVX-512 where the CPU has it) writes the portable loop's bits
    /// on every plane size up to 2 x 20 windows of odd and even sides, with many ties (values
    /// drawn from five, signed zeros included) and both signs of gradient, and agrees on which
    /// planes miss a window (a NaN output, or an output from another plane).
    #[test]
    fn vector_routing_matches_the_portable_loop() {
        let mut rng = Rng::seed_from(11);
        let values = [-1.0, -0.0, 0.0, 1.0, 2.0];
        for h in 2..=9 {
            for w in 2..=41 {
                let g = plan("test", &[1, 1, h, w], &Pool2dOptions::new((2, 2))).unwrap();
                let x: Vec<Elem> = (0..h * w)
                    .map(|_| values[rng.below(values.len() as u64) as usize])
                    .collect();
                let mut y = vec![0.0; g.ho * g.wo];
                max_values_2x2(&g, &x, &mut y);
                let dy: Vec<Elem> = (0..y.len()).map(|_| rng.next_normal() as Elem).collect();
                let mut broken = y.clone();
                let spoil = rng.below(y.len() as u64) as usize;
                broken[spoil] = if w % 2 == 0 { Elem::NAN } else { 7.0 };
                for y in [&y, &broken] {
                    let mut fast = vec![Elem::NAN; h * w];
                    let mut slow = vec![Elem::NAN; h * w];
                    let mut compiled = vec![Elem::NAN; h * w];
                    let found_fast = route_plane_2x2(&g, &x, y, &dy, &mut fast);
                    let found_slow = route_plane_2x2_portable(&g, &x, y, &dy, &mut slow);
                    // The AVX2-compiled copy that CPUs without AVX-512 run.
                    let mut route = Route2x2 {
                        g: &g,
                        x: &x,
                        y,
                        dy: &dy,
                        dx: &mut compiled,
                        found: false,
                    };
                    run_fused::<_, Unfused>(&mut route);
                    assert_eq!(found_fast, found_slow, "{h}x{w}");
                    assert_eq!(route.found, found_slow, "{h}x{w}");
                    if found_slow {
                        let bits = |v: &[Elem]| v.iter().map(|e| e.to_bits()).collect::<Vec<_>>();
                        assert_eq!(bits(&fast), bits(&slow), "{h}x{w}");
                        assert_eq!(bits(&compiled), bits(&slow), "{h}x{w}");
                    }
                }
            }
        }
    }
}
