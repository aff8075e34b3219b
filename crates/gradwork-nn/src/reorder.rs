//! Cheaper ways to run adjacent layers that compute the same thing: a different order, or two
//! layers fused into one step.
//!
//! A [`Linear`](crate::layers::Linear) directly followed by a ReLU runs as one op
//! ([`gradwork_autodiff::Var::try_linear_relu`]): the ReLU is applied as the product writes its
//! output, and its backward mask is read from that output, so neither direction makes a pass
//! over the activation of its own. Values and gradients have the separate layers' bits.
//!
//! A [`Conv2d`](crate::layers::Conv2d) directly followed by a max pooling (after the reordering
//! below: also `Conv -> ReLU -> MaxPool`) runs as one op
//! ([`gradwork_autodiff::Var::try_conv2d_max_pool2d`]): the convolution's output is pooled block
//! by block while it is in the cache, and neither it nor its gradient is ever held in full.
//! Values and gradients have the separate layers' bits.
//!
//! [`Sequential`](crate::Sequential) runs a ReLU that directly precedes a max pooling *after* the
//! pooling. The Keras MNIST CNN's `Conv -> ReLU -> MaxPool 2x2` then applies the ReLU, forward
//! and backward, to a quarter of the elements: the two passes over the largest activation of the
//! network disappear.
//!
//! The two orders agree:
//! - **Values.** ReLU does not decrease, so the largest of a window's rectified values is the
//!   rectified largest value. A NaN wins a pooling window and passes through ReLU, in either
//!   order.
//! - **Gradients.** Let `m` be a window's maximum. Pooling first, the ReLU's gradient is 1 when
//!   `m > 0`, and the pooling sends it to the window's first maximum. ReLU first: when `m > 0`
//!   the positive values, and so the first maximum, are left in place, and the ReLU passes the
//!   gradient there. When `m <= 0` (or NaN) every gradient of the window is zero either way. The
//!   zeros may differ in sign (`g * 0` is `-0` for a negative `g`), which changes no sum that has
//!   a non-zero term.
//!
//! Padding changes nothing: a valid max-pooling window always covers a real element, and
//! padding (-inf) never beats it.

use gradwork_autodiff::Var;

use crate::ctx::Ctx;
use crate::error::Result;
use crate::module::{LayerKind, Module};

/// True when `second`, which follows `first` in a stack of layers, may run before it with the
/// same output and the same gradients: a max pooling after a ReLU.
///
/// ```
/// use gradwork_nn::{activations::{Relu, Tanh}, layers::MaxPool2d, reorder::runs_first};
///
/// assert!(runs_first(&Relu, &MaxPool2d::new((2, 2))));
/// assert!(!runs_first(&Tanh, &MaxPool2d::new((2, 2))));
/// assert!(!runs_first(&MaxPool2d::new((2, 2)), &Relu));
/// ```
pub fn runs_first(first: &dyn Module, second: &dyn Module) -> bool {
    first.kind() == LayerKind::Relu && matches!(second.kind(), LayerKind::MaxPool(_))
}

/// Runs `layers` one after another on `input`: each ReLU that directly precedes a max pooling
/// after that pooling (see the [module docs](self)), and, in that order, each layer that can
/// fuse the layer after it ([`Module::forward_fused`]: a dense layer and its ReLU, a convolution
/// and its max pooling) together with it.
pub fn forward_stack(cx: &mut Ctx, input: &Var, layers: &mut [Box<dyn Module>]) -> Result<Var> {
    let mut order: Vec<usize> = (0..layers.len()).collect();
    let mut i = 0;
    while i + 1 < layers.len() {
        if runs_first(&*layers[i], &*layers[i + 1]) {
            order.swap(i, i + 1);
            i += 2;
        } else {
            i += 1;
        }
    }
    let mut x = input.clone();
    let mut k = 0;
    while k < order.len() {
        if let Some(&next) = order.get(k + 1) {
            let kind = layers[next].kind();
            if let Some(y) = layers[order[k]].forward_fused(cx, &x, kind)? {
                x = y;
                k += 2;
                continue;
            }
        }
        x = layers[order[k]].forward(cx, &x)?;
        k += 1;
    }
    Ok(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activations::Relu;
    use crate::layers::MaxPool2d;
    use crate::param::Param;
    use crate::Sequential;
    use gradwork_autodiff::Graph;
    use gradwork_tensor::{Pool2dOptions, Rng, Tensor};
    use proptest::prelude::*;
    use std::sync::{Arc, Mutex};

    /// A ReLU that records the shapes it is given.
    struct ShapeSpy(Arc<Mutex<Vec<Vec<usize>>>>);

    impl Module for ShapeSpy {
        fn forward(&mut self, cx: &mut Ctx, input: &Var) -> Result<Var> {
            self.0.lock().unwrap().push(input.shape().to_vec());
            Relu.forward(cx, input)
        }
        fn visit_params(&self, _: &str, _: &mut dyn FnMut(&str, &Param)) {}
        fn visit_params_mut(&mut self, _: &str, _: &mut dyn FnMut(&str, &mut Param)) {}
        fn kind(&self) -> LayerKind {
            LayerKind::Relu
        }
    }

    #[test]
    fn sequential_rectifies_the_pooled_output() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut model = Sequential::new()
            .push(ShapeSpy(seen.clone()))
            .push(MaxPool2d::new((2, 2)))
            .push(ShapeSpy(seen.clone()));
        let x = Var::constant(Tensor::ones(&[1, 2, 4, 6]));
        let y = model.forward(&mut Ctx::eval(), &x).unwrap();
        assert_eq!(y.shape(), &[1, 2, 2, 3]);
        // The first ReLU ran after the pooling; the last one has no pooling after it.
        assert_eq!(
            *seen.lock().unwrap(),
            vec![vec![1, 2, 2, 3], vec![1, 2, 2, 3]]
        );
    }

    /// Values with ties, zeros of both signs, negatives, infinities and (optionally) NaNs.
    fn awkward_values(n: usize, seed: u64, with_nan: bool) -> Vec<f32> {
        let mut rng = Rng::seed_from(seed);
        let pool = [
            -0.0,
            0.0,
            1.5,
            1.5,
            -2.0,
            3.0,
            f32::NEG_INFINITY,
            f32::INFINITY,
            f32::NAN,
        ];
        let choices = if with_nan { 9 } else { 8 };
        (0..n)
            .map(|_| {
                if rng.next_f32() < 0.5 {
                    pool[rng.below(choices) as usize]
                } else {
                    rng.next_f32() * 4.0 - 2.0
                }
            })
            .collect()
    }

    /// The stack's output and input gradient, for a given upstream gradient.
    fn run(
        layers: &mut [Box<dyn Module>],
        x: &Tensor,
        upstream: &[f32],
        reorder: bool,
    ) -> (Vec<f32>, Vec<f32>) {
        let graph = Graph::new();
        let mut cx = Ctx::train(&graph, Rng::seed_from(0));
        let leaf = graph.leaf(x.clone());
        let y = if reorder {
            forward_stack(&mut cx, &leaf, layers).unwrap()
        } else {
            let mut v = leaf.clone();
            for layer in layers.iter_mut() {
                v = layer.forward(&mut cx, &v).unwrap();
            }
            v
        };
        let r = Var::constant(Tensor::from_vec(upstream.to_vec(), y.shape()));
        let grads = graph.backward(&y.mul(&r).sum_all()).unwrap();
        (y.value().to_vec(), grads.get(&leaf).unwrap().to_vec())
    }

    /// A dense layer followed by a ReLU runs as the one fused op, with the output and input
    /// gradient bits of the two layers run in turn (a ReLU after anything else is left alone).
    #[test]
    fn dense_layer_and_its_relu_run_fused_with_the_same_bits() {
        let mut rng = Rng::seed_from(8);
        let x = Tensor::rand_normal(&[5, 6], 0.0, 1.0, &mut rng);
        let upstream = Tensor::rand_normal(&[5, 4], 0.0, 1.0, &mut rng).to_vec();
        let dense = |inputs, outputs, rng: &mut Rng| -> Box<dyn Module> {
            Box::new(crate::layers::Linear::new(inputs, outputs, rng))
        };
        let mut layers: Vec<Box<dyn Module>> = vec![
            dense(6, 7, &mut rng),
            Box::new(Relu),
            Box::new(crate::activations::Tanh),
            Box::new(Relu),
            dense(7, 4, &mut rng),
        ];
        let (fused, fused_grad) = run(&mut layers, &x, &upstream, true);
        let (plain, plain_grad) = run(&mut layers, &x, &upstream, false);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&fused), bits(&plain));
        assert_eq!(bits(&fused_grad), bits(&plain_grad));
        let graph = Graph::new();
        let mut cx = Ctx::train(&graph, Rng::seed_from(0));
        forward_stack(&mut cx, &graph.leaf(x), &mut layers).unwrap();
        let ops = graph.op_names();
        assert_eq!(
            ops.iter().filter(|&&op| op == "linear_relu").count(),
            1,
            "{ops:?}"
        );
        assert_eq!(ops.iter().filter(|&&op| op == "relu").count(), 1, "{ops:?}");
    }

    /// The output, the input gradient and every parameter gradient (in parameter order) of a
    /// stack run by `forward_stack` (`fused`) or layer by layer as written.
    fn run_with_params(
        layers: &mut [Box<dyn Module>],
        x: &Tensor,
        upstream: &Tensor,
        fused: bool,
    ) -> (Vec<u32>, Vec<Vec<u32>>, Vec<&'static str>) {
        let graph = Graph::new();
        let mut cx = Ctx::train(&graph, Rng::seed_from(0));
        let leaf = graph.leaf(x.clone());
        let y = if fused {
            forward_stack(&mut cx, &leaf, layers).unwrap()
        } else {
            let mut v = leaf.clone();
            for layer in layers.iter_mut() {
                v = layer.forward(&mut cx, &v).unwrap();
            }
            v
        };
        let grads = graph
            .backward(&y.mul(&Var::constant(upstream.clone())).sum_all())
            .unwrap();
        let bits = |t: &Tensor| t.to_vec().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        let params = cx.param_grads(&grads);
        let mut all = vec![bits(grads.get(&leaf).unwrap())];
        for layer in layers.iter() {
            layer.visit_params("", &mut |_, p| all.push(bits(params.get(p).unwrap())));
        }
        (bits(y.value()), all, graph.op_names())
    }

    /// A convolution followed by a max pooling (directly, or with a ReLU between, which runs
    /// after the pooling) runs as the one fused op, with the output, input-gradient and
    /// parameter-gradient bits of the layers run one by one in that order.
    #[test]
    fn convolution_and_its_pooling_run_fused_with_the_same_bits() {
        use crate::layers::Conv2d;
        let mut rng = Rng::seed_from(12);
        let x = Tensor::rand_normal(&[9, 2, 14, 13], 0.0, 1.0, &mut rng);
        let conv = |c, o, k, rng: &mut Rng| -> Box<dyn Module> {
            Box::new(Conv2d::new(c, o, (k, k), rng).unwrap())
        };
        let pool = |k: usize| -> Box<dyn Module> { Box::new(MaxPool2d::new((k, k))) };
        let (c1, c2) = (conv(2, 5, 3, &mut rng), conv(5, 4, 2, &mut rng));
        let mut layers: Vec<Box<dyn Module>> = vec![c1, Box::new(Relu), pool(2), c2, pool(2)];
        let upstream = Tensor::rand_normal(&[9, 4, 2, 2], 0.0, 1.0, &mut rng);
        let (y, grads, ops) = run_with_params(&mut layers, &x, &upstream, true);
        // The reference: the same layers with the first ReLU already after its pooling, run
        // one by one.
        layers.swap(1, 2);
        let (y_ref, grads_ref, ops_ref) = run_with_params(&mut layers, &x, &upstream, false);
        assert_eq!(y, y_ref);
        assert_eq!(grads.len(), 5); // the input and two weights and biases
        assert_eq!(grads, grads_ref);
        assert_eq!(
            ops.iter().filter(|&&op| op == "conv2d_max_pool2d").count(),
            2,
            "{ops:?}"
        );
        assert!(
            ops_ref.contains(&"conv2d") && !ops.contains(&"conv2d"),
            "{ops:?}"
        );
    }

    /// Equal as floats (so `-0 == 0`), NaN where the other is NaN.
    fn same(a: &[f32], b: &[f32]) -> bool {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(p, q)| p == q || (p.is_nan() && q.is_nan()))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Pooling first gives the values and input gradients of the order as written.
        #[test]
        fn relu_after_pool_matches_relu_before(
            (n, c, h, w) in (1usize..3, 1usize..3, 2usize..9, 2usize..9),
            (kh, kw) in (1usize..4, 1usize..4),
            (sh, sw) in (1usize..3, 1usize..3),
            padded in any::<bool>(),
            with_nan in any::<bool>(),
            seed in any::<u64>(),
        ) {
            prop_assume!(kh <= h && kw <= w);
            let options = Pool2dOptions {
                stride: (sh, sw),
                padding: if padded { (kh / 2, kw / 2) } else { (0, 0) },
                ..Pool2dOptions::new((kh, kw))
            };
            let x = Tensor::from_vec(awkward_values(n * c * h * w, seed, with_nan), &[n, c, h, w]);
            let mut layers: Vec<Box<dyn Module>> =
                vec![Box::new(Relu), Box::new(MaxPool2d { options })];
            let outputs = Tensor::zeros(&[n, c, h, w])
                .try_max_pool2d(&options)
                .unwrap()
                .numel();
            let mut rng = Rng::seed_from(seed ^ 1);
            let upstream: Vec<f32> = (0..outputs).map(|_| rng.next_normal() as f32).collect();
            let (y_written, g_written) = run(&mut layers, &x, &upstream, false);
            let (y_reordered, g_reordered) = run(&mut layers, &x, &upstream, true);
            prop_assert_eq!(
                y_written.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                y_reordered.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
            );
            prop_assert!(same(&g_written, &g_reordered), "{:?} != {:?}", g_written, g_reordered);
        }
    }
}
