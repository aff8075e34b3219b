//! Property tests of conv2d and pooling: forward and backward kernels against naive f64 loops on
//! random shapes and options (stride, padding, dilation, groups, non-square and 1x1 kernels,
//! permuted non-contiguous operands), the adjoint identities, bitwise determinism across rayon
//! pools of 1, 2, 3 and 8 threads, and random bad shapes that must give errors, never panics.

use gradwork_tensor::{Conv2dOptions, Pool2dOptions, Rng, Tensor, TensorError};
use proptest::prelude::*;

/// A random tensor of `shape`; with `permuted`, a non-contiguous view of the same shape (built
/// in the reversed axis order, then permuted back).
fn random_tensor(shape: &[usize], seed: u64, permuted: bool) -> Tensor {
    let mut rng = Rng::seed_from(seed);
    if !permuted {
        return Tensor::rand_uniform(shape, -1.0, 1.0, &mut rng);
    }
    let reversed: Vec<usize> = shape.iter().rev().copied().collect();
    let perm: Vec<usize> = (0..shape.len()).rev().collect();
    let t = Tensor::rand_uniform(&reversed, -1.0, 1.0, &mut rng).permute(&perm);
    assert_eq!(t.shape(), shape);
    t
}

fn f64s(t: &Tensor) -> Vec<f64> {
    t.to_vec().iter().map(|&v| v as f64).collect()
}

/// `|actual - exact| <= 1e-5 * scale + 1e-6` elementwise, `scale` being the sum of the absolute
/// values of the terms (the natural bound of f32 summation error).
fn assert_near(what: &str, actual: &Tensor, exact: &[f64], scale: &[f64]) {
    let actual = actual.to_vec();
    assert_eq!(actual.len(), exact.len(), "{what}: length");
    for i in 0..exact.len() {
        let err = (actual[i] as f64 - exact[i]).abs();
        assert!(
            err <= 1e-5 * scale[i] + 1e-6,
            "{what}[{i}]: {} vs exact {}",
            actual[i],
            exact[i]
        );
    }
}

fn dot(a: &Tensor, b: &Tensor) -> (f64, f64) {
    let (a, b) = (f64s(a), f64s(b));
    let value = a.iter().zip(&b).map(|(x, y)| x * y).sum();
    let scale = a.iter().zip(&b).map(|(x, y)| (x * y).abs()).sum();
    (value, scale)
}

/// One convolution problem, described independently of the kernels' own geometry code.
#[derive(Debug, Clone, Copy)]
struct ConvCase {
    n: usize,
    groups: usize,
    c_group: usize,
    o_group: usize,
    h: usize,
    w: usize,
    kh: usize,
    kw: usize,
    options: Conv2dOptions,
}

impl ConvCase {
    fn c(&self) -> usize {
        self.groups * self.c_group
    }
    fn o(&self) -> usize {
        self.groups * self.o_group
    }
    fn out_hw(&self) -> (usize, usize) {
        let Conv2dOptions {
            stride: s,
            padding: p,
            dilation: d,
            ..
        } = self.options;
        (
            (self.h + 2 * p.0 - d.0 * (self.kh - 1) - 1) / s.0 + 1,
            (self.w + 2 * p.1 - d.1 * (self.kw - 1) - 1) / s.1 + 1,
        )
    }
    fn input_shape(&self) -> [usize; 4] {
        [self.n, self.c(), self.h, self.w]
    }
    fn weight_shape(&self) -> [usize; 4] {
        [self.o(), self.c_group, self.kh, self.kw]
    }
    fn output_shape(&self) -> [usize; 4] {
        let (ho, wo) = self.out_hw();
        [self.n, self.o(), ho, wo]
    }

    /// Calls `f(input_index, weight_index, output_index)` for every product of the convolution
    /// sum that reads a real (non-padding) input element, straight from the definition.
    fn for_each_tap(&self, mut f: impl FnMut(usize, usize, usize)) {
        let (ho, wo) = self.out_hw();
        let Conv2dOptions {
            stride: s,
            padding: p,
            dilation: d,
            ..
        } = self.options;
        let (c, o) = (self.c(), self.o());
        for n in 0..self.n {
            for oc in 0..o {
                let group = oc / self.o_group;
                for oh in 0..ho {
                    for ow in 0..wo {
                        let y = ((n * o + oc) * ho + oh) * wo + ow;
                        for cl in 0..self.c_group {
                            let ic = group * self.c_group + cl;
                            for i in 0..self.kh {
                                for j in 0..self.kw {
                                    let ih = (oh * s.0 + i * d.0) as isize - p.0 as isize;
                                    let iw = (ow * s.1 + j * d.1) as isize - p.1 as isize;
                                    if ih < 0 || iw < 0 {
                                        continue;
                                    }
                                    let (ih, iw) = (ih as usize, iw as usize);
                                    if ih >= self.h || iw >= self.w {
                                        continue;
                                    }
                                    let x = ((n * c + ic) * self.h + ih) * self.w + iw;
                                    let wi = ((oc * self.c_group + cl) * self.kh + i) * self.kw + j;
                                    f(x, wi, y);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Random valid convolutions; about a quarter are pointwise (1x1, stride 1, no padding).
fn conv_case() -> impl Strategy<Value = (ConvCase, bool, u64)> {
    (
        (1..=3usize, 1..=3usize, 1..=3usize, 1..=3usize),
        (1..=3usize, 1..=3usize, 1..=3usize, 1..=3usize),
        (0..=2usize, 0..=2usize, 1..=2usize, 1..=2usize),
        (0..=4usize, 0..=4usize),
        prop::bool::weighted(0.25),
        any::<bool>(),
        any::<u64>(),
    )
        .prop_map(
            |(
                (n, groups, c_group, o_group),
                (kh, kw, sh, sw),
                (ph, pw, dh, dw),
                extra,
                pointwise,
                permuted,
                seed,
            )| {
                let options = if pointwise {
                    Conv2dOptions::default()
                } else {
                    Conv2dOptions {
                        stride: (sh, sw),
                        padding: (ph, pw),
                        dilation: (dh, dw),
                        groups,
                    }
                };
                let (kh, kw) = if pointwise { (1, 1) } else { (kh, kw) };
                let groups = options.groups;
                let (p, d) = (options.padding, options.dilation);
                // The smallest input the kernel fits in, plus some extra rows and columns.
                let h = (d.0 * (kh - 1) + 1).saturating_sub(2 * p.0).max(1) + extra.0;
                let w = (d.1 * (kw - 1) + 1).saturating_sub(2 * p.1).max(1) + extra.1;
                let case = ConvCase {
                    n,
                    groups,
                    c_group,
                    o_group,
                    h,
                    w,
                    kh,
                    kw,
                    options,
                };
                (case, permuted, seed)
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn conv2d_matches_naive_loops_forward_and_backward((case, permuted, seed) in conv_case()) {
        let x = random_tensor(&case.input_shape(), seed, permuted);
        let w = random_tensor(&case.weight_shape(), seed ^ 1, permuted);
        let b = random_tensor(&[case.o()], seed ^ 2, false);
        let dy = random_tensor(&case.output_shape(), seed ^ 3, permuted);
        let (xv, wv, dyv) = (f64s(&x), f64s(&w), f64s(&dy));
        let opts = case.options;

        let y = x.conv2d(&w, Some(&b), &opts);
        prop_assert_eq!(y.shape(), &case.output_shape());
        let per_image = case.output_shape()[2] * case.output_shape()[3];
        let mut exact: Vec<f64> = (0..y.numel()).map(|i| b.to_vec()[(i / per_image) % case.o()] as f64).collect();
        let mut scale: Vec<f64> = exact.iter().map(|v| v.abs()).collect();
        case.for_each_tap(|xi, wi, yi| { exact[yi] += xv[xi] * wv[wi]; scale[yi] += (xv[xi] * wv[wi]).abs(); });
        assert_near("conv2d", &y, &exact, &scale);

        let dx = Tensor::conv2d_backward_input(&dy, &w, &case.input_shape(), &opts);
        let (mut exact, mut scale) = (vec![0.0; x.numel()], vec![0.0; x.numel()]);
        case.for_each_tap(|xi, wi, yi| { exact[xi] += dyv[yi] * wv[wi]; scale[xi] += (dyv[yi] * wv[wi]).abs(); });
        assert_near("conv2d_backward_input", &dx, &exact, &scale);

        let dw = Tensor::conv2d_backward_weight(&dy, &x, &case.weight_shape(), &opts);
        let (mut exact, mut scale) = (vec![0.0; w.numel()], vec![0.0; w.numel()]);
        case.for_each_tap(|xi, wi, yi| { exact[wi] += dyv[yi] * xv[xi]; scale[wi] += (dyv[yi] * xv[xi]).abs(); });
        assert_near("conv2d_backward_weight", &dw, &exact, &scale);
    }

    #[test]
    fn conv2d_backward_kernels_are_adjoints_of_the_forward((case, permuted, seed) in conv_case()) {
        let x = random_tensor(&case.input_shape(), seed, permuted);
        let w = random_tensor(&case.weight_shape(), seed ^ 1, false);
        let g = random_tensor(&case.output_shape(), seed ^ 2, permuted);
        let opts = case.options;
        let (lhs, lhs_scale) = dot(&x.conv2d(&w, None, &opts), &g);
        let dx = Tensor::conv2d_backward_input(&g, &w, x.shape(), &opts);
        let (rhs, rhs_scale) = dot(&x, &dx);
        prop_assert!((lhs - rhs).abs() <= 1e-5 * (lhs_scale + rhs_scale) + 1e-6, "<conv(x), g> = {lhs}, <x, conv_T(g)> = {rhs}");
        let dw = Tensor::conv2d_backward_weight(&g, &x, w.shape(), &opts);
        let (rhs, rhs_scale) = dot(&w, &dw);
        prop_assert!((lhs - rhs).abs() <= 1e-5 * (lhs_scale + rhs_scale) + 1e-6, "<conv(x), g> = {lhs}, <w, dW(g)> = {rhs}");
    }
}

// ----------------------------------------------------------------------------------- pooling

/// Naive pooling of a contiguous `[N, C, H, W]` buffer from the definition: for each output,
/// the real input positions of its window as flat indices into the whole input, in row-major order.
fn pool_windows(shape: &[usize], o: &Pool2dOptions) -> (Vec<Vec<usize>>, [usize; 4]) {
    let [n, c, h, w] = [shape[0], shape[1], shape[2], shape[3]];
    let ho = (h + 2 * o.padding.0 - o.kernel.0) / o.stride.0 + 1;
    let wo = (w + 2 * o.padding.1 - o.kernel.1) / o.stride.1 + 1;
    let mut windows = vec![];
    for plane in 0..n * c {
        for oh in 0..ho {
            for ow in 0..wo {
                let mut window = vec![];
                for i in 0..o.kernel.0 {
                    for j in 0..o.kernel.1 {
                        let ih = (oh * o.stride.0 + i) as isize - o.padding.0 as isize;
                        let iw = (ow * o.stride.1 + j) as isize - o.padding.1 as isize;
                        if (0..h as isize).contains(&ih) && (0..w as isize).contains(&iw) {
                            window.push(plane * h * w + ih as usize * w + iw as usize);
                        }
                    }
                }
                windows.push(window);
            }
        }
    }
    (windows, [n, c, ho, wo])
}

fn pool_case() -> impl Strategy<Value = (Vec<usize>, Pool2dOptions, bool, u64)> {
    (
        (1..=2usize, 1..=3usize, 0..=5usize, 0..=5usize),
        (1..=3usize, 1..=3usize, 1..=3usize, 1..=3usize),
        (0..=1usize, 0..=1usize, any::<bool>()),
        any::<bool>(),
        any::<u64>(),
    )
        .prop_map(
            |((n, c, eh, ew), (kh, kw, sh, sw), (ph, pw, include), permuted, seed)| {
                let padding = (ph.min(kh / 2), pw.min(kw / 2));
                let options = Pool2dOptions::new((kh, kw))
                    .with_stride((sh, sw))
                    .with_padding(padding)
                    .with_count_include_pad(include);
                let h = kh.saturating_sub(2 * padding.0).max(1) + eh;
                let w = kw.saturating_sub(2 * padding.1).max(1) + ew;
                (vec![n, c, h, w], options, permuted, seed)
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn max_pool2d_matches_naive_loops_forward_and_backward((shape, opts, permuted, seed) in pool_case()) {
        let x = random_tensor(&shape, seed, permuted);
        let xv = x.to_vec();
        let (windows, out_shape) = pool_windows(&shape, &opts);
        let (y, indices) = x.max_pool2d_with_indices(&opts);
        prop_assert_eq!(y.shape(), &out_shape);
        let plane = shape[2] * shape[3];
        let mut exact_dx = vec![0.0f64; xv.len()];
        let g = random_tensor(&out_shape, seed ^ 7, false).to_vec();
        for (k, window) in windows.iter().enumerate() {
            // The first maximum in row-major order.
            let best = window.iter().copied().fold(window[0], |b, i| if xv[i] > xv[b] { i } else { b });
            prop_assert_eq!(y.to_vec()[k], xv[best]);
            prop_assert_eq!(indices[k], best % plane);
            exact_dx[best] += g[k] as f64;
        }
        let g = Tensor::from_vec(g, &out_shape);
        let dx = Tensor::max_pool2d_backward(&g, &indices, &shape);
        let scale: Vec<f64> = exact_dx.iter().map(|v| v.abs()).collect();
        assert_near("max_pool2d_backward", &dx, &exact_dx, &scale);
    }

    #[test]
    fn avg_pool2d_matches_naive_loops_forward_and_backward((shape, opts, permuted, seed) in pool_case()) {
        let x = random_tensor(&shape, seed, permuted);
        let xv = f64s(&x);
        let (windows, out_shape) = pool_windows(&shape, &opts);
        let g = random_tensor(&out_shape, seed ^ 7, permuted);
        let gv = f64s(&g);
        let (mut exact_y, mut scale_y) = (vec![], vec![]);
        let (mut exact_dx, mut scale_dx) = (vec![0.0; xv.len()], vec![0.0; xv.len()]);
        for (k, window) in windows.iter().enumerate() {
            let divisor = if opts.count_include_pad { (opts.kernel.0 * opts.kernel.1) as f64 } else { window.len() as f64 };
            exact_y.push(window.iter().map(|&i| xv[i]).sum::<f64>() / divisor);
            scale_y.push(window.iter().map(|&i| xv[i].abs()).sum::<f64>() / divisor);
            for &i in window {
                exact_dx[i] += gv[k] / divisor;
                scale_dx[i] += gv[k].abs() / divisor;
            }
        }
        let y = x.avg_pool2d(&opts);
        prop_assert_eq!(y.shape(), &out_shape);
        assert_near("avg_pool2d", &y, &exact_y, &scale_y);
        let dx = Tensor::avg_pool2d_backward(&g, &shape, &opts);
        assert_near("avg_pool2d_backward", &dx, &exact_dx, &scale_dx);
    }
}

// ------------------------------------------------------------------------------- determinism

/// Runs `f` in rayon pools of 1, 2, 3 and 8 threads and asserts every run returns the same bits.
fn assert_same_bits_on_any_thread_count(what: &str, f: impl Fn() -> Vec<f32> + Sync) {
    let runs: Vec<Vec<u32>> = [1, 2, 3, 8]
        .iter()
        .map(|&threads| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| f().iter().map(|v| v.to_bits()).collect())
        })
        .collect();
    for (k, run) in runs.iter().enumerate().skip(1) {
        assert!(
            run == &runs[0],
            "{what}: run {k} differs from the 1-thread run"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]

    #[test]
    fn conv2d_kernels_are_bitwise_identical_on_1_2_3_and_8_threads(
        n in 9..=21usize, c in 2..=4usize, o in 4..=8usize, hw in 8..=12usize, stride in 1..=2usize, seed in any::<u64>(),
    ) {
        // Batches above CONV_BATCH_BLOCK and enough work to take the parallel path, with a
        // partial last block.
        let opts = Conv2dOptions { stride: (stride, stride), padding: (1, 1), ..Conv2dOptions::default() };
        let x = random_tensor(&[n, c, hw, hw], seed, false);
        let w = random_tensor(&[o, c, 3, 3], seed ^ 1, false);
        let b = random_tensor(&[o], seed ^ 2, false);
        let y = x.conv2d(&w, Some(&b), &opts);
        let g = random_tensor(y.shape(), seed ^ 3, false);
        assert_same_bits_on_any_thread_count("conv2d", || x.conv2d(&w, Some(&b), &opts).to_vec());
        assert_same_bits_on_any_thread_count("conv2d_backward_input", || {
            Tensor::conv2d_backward_input(&g, &w, x.shape(), &opts).to_vec()
        });
        assert_same_bits_on_any_thread_count("conv2d_backward_weight", || {
            Tensor::conv2d_backward_weight(&g, &x, w.shape(), &opts).to_vec()
        });
    }

    #[test]
    fn conv2d_of_a_batch_equals_each_image_alone_bit_for_bit(
        n in 2..=19usize, groups in 1..=2usize, hw in 5..=12usize, stride in 1..=2usize, pad in 0..=1usize, seed in any::<u64>(),
    ) {
        // The kernels lower several images side by side into one product; every output
        // element must still be the same dot product as for the image on its own.
        let (c, o) = (2 * groups, 3 * groups);
        let opts = Conv2dOptions { stride: (stride, stride), padding: (pad, pad), groups, ..Conv2dOptions::default() };
        let x = random_tensor(&[n, c, hw, hw], seed, false);
        let w = random_tensor(&[o, c / groups, 3, 3], seed ^ 1, false);
        let b = random_tensor(&[o], seed ^ 2, false);
        let y = x.conv2d(&w, Some(&b), &opts);
        let g = random_tensor(y.shape(), seed ^ 3, false);
        let dx = Tensor::conv2d_backward_input(&g, &w, x.shape(), &opts);
        for i in 0..n {
            let xi = x.narrow(0, i, 1);
            let gi = g.narrow(0, i, 1);
            prop_assert_eq!(y.narrow(0, i, 1).to_vec(), xi.conv2d(&w, Some(&b), &opts).to_vec(), "forward, image {}", i);
            let dxi = Tensor::conv2d_backward_input(&gi, &w, xi.shape(), &opts);
            prop_assert_eq!(dx.narrow(0, i, 1).to_vec(), dxi.to_vec(), "input gradient, image {}", i);
        }
    }

    #[test]
    fn pool_kernels_are_bitwise_identical_on_1_2_3_and_8_threads(planes in 30..=40usize, seed in any::<u64>()) {
        // Large enough (> PARALLEL_THRESHOLD elements) that the kernels run in parallel.
        let shape = [2, planes, 40, 40];
        let x = random_tensor(&shape, seed, false);
        let opts = Pool2dOptions::new((3, 3)).with_stride((1, 1)).with_padding((1, 1)).with_count_include_pad(false);
        let (_, indices) = x.max_pool2d_with_indices(&opts);
        let g = random_tensor(&shape, seed ^ 1, false);
        assert_same_bits_on_any_thread_count("max_pool2d", || {
            let (y, i) = x.max_pool2d_with_indices(&opts);
            y.to_vec().into_iter().chain(i.iter().map(|&i| i as f32)).collect()
        });
        assert_same_bits_on_any_thread_count("max_pool2d_backward", || {
            Tensor::max_pool2d_backward(&g, &indices, &shape).to_vec()
        });
        assert_same_bits_on_any_thread_count("avg_pool2d", || x.avg_pool2d(&opts).to_vec());
        assert_same_bits_on_any_thread_count("avg_pool2d_backward", || {
            Tensor::avg_pool2d_backward(&g, &shape, &opts).to_vec()
        });
    }
}

// ------------------------------------------------------------------------------- bad input

/// The output shape a convolution of these shapes must have, or `None` when it must be refused
/// (the documented rules, written out independently of the kernel).
fn conv_output_shape(input: &[usize], weight: &[usize], o: &Conv2dOptions) -> Option<Vec<usize>> {
    if input.len() != 4 || weight.len() != 4 || o.groups == 0 {
        return None;
    }
    let positive = [
        o.stride.0,
        o.stride.1,
        o.dilation.0,
        o.dilation.1,
        weight[2],
        weight[3],
    ];
    if positive.contains(&0)
        || !input[1].is_multiple_of(o.groups)
        || !weight[0].is_multiple_of(o.groups)
        || weight[1] * o.groups != input[1]
    {
        return None;
    }
    let out = |len: usize, k: usize, s: usize, p: usize, d: usize| {
        let span = d * (k - 1) + 1;
        (len + 2 * p >= span).then(|| (len + 2 * p - span) / s + 1)
    };
    let ho = out(input[2], weight[2], o.stride.0, o.padding.0, o.dilation.0)?;
    let wo = out(input[3], weight[3], o.stride.1, o.padding.1, o.dilation.1)?;
    Some(vec![input[0], weight[0], ho, wo])
}

fn pool_output_shape(input: &[usize], o: &Pool2dOptions) -> Option<Vec<usize>> {
    let (k, s, p) = (o.kernel, o.stride, o.padding);
    if input.len() != 4
        || [k.0, k.1, s.0, s.1, input[2], input[3]].contains(&0)
        || p.0 > k.0 / 2
        || p.1 > k.1 / 2
    {
        return None;
    }
    if k.0 > input[2] + 2 * p.0 || k.1 > input[3] + 2 * p.1 {
        return None;
    }
    Some(vec![
        input[0],
        input[1],
        (input[2] + 2 * p.0 - k.0) / s.0 + 1,
        (input[3] + 2 * p.1 - k.1) / s.1 + 1,
    ])
}

/// An error must be one of the documented kinds and name the op.
fn check_error(
    result: Result<Tensor, TensorError>,
    op: &str,
    expected: Option<Vec<usize>>,
) -> Result<(), TestCaseError> {
    match (result, expected) {
        (Ok(t), Some(shape)) => prop_assert_eq!(t.shape(), shape.as_slice()),
        (Err(e), None) => {
            prop_assert!(
                matches!(
                    e,
                    TensorError::ShapeMismatch { .. } | TensorError::InvalidArgument { .. }
                ),
                "{e:?}"
            );
            prop_assert!(e.to_string().starts_with(op), "{e}");
        }
        (Ok(t), None) => prop_assert!(false, "{op}: expected an error, got shape {:?}", t.shape()),
        (Err(e), Some(shape)) => prop_assert!(false, "{op}: expected shape {shape:?}, got {e}"),
    }
    Ok(())
}

fn small_shape() -> impl Strategy<Value = Vec<usize>> {
    prop_oneof![
        4 => prop::collection::vec(0..=5usize, 4),
        1 => prop::collection::vec(0..=4usize, 0..=6),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn conv2d_on_random_shapes_returns_the_documented_result_or_error(
        input in small_shape(), weight in small_shape(), grad in small_shape(),
        stride in (0..=2usize, 0..=2usize), padding in (0..=2usize, 0..=2usize),
        dilation in (0..=2usize, 0..=2usize), groups in 0..=3usize, bias_len in 0..=5usize,
    ) {
        let opts = Conv2dOptions { stride, padding, dilation, groups };
        let expected = conv_output_shape(&input, &weight, &opts);
        let (x, w) = (Tensor::ones(&input), Tensor::ones(&weight));
        let b = Tensor::ones(&[bias_len]);
        let bias_ok = weight.first() == Some(&bias_len);
        check_error(x.try_conv2d(&w, Some(&b), &opts), "conv2d", expected.clone().filter(|_| bias_ok))?;
        check_error(x.try_conv2d(&w, None, &opts), "conv2d", expected.clone())?;
        // The backward kernels with a matching and with a random gradient shape.
        for g in [expected.clone().unwrap_or(grad.clone()), grad] {
            let fits = expected.as_deref() == Some(g.as_slice());
            let dy = Tensor::ones(&g);
            let dx = Tensor::try_conv2d_backward_input(&dy, &w, &input, &opts);
            check_error(dx, "conv2d_backward_input", fits.then(|| input.clone()))?;
            let dw = Tensor::try_conv2d_backward_weight(&dy, &x, &weight, &opts);
            check_error(dw, "conv2d_backward_weight", fits.then(|| weight.clone()))?;
        }
    }

    #[test]
    fn pooling_on_random_shapes_returns_the_documented_result_or_error(
        input in small_shape(), grad in small_shape(), kernel in (0..=4usize, 0..=4usize),
        stride in (0..=2usize, 0..=2usize), padding in (0..=2usize, 0..=2usize),
        include in any::<bool>(), bad_index in any::<bool>(),
    ) {
        let opts = Pool2dOptions { kernel, stride, padding, count_include_pad: include };
        let expected = pool_output_shape(&input, &opts);
        let x = Tensor::ones(&input);
        check_error(x.try_max_pool2d(&opts), "max_pool2d", expected.clone())?;
        check_error(x.try_avg_pool2d(&opts), "avg_pool2d", expected.clone())?;
        for g in [expected.clone().unwrap_or(grad.clone()), grad] {
            let dy = Tensor::ones(&g);
            let fits = expected.as_deref() == Some(g.as_slice());
            let dx = Tensor::try_avg_pool2d_backward(&dy, &input, &opts);
            check_error(dx, "avg_pool2d_backward", fits.then(|| input.clone()))?;
            // Max backward checks only what it can: N and C agree and every index is in its plane.
            let plane = if input.len() == 4 { input[2] * input[3] } else { 0 };
            let index = if bad_index { plane } else { plane.saturating_sub(1) };
            let indices = vec![index; dy.numel()];
            let agrees = g.len() == 4 && input.len() == 4 && g[..2] == input[..2];
            let ok = agrees && (dy.numel() == 0 || index < plane);
            let dx = Tensor::try_max_pool2d_backward(&dy, &indices, &input);
            check_error(dx, "max_pool2d_backward", ok.then(|| input.clone()))?;
        }
    }
}

#[test]
fn conv2d_errors_name_the_op_both_shapes_and_the_reason() {
    let x = Tensor::zeros(&[1, 3, 5, 5]);
    let err = x
        .try_conv2d(
            &Tensor::zeros(&[2, 4, 3, 3]),
            None,
            &Conv2dOptions::default(),
        )
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("conv2d: shapes [1, 3, 5, 5] and [2, 4, 3, 3] are incompatible"),
        "{err}"
    );
    let grouped = Conv2dOptions {
        groups: 2,
        ..Conv2dOptions::default()
    };
    let err = x
        .try_conv2d(&Tensor::zeros(&[2, 1, 3, 3]), None, &grouped)
        .unwrap_err();
    assert!(err.to_string().contains("groups (2) must divide"), "{err}");
    let err = x
        .try_conv2d(
            &Tensor::zeros(&[2, 3, 7, 3]),
            None,
            &Conv2dOptions::default(),
        )
        .unwrap_err();
    assert!(
        err.to_string().contains("larger than the padded input 5x5"),
        "{err}"
    );
    let zero_stride = Conv2dOptions {
        stride: (0, 1),
        ..Conv2dOptions::default()
    };
    let err = x
        .try_conv2d(&Tensor::zeros(&[2, 3, 3, 3]), None, &zero_stride)
        .unwrap_err();
    assert!(
        err.to_string().starts_with("conv2d: stride (0, 1)"),
        "{err}"
    );
    let err = x
        .try_max_pool2d(&Pool2dOptions::new((2, 2)).with_padding((2, 0)))
        .unwrap_err();
    assert!(err.to_string().contains("at most half the kernel"), "{err}");
}

#[test]
#[should_panic(expected = "conv2d: shapes [1, 3, 5, 5] and [2, 4, 3, 3]")]
fn panicking_conv2d_carries_the_same_message() {
    let _ = Tensor::zeros(&[1, 3, 5, 5]).conv2d(
        &Tensor::zeros(&[2, 4, 3, 3]),
        None,
        &Conv2dOptions::default(),
    );
}

#[test]
fn max_pool2d_pads_with_negative_infinity_not_zero() {
    let x = Tensor::full(&[1, 1, 3, 3], -2.0);
    let opts = Pool2dOptions::new((3, 3))
        .with_stride((2, 2))
        .with_padding((1, 1));
    let (y, indices) = x.max_pool2d_with_indices(&opts);
    assert_eq!(y.to_vec(), vec![-2.0; 4]);
    assert_eq!(
        indices,
        vec![0, 1, 3, 4],
        "the first real element of each window"
    );
}

#[test]
fn max_pool2d_propagates_nan_like_pytorch() {
    // PyTorch's scan: a larger value or a NaN replaces the maximum, so the last NaN wins.
    let x = Tensor::from_vec(
        vec![1.0, f32::NAN, 3.0, f32::NAN, f32::NAN, 5.0, 0.0, 2.0],
        &[1, 1, 2, 4],
    );
    let (y, indices) = x.max_pool2d_with_indices(&Pool2dOptions::new((2, 2)));
    let y = y.to_vec();
    assert!(y[0].is_nan() && y[1].is_nan(), "{y:?}");
    assert_eq!(indices, vec![4, 3]);
    let (clean, clean_indices) = Tensor::from_vec(vec![1.0, 4.0, 3.0, 2.0], &[1, 1, 2, 2])
        .max_pool2d_with_indices(&Pool2dOptions::new((2, 2)));
    assert_eq!((clean.to_vec(), clean_indices), (vec![4.0], vec![1]));
}

/// Draws inputs full of ties, NaNs and infinities from a few values, so that which element of a
/// window is "the" maximum matters.
fn awkward_values(len: usize, seed: u64) -> Vec<f32> {
    let choices = [
        0.0,
        -0.0,
        1.0,
        1.0,
        2.0,
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
    ];
    let mut rng = gradwork_tensor::Rng::seed_from(seed);
    (0..len)
        .map(|_| choices[(rng.next_u64() % choices.len() as u64) as usize])
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn max_pool2d_without_indices_and_its_backward_match_the_indexed_kernels(
        (shape, opts, permuted, seed) in pool_case(), awkward in any::<bool>(),
    ) {
        let x = if awkward {
            let numel = shape.iter().product();
            Tensor::from_vec(awkward_values(numel, seed), &shape)
        } else {
            random_tensor(&shape, seed, permuted)
        };
        let (y_indexed, indices) = x.max_pool2d_with_indices(&opts);
        let y = x.max_pool2d(&opts);
        let bits = |t: &Tensor| t.to_vec().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        prop_assert_eq!(bits(&y), bits(&y_indexed));
        // Awkward gradients too: -0.0, infinities and NaNs must land exactly as with indices.
        let g = if awkward {
            Tensor::from_vec(awkward_values(y.numel(), seed ^ 5), y.shape())
        } else {
            random_tensor(y.shape(), seed ^ 5, false)
        };
        let by_indices = Tensor::max_pool2d_backward(&g, &indices, &shape);
        let by_search = Tensor::try_max_pool2d_backward_from_output(&g, &x, &y, &opts).unwrap();
        prop_assert_eq!(bits(&by_search), bits(&by_indices));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn plain_2x2_max_pool_backward_matches_the_indexed_kernel_bit_for_bit(
        n in 1..=2usize, c in 1..=3usize, h in 2..=9usize, w in 2..=9usize, seed in any::<u64>(),
    ) {
        // MaxPool2d(2) has its own branch-free kernel; odd sizes leave a row and a column
        // that no window covers, and awkward values (ties, NaNs, -0.0 gradients) test the rules.
        let shape = [n, c, h, w];
        let x = Tensor::from_vec(awkward_values(n * c * h * w, seed), &shape);
        let opts = Pool2dOptions::new((2, 2));
        let (y, indices) = x.max_pool2d_with_indices(&opts);
        let g = Tensor::from_vec(awkward_values(y.numel(), seed ^ 9), y.shape());
        let bits = |t: &Tensor| t.to_vec().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        let by_indices = Tensor::max_pool2d_backward(&g, &indices, &shape);
        let by_search = Tensor::try_max_pool2d_backward_from_output(&g, &x, &y, &opts).unwrap();
        prop_assert_eq!(bits(&by_search), bits(&by_indices));
    }
}

#[test]
fn max_pool2d_backward_from_output_refuses_an_output_that_is_not_the_pooling() {
    let x = Tensor::from_vec(vec![1.0, 5.0, 2.0, 0.0, 3.0, 4.0, 9.0, 8.0], &[1, 1, 2, 4]);
    let options = Pool2dOptions::new((2, 2));
    let g = Tensor::ones(&[1, 1, 1, 2]);
    let wrong = Tensor::from_vec(vec![5.0, 7.0], &[1, 1, 1, 2]);
    let err = Tensor::try_max_pool2d_backward_from_output(&g, &x, &wrong, &options).unwrap_err();
    assert!(err.to_string().contains("max_pool2d_backward"), "{err}");
    assert!(err.to_string().contains("not the max pooling"), "{err}");
    let short = Tensor::ones(&[1, 1, 1, 3]);
    let err =
        Tensor::try_max_pool2d_backward_from_output(&short, &x, &x.max_pool2d(&options), &options)
            .unwrap_err();
    assert!(
        err.to_string().contains("[1, 1, 1, 3]") && err.to_string().contains("[1, 1, 2, 4]"),
        "{err}"
    );
}
