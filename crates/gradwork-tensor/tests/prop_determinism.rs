//! The determinism contract (docs/determinism.md): the same inputs give bitwise-identical results
//! in rayon pools of 1, 2, 3 and 8 threads, for matmul, every reduction and normalisation,
//! elementwise ops, and the conv2d / pooling kernels with their backward kernels. Sizes are
//! chosen above every parallel threshold (`par::PARALLEL_THRESHOLD`, matmul's flop threshold,
//! more than one `MATMUL_ROW_BLOCK` of rows, more than one `CONV_BATCH_BLOCK` of images), so the
//! multi-threaded pools really split the work.

mod common;

use std::sync::OnceLock;

use common::{bits, make_operand, Recipe};
use gradwork_tensor::par::{MATMUL_ROW_BLOCK, PARALLEL_THRESHOLD};
use gradwork_tensor::{Conv2dOptions, Pool2dOptions, Rng, Tensor, CONV_BATCH_BLOCK};
use proptest::prelude::*;
use rayon::{ThreadPool, ThreadPoolBuilder};

const THREADS: [usize; 4] = [1, 2, 3, 8];

fn pools() -> &'static [(usize, ThreadPool)] {
    static POOLS: OnceLock<Vec<(usize, ThreadPool)>> = OnceLock::new();
    POOLS.get_or_init(|| {
        THREADS
            .iter()
            .map(|&n| {
                let pool = ThreadPoolBuilder::new()
                    .num_threads(n)
                    .build()
                    .expect("thread pool");
                (n, pool)
            })
            .collect()
    })
}

/// Runs `work` in every pool and asserts each named output has the same bits as on one thread.
fn assert_same_bits_in_every_pool(what: &str, work: impl Fn() -> Vec<(String, Vec<u32>)> + Sync) {
    let mut runs = pools().iter().map(|(n, pool)| {
        let outputs = pool.install(|| {
            assert_eq!(rayon::current_num_threads(), *n);
            work()
        });
        (*n, outputs)
    });
    let (_, reference) = runs.next().expect("at least one pool");
    for (threads, outputs) in runs {
        assert_eq!(outputs.len(), reference.len());
        for ((name, got), (_, want)) in outputs.iter().zip(&reference) {
            let differing = got.iter().zip(want).filter(|(a, b)| a != b).count();
            assert!(
                got.len() == want.len() && differing == 0,
                "{what}: {name} differs between 1 and {threads} threads in {differing} of {} elements",
                want.len()
            );
        }
    }
}

fn named(name: impl Into<String>, t: &Tensor) -> (String, Vec<u32>) {
    (name.into(), bits(t))
}

fn indices(name: impl Into<String>, v: Vec<usize>) -> (String, Vec<u32>) {
    indices_of(name, &v)
}

fn indices_of(name: impl Into<String>, v: &[usize]) -> (String, Vec<u32>) {
    (name.into(), v.iter().map(|&i| i as u32).collect())
}

/// Every reduction and normalisation over every axis of `x`, plus the whole-tensor sums.
fn all_reductions(x: &Tensor) -> Vec<(String, Vec<u32>)> {
    let mut out = vec![];
    for axis in 0..x.ndim() {
        for keepdim in [false, true] {
            out.push(named(
                format!("sum({axis},{keepdim})"),
                &x.sum(axis, keepdim),
            ));
            out.push(named(
                format!("mean({axis},{keepdim})"),
                &x.mean(axis, keepdim),
            ));
        }
        out.push(named(format!("var({axis})"), &x.var(axis, 1, false)));
        out.push(named(format!("max({axis})"), &x.max(axis, false)));
        out.push(named(format!("min({axis})"), &x.min(axis, false)));
        out.push(indices(format!("argmax({axis})"), x.argmax(axis)));
        out.push(indices(format!("argmin({axis})"), x.argmin(axis)));
        out.push(named(
            format!("logsumexp({axis})"),
            &x.logsumexp(axis, false),
        ));
        out.push(named(format!("softmax({axis})"), &x.softmax(axis)));
        out.push(named(format!("log_softmax({axis})"), &x.log_softmax(axis)));
    }
    out.push(named("sum_all", &x.sum_all()));
    out.push(named("mean_all", &x.mean_all()));
    out.push(("sum_all_f64".into(), {
        let s = x.sum_all_f64().to_bits();
        vec![s as u32, (s >> 32) as u32]
    }));
    let all_axes: Vec<usize> = (0..x.ndim()).collect();
    out.push(named("sum_axes(all)", &x.sum_axes(&all_axes, false)));
    // Every axis but one (a bias gradient's reduction), on contiguous data.
    let contiguous = x.contiguous();
    for kept in 0..x.ndim() {
        let others: Vec<usize> = (0..x.ndim()).filter(|&a| a != kept).collect();
        out.push(named(
            format!("sum_axes(all but {kept})"),
            &contiguous.sum_axes(&others, false),
        ));
    }
    out
}

/// A large random operand of `shape`, laid out as `layout` says: 0 contiguous, 1 transposed
/// (all axes reversed in storage), 2 narrowed from a wider last axis. Built directly rather than
/// element by element, since these tensors hold hundreds of thousands of values.
fn big_operand(shape: &[usize], layout: u8, rng: &mut Rng) -> Tensor {
    match layout % 3 {
        0 => Tensor::rand_normal(shape, 0.0, 1.0, rng),
        1 => {
            let reversed: Vec<usize> = shape.iter().rev().copied().collect();
            let perm: Vec<usize> = (0..shape.len()).rev().collect();
            Tensor::rand_normal(&reversed, 0.0, 1.0, rng).permute(&perm)
        }
        _ => {
            let mut wider = shape.to_vec();
            *wider.last_mut().expect("rank >= 1") += 3;
            let last = shape.len() - 1;
            Tensor::rand_normal(&wider, 0.0, 1.0, rng).narrow(last, 1, shape[last])
        }
    }
}

proptest! {
    #![proptest_config(common::proptest_config(3))]

    #[test]
    fn matmul_is_bitwise_identical_on_1_2_3_and_8_threads(
        m in (MATMUL_ROW_BLOCK + 1)..=260usize,
        k in 40..=120usize,
        n in 40..=120usize,
        batch in 1..=3usize,
        recipes in (0u8..8, 0u8..8),
        seed in any::<u64>(),
    ) {
        // Above matmul's parallel threshold of 2^18 multiply-adds.
        prop_assume!(m * k * n >= 1 << 18);
        let mut rng = Rng::seed_from(seed);
        let (a, _) = make_operand(&[batch, m, k], Recipe::from_bits(recipes.0), &mut rng);
        let (b, _) = make_operand(&[k, n], Recipe::from_bits(recipes.1), &mut rng);
        let (b3, _) = make_operand(&[batch, k, n], Recipe::from_bits(recipes.1), &mut rng);
        let a2 = a.select(0, 0);
        assert_same_bits_in_every_pool("matmul", || {
            vec![
                named("2-D", &a2.matmul(&b)),
                named("a^T-shaped 2-D", &a2.t().contiguous().t().matmul(&b)),
                named("batched @ 2-D", &a.matmul(&b)),
                named("batched @ batched", &a.matmul(&b3)),
                named("vector @ 2-D", &a2.select(0, 1).matmul(&b)),
                // Wider than tall: the columns are split between threads.
                named("wide 2-D", &b.t().matmul(&a2.t())),
            ]
        });
    }

    #[test]
    fn every_reduction_is_bitwise_identical_on_1_2_3_and_8_threads(
        inner in 22_000..=26_000usize,
        rows in (PARALLEL_THRESHOLD + 1)..=(PARALLEL_THRESHOLD + 3000),
        layout in 0u8..3,
        seed in any::<u64>(),
    ) {
        let mut rng = Rng::seed_from(seed);
        // [2, 3, inner]: reducing axis 0 or 1 leaves more outputs than the parallel threshold;
        // reducing axis 2 sums long rows. [rows, 2]: more lanes than the threshold.
        let x = big_operand(&[2, 3, inner], layout, &mut rng);
        let tall = big_operand(&[rows, 2], layout, &mut rng);
        assert_same_bits_in_every_pool("reductions of [2, 3, inner]", || all_reductions(&x));
        assert_same_bits_in_every_pool("reductions of [rows, 2]", || all_reductions(&tall));
    }

    #[test]
    fn elementwise_ops_are_bitwise_identical_on_1_2_3_and_8_threads(
        len in (PARALLEL_THRESHOLD + 1)..=3 * PARALLEL_THRESHOLD,
        layout in 0u8..3,
        seed in any::<u64>(),
    ) {
        let mut rng = Rng::seed_from(seed);
        let x = big_operand(&[2, len], layout, &mut rng);
        let y = big_operand(&[2, len], 0, &mut rng);
        let row = big_operand(&[len], layout, &mut rng);
        assert_same_bits_in_every_pool("elementwise", || {
            vec![
                named("add", &x.add(&y)),
                named("add broadcast", &x.add(&row)),
                named("mul", &x.mul(&y)),
                named("div", &x.div(&row)),
                named("maximum", &x.maximum(&y)),
                named("gt", &x.gt_mask(&row)),
                named("exp", &x.exp()),
                named("relu", &x.relu()),
                named("gelu", &x.gelu()),
                named("sigmoid", &x.sigmoid()),
                named("tanh", &x.tanh()),
                named("scalar", &x.mul_scalar(0.3).add_scalar(1.0)),
            ]
        });
    }
}

proptest! {
    #![proptest_config(common::proptest_config(24))]

    #[test]
    fn matmul_rows_have_the_same_bits_however_the_rows_are_split(
        m in 1..=300usize,
        k in 1..=600usize,
        n in 1..=80usize,
        cuts in prop::collection::vec(0.0..1.0f64, 1..=4),
        transposed in any::<bool>(),
        seed in any::<u64>(),
    ) {
        // sgemm never splits K and runs the same micro-kernel on every tile, so a row of the
        // product cannot depend on which other rows were computed in the same call. This is what
        // lets matmul pick its row split freely (by thread count) and stay deterministic.
        let mut rng = Rng::seed_from(seed);
        let recipe = Recipe::from_bits(u8::from(transposed));
        let (a, _) = make_operand(&[m, k], recipe, &mut rng);
        let (b, _) = make_operand(&[k, n], recipe, &mut rng);
        let whole = bits(&a.matmul(&b));
        let mut bounds: Vec<usize> = cuts.iter().map(|c| (c * m as f64) as usize).collect();
        bounds.extend([0, m]);
        bounds.sort_unstable();
        // Products of at most GEMV_MAX_ROWS (2) rows take the matrix-vector kernel, decided by
        // the whole product's row count, so only splits into larger pieces must agree bitwise.
        let mut kept = vec![0];
        for &cut in &bounds[1..bounds.len() - 1] {
            if cut - kept[kept.len() - 1] > 2 && m - cut > 2 {
                kept.push(cut);
            }
        }
        kept.push(m);
        let bounds = kept;
        let mut pieces = vec![];
        for w in bounds.windows(2) {
            pieces.extend(bits(&a.narrow(0, w[0], w[1] - w[0]).matmul(&b)));
        }
        prop_assert!(pieces == whole, "rows split at {:?} differ from one product", bounds);
    }
}

proptest! {
    #![proptest_config(common::proptest_config(3))]

    #[test]
    fn conv_and_pool_kernels_are_bitwise_identical_on_1_2_3_and_8_threads(
        batch in (CONV_BATCH_BLOCK + 1)..=(3 * CONV_BATCH_BLOCK),
        groups in 1..=2usize,
        stride in 1..=2usize,
        padding in 0..=1usize,
        dilation in 1..=2usize,
        layout in 0u8..3,
        seed in any::<u64>(),
    ) {
        // More images than one CONV_BATCH_BLOCK, so the batch blocks run in parallel and the
        // weight gradient folds several block partials.
        let mut rng = Rng::seed_from(seed);
        let (channels, out_channels, side) = (4, 6, 12);
        let x = big_operand(&[batch, channels, side, side], layout, &mut rng);
        let w = big_operand(&[out_channels, channels / groups, 3, 3], layout, &mut rng);
        let bias = big_operand(&[out_channels], 0, &mut rng);
        let options = Conv2dOptions {
            stride: (stride, stride),
            padding: (padding, padding),
            dilation: (dilation, dilation),
            groups,
        };
        let y = x.conv2d(&w, Some(&bias), &options);
        let dy = big_operand(y.shape(), 0, &mut rng);
        let max_options = Pool2dOptions::new((3, 3)).with_stride((2, 2)).with_padding((1, 1));
        let avg_options = Pool2dOptions::new((2, 2)).with_count_include_pad(false);
        let pooled_shape = x.max_pool2d(&max_options).shape().to_vec();
        let dp = big_operand(&pooled_shape, 0, &mut rng);
        let avg_shape = x.avg_pool2d(&avg_options).shape().to_vec();
        let da = big_operand(&avg_shape, 0, &mut rng);
        let plain_pool = Pool2dOptions::new((2, 2));
        let (fused, codes) = x.try_conv2d_max_pool2d(&w, Some(&bias), &options, &plain_pool).unwrap();
        let df = big_operand(fused.shape(), 0, &mut rng);
        assert_same_bits_in_every_pool("conv and pool", || {
            let (pooled, indices) = x.max_pool2d_with_indices(&max_options);
            let (fused, fused_codes) = x
                .try_conv2d_max_pool2d(&w, Some(&bias), &options, &plain_pool)
                .unwrap();
            let grads =
                Tensor::try_conv2d_max_pool2d_backward(&df, &codes, &x, &w, &options, [true; 3]).unwrap();
            let codes_as_indices: Vec<usize> = fused_codes.codes().iter().map(|&c| c as usize).collect();
            vec![
                named("conv2d_backward_bias", &Tensor::try_conv2d_backward_bias(&dy).unwrap()),
                named("conv2d_max_pool2d", &fused),
                indices_of("conv2d_max_pool2d codes", &codes_as_indices),
                named("conv2d_max_pool2d grad input", grads.input.as_ref().unwrap()),
                named("conv2d_max_pool2d grad weight", grads.weight.as_ref().unwrap()),
                named("conv2d_max_pool2d grad bias", grads.bias.as_ref().unwrap()),
                named("conv2d", &x.conv2d(&w, Some(&bias), &options)),
                named("conv2d no bias", &x.conv2d(&w, None, &options)),
                named(
                    "conv2d_backward_input",
                    &Tensor::conv2d_backward_input(&dy, &w, x.shape(), &options),
                ),
                named(
                    "conv2d_backward_weight",
                    &Tensor::conv2d_backward_weight(&dy, &x, w.shape(), &options),
                ),
                named("max_pool2d", &pooled),
                indices_of("max_pool2d indices", &indices),
                named(
                    "max_pool2d_backward",
                    &Tensor::max_pool2d_backward(&dp, &indices, x.shape()),
                ),
                named("avg_pool2d", &x.avg_pool2d(&avg_options)),
                named(
                    "avg_pool2d_backward",
                    &Tensor::avg_pool2d_backward(&da, x.shape(), &avg_options),
                ),
            ]
        });
    }
}

#[test]
fn install_busy_returns_the_same_bits_as_install_and_ends_its_waiting_threads() {
    // Kept-awake threads only change when work starts: every pool gives the one-thread bits,
    // nested calls work, and each call returns (its waiting threads stop with it).
    let mut rng = Rng::seed_from(17);
    let a = Tensor::rand_uniform(&[300, 200], -1.0, 1.0, &mut rng);
    let b = Tensor::rand_uniform(&[200, 260], -1.0, 1.0, &mut rng);
    let plain = gradwork_tensor::par::install(|| a.matmul(&b));
    assert_same_bits_in_every_pool("install_busy", || {
        let busy = gradwork_tensor::par::install_busy(|| a.matmul(&b).sum_axes(&[0], false));
        let nested = gradwork_tensor::par::install_busy(|| {
            gradwork_tensor::par::install_busy(|| a.matmul(&b))
        });
        assert_eq!(bits(&nested), bits(&plain));
        vec![named("matmul then sum", &busy), named("nested", &nested)]
    });
}

#[test]
fn install_busy_passes_a_panic_on_instead_of_hanging() {
    // The waiting threads must stop when the loop unwinds, or the scope would wait forever.
    for (_, pool) in pools() {
        let outcome = pool.install(|| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                gradwork_tensor::par::install_busy(|| -> usize {
                    panic!("the training loop failed")
                })
            }))
        });
        assert!(outcome.is_err());
    }
}
