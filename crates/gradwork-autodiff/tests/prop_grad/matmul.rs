//! Matrix products: 2-D, batched with broadcast batch axes, 1-D operands, transposed operands,
//! and the fused linear op (with and without bias, and with its ReLU).

use gradwork_tensor::Tensor;
use proptest::prelude::*;

use crate::common::{check, config, tensor};

/// Batch shapes for the two operands that broadcast together (possibly of different ranks).
fn batch_pair() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    prop_oneof![
        Just((vec![], vec![])),
        (1usize..=3).prop_map(|b| (vec![b], vec![])),
        (1usize..=3).prop_map(|b| (vec![], vec![b])),
        (1usize..=3).prop_map(|b| (vec![1], vec![b])),
        (1usize..=2, 1usize..=2).prop_map(|(a, b)| (vec![a, 1], vec![b])),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn matmul_gradient_matches_finite_differences(
        (a, b) in (batch_pair(), 1usize..=4, 1usize..=4, 1usize..=4).prop_flat_map(|((ba, bb), m, k, n)| {
            let mut sa = ba; sa.extend([m, k]);
            let mut sb = bb; sb.extend([k, n]);
            (tensor(sa, -1.5, 1.5), tensor(sb, -1.5, 1.5))
        }),
        transpose_b in any::<bool>(),
    ) {
        if transpose_b {
            // Feed b as the transposed view of its transpose: a strided right operand.
            let bt = b.t().contiguous();
            check("matmul", |v| v[0].try_matmul(&v[1].t()), &[a, bt])?;
        } else {
            check("matmul", |v| v[0].try_matmul(&v[1]), &[a, b])?;
        }
    }

    #[test]
    fn matmul_with_vector_operands_gradient_matches(
        (m, k) in (1usize..=4, 1usize..=4),
        seed in tensor(vec![32], -1.5, 1.5),
    ) {
        let data = seed.to_vec();
        let mat = Tensor::from_vec(data[..m * k].to_vec(), &[m, k]);
        let vk = Tensor::from_vec(data[16..16 + k].to_vec(), &[k]);
        let vm = Tensor::from_vec(data[24..24 + m].to_vec(), &[m]);
        check("matmul", |v| v[0].try_matmul(&v[1]), &[mat.clone(), vk.clone()])?;
        check("matmul", |v| v[0].try_matmul(&v[1]), &[vm, mat])?;
        check("matmul", |v| v[0].try_matmul(&v[1]), &[vk.clone(), vk])?;
    }

    #[test]
    fn linear_gradient_matches_finite_differences(
        (x, w, b) in (prop::collection::vec(1usize..=3, 0..=2), 1usize..=4, 1usize..=4)
            .prop_flat_map(|(mut lead, fan_in, fan_out)| {
                lead.push(fan_in);
                (tensor(lead, -1.5, 1.5), tensor(vec![fan_out, fan_in], -1.0, 1.0), tensor(vec![fan_out], -1.0, 1.0))
            }),
        with_bias in any::<bool>(),
    ) {
        if with_bias {
            check("linear", |v| v[0].try_linear(&v[1], Some(&v[2])), &[x, w, b])?;
        } else {
            check("linear", |v| v[0].try_linear(&v[1], None), &[x, w])?;
        }
    }

    #[test]
    fn linear_relu_gradient_matches_finite_differences(
        (x, w, b) in (prop::collection::vec(1usize..=3, 0..=2), 1usize..=4, 1usize..=4)
            .prop_flat_map(|(mut lead, fan_in, fan_out)| {
                lead.push(fan_in);
                (tensor(lead, -1.5, 1.5), tensor(vec![fan_out, fan_in], -1.0, 1.0), tensor(vec![fan_out], -1.0, 1.0))
            }),
        with_bias in any::<bool>(),
    ) {
        // Away from the kink: every pre-activation at least 0.05 from zero, so the central
        // differences (steps of 1e-2, moving a pre-activation by at most 0.015) stay on one side.
        let pre = pre_activation(&x, &w, with_bias.then_some(&b));
        prop_assume!(pre.to_vec().iter().all(|z| z.abs() > 0.05));
        if with_bias {
            check("linear_relu", |v| v[0].try_linear_relu(&v[1], Some(&v[2])), &[x, w, b])?;
        } else {
            check("linear_relu", |v| v[0].try_linear_relu(&v[1], None), &[x, w])?;
        }
    }
}

/// `x @ w^T + b` on plain tensors, for the kink filter.
fn pre_activation(x: &Tensor, w: &Tensor, b: Option<&Tensor>) -> Tensor {
    let y = x.matmul(&w.t());
    b.map_or(y.clone(), |b| y.add(b))
}
