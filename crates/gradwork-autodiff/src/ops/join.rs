//! Joining and splitting: concat, stack, split/split_sizes/chunk. Backward of a join hands each
//! input its own slice of the gradient; the pieces of a split are `narrow`s, so their gradients
//! are zero-padded back and add up on the input.

use gradwork_tensor::{Axis, Tensor};

use crate::error::{or_panic, AutodiffError, Result};
use crate::var::Var;

impl Var {
    /// Joins variables along an existing `axis` (all other sizes must agree), as `torch.cat`.
    /// Backward: each input gets the slice of the gradient it filled.
    ///
    /// ```
    /// use gradwork_autodiff::{Graph, Var};
    /// use gradwork_tensor::Tensor;
    ///
    /// let graph = Graph::new();
    /// let a = graph.leaf(Tensor::ones(&[2, 1]));
    /// let b = graph.leaf(Tensor::ones(&[2, 2]));
    /// let y = Var::concat(&[&a, &b], 1);
    /// assert_eq!(y.shape(), &[2, 3]);
    /// let grads = graph.backward_with(&y, Tensor::from_fn(&[2, 3], |i| i as f32)).unwrap();
    /// assert_eq!(grads.get(&a).unwrap().to_vec(), vec![0.0, 3.0]);
    /// ```
    pub fn try_concat(vars: &[&Var], axis: impl Axis) -> Result<Var> {
        let values: Vec<&Tensor> = vars.iter().map(|v| v.value()).collect();
        let value = Tensor::try_concat(&values, axis)?;
        let axis = axis.resolve("concat", vars[0].shape())?;
        let sizes: Vec<usize> = vars.iter().map(|v| v.shape()[axis]).collect();
        Var::from_op("concat", vars, value, move || {
            move |g: &Tensor, needs: &[bool]| {
                let mut start = 0;
                let mut grads = Vec::with_capacity(sizes.len());
                for (&len, &need) in sizes.iter().zip(needs) {
                    grads.push(if need {
                        Some(g.try_narrow(axis, start, len)?.contiguous())
                    } else {
                        None
                    });
                    start += len;
                }
                Ok(grads)
            }
        })
    }

    /// Joins variables along an existing `axis` (see [`Var::try_concat`]).
    #[track_caller]
    pub fn concat(vars: &[&Var], axis: impl Axis) -> Var {
        or_panic(Self::try_concat(vars, axis))
    }

    /// Stacks equally shaped variables along a new `axis`, as `torch.stack`. Backward: input `k`
    /// gets index `k` of that axis of the gradient.
    pub fn try_stack(vars: &[&Var], axis: impl Axis) -> Result<Var> {
        let values: Vec<&Tensor> = vars.iter().map(|v| v.value()).collect();
        let value = Tensor::try_stack(&values, axis)?;
        // The stacked axis indexes the output, which has one more axis than the inputs.
        let axis = axis.resolve("stack", value.shape())?;
        Var::from_op("stack", vars, value, move || {
            move |g: &Tensor, needs: &[bool]| {
                needs
                    .iter()
                    .enumerate()
                    .map(|(k, &need)| {
                        Ok(if need {
                            Some(g.try_select(axis, k)?.contiguous())
                        } else {
                            None
                        })
                    })
                    .collect()
            }
        })
    }

    /// Stacks equally shaped variables along a new `axis` (see [`Var::try_stack`]).
    #[track_caller]
    pub fn stack(vars: &[&Var], axis: impl Axis) -> Var {
        or_panic(Self::try_stack(vars, axis))
    }

    /// Splits along `axis` into pieces of the given sizes, which must add up to the axis size.
    /// Each piece is a [`Var::narrow`] of `self`, so gradients from several pieces add up.
    pub fn try_split_sizes(&self, sizes: &[usize], axis: impl Axis) -> Result<Vec<Var>> {
        let axis = axis.resolve("split", self.shape())?;
        let total: usize = sizes.iter().sum();
        if total != self.shape()[axis] {
            return Err(AutodiffError::Invalid {
                op: "split",
                reason: format!(
                    "sizes {sizes:?} add up to {total}, but axis {axis} of shape {:?} has size {}",
                    self.shape(),
                    self.shape()[axis]
                ),
            });
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

    /// Splits along `axis` into pieces of the given sizes (see [`Var::try_split_sizes`]).
    #[track_caller]
    pub fn split_sizes(&self, sizes: &[usize], axis: impl Axis) -> Vec<Var> {
        or_panic(self.try_split_sizes(sizes, axis))
    }

    /// Splits along `axis` into pieces of `size` elements (the last may be smaller), as
    /// `torch.split`.
    pub fn try_split(&self, size: usize, axis: impl Axis) -> Result<Vec<Var>> {
        let axis = axis.resolve("split", self.shape())?;
        // The tensor crate owns the piece-size rule (and its errors); its pieces are views.
        let sizes = piece_sizes(&self.value().try_split(size, axis)?, axis);
        self.try_split_sizes(&sizes, axis)
    }

    /// Splits along `axis` into pieces of `size` (see [`Var::try_split`]).
    #[track_caller]
    pub fn split(&self, size: usize, axis: impl Axis) -> Vec<Var> {
        or_panic(self.try_split(size, axis))
    }

    /// Splits along `axis` into at most `chunks` pieces of `ceil(n / chunks)` elements, as
    /// `torch.chunk`.
    pub fn try_chunk(&self, chunks: usize, axis: impl Axis) -> Result<Vec<Var>> {
        let axis = axis.resolve("chunk", self.shape())?;
        let sizes = piece_sizes(&self.value().try_chunk(chunks, axis)?, axis);
        self.try_split_sizes(&sizes, axis)
    }

    /// Splits along `axis` into at most `chunks` pieces (see [`Var::try_chunk`]).
    #[track_caller]
    pub fn chunk(&self, chunks: usize, axis: impl Axis) -> Vec<Var> {
        or_panic(self.try_chunk(chunks, axis))
    }
}

/// The sizes along `axis` of the pieces a tensor split produced.
fn piece_sizes(pieces: &[Tensor], axis: usize) -> Vec<usize> {
    pieces.iter().map(|piece| piece.shape()[axis]).collect()
}
