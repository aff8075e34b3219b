//! Copying shape operations: concat, stack, split/chunk, pad.

use crate::error::{or_panic, Result, TensorError};
use crate::layout::Axis;
use crate::tensor::Tensor;

impl Tensor {
    /// Joins tensors along an existing `axis`; all other sizes must agree.
    pub fn try_concat(tensors: &[&Tensor], axis: impl Axis) -> Result<Tensor> {
        let first = tensors
            .first()
            .ok_or_else(|| TensorError::invalid("concat", &[], "no tensors were given"))?;
        let axis = axis.resolve("concat", first.shape())?;
        for t in &tensors[1..] {
            let agree = t.ndim() == first.ndim()
                && t.shape()
                    .iter()
                    .zip(first.shape())
                    .enumerate()
                    .all(|(a, (x, y))| a == axis || x == y);
            if !agree {
                return Err(TensorError::shape_mismatch_because(
                    "concat",
                    first.shape(),
                    t.shape(),
                    format!("all sizes except axis {axis} must agree"),
                ));
            }
        }
        let outer: usize = first.shape()[..axis].iter().product();
        let mut shape = first.shape().to_vec();
        shape[axis] = tensors.iter().map(|t| t.shape()[axis]).sum();
        let parts: Vec<(Tensor, usize)> = tensors
            .iter()
            .map(|t| {
                let block = t.shape()[axis..].iter().product::<usize>();
                (t.contiguous(), block)
            })
            .collect();
        let mut out = crate::buffer::with_capacity(shape.iter().product());
        for o in 0..outer {
            for (t, block) in &parts {
                let data = t.as_slice().expect("contiguous");
                out.extend_from_slice(&data[o * block..(o + 1) * block]);
            }
        }
        Tensor::try_from_vec(out, &shape)
    }

    /// Joins tensors along an existing `axis`.
    #[track_caller]
    pub fn concat(tensors: &[&Tensor], axis: impl Axis) -> Tensor {
        or_panic(Self::try_concat(tensors, axis))
    }

    /// Stacks equally shaped tensors along a new `axis`.
    pub fn try_stack(tensors: &[&Tensor], axis: impl Axis) -> Result<Tensor> {
        let first = tensors
            .first()
            .ok_or_else(|| TensorError::invalid("stack", &[], "no tensors were given"))?;
        for t in &tensors[1..] {
            if t.shape() != first.shape() {
                return Err(TensorError::shape_mismatch_because(
                    "stack",
                    first.shape(),
                    t.shape(),
                    "stacked tensors must have equal shapes",
                ));
            }
        }
        let mut probe = first.shape().to_vec();
        probe.push(1);
        let axis = axis.resolve("stack", &probe)?;
        let expanded: Vec<Tensor> = tensors.iter().map(|t| t.unsqueeze(axis)).collect();
        let refs: Vec<&Tensor> = expanded.iter().collect();
        Self::try_concat(&refs, axis)
    }

    /// Stacks equally shaped tensors along a new `axis`.
    #[track_caller]
    pub fn stack(tensors: &[&Tensor], axis: impl Axis) -> Tensor {
        or_panic(Self::try_stack(tensors, axis))
    }

    /// Splits along `axis` into pieces of the given sizes, which must add up to the axis size.
    /// The pieces are views.
    pub fn try_split_sizes(&self, sizes: &[usize], axis: impl Axis) -> Result<Vec<Tensor>> {
        let axis = axis.resolve("split", self.shape())?;
        if sizes.iter().sum::<usize>() != self.shape()[axis] {
            return Err(TensorError::invalid(
                "split",
                self.shape(),
                format!(
                    "sizes {sizes:?} do not add up to axis {axis}'s size {}",
                    self.shape()[axis]
                ),
            ));
        }
        let mut start = 0;
        sizes
            .iter()
            .map(|&len| {
                let piece = self.try_narrow(axis, start, len);
                start += len;
                piece
            })
            .collect()
    }

    /// Splits along `axis` into pieces of `size` (the last may be smaller), as `torch.split`.
    pub fn try_split(&self, size: usize, axis: impl Axis) -> Result<Vec<Tensor>> {
        let axis = axis.resolve("split", self.shape())?;
        if size == 0 {
            return Err(TensorError::invalid(
                "split",
                self.shape(),
                "the piece size must be positive",
            ));
        }
        let total = self.shape()[axis];
        let sizes: Vec<usize> = (0..total)
            .step_by(size)
            .map(|s| size.min(total - s))
            .collect();
        self.try_split_sizes(&sizes, axis)
    }

    /// Splits along `axis` into pieces of `size`.
    #[track_caller]
    pub fn split(&self, size: usize, axis: impl Axis) -> Vec<Tensor> {
        or_panic(self.try_split(size, axis))
    }

    /// Splits along `axis` into `chunks` pieces of size `ceil(n / chunks)` (fewer if the axis is
    /// short), as `torch.chunk`.
    pub fn try_chunk(&self, chunks: usize, axis: impl Axis) -> Result<Vec<Tensor>> {
        let axis = axis.resolve("chunk", self.shape())?;
        if chunks == 0 {
            return Err(TensorError::invalid(
                "chunk",
                self.shape(),
                "the number of chunks must be positive",
            ));
        }
        let size = self.shape()[axis].div_ceil(chunks).max(1);
        self.try_split(size, axis)
    }

    /// Splits along `axis` into `chunks` pieces.
    #[track_caller]
    pub fn chunk(&self, chunks: usize, axis: impl Axis) -> Vec<Tensor> {
        or_panic(self.try_chunk(chunks, axis))
    }

    /// Pads with a constant: `padding[i] = (before, after)` for axis `i`; axes past
    /// `padding.len()` are not padded.
    pub fn try_pad(&self, padding: &[(usize, usize)], value: f32) -> Result<Tensor> {
        if padding.len() > self.ndim() {
            return Err(TensorError::invalid(
                "pad",
                self.shape(),
                format!(
                    "{} (before, after) pairs for {} axes",
                    padding.len(),
                    self.ndim()
                ),
            ));
        }
        let mut shape = self.shape().to_vec();
        for (dim, &(before, after)) in shape.iter_mut().zip(padding) {
            *dim += before + after;
        }
        let mut out = Tensor::full(&shape, value);
        // Write the source into the interior view of the output, element by element in order.
        let mut interior = out.clone();
        for (axis, &(before, _)) in padding.iter().enumerate() {
            interior = interior.narrow(axis, before, self.shape()[axis]);
        }
        let targets: Vec<usize> = {
            let mut v = Vec::with_capacity(self.numel());
            interior.layout.for_each_index(|i| v.push(i));
            v
        };
        drop(interior);
        let source = self.to_vec();
        let data = out.data_mut();
        for (&i, v) in targets.iter().zip(source) {
            data[i] = v;
        }
        Ok(out)
    }

    /// Pads with a constant (see [`Tensor::try_pad`]).
    #[track_caller]
    pub fn pad(&self, padding: &[(usize, usize)], value: f32) -> Tensor {
        or_panic(self.try_pad(padding, value))
    }
}

#[cfg(test)]
mod tests {
    use crate::Tensor;

    fn iota(shape: &[usize]) -> Tensor {
        Tensor::from_fn(shape, |i| i as f32)
    }

    #[test]
    fn concat_and_split_are_inverse() {
        let a = iota(&[2, 3]);
        let b = iota(&[2, 2]).add_scalar(100.0);
        let c = Tensor::concat(&[&a, &b], 1);
        assert_eq!(c.shape(), &[2, 5]);
        assert_eq!(
            c.to_vec(),
            vec![0.0, 1.0, 2.0, 100.0, 101.0, 3.0, 4.0, 5.0, 102.0, 103.0]
        );
        let parts = c.try_split_sizes(&[3, 2], 1).unwrap();
        assert_eq!(parts[0].to_vec(), a.to_vec());
        assert_eq!(parts[1].to_vec(), b.to_vec());
        let err = Tensor::try_concat(&[&a, &iota(&[3, 3])], 1).unwrap_err();
        assert!(err.to_string().contains("concat: shapes [2, 3] and [3, 3]"));
    }

    #[test]
    fn stack_adds_an_axis() {
        let a = iota(&[2]);
        let s = Tensor::stack(&[&a, &a.add_scalar(5.0)], 1);
        assert_eq!(s.shape(), &[2, 2]);
        assert_eq!(s.to_vec(), vec![0.0, 5.0, 1.0, 6.0]);
    }

    #[test]
    fn chunk_matches_torch_sizes() {
        let a = iota(&[7]);
        let sizes: Vec<usize> = a.chunk(3, 0).iter().map(|t| t.numel()).collect();
        assert_eq!(sizes, vec![3, 3, 1]);
    }

    #[test]
    fn pad_places_the_source_inside() {
        let a = iota(&[2, 2]);
        let p = a.pad(&[(1, 0), (0, 1)], -1.0);
        assert_eq!(p.shape(), &[3, 3]);
        assert_eq!(
            p.to_vec(),
            vec![-1.0, -1.0, -1.0, 0.0, 1.0, -1.0, 2.0, 3.0, -1.0]
        );
    }
}
