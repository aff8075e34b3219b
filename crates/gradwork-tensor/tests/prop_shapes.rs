//! Shape operations against index arithmetic and against each other: reshape/transpose/permute
//! round trips, concat/split/chunk/stack inverses, pad and narrow/select by explicit indexing, and
//! the adjointness of index_select/index_add and gather/scatter_add
//! (`<gather(x), g> == <x, scatter_add(g)>`), on operands laid out as arbitrary views.

mod common;

use common::{integer_values, make_operand, make_operand_with, numel, ravel, unravel, Recipe};
use gradwork_tensor::{Rng, Tensor};
use proptest::prelude::*;

fn shape_strategy(max_rank: usize) -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(
        prop_oneof![1 => Just(0usize), 9 => 1..=4usize],
        1..=max_rank,
    )
}

/// A random factorisation of `n` into `rank` sizes (0 when n is 0 lets any other sizes through).
fn random_factorisation(n: usize, rank: usize, rng: &mut Rng) -> Vec<usize> {
    let mut shape = vec![1; rank];
    if n == 0 {
        shape[rng.below(rank as u64) as usize] = 0;
        return shape;
    }
    let mut rest = n;
    let mut p = 2;
    while rest > 1 {
        while rest.is_multiple_of(p) {
            shape[rng.below(rank as u64) as usize] *= p;
            rest /= p;
        }
        p += 1;
    }
    shape
}

fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| x as f64 * y as f64).sum()
}

proptest! {
    #![proptest_config(common::proptest_config(128))]

    #[test]
    fn reshape_round_trips_and_keeps_row_major_order(
        shape in shape_strategy(4), rank in 1..=4usize, recipe in 0u8..16, seed in any::<u64>(),
    ) {
        let mut rng = Rng::seed_from(seed);
        let (x, values) = make_operand(&shape, Recipe::from_bits(recipe), &mut rng);
        let target = random_factorisation(numel(&shape), rank, &mut rng);
        let y = x.reshape(&target);
        prop_assert_eq!(y.shape(), &target[..]);
        prop_assert_eq!(y.to_vec(), values.clone());
        let back = y.reshape(&shape);
        prop_assert_eq!(back.shape(), &shape[..]);
        prop_assert_eq!(back.to_vec(), values);
    }

    #[test]
    fn permute_moves_elements_by_index_and_its_inverse_restores_them(
        shape in shape_strategy(4), recipe in 0u8..16, seed in any::<u64>(),
    ) {
        let mut rng = Rng::seed_from(seed);
        let (x, values) = make_operand(&shape, Recipe::from_bits(recipe), &mut rng);
        let perm = rng.permutation(shape.len());
        let y = x.permute(&perm);
        let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
        prop_assert_eq!(y.shape(), &out_shape[..]);
        let got = y.to_vec();
        for (flat, &g) in got.iter().enumerate() {
            let o = unravel(flat, &out_shape);
            let mut source = vec![0; shape.len()];
            for (i, &p) in perm.iter().enumerate() {
                source[p] = o[i];
            }
            prop_assert_eq!(g, values[ravel(&source, &shape)]);
        }
        let mut inverse = vec![0; perm.len()];
        for (i, &p) in perm.iter().enumerate() {
            inverse[p] = i;
        }
        prop_assert_eq!(y.permute(&inverse).to_vec(), values.clone());
        // A transpose is its own inverse.
        let (a, b) = (rng.below(shape.len() as u64) as usize, rng.below(shape.len() as u64) as usize);
        prop_assert_eq!(x.transpose(a, b).transpose(a, b).to_vec(), values);
    }

    #[test]
    fn narrow_and_select_pick_elements_by_index(
        shape in shape_strategy(4), recipe in 0u8..16, seed in any::<u64>(),
    ) {
        let mut rng = Rng::seed_from(seed);
        let (x, values) = make_operand(&shape, Recipe::from_bits(recipe), &mut rng);
        let axis = rng.below(shape.len() as u64) as usize;
        let start = rng.below(shape[axis] as u64 + 1) as usize;
        let len = rng.below((shape[axis] - start) as u64 + 1) as usize;
        let narrowed = x.narrow(axis, start, len);
        let mut out_shape = shape.clone();
        out_shape[axis] = len;
        prop_assert_eq!(narrowed.shape(), &out_shape[..]);
        let got = narrowed.to_vec();
        for (flat, &g) in got.iter().enumerate() {
            let mut index = unravel(flat, &out_shape);
            index[axis] += start;
            prop_assert_eq!(g, values[ravel(&index, &shape)]);
        }
        prop_assert!(x.try_narrow(axis, start, shape[axis] - start + 1).is_err());
        if shape[axis] > 0 {
            let pick = rng.below(shape[axis] as u64) as usize;
            let selected = x.select(axis, pick);
            prop_assert_eq!(selected.to_vec(), x.narrow(axis, pick, 1).to_vec());
            let mut kept = shape.clone();
            kept.remove(axis);
            prop_assert_eq!(selected.shape(), &kept[..]);
        }
        prop_assert!(x.try_select(axis, shape[axis]).is_err());
    }

    #[test]
    fn split_then_concat_is_the_identity_and_chunk_sizes_follow_torch(
        shape in shape_strategy(3), recipe in 0u8..16, pieces in 1..=5usize, seed in any::<u64>(),
    ) {
        let mut rng = Rng::seed_from(seed);
        let (x, values) = make_operand(&shape, Recipe::from_bits(recipe), &mut rng);
        let axis = rng.below(shape.len() as u64) as usize;
        // Random sizes that add up to the axis, zeros allowed.
        let mut cuts: Vec<usize> = (0..pieces - 1).map(|_| rng.below(shape[axis] as u64 + 1) as usize).collect();
        cuts.push(0);
        cuts.push(shape[axis]);
        cuts.sort_unstable();
        let sizes: Vec<usize> = cuts.windows(2).map(|w| w[1] - w[0]).collect();
        let parts = x.try_split_sizes(&sizes, axis).unwrap();
        prop_assert_eq!(parts.len(), sizes.len());
        for (part, (&size, &begin)) in parts.iter().zip(sizes.iter().zip(&cuts)) {
            prop_assert_eq!(part.shape()[axis], size);
            prop_assert_eq!(part.to_vec(), x.narrow(axis, begin, size).to_vec());
        }
        let refs: Vec<&Tensor> = parts.iter().collect();
        let joined = Tensor::concat(&refs, axis);
        prop_assert_eq!(joined.shape(), &shape[..]);
        prop_assert_eq!(joined.to_vec(), values.clone());

        // torch.chunk: pieces of ceil(n / chunks), the last one smaller, none empty.
        let chunks = x.chunk(pieces, axis);
        let n = shape[axis];
        let size = n.div_ceil(pieces).max(1);
        let expected: Vec<usize> = (0..n).step_by(size).map(|s| size.min(n - s)).collect();
        let got: Vec<usize> = chunks.iter().map(|c| c.shape()[axis]).collect();
        prop_assert_eq!(got, expected);
        let refs: Vec<&Tensor> = chunks.iter().collect();
        if !refs.is_empty() {
            prop_assert_eq!(Tensor::concat(&refs, axis).to_vec(), values);
        }
    }

    #[test]
    fn stack_places_each_input_at_its_index_on_the_new_axis(
        shape in shape_strategy(3), count in 1..=4usize, recipe in 0u8..16, seed in any::<u64>(),
    ) {
        let mut rng = Rng::seed_from(seed);
        let inputs: Vec<(Tensor, Vec<f32>)> = (0..count)
            .map(|_| make_operand(&shape, Recipe::from_bits(recipe), &mut rng))
            .collect();
        let axis = rng.below(shape.len() as u64 + 1) as usize;
        let refs: Vec<&Tensor> = inputs.iter().map(|(t, _)| t).collect();
        let stacked = Tensor::stack(&refs, axis);
        let mut out_shape = shape.clone();
        out_shape.insert(axis, count);
        prop_assert_eq!(stacked.shape(), &out_shape[..]);
        let got = stacked.to_vec();
        for (flat, &g) in got.iter().enumerate() {
            let mut index = unravel(flat, &out_shape);
            let which = index.remove(axis);
            prop_assert_eq!(g, inputs[which].1[ravel(&index, &shape)]);
        }
    }

    #[test]
    fn pad_surrounds_the_source_with_the_value(
        shape in shape_strategy(3), recipe in 0u8..16, seed in any::<u64>(),
    ) {
        let mut rng = Rng::seed_from(seed);
        let (x, values) = make_operand(&shape, Recipe::from_bits(recipe), &mut rng);
        let padded_axes = rng.below(shape.len() as u64 + 1) as usize;
        let padding: Vec<(usize, usize)> = (0..padded_axes)
            .map(|_| (rng.below(3) as usize, rng.below(3) as usize))
            .collect();
        let p = x.pad(&padding, 9.5);
        let out_shape: Vec<usize> = shape
            .iter()
            .enumerate()
            .map(|(a, &d)| padding.get(a).map_or(d, |&(lo, hi)| d + lo + hi))
            .collect();
        prop_assert_eq!(p.shape(), &out_shape[..]);
        let got = p.to_vec();
        for (flat, &g) in got.iter().enumerate() {
            let o = unravel(flat, &out_shape);
            let source: Option<Vec<usize>> = o
                .iter()
                .enumerate()
                .map(|(a, &i)| {
                    let lo = padding.get(a).map_or(0, |&(lo, _)| lo);
                    i.checked_sub(lo).filter(|&s| s < shape[a])
                })
                .collect();
            let want = source.map_or(9.5, |s| values[ravel(&s, &shape)]);
            prop_assert_eq!(g, want);
        }
    }

    #[test]
    fn index_select_matches_indexing_and_index_add_is_its_adjoint(
        shape in prop::collection::vec(1..=4usize, 1..=3), picks in 0..=6usize,
        recipe in 0u8..16, seed in any::<u64>(),
    ) {
        let mut rng = Rng::seed_from(seed);
        let (x, values) = make_operand_with(&shape, Recipe::from_bits(recipe), &mut rng, integer_values);
        let axis = rng.below(shape.len() as u64) as usize;
        let indices: Vec<usize> = (0..picks).map(|_| rng.below(shape[axis] as u64) as usize).collect();
        let selected = x.index_select(axis, &indices);
        let mut out_shape = shape.clone();
        out_shape[axis] = indices.len();
        prop_assert_eq!(selected.shape(), &out_shape[..]);
        let got = selected.to_vec();
        for (flat, &g) in got.iter().enumerate() {
            let mut index = unravel(flat, &out_shape);
            index[axis] = indices[index[axis]];
            prop_assert_eq!(g, values[ravel(&index, &shape)]);
        }
        // <index_select(x), g> == <x, index_add(g)>; small integers make both sides exact.
        let g = integer_values(numel(&out_shape), &mut rng);
        let back = Tensor::from_vec(g.clone(), &out_shape).index_add(axis, &indices, shape[axis]);
        prop_assert_eq!(back.shape(), &shape[..]);
        prop_assert_eq!(dot(&got, &g), dot(&values, &back.to_vec()));
        let bad = shape[axis];
        prop_assert!(x.try_index_select(axis, &[bad]).is_err());
    }

    #[test]
    fn gather_matches_indexing_and_scatter_add_is_its_adjoint(
        shape in prop::collection::vec(1..=4usize, 1..=3), recipe in 0u8..16, seed in any::<u64>(),
    ) {
        let mut rng = Rng::seed_from(seed);
        let (x, values) = make_operand_with(&shape, Recipe::from_bits(recipe), &mut rng, integer_values);
        let axis = rng.below(shape.len() as u64) as usize;
        // The index may be longer than the source along `axis` and no larger elsewhere.
        let index_shape: Vec<usize> = shape
            .iter()
            .enumerate()
            .map(|(a, &d)| if a == axis { rng.below(6) as usize } else { 1 + rng.below(d as u64) as usize })
            .collect();
        let index: Vec<usize> = (0..numel(&index_shape)).map(|_| rng.below(shape[axis] as u64) as usize).collect();
        let gathered = x.gather(axis, &index, &index_shape);
        prop_assert_eq!(gathered.shape(), &index_shape[..]);
        let got = gathered.to_vec();
        for (flat, &v) in got.iter().enumerate() {
            let mut at = unravel(flat, &index_shape);
            at[axis] = index[flat];
            prop_assert_eq!(v, values[ravel(&at, &shape)]);
        }
        let g = integer_values(index.len(), &mut rng);
        let back = Tensor::from_vec(g.clone(), &index_shape).scatter_add(axis, &index, &shape);
        prop_assert_eq!(back.shape(), &shape[..]);
        prop_assert_eq!(dot(&got, &g), dot(&values, &back.to_vec()));
    }
}

#[test]
fn narrowing_an_empty_tensor_past_its_start_stays_a_valid_view() {
    // A [0, 3] buffer holds nothing; a view of its column 2 must not point past the end.
    let empty = Tensor::zeros(&[0, 3]);
    let column = empty.narrow(1, 2, 1);
    assert_eq!(column.shape(), &[0, 1]);
    assert!(column.to_vec().is_empty());
    assert_eq!(column.contiguous().shape(), &[0, 1]);
    assert_eq!(empty.select(1, 2).add(&Tensor::scalar(1.0)).shape(), &[0]);
}
