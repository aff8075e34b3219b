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

/// A convolution problem followed by a pooling whose kernel fits the convolution's output.
fn conv_pool_case() -> impl Strategy<Value = (Tensor, Tensor, Tensor, Conv2dOptions, Pool2dOptions)>
{
    (
        conv_case(),
        (1usize..=3, 1usize..=3),
        (1usize..=2, 1usize..=2),
        any::<bool>(),
    )
        .prop_map(|((x, w, b, conv), kernel, stride, pad)| {
            let out = x.conv2d(&w, None, &conv);
            let kernel = (kernel.0.min(out.shape()[2]), kernel.1.min(out.shape()[3]));
            let padding = if pad {
                (kernel.0 / 2, kernel.1 / 2)
            } else {
                (0, 0)
            };
            let pool = Pool2dOptions::new(kernel)
                .with_stride(stride)
                .with_padding(padding);
            (x, w, b, conv, pool)
        })
}

/// True when every pooling window of `z` has a maximum that beats the window's other elements
/// by more than `margin`: finite differences that move `z` by less than that cannot change
/// which element wins.
fn clear_maxima(z: &Tensor, pool: &Pool2dOptions, margin: f32) -> bool {
    let (h, w) = (z.shape()[2], z.shape()[3]);
    let planes = z.to_vec();
    let (ho, wo) = (
        (h + 2 * pool.padding.0 - pool.kernel.0) / pool.stride.0 + 1,
        (w + 2 * pool.padding.1 - pool.kernel.1) / pool.stride.1 + 1,
    );
    let span = |o: usize, s: usize, p: usize, k: usize, len: usize| {
        (o * s).saturating_sub(p)..(o * s + k - p).min(len)
    };
    planes.chunks(h * w).all(|plane| {
        (0..ho).all(|oh| {
            (0..wo).all(|ow| {
                let mut values: Vec<f32> =
                    span(oh, pool.stride.0, pool.padding.0, pool.kernel.0, h)
                        .flat_map(|i| {
                            span(ow, pool.stride.1, pool.padding.1, pool.kernel.1, w)
                                .map(move |j| plane[i * w + j])
                        })
                        .collect();
                values.sort_by(|a, b| b.total_cmp(a));
                values.len() < 2 || values[0] - values[1] > margin
            })
        })
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn conv2d_max_pool2d_gradients_match_finite_differences(
        (x, w, b, conv, pool) in conv_pool_case(),
        with_bias in any::<bool>(),
    ) {
        // A step of 1e-2 in one input (|x| <= 1.5) or weight (|w| <= 1) moves each
        // convolution output by at most 0.015, and the gap between two by at most 0.03.
        prop_assume!(clear_maxima(&x.conv2d(&w, None, &conv), &pool, 0.04));
        if with_bias {
            check("conv2d_max_pool2d", |v| v[0].try_conv2d_max_pool2d(&v[1], Some(&v[2]), &conv, &pool), &[x, w, b])?;
        } else {
            check("conv2d_max_pool2d", |v| v[0].try_conv2d_max_pool2d(&v[1], None, &conv, &pool), &[x, w])?;
        }
    }

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
