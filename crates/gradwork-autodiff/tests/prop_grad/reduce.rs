//! Reductions and normalisations over a random axis of a random shape. Max/min inputs have
//! distinct elements (no ties within a finite-difference step).

use gradwork_autodiff::Var;
use gradwork_tensor::Tensor;
use proptest::prelude::*;

use crate::common::{check, config, distinct, maybe_t, shape, t_shape, tensor};

/// A tensor with elements in `[-2, 2)`, an axis of it, and a transposed flag.
fn with_axis() -> impl Strategy<Value = (Tensor, usize, bool)> {
    (shape(3, 4), any::<bool>()).prop_flat_map(|(s, tr)| {
        let rank = s.len();
        (tensor(s, -2.0, 2.0), 0..rank, Just(tr))
    })
}

/// Like [`with_axis`], with distinct elements at least 0.05 apart.
fn distinct_with_axis() -> impl Strategy<Value = (Tensor, usize, bool)> {
    (shape(3, 4), any::<bool>()).prop_flat_map(|(s, tr)| {
        let rank = s.len();
        (distinct(s, 0.05), 0..rank, Just(tr))
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn whole_tensor_sum_and_mean_gradients_match((x, _, tr) in with_axis()) {
        check("sum_all", |v| Ok(maybe_t(&v[0], tr).sum_all()), std::slice::from_ref(&x))?;
        check("mean_all", |v| Ok(maybe_t(&v[0], tr).mean_all()), &[x])?;
    }

    #[test]
    fn whole_tensor_max_and_min_gradients_match((x, _, tr) in distinct_with_axis()) {
        check("max_all", |v| Ok(maybe_t(&v[0], tr).max_all()), std::slice::from_ref(&x))?;
        check("min_all", |v| Ok(maybe_t(&v[0], tr).min_all()), &[x])?;
    }

    #[test]
    fn sum_and_mean_along_an_axis_gradients_match((x, axis, tr) in with_axis(), keep in any::<bool>()) {
        check("sum", |v| maybe_t(&v[0], tr).try_sum(axis, keep), std::slice::from_ref(&x))?;
        check("mean", |v| maybe_t(&v[0], tr).try_mean(axis, keep), &[x])?;
    }

    #[test]
    fn sum_and_mean_over_several_axes_gradients_match(
        (x, axis, tr) in with_axis(),
        second in 0usize..3,
        keep in any::<bool>(),
    ) {
        let axes = [axis, second % x.ndim()];
        check("sum_axes", |v| maybe_t(&v[0], tr).try_sum_axes(&axes, keep), std::slice::from_ref(&x))?;
        check("mean_axes", |v| Ok(maybe_t(&v[0], tr).mean_axes(&axes, keep)), &[x])?;
    }

    #[test]
    fn var_gradient_matches_finite_differences(
        (x, axis, tr) in with_axis(),
        unbiased in any::<bool>(),
        keep in any::<bool>(),
    ) {
        // The unbiased estimate needs two elements along the axis.
        let size = t_shape(x.shape(), tr)[axis]; // the axis size the op sees
        let correction = usize::from(unbiased && size > 1);
        check("var", |v| maybe_t(&v[0], tr).try_var(axis, correction, keep), &[x])?;
    }

    #[test]
    fn max_and_min_along_an_axis_gradients_match((x, axis, tr) in distinct_with_axis(), keep in any::<bool>()) {
        check("max", |v| maybe_t(&v[0], tr).try_max(axis, keep), std::slice::from_ref(&x))?;
        check("min", |v| maybe_t(&v[0], tr).try_min(axis, keep), &[x])?;
    }

    #[test]
    fn logsumexp_gradient_matches_finite_differences((x, axis, tr) in with_axis(), keep in any::<bool>()) {
        check("logsumexp", |v| maybe_t(&v[0], tr).try_logsumexp(axis, keep), &[x])?;
    }

    #[test]
    fn softmax_and_log_softmax_gradients_match((x, axis, tr) in with_axis()) {
        check("softmax", |v| maybe_t(&v[0], tr).try_softmax(axis), std::slice::from_ref(&x))?;
        check("log_softmax", |v| maybe_t(&v[0], tr).try_log_softmax(axis), &[x])?;
    }
}

#[test]
fn softmax_of_large_logits_has_a_finite_gradient() {
    let x = Tensor::from_vec(vec![100.0, 101.0, 99.5], &[1, 3]);
    check("softmax", |v: &[Var]| v[0].try_softmax(1), &[x]).unwrap();
}
