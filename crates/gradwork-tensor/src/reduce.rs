//! Reductions over axes (sum, mean, var, max, min, argmax, argmin, logsumexp) and the
//! normalisations built on them (softmax, log_softmax).
//!
//! Sums accumulate in f64, sequentially within each output element, so results are accurate to
//! within an f32 rounding of the exact sum and identical on any number of threads: parallelism is
//! only ever across output elements, or across fixed chunks of one long sum whose partials are
//! folded in order (see `par`).

use rayon::prelude::*;

use crate::error::{or_panic, Result, TensorError};
use crate::layout::Axis;
use crate::par::{for_each_row, PARALLEL_THRESHOLD, REDUCE_CHUNK};
use crate::tensor::{Elem, Tensor};

/// Sum of a slice in f64, in order.
fn sum_f64(xs: &[Elem]) -> f64 {
    // Four independent accumulators let the compiler vectorise; their order is fixed, so the
    // result is the same wherever this runs.
    let mut acc = [0.0f64; 4];
    let mut chunks = xs.chunks_exact(4);
    for c in &mut chunks {
        acc[0] += c[0] as f64;
        acc[1] += c[1] as f64;
        acc[2] += c[2] as f64;
        acc[3] += c[3] as f64;
    }
    let mut tail = 0.0;
    for &x in chunks.remainder() {
        tail += x as f64;
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// [`sum_f64`] over a row given as consecutive segments, with exactly its rounding: element `i`
/// of the row goes to accumulator `i % 4` unless it is in the last `len % 4`, which are added to
/// the tail in order. Lets a reduction over strided data skip gathering the row first.
struct SegmentedSum {
    acc: [f64; 4],
    tail: f64,
    position: usize,
    /// Where the tail starts: `len - len % 4`.
    tail_start: usize,
}

impl SegmentedSum {
    fn new(len: usize) -> Self {
        SegmentedSum {
            acc: [0.0; 4],
            tail: 0.0,
            position: 0,
            tail_start: len - len % 4,
        }
    }

    fn push_one(&mut self, x: Elem) {
        if self.position >= self.tail_start {
            self.tail += x as f64;
        } else {
            self.acc[self.position % 4] += x as f64;
        }
        self.position += 1;
    }

    fn finish(&self) -> f64 {
        (self.acc[0] + self.acc[1]) + (self.acc[2] + self.acc[3]) + self.tail
    }

    /// Adds one segment to each of `W` rows of equal length, all at the same position, in
    /// lockstep: single elements until the position is a multiple of 4, whole groups of 4 in the
    /// vectorisable loop, single elements again for the rest (and for the tail). One row's
    /// additions form a chain that waits on the adder's latency (four lanes, then the next four);
    /// the rows' chains are independent, so interleaving them overlaps those waits (a conv bias
    /// gradient: 2x faster). Each row's arithmetic is the same whatever `W` is.
    fn push_lockstep<const W: usize>(sums: &mut [SegmentedSum; W], xs: [&[Elem]; W]) {
        let len = xs[0].len();
        assert!(
            xs.iter().all(|x| x.len() == len),
            "lockstep segments differ in length"
        );
        let tail_start = sums[0].tail_start;
        let mut i = 0;
        while i < len && (!(sums[0].position).is_multiple_of(4) || sums[0].position >= tail_start) {
            for (sum, x) in sums.iter_mut().zip(&xs) {
                sum.push_one(x[i]);
            }
            i += 1;
        }
        let position = sums[0].position;
        let groups = ((len - i) / 4).min((tail_start - position.min(tail_start)) / 4);
        // Local copies, so the accumulators stay in registers through the loop.
        let mut acc: [[f64; 4]; W] = std::array::from_fn(|w| sums[w].acc);
        for g in 0..groups {
            let at = i + 4 * g;
            for (acc, x) in acc.iter_mut().zip(&xs) {
                let c = &x[at..at + 4];
                acc[0] += c[0] as f64;
                acc[1] += c[1] as f64;
                acc[2] += c[2] as f64;
                acc[3] += c[3] as f64;
            }
        }
        for (sum, acc) in sums.iter_mut().zip(acc) {
            sum.acc = acc;
            sum.position += 4 * groups;
        }
        for k in i + 4 * groups..len {
            for (sum, x) in sums.iter_mut().zip(&xs) {
                sum.push_one(x[k]);
            }
        }
    }
}

/// The f64 sums, with [`SegmentedSum`]'s rounding, of outputs `first..first + out.len()` of the
/// middle axis of `data` seen as `[outer, len, inner]`: each output's row is `outer` runs of
/// `inner` contiguous values. Rows go four at a time in lockstep (the rest one by one), which
/// changes no row's arithmetic. A sum over a tensor's other axes, and a convolution's bias
/// gradient over one image block, both use it.
pub(crate) fn sum_middle_axis(
    data: &[Elem],
    (len, outer, inner): (usize, usize, usize),
    first: usize,
    out: &mut [f64],
) {
    fn sum_rows<const W: usize>(
        data: &[Elem],
        (len, outer, inner): (usize, usize, usize),
        first: usize,
        out: &mut [f64],
    ) {
        let mut sums: [SegmentedSum; W] = std::array::from_fn(|_| SegmentedSum::new(outer * inner));
        for i in 0..outer {
            let segments = std::array::from_fn(|w| {
                let start = (i * len + first + w) * inner;
                &data[start..start + inner]
            });
            SegmentedSum::push_lockstep(&mut sums, segments);
        }
        for (o, sum) in out.iter_mut().zip(&sums) {
            *o = sum.finish();
        }
    }
    const LOCKSTEP: usize = 4;
    let sizes = (len, outer, inner);
    for (k, outs) in out.chunks_mut(LOCKSTEP).enumerate() {
        let at = first + k * LOCKSTEP;
        if outs.len() == LOCKSTEP {
            sum_rows::<LOCKSTEP>(data, sizes, at, outs);
        } else {
            for (i, o) in outs.chunks_mut(1).enumerate() {
                sum_rows::<1>(data, sizes, at + i, o);
            }
        }
    }
}

fn max_lane(xs: &[Elem]) -> (Elem, usize) {
    let mut best = (f32::NEG_INFINITY, 0usize);
    for (i, &x) in xs.iter().enumerate() {
        if x.is_nan() {
            return (x, i);
        }
        if x > best.0 || i == 0 {
            best = (x, i);
        }
    }
    best
}

fn min_lane(xs: &[Elem]) -> (Elem, usize) {
    let mut best = (f32::INFINITY, 0usize);
    for (i, &x) in xs.iter().enumerate() {
        if x.is_nan() {
            return (x, i);
        }
        if x < best.0 || i == 0 {
            best = (x, i);
        }
    }
    best
}

fn logsumexp_lane(xs: &[Elem]) -> Elem {
    let (m, _) = max_lane(xs);
    if !m.is_finite() {
        // All -inf gives -inf; any +inf gives +inf; NaN propagates.
        return if xs.is_empty() { f32::NEG_INFINITY } else { m };
    }
    // Subtract the lane max so exp never overflows.
    let s: f64 = xs.iter().map(|&x| ((x - m) as f64).exp()).sum();
    (m as f64 + s.ln()) as Elem
}

fn reduced_shape(shape: &[usize], axis: usize, keepdim: bool) -> Vec<usize> {
    let mut out = shape.to_vec();
    if keepdim {
        out[axis] = 1;
    } else {
        out.remove(axis);
    }
    out
}

impl Tensor {
    /// The tensor with `axis` moved last and made contiguous, viewed as `[lanes, len]`.
    fn lanes_along(&self, axis: usize) -> Tensor {
        let ndim = self.ndim();
        if axis == ndim - 1 {
            return self.contiguous();
        }
        let mut perm: Vec<usize> = (0..ndim).filter(|&a| a != axis).collect();
        perm.push(axis);
        self.permute(&perm).contiguous()
    }

    /// Reduces each lane along `axis` to one value with `f`.
    fn reduce_lanes(
        &self,
        op: &'static str,
        axis: impl Axis,
        keepdim: bool,
        f: impl Fn(&[Elem]) -> Elem + Sync + Send,
    ) -> Result<Tensor> {
        if self.ndim() == 0 {
            return Err(TensorError::invalid(
                op,
                self.shape(),
                "a 0-d tensor has no axis to reduce",
            ));
        }
        let axis = axis.resolve(op, self.shape())?;
        let len = self.shape()[axis];
        let lanes = self.lanes_along(axis);
        let data = lanes
            .as_slice()
            .expect("lanes_along returns a contiguous tensor");
        // One output per lane: the product of the other axes (not numel / len, which loses the
        // lanes when `axis` is empty: a [2, 0] tensor has 2 empty lanes along axis 1).
        let lane_count: usize = (0..self.ndim())
            .filter(|&a| a != axis)
            .map(|a| self.shape()[a])
            .product();
        let mut out = crate::buffer::zeroed(lane_count);
        if len == 0 {
            // Every lane is empty: each output is f applied to an empty slice.
            out.iter_mut().for_each(|o| *o = f(&[]));
        } else {
            for_each_row(&mut out, 1, |lane, o| {
                o[0] = f(&data[lane * len..(lane + 1) * len]);
            });
        }
        Tensor::try_from_vec(out, &reduced_shape(self.shape(), axis, keepdim))
    }

    /// Sum of every element, as a 0-d tensor.
    pub fn sum_all(&self) -> Tensor {
        Tensor::scalar(self.sum_all_f64() as Elem)
    }

    /// Sum of every element accumulated in f64: fixed chunks summed in parallel, folded in order.
    pub fn sum_all_f64(&self) -> f64 {
        let x = self.contiguous();
        let data = x.as_slice().expect("contiguous");
        if data.len() < PARALLEL_THRESHOLD {
            data.chunks(REDUCE_CHUNK).map(sum_f64).sum()
        } else {
            let partials: Vec<f64> = data.par_chunks(REDUCE_CHUNK).map(sum_f64).collect();
            partials.iter().sum()
        }
    }

    /// Mean of every element, as a 0-d tensor (NaN for an empty tensor).
    pub fn mean_all(&self) -> Tensor {
        Tensor::scalar((self.sum_all_f64() / self.numel() as f64) as Elem)
    }

    /// Sum along `axis`; `keepdim` keeps it with size 1.
    pub fn try_sum(&self, axis: impl Axis, keepdim: bool) -> Result<Tensor> {
        if self.ndim() == 0 {
            return Err(TensorError::invalid(
                "sum",
                self.shape(),
                "a 0-d tensor has no axis to reduce",
            ));
        }
        let axis_index = axis.resolve("sum", self.shape())?;
        let inner: usize = self.shape()[axis_index + 1..].iter().product();
        if inner == 1 || self.numel() == 0 {
            return self.reduce_lanes("sum", axis_index, keepdim, |xs| sum_f64(xs) as Elem);
        }
        // Column path: accumulate whole rows of `inner` values in f64, in order along the axis,
        // which reads memory sequentially and rounds exactly like the lane path.
        let x = self.contiguous();
        let data = x.as_slice().expect("contiguous");
        let len = self.shape()[axis_index];
        let outer = self.numel() / (len * inner);
        let mut out = crate::buffer::zeroed(outer * inner);
        for_each_row(&mut out, inner, |o, row| {
            let mut acc = vec![0.0f64; inner];
            for k in 0..len {
                let src = &data[(o * len + k) * inner..(o * len + k + 1) * inner];
                for (a, &v) in acc.iter_mut().zip(src) {
                    *a += v as f64;
                }
            }
            for (r, a) in row.iter_mut().zip(acc) {
                *r = a as Elem;
            }
        });
        Tensor::try_from_vec(out, &reduced_shape(self.shape(), axis_index, keepdim))
    }

    /// Sum along `axis`.
    #[track_caller]
    pub fn sum(&self, axis: impl Axis, keepdim: bool) -> Tensor {
        or_panic(self.try_sum(axis, keepdim))
    }

    /// Sum over several axes at once (each counted once; order does not matter).
    pub fn try_sum_axes<A: Axis>(&self, axes: &[A], keepdim: bool) -> Result<Tensor> {
        let mut resolved = axes
            .iter()
            .map(|a| a.resolve("sum_axes", self.shape()))
            .collect::<Result<Vec<_>>>()?;
        resolved.sort_unstable();
        resolved.dedup();
        if resolved.is_empty() {
            return Ok(self.contiguous());
        }
        if resolved.len() == 1 {
            return self.try_sum(resolved[0], keepdim);
        }
        let kept: Vec<usize> = (0..self.ndim()).filter(|a| !resolved.contains(a)).collect();
        if let (&[axis], Some(data)) = (&kept[..], self.as_slice()) {
            // One kept axis of contiguous data (a bias gradient: [N, C, H, W] summed to [C]):
            // each output's row is `outer` runs of `inner` contiguous values, summed in place with
            // the same rounding as the general path below.
            let len = self.shape()[axis];
            let outer: usize = self.shape()[..axis].iter().product();
            let inner: usize = self.shape()[axis + 1..].iter().product();
            let mut out = crate::buffer::zeroed(len);
            const LOCKSTEP: usize = 4;
            let sum_group = |g: usize, outs: &mut [Elem]| {
                let mut sums = [0.0; LOCKSTEP];
                let sums = &mut sums[..outs.len()];
                sum_middle_axis(data, (len, outer, inner), g * LOCKSTEP, sums);
                for (o, &sum) in outs.iter_mut().zip(sums.iter()) {
                    *o = sum as Elem;
                }
            };
            // Few outputs over long rows: one task per group of outputs when the data is large
            // (each output is summed by one thread in a fixed order, so the bits do not change).
            if data.len() >= PARALLEL_THRESHOLD {
                out.par_chunks_mut(LOCKSTEP)
                    .enumerate()
                    .for_each(|(g, outs)| sum_group(g, outs));
            } else {
                out.chunks_mut(LOCKSTEP)
                    .enumerate()
                    .for_each(|(g, outs)| sum_group(g, outs));
            }
            let shape: Vec<usize> = if keepdim {
                (0..self.ndim())
                    .map(|a| if a == axis { len } else { 1 })
                    .collect()
            } else {
                vec![len]
            };
            return Tensor::try_from_vec(out, &shape);
        }
        // Move the reduced axes last, then sum each row of their combined length.
        let perm: Vec<usize> = kept.iter().chain(&resolved).copied().collect();
        let moved = self.permute(&perm).contiguous();
        let outer: usize = kept.iter().map(|&a| self.shape()[a]).product();
        let flat = moved.reshape(&[outer, self.numel().checked_div(outer).unwrap_or(0)]);
        let summed = flat.try_sum(1, false)?;
        let shape: Vec<usize> = (0..self.ndim())
            .filter_map(|a| {
                if !resolved.contains(&a) {
                    Some(self.shape()[a])
                } else if keepdim {
                    Some(1)
                } else {
                    None
                }
            })
            .collect();
        summed.try_reshape(&shape)
    }

    /// Sum over several axes at once.
    #[track_caller]
    pub fn sum_axes<A: Axis>(&self, axes: &[A], keepdim: bool) -> Tensor {
        or_panic(self.try_sum_axes(axes, keepdim))
    }

    /// Sums a broadcast result back to `shape`, the shape it was broadcast from (the backward of
    /// broadcasting): leading axes are summed away and axes where `shape` has size 1 are summed
    /// with keepdim.
    pub fn try_sum_to_shape(&self, shape: &[usize]) -> Result<Tensor> {
        if self.shape() == shape {
            return Ok(self.clone());
        }
        let compatible = shape.len() <= self.ndim()
            && shape
                .iter()
                .rev()
                .zip(self.shape().iter().rev())
                .all(|(&s, &d)| s == d || s == 1);
        if !compatible {
            return Err(TensorError::shape_mismatch_because(
                "sum_to_shape",
                self.shape(),
                shape,
                "the target must be a shape that broadcasts to the source",
            ));
        }
        let lead = self.ndim() - shape.len();
        let axes: Vec<usize> = (0..self.ndim())
            .filter(|&a| a < lead || (shape[a - lead] == 1 && self.shape()[a] != 1))
            .collect();
        self.try_sum_axes(&axes, true)?.try_reshape(shape)
    }

    /// Sums a broadcast result back to `shape` (see [`Tensor::try_sum_to_shape`]).
    #[track_caller]
    pub fn sum_to_shape(&self, shape: &[usize]) -> Tensor {
        or_panic(self.try_sum_to_shape(shape))
    }

    /// Mean along `axis`.
    pub fn try_mean(&self, axis: impl Axis, keepdim: bool) -> Result<Tensor> {
        let axis = axis.resolve("mean", self.shape())?;
        let len = self.shape()[axis] as f32;
        Ok(self.try_sum(axis, keepdim)?.div_scalar(len))
    }

    /// Mean along `axis`.
    #[track_caller]
    pub fn mean(&self, axis: impl Axis, keepdim: bool) -> Tensor {
        or_panic(self.try_mean(axis, keepdim))
    }

    /// Mean over several axes at once.
    #[track_caller]
    pub fn mean_axes<A: Axis>(&self, axes: &[A], keepdim: bool) -> Tensor {
        let summed = self.sum_axes(axes, keepdim);
        let count = self.numel().checked_div(summed.numel()).unwrap_or(0);
        summed.div_scalar(count as f32)
    }

    /// Variance along `axis` with `correction` subtracted from the count (0: population/biased,
    /// 1: sample/unbiased), computed in two passes in f64.
    pub fn try_var(&self, axis: impl Axis, correction: usize, keepdim: bool) -> Result<Tensor> {
        self.reduce_lanes("var", axis, keepdim, move |xs| {
            let n = xs.len() as f64;
            let mean = sum_f64(xs) / n;
            let ss: f64 = xs.iter().map(|&x| (x as f64 - mean).powi(2)).sum();
            (ss / (n - correction as f64)) as Elem
        })
    }

    /// Variance along `axis` (see [`Tensor::try_var`]).
    #[track_caller]
    pub fn var(&self, axis: impl Axis, correction: usize, keepdim: bool) -> Tensor {
        or_panic(self.try_var(axis, correction, keepdim))
    }

    /// Maximum along `axis` (NaN propagates).
    pub fn try_max(&self, axis: impl Axis, keepdim: bool) -> Result<Tensor> {
        self.check_nonempty_axis("max", axis)?;
        self.reduce_lanes("max", axis, keepdim, |xs| max_lane(xs).0)
    }

    /// Maximum along `axis`.
    #[track_caller]
    pub fn max(&self, axis: impl Axis, keepdim: bool) -> Tensor {
        or_panic(self.try_max(axis, keepdim))
    }

    /// Minimum along `axis` (NaN propagates).
    pub fn try_min(&self, axis: impl Axis, keepdim: bool) -> Result<Tensor> {
        self.check_nonempty_axis("min", axis)?;
        self.reduce_lanes("min", axis, keepdim, |xs| min_lane(xs).0)
    }

    /// Minimum along `axis`.
    #[track_caller]
    pub fn min(&self, axis: impl Axis, keepdim: bool) -> Tensor {
        or_panic(self.try_min(axis, keepdim))
    }

    /// The largest element (NaN if any is NaN), or an error for an empty tensor.
    pub fn try_max_all(&self) -> Result<Elem> {
        if self.numel() == 0 {
            return Err(TensorError::invalid(
                "max_all",
                self.shape(),
                "an empty tensor has no maximum",
            ));
        }
        Ok(max_lane(&self.to_vec()).0)
    }

    /// The smallest element (NaN if any is NaN), or an error for an empty tensor.
    pub fn try_min_all(&self) -> Result<Elem> {
        if self.numel() == 0 {
            return Err(TensorError::invalid(
                "min_all",
                self.shape(),
                "an empty tensor has no minimum",
            ));
        }
        Ok(min_lane(&self.to_vec()).0)
    }

    /// Index of the maximum along `axis` for each lane, in row-major order of the other axes.
    /// Ties go to the first index (as PyTorch on CPU); a NaN counts as the maximum.
    pub fn try_argmax(&self, axis: impl Axis) -> Result<Vec<usize>> {
        self.check_nonempty_axis("argmax", axis)?;
        let t = self.reduce_lanes("argmax", axis, false, |xs| max_lane(xs).1 as Elem)?;
        Ok(t.to_vec().into_iter().map(|i| i as usize).collect())
    }

    /// Index of the maximum along `axis` for each lane.
    #[track_caller]
    pub fn argmax(&self, axis: impl Axis) -> Vec<usize> {
        or_panic(self.try_argmax(axis))
    }

    /// Index of the minimum along `axis` for each lane (ties to the first index).
    pub fn try_argmin(&self, axis: impl Axis) -> Result<Vec<usize>> {
        self.check_nonempty_axis("argmin", axis)?;
        let t = self.reduce_lanes("argmin", axis, false, |xs| min_lane(xs).1 as Elem)?;
        Ok(t.to_vec().into_iter().map(|i| i as usize).collect())
    }

    /// Index of the minimum along `axis` for each lane.
    #[track_caller]
    pub fn argmin(&self, axis: impl Axis) -> Vec<usize> {
        or_panic(self.try_argmin(axis))
    }

    /// `log(sum(exp(x)))` along `axis`, computed as `m + log(sum(exp(x - m)))` with `m` the lane
    /// maximum so it never overflows.
    pub fn try_logsumexp(&self, axis: impl Axis, keepdim: bool) -> Result<Tensor> {
        self.reduce_lanes("logsumexp", axis, keepdim, logsumexp_lane)
    }

    /// `log(sum(exp(x)))` along `axis`, overflow-free.
    #[track_caller]
    pub fn logsumexp(&self, axis: impl Axis, keepdim: bool) -> Tensor {
        or_panic(self.try_logsumexp(axis, keepdim))
    }

    /// Applies `f(lane, out_lane)` to every lane along `axis`, producing a tensor of the same shape.
    fn map_lanes(
        &self,
        op: &'static str,
        axis: impl Axis,
        f: impl Fn(&[Elem], &mut [Elem]) + Sync + Send,
    ) -> Result<Tensor> {
        if self.ndim() == 0 {
            return Err(TensorError::invalid(
                op,
                self.shape(),
                "a 0-d tensor has no axis",
            ));
        }
        let axis = axis.resolve(op, self.shape())?;
        let len = self.shape()[axis];
        let lanes = self.lanes_along(axis);
        let data = lanes.as_slice().expect("contiguous");
        let mut out = crate::buffer::zeroed(self.numel());
        if len > 0 {
            for_each_row(&mut out, len, |lane, o| {
                f(&data[lane * len..(lane + 1) * len], o)
            });
        }
        let ndim = self.ndim();
        let mut moved_shape: Vec<usize> = (0..ndim)
            .filter(|&a| a != axis)
            .map(|a| self.shape()[a])
            .collect();
        moved_shape.push(len);
        let moved = Tensor::from_vec(out, &moved_shape);
        if axis == ndim - 1 {
            return Ok(moved);
        }
        // Undo the move: the last axis goes back to position `axis`.
        let mut perm: Vec<usize> = (0..ndim - 1).collect();
        perm.insert(axis, ndim - 1);
        Ok(moved.permute(&perm).contiguous())
    }

    /// Softmax along `axis`: `exp(x - m) / sum(exp(x - m))` with `m` the lane max (never overflows).
    pub fn try_softmax(&self, axis: impl Axis) -> Result<Tensor> {
        self.map_lanes("softmax", axis, |xs, out| {
            let (m, _) = max_lane(xs);
            let mut total = 0.0f64;
            for (o, &x) in out.iter_mut().zip(xs) {
                *o = (x - m).exp();
                total += *o as f64;
            }
            let inv = (1.0 / total) as Elem;
            out.iter_mut().for_each(|o| *o *= inv);
        })
    }

    /// Softmax along `axis`.
    #[track_caller]
    pub fn softmax(&self, axis: impl Axis) -> Tensor {
        or_panic(self.try_softmax(axis))
    }

    /// Log-softmax along `axis`: `x - logsumexp(x)`, overflow-free.
    pub fn try_log_softmax(&self, axis: impl Axis) -> Result<Tensor> {
        self.map_lanes("log_softmax", axis, |xs, out| {
            let lse = logsumexp_lane(xs);
            for (o, &x) in out.iter_mut().zip(xs) {
                *o = x - lse;
            }
        })
    }

    /// Log-softmax along `axis`.
    #[track_caller]
    pub fn log_softmax(&self, axis: impl Axis) -> Tensor {
        or_panic(self.try_log_softmax(axis))
    }

    fn check_nonempty_axis(&self, op: &'static str, axis: impl Axis) -> Result<()> {
        if self.ndim() == 0 {
            return Err(TensorError::invalid(
                op,
                self.shape(),
                "a 0-d tensor has no axis to reduce",
            ));
        }
        let axis = axis.resolve(op, self.shape())?;
        if self.shape()[axis] == 0 {
            return Err(TensorError::invalid(
                op,
                self.shape(),
                format!("axis {axis} is empty"),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::{Rng, Tensor};

    #[test]
    fn summing_all_but_one_axis_in_place_rounds_like_gathering_the_rows_first() {
        let mut rng = Rng::seed_from(3);
        for shape in [
            [2, 3, 5, 7],
            [3, 1, 4, 4],
            [1, 6, 3, 1],
            [5, 2, 1, 9],
            [4, 3, 2, 2],
            [3, 9, 5, 3],
        ] {
            let x = Tensor::rand_normal(&shape, 0.0, 1.0, &mut rng)
                .mul(&Tensor::rand_uniform(&shape, 1.0, 1e4, &mut rng));
            for axis in 0..4 {
                let others: Vec<usize> = (0..4).filter(|&a| a != axis).collect();
                let perm: Vec<usize> = std::iter::once(axis).chain(others.clone()).collect();
                let gathered = x
                    .permute(&perm)
                    .contiguous()
                    .reshape(&[shape[axis], x.numel() / shape[axis]])
                    .sum(1, false);
                let fast = x.sum_axes(&others, false);
                let bits = |t: &Tensor| t.to_vec().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&fast), bits(&gathered), "shape {shape:?} axis {axis}");
                assert_eq!(x.sum_axes(&others, true).shape().len(), 4);
            }
        }
    }

    #[test]
    fn sums_over_each_axis() {
        let a = Tensor::from_fn(&[2, 3], |i| i as f32);
        assert_eq!(a.sum(0, false).to_vec(), vec![3.0, 5.0, 7.0]);
        assert_eq!(a.sum(1, true).shape(), &[2, 1]);
        assert_eq!(a.sum(-1, false).to_vec(), vec![3.0, 12.0]);
        assert_eq!(a.sum_all().item(), 15.0);
        assert_eq!(a.sum_axes(&[0, 1], false).item(), 15.0);
    }

    #[test]
    fn sum_to_shape_undoes_broadcasting() {
        let g = Tensor::ones(&[4, 2, 3]);
        assert_eq!(g.sum_to_shape(&[3]).to_vec(), vec![8.0; 3]);
        assert_eq!(g.sum_to_shape(&[2, 1]).to_vec(), vec![12.0; 2]);
        assert_eq!(g.sum_to_shape(&[1, 1, 1]).to_vec(), vec![24.0]);
        assert!(g.try_sum_to_shape(&[4]).is_err());
    }

    #[test]
    fn softmax_survives_large_inputs() {
        let x = Tensor::from_vec(vec![1000.0, 1001.0, 1002.0], &[3]);
        let s = x.softmax(0).to_vec();
        let want = [0.090_030_57, 0.244_728_48, 0.665_240_94];
        for (a, b) in s.iter().zip(want) {
            assert!((a - b).abs() < 1e-6);
        }
        assert!((x.logsumexp(0, false).item() - 1002.4076).abs() < 1e-3);
        assert!(x.log_softmax(0).all_finite());
    }

    #[test]
    fn softmax_along_a_middle_axis() {
        let x = Tensor::from_fn(&[2, 3, 2], |i| (i as f32 * 0.7).sin());
        let s = x.softmax(1);
        let sums = s.sum(1, false).to_vec();
        assert!(sums.iter().all(|v| (v - 1.0).abs() < 1e-6));
        // Compare one lane against a direct computation.
        let lane: Vec<f32> = (0..3).map(|k| x.get(&[1, k, 0])).collect();
        let total: f32 = lane.iter().map(|v| v.exp()).sum();
        for k in 0..3 {
            assert!((s.get(&[1, k, 0]) - lane[k].exp() / total).abs() < 1e-6);
        }
    }

    #[test]
    fn var_max_argmax() {
        let a = Tensor::from_vec(vec![1.0, 5.0, 3.0, 7.0, 2.0, 2.0], &[2, 3]);
        assert_eq!(a.max(1, false).to_vec(), vec![5.0, 7.0]);
        assert_eq!(a.argmax(1), vec![1, 0]);
        assert_eq!(a.argmin(0), vec![0, 1, 1]);
        assert_eq!(a.var(1, 0, false).to_vec()[0], 8.0 / 3.0);
        assert_eq!(a.var(1, 1, false).to_vec()[0], 4.0);
        assert!(Tensor::zeros(&[2, 0]).try_max(1, false).is_err());
    }
}
