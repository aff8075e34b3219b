//! Helpers shared by the property tests: random values, operands laid out in memory in every way
//! a view can be (permuted, narrowed, strided, broadcast) while holding known logical values, and
//! row-major index arithmetic written independently of the crate's `Layout`.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use gradwork_tensor::{Rng, Tensor};

/// The number of elements of `shape` (1 for a 0-d shape).
pub fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// The row-major multi-index of position `flat` in `shape`.
pub fn unravel(mut flat: usize, shape: &[usize]) -> Vec<usize> {
    let mut index = vec![0; shape.len()];
    for axis in (0..shape.len()).rev() {
        index[axis] = flat % shape[axis];
        flat /= shape[axis];
    }
    index
}

/// The row-major position of multi-index `index` in `shape`.
pub fn ravel(index: &[usize], shape: &[usize]) -> usize {
    index
        .iter()
        .zip(shape)
        .fold(0, |acc, (&i, &dim)| acc * dim + i)
}

/// `n` values that mix small multiples of 0.5 (so comparisons see ties and exact zeros) with
/// normal samples.
pub fn mixed_values(n: usize, rng: &mut Rng) -> Vec<f32> {
    (0..n)
        .map(|_| {
            if rng.below(3) == 0 {
                (rng.below(9) as f32 - 4.0) * 0.5
            } else {
                rng.next_normal() as f32
            }
        })
        .collect()
}

/// `n` normal samples with the given mean and standard deviation.
pub fn normal_values(n: usize, mean: f64, std: f64, rng: &mut Rng) -> Vec<f32> {
    (0..n)
        .map(|_| (mean + std * rng.next_normal()) as f32)
        .collect()
}

/// `n` small integers in `-4..=4` as f32: every sum of a few of them is exact in f32.
pub fn integer_values(n: usize, rng: &mut Rng) -> Vec<f32> {
    (0..n).map(|_| rng.below(9) as f32 - 4.0).collect()
}

/// How an operand is laid out: each flag adds one kind of non-contiguity. Built from the low four
/// bits of a number so a proptest strategy can pick any combination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recipe {
    /// Storage axes in a random order, viewed back with `permute` (transposes).
    pub permute: bool,
    /// Storage padded on each axis, viewed back with `narrow` (offset and gaps).
    pub narrow: bool,
    /// Storage with a hidden trailing axis, viewed back with `select` (every stride > 1).
    pub stride: bool,
    /// Some axes stored with size 1 and viewed with `broadcast_to` (stride 0, repeated values).
    pub broadcast: bool,
}

impl Recipe {
    /// A contiguous operand.
    pub const CONTIGUOUS: Recipe = Recipe {
        permute: false,
        narrow: false,
        stride: false,
        broadcast: false,
    };

    /// The recipe encoded in the low four bits of `bits`.
    pub fn from_bits(bits: u8) -> Recipe {
        Recipe {
            permute: bits & 1 != 0,
            narrow: bits & 2 != 0,
            stride: bits & 4 != 0,
            broadcast: bits & 8 != 0,
        }
    }
}

/// A tensor of `shape` laid out as `recipe` says, and its logical values in row-major order
/// (computed here from the values written to storage, without the crate's layout code). Storage
/// outside the view holds NaN, so a kernel that reads a wrong element produces NaN.
pub fn make_operand(shape: &[usize], recipe: Recipe, rng: &mut Rng) -> (Tensor, Vec<f32>) {
    make_operand_with(shape, recipe, rng, mixed_values)
}

/// [`make_operand`] with the logical values drawn by `values(n, rng)`.
pub fn make_operand_with(
    shape: &[usize],
    recipe: Recipe,
    rng: &mut Rng,
    values: impl Fn(usize, &mut Rng) -> Vec<f32>,
) -> (Tensor, Vec<f32>) {
    let ndim = shape.len();
    // The stored (pre-broadcast) shape.
    let source: Vec<usize> = shape
        .iter()
        .map(|&d| {
            if recipe.broadcast && d != 1 && rng.below(2) == 0 {
                1
            } else {
                d
            }
        })
        .collect();
    let source_values = values(numel(&source), rng);
    let pads: Vec<(usize, usize)> = (0..ndim)
        .map(|_| {
            if recipe.narrow {
                (rng.below(3) as usize, rng.below(3) as usize)
            } else {
                (0, 0)
            }
        })
        .collect();
    let padded: Vec<usize> = (0..ndim)
        .map(|a| source[a] + pads[a].0 + pads[a].1)
        .collect();
    // Storage axis i holds view axis perm[i].
    let perm = if recipe.permute {
        rng.permutation(ndim)
    } else {
        (0..ndim).collect()
    };
    let hidden = if recipe.stride {
        2 + rng.below(2) as usize
    } else {
        1
    };
    let hidden_pick = rng.below(hidden as u64) as usize;
    let mut storage_shape: Vec<usize> = perm.iter().map(|&p| padded[p]).collect();
    storage_shape.push(hidden);
    let mut storage = vec![f32::NAN; numel(&storage_shape)];
    for (flat, &v) in source_values.iter().enumerate() {
        let s = unravel(flat, &source);
        let mut q: Vec<usize> = perm.iter().map(|&p| s[p] + pads[p].0).collect();
        q.push(hidden_pick);
        storage[ravel(&q, &storage_shape)] = v;
    }
    let mut view = Tensor::from_vec(storage, &storage_shape).select(-1, hidden_pick);
    let mut inverse = vec![0; ndim];
    for (i, &p) in perm.iter().enumerate() {
        inverse[p] = i;
    }
    view = view.permute(&inverse);
    for (axis, &(before, _)) in pads.iter().enumerate() {
        view = view.narrow(axis, before, source[axis]);
    }
    if source != shape {
        view = view.broadcast_to(shape);
    }
    let logical: Vec<f32> = (0..numel(shape))
        .map(|flat| {
            let o = unravel(flat, shape);
            let s: Vec<usize> = (0..ndim)
                .map(|a| if source[a] == 1 { 0 } else { o[a] })
                .collect();
            source_values[ravel(&s, &source)]
        })
        .collect();
    (view, logical)
}

/// True when `a` and `b` are the same float, counting any two NaNs as the same.
pub fn same_float(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// The bit patterns of a tensor's elements, for bitwise comparisons.
pub fn bits(t: &Tensor) -> Vec<u32> {
    t.to_vec().iter().map(|x| x.to_bits()).collect()
}

/// A proptest configuration with `cases` cases and no regression files (integration tests have
/// no `lib.rs` beside them for proptest to put them next to; a failure prints its inputs).
pub fn proptest_config(cases: u32) -> proptest::test_runner::Config {
    proptest::test_runner::Config {
        cases,
        failure_persistence: None,
        ..proptest::test_runner::Config::default()
    }
}
