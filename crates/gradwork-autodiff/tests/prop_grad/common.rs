//! Strategies and the check every gradient property test goes through.

use gradwork_autodiff::{grad_check, GradCheckConfig, Graph, Result, Var, OP_NAMES};
use gradwork_tensor::Tensor;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

/// Few cases of small tensors: each case costs two forward passes per input element.
/// `PROPTEST_CASES` raises the count for a soak run.
pub fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24);
    ProptestConfig {
        cases,
        max_shrink_iters: 256,
        ..ProptestConfig::default()
    }
}

/// Checks `f`'s tape gradients at `inputs` against central differences. For an op that is
/// recorded under its own name (one of [`OP_NAMES`]), first checks that `f` really records it,
/// so a test cannot claim an op it does not exercise. `op` must be a string literal: the
/// coverage test collects the names from the source of these files.
pub fn check(
    op: &str,
    f: impl Fn(&[Var]) -> Result<Var>,
    inputs: &[Tensor],
) -> std::result::Result<(), TestCaseError> {
    check_with(op, f, inputs, GradCheckConfig::default())
}

/// [`check`] with explicit grad_check settings.
pub fn check_with(
    op: &str,
    f: impl Fn(&[Var]) -> Result<Var>,
    inputs: &[Tensor],
    config: GradCheckConfig,
) -> std::result::Result<(), TestCaseError> {
    if OP_NAMES.contains(&op) {
        let graph = Graph::new();
        let leaves: Vec<Var> = inputs.iter().map(|t| graph.leaf(t.clone())).collect();
        f(&leaves).map_err(|e| TestCaseError::fail(format!("{op}: {e}")))?;
        prop_assert!(
            graph.op_names().contains(&op),
            "the test for {op} recorded only {:?}",
            graph.op_names()
        );
    }
    let report =
        grad_check(f, inputs, config).map_err(|e| TestCaseError::fail(format!("{op}: {e}")))?;
    prop_assert!(report.passed(), "{op} at inputs {inputs:?}:\n{report}");
    Ok(())
}

/// A shape of rank `1..=max_rank` whose axes are often 1 (to exercise size-1 handling).
pub fn shape(max_rank: usize, max_dim: usize) -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(
        prop_oneof![1 => Just(1usize), 3 => 1..=max_dim],
        1..=max_rank,
    )
}

/// A tensor of `shape` with elements uniform in `[low, high)`.
pub fn tensor(shape: Vec<usize>, low: f32, high: f32) -> impl Strategy<Value = Tensor> {
    let n = shape.iter().product::<usize>();
    prop::collection::vec(low..high, n).prop_map(move |v| Tensor::from_vec(v, &shape))
}

/// A tensor of a random shape with elements in `[low, high)`.
pub fn any_tensor(
    max_rank: usize,
    max_dim: usize,
    low: f32,
    high: f32,
) -> impl Strategy<Value = Tensor> {
    shape(max_rank, max_dim).prop_flat_map(move |s| tensor(s, low, high))
}

/// Moves every element at least `margin` away from each of the `kinks`, where the one-sided
/// slopes differ and finite differences mean nothing.
pub fn away_from(t: Tensor, kinks: &[f32], margin: f32) -> Tensor {
    let mut t = t.contiguous();
    for v in t.data_mut() {
        for &k in kinks {
            if (*v - k).abs() < margin {
                *v = if *v >= k { k + margin } else { k - margin };
            }
        }
    }
    t
}

/// A tensor of `shape` whose elements are all distinct, at least `gap` apart (no ties for
/// max/min), centred on zero.
pub fn distinct(shape: Vec<usize>, gap: f32) -> impl Strategy<Value = Tensor> {
    let n = shape.iter().product::<usize>();
    Just((0..n).collect::<Vec<usize>>())
        .prop_shuffle()
        .prop_map(move |perm| {
            let values = perm
                .iter()
                .map(|&p| (p as f32 - n as f32 / 2.0) * gap)
                .collect();
            Tensor::from_vec(values, &shape)
        })
}

/// Two shapes that broadcast together: `b` is `a` with some axes set to 1 and possibly some
/// leading axes dropped; returned in random order.
pub fn broadcast_pair(
    max_rank: usize,
    max_dim: usize,
) -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    shape(max_rank, max_dim).prop_flat_map(|a| {
        let rank = a.len();
        (
            Just(a),
            prop::collection::vec(any::<bool>(), rank),
            0..=rank,
            any::<bool>(),
        )
            .prop_map(move |(a, ones, drop, swap)| {
                let mut b: Vec<usize> = a
                    .iter()
                    .zip(&ones)
                    .map(|(&d, &one)| if one { 1 } else { d })
                    .collect();
                b.drain(..drop.min(rank - 1));
                if swap {
                    (b, a)
                } else {
                    (a, b)
                }
            })
    })
}

/// `x` or, when `transposed`, the transposed view of `x` (the op under test then sees a
/// non-contiguous input).
pub fn maybe_t(x: &Var, transposed: bool) -> Var {
    if transposed {
        x.t()
    } else {
        x.clone()
    }
}

/// Reverses the last two axes of a shape (so that `maybe_t` of a tensor of the reversed shape
/// has the original shape).
pub fn t_shape(shape: &[usize], transposed: bool) -> Vec<usize> {
    let mut s = shape.to_vec();
    let n = s.len();
    if transposed && n >= 2 {
        s.swap(n - 1, n - 2);
    }
    s
}
