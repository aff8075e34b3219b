//! Shape ops, joins and splits. Their gradients only move elements, so the check is that every
//! element lands where it came from (the random output weights tell the positions apart).

use gradwork_autodiff::{Result, Var};
use gradwork_tensor::Tensor;
use proptest::prelude::*;

use crate::common::{any_tensor, check, config, maybe_t, shape, tensor};

fn sum_pieces(pieces: Vec<Var>) -> Result<Var> {
    // Weight each piece differently so a piece routed to the wrong place shows up.
    let mut total = pieces[0].square().sum_all();
    for (k, piece) in pieces.iter().enumerate().skip(1) {
        total = total.try_add(&piece.mul_scalar(k as f32 + 1.5).sin().sum_all())?;
    }
    Ok(total)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn reshape_and_flatten_gradients_match(x in any_tensor(3, 4, -2.0, 2.0), tr in any::<bool>()) {
        let n = x.numel();
        check("reshape", |v| maybe_t(&v[0], tr).try_reshape(&[n, 1]), std::slice::from_ref(&x))?;
        check("flatten_from", |v| maybe_t(&v[0], tr).try_flatten_from(0), &[x])?;
    }

    #[test]
    fn permute_transpose_and_t_gradients_match(
        x in shape(3, 4).prop_filter("rank 3", |s| s.len() == 3).prop_flat_map(|s| tensor(s, -2.0, 2.0)),
        perm in Just(vec![0usize, 1, 2]).prop_shuffle(),
    ) {
        check("permute", |v| v[0].try_permute(&perm), std::slice::from_ref(&x))?;
        check("transpose", |v| v[0].try_transpose(0, 2), std::slice::from_ref(&x))?;
        check("t", |v| Ok(v[0].t().sin()), &[x])?;
    }

    #[test]
    fn broadcast_to_gradient_sums_back(x in any_tensor(2, 3, -2.0, 2.0), lead in 1usize..=3) {
        let mut target = vec![lead];
        target.extend(x.shape().iter().map(|&d| if d == 1 { 3 } else { d }));
        check("broadcast_to", |v| v[0].try_broadcast_to(&target), &[x])?;
    }

    #[test]
    fn unsqueeze_and_squeeze_gradients_match(x in any_tensor(3, 4, -2.0, 2.0), at in 0usize..4) {
        let axis = at % (x.ndim() + 1);
        check("unsqueeze", |v| v[0].try_unsqueeze(axis), std::slice::from_ref(&x))?;
        let y = x.unsqueeze(axis);
        check("squeeze", |v| v[0].try_squeeze(axis), &[y])?;
    }

    #[test]
    fn narrow_and_select_gradients_pad_with_zeros(
        (x, axis, start, len) in shape(3, 5).prop_flat_map(|s| {
            let rank = s.len();
            (tensor(s, -2.0, 2.0), 0..rank)
        }).prop_flat_map(|(x, axis)| {
            let size = x.shape()[axis];
            (Just(x), Just(axis), 0..size)
        }).prop_flat_map(|(x, axis, start)| {
            let size = x.shape()[axis];
            (Just(x), Just(axis), Just(start), 1..=size - start)
        }),
        tr in any::<bool>(),
    ) {
        let x = if tr { x.t().contiguous() } else { x };
        check("narrow", |v| maybe_t(&v[0], tr).try_narrow(axis, start, len), std::slice::from_ref(&x))?;
        check("select", |v| maybe_t(&v[0], tr).try_select(axis, start), &[x])?;
    }

    #[test]
    fn pad_gradient_is_the_interior(
        x in any_tensor(3, 3, -2.0, 2.0),
        pads in prop::collection::vec((0usize..3, 0usize..3), 3),
        value in -1.0f32..1.0,
        tr in any::<bool>(),
    ) {
        let padding = pads[..x.ndim()].to_vec();
        check("pad", |v| maybe_t(&v[0], tr).try_pad(&padding, value), &[x])?;
    }

    #[test]
    fn concat_gradient_splits_back(
        (parts, axis) in (shape(3, 3), 1usize..=3).prop_flat_map(|(s, count)| {
            let rank = s.len();
            (Just(s), Just(count), 0..rank)
        }).prop_flat_map(|(s, count, axis)| {
            let parts: Vec<_> = (0..count).map(|k| {
                let mut ps = s.clone();
                ps[axis] = 1 + (k + s[axis]) % 3;
                tensor(ps, -2.0, 2.0)
            }).collect();
            (parts, Just(axis))
        }),
    ) {
        check("concat", |v| {
            let refs: Vec<&Var> = v.iter().collect();
            Var::try_concat(&refs, axis)
        }, &parts)?;
    }

    #[test]
    fn stack_gradient_selects_back(
        (parts, axis) in (shape(2, 3), 1usize..=3).prop_flat_map(|(s, count)| {
            let rank = s.len();
            (prop::collection::vec(tensor(s, -2.0, 2.0), count), 0..=rank)
        }),
        tr in any::<bool>(),
    ) {
        check("stack", |v| {
            let views: Vec<Var> = v.iter().map(|p| maybe_t(p, tr)).collect();
            let refs: Vec<&Var> = views.iter().collect();
            Var::try_stack(&refs, axis)
        }, &parts)?;
    }

    #[test]
    fn split_chunk_and_split_sizes_gradients_add_up(
        (x, axis) in shape(3, 5).prop_flat_map(|s| {
            let rank = s.len();
            (tensor(s, -2.0, 2.0), 0..rank)
        }),
        size in 1usize..=3,
        tr in any::<bool>(),
    ) {
        let x = if tr { x.t().contiguous() } else { x };
        check("split", |v| sum_pieces(maybe_t(&v[0], tr).try_split(size, axis)?), std::slice::from_ref(&x))?;
        check("chunk", |v| sum_pieces(maybe_t(&v[0], tr).try_chunk(size, axis)?), std::slice::from_ref(&x))?;
        let n = if tr { maybe_t(&Var::constant(x.clone()), tr).shape()[axis] } else { x.shape()[axis] };
        let sizes = [n / 2, n - n / 2];
        check("split_sizes", |v| sum_pieces(maybe_t(&v[0], tr).try_split_sizes(&sizes, axis)?), &[x])?;
    }
}

#[test]
fn a_piece_used_twice_gets_both_gradients() {
    let x = Tensor::from_vec(vec![0.5, -1.0, 2.0, 0.25], &[4]);
    check(
        "split",
        |v: &[Var]| {
            let pieces = v[0].try_split(2, 0)?;
            pieces[0].try_mul(&pieces[0])?.try_add(&pieces[1])
        },
        &[x],
    )
    .unwrap();
}
