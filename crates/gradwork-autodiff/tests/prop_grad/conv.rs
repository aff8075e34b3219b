//! Convolution and pooling with random geometry: stride, padding, dilation, groups, bias,
//! overlapping pooling windows and both average-pooling divisors.

use gradwork_tensor::{Conv2dOptions, Pool2dOptions, Tensor};
use proptest::prelude::*;

use crate::common::{check, config, distinct, tensor};

/// A convolution problem: input, weight, bias and options whose output is non-empty.
fn conv_case() -> impl Strategy<Value = (Tensor, Tensor, Tensor, Conv2dOptions)> {
    (
        1usize..=2,
        1usize..=2,
        1usize..=2,
        1usize..=2,
        (1usize..=3, 1usize..=3),
        (1usize..=2, 1usize..=2),
        (0usize..=1, 0usize..=2),
        (1usize..=2, 1usize..=2),
    )
        .prop_flat_map(|(n, groups, cg, og, (kh, kw), stride, padding, dilation)| {
            let (c, o) = (cg * groups, og * groups);
            // Big enough that the dilated kernel fits the padded input.
            let h = (dilation.0 * (kh - 1) + 1)
                .saturating_sub(2 * padding.0)
                .max(1)
                + 2;
            let w = (dilation.1 * (kw - 1) + 1)
                .saturating_sub(2 * padding.1)
                .max(1)
                + 1;
            let options = Conv2dOptions {
                stride,
                padding,
                dilation,
                groups,
            };
            (
                tensor(vec![n, c, h, w], -1.5, 1.5),
                tensor(vec![o, cg, kh, kw], -1.0, 1.0),
                tensor(vec![o], -1.0, 1.0),
                Just(options),
            )
        })
}

/// A pooling problem: an input with distinct elements and options with padding at most half
/// the kernel.
fn pool_case() -> impl Strategy<Value = (Tensor, Pool2dOptions)> {
    (
        1usize..=2,
        1usize..=2,
        (1usize..=3, 1usize..=3),
        (1usize..=2, 1usize..=2),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_flat_map(|(n, c, kernel, stride, pad, include)| {
            let padding = if pad {
                (kernel.0 / 2, kernel.1 / 2)
            } else {
                (0, 0)
            };
            let options = Pool2dOptions {
                kernel,
                stride,
                padding,
                count_include_pad: include,
            };
            (
                distinct(vec![n, c, kernel.0 + 2, kernel.1 + 1], 0.05),
                Just(options),
            )
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn conv2d_gradients_match_finite_differences((x, w, b, options) in conv_case(), with_bias in any::<bool>()) {
        if with_bias {
            check("conv2d", |v| v[0].try_conv2d(&v[1], Some(&v[2]), &options), &[x, w, b])?;
        } else {
            check("conv2d", |v| v[0].try_conv2d(&v[1], None, &options), &[x, w])?;
        }
    }

    #[test]
    fn conv2d_of_a_strided_view_gradient_matches((x, w, _, options) in conv_case()) {
        // The input arrives as a permuted (non-contiguous) view.
        let xp = x.permute(&[0, 1, 3, 2]).contiguous();
        check("conv2d", |v| v[0].try_permute(&[0, 1, 3, 2])?.try_conv2d(&v[1], None, &options), &[xp, w])?;
    }

    #[test]
    fn max_pool2d_gradient_goes_to_each_maximum((x, options) in pool_case()) {
        check("max_pool2d", |v| v[0].try_max_pool2d(&options), std::slice::from_ref(&x))?;
        // The indexed variant keeps the argmax positions instead of searching again.
        check("max_pool2d", |v| Ok(v[0].try_max_pool2d_with_indices(&options)?.0), &[x])?;
    }

    #[test]
    fn avg_pool2d_gradient_spreads_over_each_window((x, options) in pool_case()) {
        check("avg_pool2d", |v| v[0].try_avg_pool2d(&options), &[x])?;
    }
}
