//! Indexing and masks: index_select, gather, embedding (with repeated indices, which must
//! accumulate), where_cond, dropout with a given mask.

use gradwork_autodiff::Var;
use gradwork_tensor::Tensor;
use proptest::prelude::*;

use crate::common::{broadcast_pair, check, config, maybe_t, shape, t_shape, tensor};

proptest! {
    #![proptest_config(config())]

    #[test]
    fn index_select_gradient_accumulates_repeats(
        (x, axis, indices) in shape(3, 4).prop_flat_map(|s| {
            let rank = s.len();
            (tensor(s, -2.0, 2.0), 0..rank)
        }).prop_flat_map(|(x, axis)| {
            let size = x.shape()[axis];
            (Just(x), Just(axis), prop::collection::vec(0..size, 1..6))
        }),
        tr in any::<bool>(),
    ) {
        let x = if tr { x.t().contiguous() } else { x };
        check("index_select", |v| maybe_t(&v[0], tr).try_index_select(axis, &indices), &[x])?;
    }

    #[test]
    fn gather_gradient_scatters_back(
        (x, axis, index, index_shape) in shape(3, 4).prop_flat_map(|s| {
            let rank = s.len();
            (tensor(s, -2.0, 2.0), 0..rank)
        }).prop_flat_map(|(x, axis)| {
            let dims: Vec<BoxedStrategy<usize>> = x.shape().iter().enumerate()
                .map(|(a, &d)| if a == axis { (1..=4usize).boxed() } else { (1..=d).boxed() })
                .collect();
            (Just(x), Just(axis), dims)
        }).prop_flat_map(|(x, axis, index_shape)| {
            let size = x.shape()[axis];
            let n = index_shape.iter().product::<usize>();
            (Just(x), Just(axis), prop::collection::vec(0..size, n), Just(index_shape))
        }),
    ) {
        check("gather", |v| v[0].try_gather(axis, &index, &index_shape), &[x])?;
    }

    #[test]
    fn embedding_gradient_accumulates_repeated_indices(
        (table, indices, index_shape) in (1usize..=5, 1usize..=3, shape(2, 3)).prop_flat_map(|(rows, dim, index_shape)| {
            let n = index_shape.iter().product::<usize>();
            (tensor(vec![rows, dim], -2.0, 2.0), prop::collection::vec(0..rows, n), Just(index_shape))
        }),
    ) {
        check("embedding", |v| v[0].try_embedding(&indices, &index_shape), &[table])?;
    }

    #[test]
    fn where_cond_gradient_goes_to_the_taken_branch(
        ((a, b), cond_seed, tr) in (broadcast_pair(3, 3), prop::collection::vec(any::<bool>(), 64), any::<bool>()),
        values in tensor(vec![128], -2.0, 2.0),
    ) {
        let out = gradwork_tensor::broadcast_shapes("test", &a, &b).unwrap();
        let n = out.iter().product::<usize>();
        let condition = Tensor::from_vec(cond_seed[..n].iter().map(|&c| f32::from(u8::from(c))).collect(), &out);
        let data = values.to_vec();
        let na = a.iter().product::<usize>();
        let nb = b.iter().product::<usize>();
        let ta = Tensor::from_vec(data[..na].to_vec(), &t_shape(&a, tr));
        let tb = Tensor::from_vec(data[64..64 + nb].to_vec(), &b);
        check("where_cond", |v| Var::try_where_cond(&condition, &maybe_t(&v[0], tr), &v[1]), &[ta, tb])?;
    }

    #[test]
    fn dropout_gradient_is_masked_and_scaled(
        (x, mask) in shape(3, 4).prop_flat_map(|s| {
            let n = s.iter().product::<usize>();
            (tensor(s.clone(), -2.0, 2.0), prop::collection::vec(any::<bool>(), n).prop_map(move |m| {
                Tensor::from_vec(m.into_iter().map(|k| f32::from(u8::from(k))).collect(), &s)
            }))
        }),
        keep_prob in 0.2f32..=1.0,
    ) {
        check("dropout", |v| v[0].try_dropout_with_mask(&mask, keep_prob), &[x])?;
    }
}
