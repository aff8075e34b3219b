//! Reductions against an f64 reference over the lane lengths 0, 1, 2, 7, 8, 9, 15, 16, 19, 127,
//! 128, 1024 and 1235 (around every unrolling and chunk boundary), with the data in forward
//! order, reversed, and as a strided view; over every axis, with and without keepdim.
//!
//! Tolerances are relative, 1e-5, against the natural scale of each result: `sum |x|` for sums and
//! means (so cancellation cannot make a correct result look wrong), the value itself for
//! variances and probabilities, and `max(|value|, 1)` for log-domain results.

mod common;

use common::{make_operand_with, normal_values, numel, ravel, unravel, Recipe};
use gradwork_tensor::{Rng, Tensor};
use proptest::prelude::*;

const LENGTHS: [usize; 13] = [0, 1, 2, 7, 8, 9, 15, 16, 19, 127, 128, 1024, 1235];
const RTOL: f64 = 1e-5;

/// The values along `axis` for each output position (row-major over the other axes).
fn lanes(values: &[f32], shape: &[usize], axis: usize) -> Vec<Vec<f64>> {
    let mut outer = shape.to_vec();
    outer.remove(axis);
    (0..numel(&outer))
        .map(|flat| {
            let mut index = unravel(flat, &outer);
            index.insert(axis, 0);
            (0..shape[axis])
                .map(|j| {
                    index[axis] = j;
                    values[ravel(&index, shape)] as f64
                })
                .collect()
        })
        .collect()
}

fn close(what: &str, got: f32, want: f64, tol: f64) {
    let ok = if want.is_nan() {
        got.is_nan()
    } else if want.is_infinite() {
        got as f64 == want
    } else {
        (got as f64 - want).abs() <= tol
    };
    assert!(
        ok,
        "{what}: got {got}, f64 reference {want}, tolerance {tol:e}"
    );
}

fn mean_and_var(lane: &[f64], correction: usize) -> (f64, f64) {
    let n = lane.len() as f64;
    let mean = lane.iter().sum::<f64>() / n;
    let ss: f64 = lane.iter().map(|x| (x - mean) * (x - mean)).sum();
    (mean, ss / (n - correction as f64))
}

fn logsumexp(lane: &[f64]) -> f64 {
    let m = lane.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    if lane.is_empty() {
        return f64::NEG_INFINITY;
    }
    m + lane.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
}

fn first_extreme(lane: &[f64], better: fn(f64, f64) -> bool) -> usize {
    (1..lane.len()).fold(
        0,
        |best, i| if better(lane[i], lane[best]) { i } else { best },
    )
}

/// Checks every reduction of `x` (logical values `values`) over `axis` against the f64 reference.
fn check_reductions(x: &Tensor, values: &[f32], axis: usize, keepdim: bool, label: &str) {
    let shape = x.shape().to_vec();
    let len = shape[axis];
    let reference = lanes(values, &shape, axis);
    let mut out_shape = shape.clone();
    if keepdim {
        out_shape[axis] = 1;
    } else {
        out_shape.remove(axis);
    }
    let ctx = |op: &str, lane: usize| format!("{op} of {label} {shape:?} axis {axis} lane {lane}");
    let reduced = |t: Tensor| {
        assert_eq!(t.shape(), &out_shape[..], "{label}");
        t.to_vec()
    };

    let sum = reduced(x.sum(axis, keepdim));
    let mean = reduced(x.mean(axis, keepdim));
    let var0 = reduced(x.var(axis, 0, keepdim));
    let var1 = reduced(x.var(axis, 1, keepdim));
    let lse = reduced(x.logsumexp(axis, keepdim));
    for (i, lane) in reference.iter().enumerate() {
        let magnitude: f64 = lane.iter().map(|v| v.abs()).sum();
        let total: f64 = lane.iter().sum();
        close(&ctx("sum", i), sum[i], total, RTOL * magnitude);
        let n = len as f64;
        close(&ctx("mean", i), mean[i], total / n, RTOL * magnitude / n);
        let (_, v0) = mean_and_var(lane, 0);
        let (_, v1) = mean_and_var(lane, 1);
        close(&ctx("var", i), var0[i], v0, RTOL * v0.abs());
        close(&ctx("var(correction 1)", i), var1[i], v1, RTOL * v1.abs());
        let want = logsumexp(lane);
        close(
            &ctx("logsumexp", i),
            lse[i],
            want,
            RTOL * want.abs().max(1.0),
        );
    }

    if len == 0 {
        // No maximum, minimum or arg-index of an empty lane: an error, as in torch.
        assert!(x.try_max(axis, keepdim).is_err() && x.try_min(axis, keepdim).is_err());
        assert!(x.try_argmax(axis).is_err() && x.try_argmin(axis).is_err());
    } else {
        let max = reduced(x.max(axis, keepdim));
        let min = reduced(x.min(axis, keepdim));
        let (argmax, argmin) = (x.argmax(axis), x.argmin(axis));
        for (i, lane) in reference.iter().enumerate() {
            let hi = first_extreme(lane, |a, b| a > b);
            let lo = first_extreme(lane, |a, b| a < b);
            assert_eq!(max[i] as f64, lane[hi], "{}", ctx("max", i));
            assert_eq!(min[i] as f64, lane[lo], "{}", ctx("min", i));
            assert_eq!(argmax[i], hi, "{}", ctx("argmax", i));
            assert_eq!(argmin[i], lo, "{}", ctx("argmin", i));
        }
    }

    // softmax / log_softmax keep the shape; compare lane by lane.
    let soft = x.softmax(axis);
    let log_soft = x.log_softmax(axis);
    assert_eq!(soft.shape(), &shape[..]);
    assert_eq!(log_soft.shape(), &shape[..]);
    let soft_lanes = lanes(&soft.to_vec(), &shape, axis);
    let log_soft_lanes = lanes(&log_soft.to_vec(), &shape, axis);
    for (i, lane) in reference.iter().enumerate() {
        let lse = logsumexp(lane);
        for (j, &v) in lane.iter().enumerate() {
            let want_log = v - lse;
            let want = want_log.exp();
            close(
                &ctx("softmax", i),
                soft_lanes[i][j] as f32,
                want,
                RTOL * want,
            );
            close(
                &ctx("log_softmax", i),
                log_soft_lanes[i][j] as f32,
                want_log,
                RTOL * want_log.abs().max(1.0),
            );
        }
    }
}

/// The same data three ways: contiguous, reversed, and a strided permuted view.
fn orders(shape: &[usize], rng: &mut Rng) -> Vec<(&'static str, Tensor, Vec<f32>)> {
    let forward = normal_values(numel(shape), 0.5, 1.0, rng);
    let reversed: Vec<f32> = forward.iter().rev().copied().collect();
    let strided_recipe = Recipe {
        permute: true,
        narrow: true,
        stride: true,
        broadcast: false,
    };
    let (strided, strided_values) = make_operand_with(shape, strided_recipe, rng, |n, r| {
        normal_values(n, 0.5, 1.0, r)
    });
    assert!(shape.iter().product::<usize>() < 2 || !strided.is_contiguous());
    vec![
        ("forward", Tensor::from_vec(forward.clone(), shape), forward),
        (
            "reversed",
            Tensor::from_vec(reversed.clone(), shape),
            reversed,
        ),
        ("strided", strided, strided_values),
    ]
}

#[test]
fn every_reduction_matches_f64_over_the_boundary_lengths_axes_and_layouts() {
    let mut rng = Rng::seed_from(2024);
    for len in LENGTHS {
        for shape in [vec![len], vec![3, len], vec![2, len, 3], vec![len, 2]] {
            for (label, x, values) in orders(&shape, &mut rng) {
                for axis in 0..shape.len() {
                    for keepdim in [false, true] {
                        check_reductions(&x, &values, axis, keepdim, label);
                    }
                }
                // Whole-tensor sums.
                let exact: f64 = values.iter().map(|&v| v as f64).sum();
                let magnitude: f64 = values.iter().map(|v| v.abs() as f64).sum();
                close("sum_all", x.sum_all().item(), exact, RTOL * magnitude);
                let n = values.len() as f64;
                close(
                    "mean_all",
                    x.mean_all().item(),
                    exact / n,
                    RTOL * magnitude / n,
                );
            }
        }
    }
}

#[test]
fn sum_all_above_the_parallel_threshold_matches_f64() {
    let mut rng = Rng::seed_from(9);
    for n in [(1 << 16) + 1, 200_003] {
        let values = normal_values(n, 0.25, 1.0, &mut rng);
        let exact: f64 = values.iter().map(|&v| v as f64).sum();
        let magnitude: f64 = values.iter().map(|v| v.abs() as f64).sum();
        let x = Tensor::from_vec(values, &[n]);
        close("sum_all", x.sum_all().item(), exact, RTOL * magnitude);
        assert!((x.sum_all_f64() - exact).abs() <= 1e-12 * magnitude);
    }
}

#[test]
fn log_domain_reductions_do_not_overflow_on_large_inputs() {
    let x = Tensor::from_vec(vec![100.0, 200.0, 300.0, -1e30, 89.0, 88.5], &[2, 3]);
    let lse = x.logsumexp(1, false).to_vec();
    let want = [
        300.0 + (1.0 + (-100f64).exp()).ln(),
        89.0 + (1.0 + (-0.5f64).exp()).ln(),
    ];
    for (g, w) in lse.iter().zip(want) {
        close("logsumexp", *g, w, RTOL * w);
    }
    assert!(x.softmax(1).all_finite() && x.log_softmax(1).all_finite());
}

proptest! {
    #![proptest_config(common::proptest_config(64))]

    #[test]
    fn reductions_match_f64_on_random_shapes_and_views(
        shape in prop::collection::vec(0..=6usize, 1..=4),
        recipe in 0u8..8,
        seed in any::<u64>(),
    ) {
        let mut rng = Rng::seed_from(seed);
        let (x, values) = make_operand_with(&shape, Recipe::from_bits(recipe), &mut rng, |n, r| {
            normal_values(n, 0.0, 3.0, r)
        });
        for axis in 0..shape.len() {
            check_reductions(&x, &values, axis, axis % 2 == 0, "random view");
        }
    }
}
