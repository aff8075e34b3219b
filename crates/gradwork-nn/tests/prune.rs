//! Magnitude pruning reaches the target sparsity (globally or per layer), removes the smallest
//! weights, breaks ties deterministically, spares biases by default, and its masks keep pruned
//! weights at zero through fine-tuning updates.

use gradwork_autodiff::{Graph, Var};
use gradwork_nn::prune::{
    apply_masks, magnitude_prune, measured_sparsity, PruneConfig, PruneMasks,
};
use gradwork_nn::{activations::Relu, layers::Linear, Ctx, Module, Sequential};
use gradwork_tensor::{Rng, Tensor};

fn model(seed: u64) -> Sequential {
    let mut rng = Rng::seed_from(seed);
    Sequential::new()
        .push(Linear::new(8, 16, &mut rng))
        .push(Relu)
        .push(Linear::new(16, 4, &mut rng))
}

fn zeros_in(t: &Tensor) -> usize {
    t.to_vec().iter().filter(|w| **w == 0.0).count()
}

#[test]
fn global_pruning_reaches_the_target_and_removes_the_smallest_weights() {
    let original = model(1);
    let mut pruned = model(1);
    let masks = magnitude_prune(&mut pruned, &PruneConfig::global(0.6)).unwrap();
    let total = 8 * 16 + 16 * 4;
    assert_eq!(masks.total(), total);
    assert_eq!(masks.pruned(), (0.6f64 * total as f64).round() as usize);
    assert!((masks.sparsity() - 0.6).abs() < 1.0 / total as f64);
    assert_eq!(measured_sparsity(&pruned, &masks), masks.sparsity());
    // Every pruned weight is no larger in magnitude than every kept one (independent check).
    let (mut largest_pruned, mut smallest_kept) = (0.0f32, f32::INFINITY);
    original.visit_params("", &mut |path, p| {
        if let Some(mask) = masks.get(path) {
            for (w, m) in p.value().to_vec().iter().zip(mask.to_vec()) {
                if m == 0.0 {
                    largest_pruned = largest_pruned.max(w.abs());
                } else {
                    smallest_kept = smallest_kept.min(w.abs());
                }
            }
        }
    });
    assert!(largest_pruned <= smallest_kept);
    // Biases are not pruned by default.
    assert!(masks.get("0.bias").is_none() && masks.get("2.bias").is_none());
    assert_eq!(
        pruned.state_dict().get("0.bias").unwrap().to_vec(),
        original.state_dict().get("0.bias").unwrap().to_vec()
    );
}

#[test]
fn per_layer_pruning_gives_each_layer_the_target() {
    let mut m = model(2);
    let masks = magnitude_prune(&mut m, &PruneConfig::per_layer(0.25)).unwrap();
    assert_eq!(masks.layer_sparsity("0.weight"), Some(32.0 / 128.0));
    assert_eq!(masks.layer_sparsity("2.weight"), Some(16.0 / 64.0));
    let sd = m.state_dict();
    assert_eq!(zeros_in(sd.get("0.weight").unwrap()), 32);
    assert_eq!(zeros_in(sd.get("2.weight").unwrap()), 16);
    let with_biases = magnitude_prune(
        &mut model(2),
        &PruneConfig::per_layer(0.5).with_biases(true),
    )
    .unwrap();
    assert_eq!(with_biases.layer_sparsity("0.bias"), Some(0.5));
}

#[test]
fn ties_are_broken_by_parameter_order_then_index() {
    let mut layer = Linear::without_bias(3, 2, &mut Rng::seed_from(0));
    layer.weight.set_value(Tensor::from_vec(
        vec![0.5, -0.5, 0.5, 1.0, 0.5, -1.0],
        &[2, 3],
    ));
    let masks = magnitude_prune(&mut layer, &PruneConfig::global(0.5)).unwrap();
    // Four weights tie at |0.5|; the first three by flat index go.
    assert_eq!(
        masks.get("weight").unwrap().to_vec(),
        vec![0.0, 0.0, 0.0, 1.0, 1.0, 1.0]
    );
    let again = magnitude_prune(&mut layer, &PruneConfig::global(0.5)).unwrap();
    assert_eq!(again, masks);
}

#[test]
fn masks_keep_pruned_weights_at_zero_through_fine_tuning_steps() {
    let mut m = model(3);
    let masks = magnitude_prune(&mut m, &PruneConfig::global(0.8)).unwrap();
    let before = measured_sparsity(&m, &masks);
    let mut rng = Rng::seed_from(5);
    let x = Tensor::rand_normal(&[16, 8], 0.0, 1.0, &mut rng);
    let y = Tensor::rand_normal(&[16, 4], 0.0, 1.0, &mut rng);
    for step in 0..5 {
        let graph = Graph::new();
        let mut cx = Ctx::train(&graph, rng.fork(step));
        let out = m.forward(&mut cx, &Var::constant(x.clone())).unwrap();
        let loss = out.sub(&Var::constant(y.clone())).square().mean_all();
        let grads = cx.param_grads(&graph.backward(&loss).unwrap());
        // A plain SGD step, which by itself revives pruned weights...
        m.visit_params_mut("", &mut |_, p| {
            let g = grads.get(p).unwrap().clone();
            let updated = p.value().sub(&g.mul_scalar(0.5));
            p.set_value(updated);
        });
        assert!(
            measured_sparsity(&m, &masks) < before,
            "step {step}: gradients revive weights"
        );
        // ...and the masks put them back.
        apply_masks(&mut m, &masks).unwrap();
        assert!(measured_sparsity(&m, &masks) >= before);
        m.visit_params("", &mut |path, p| {
            if let Some(mask) = masks.get(path) {
                for (w, keep) in p.value().to_vec().iter().zip(mask.to_vec()) {
                    assert!(keep == 1.0 || *w == 0.0, "{path}: a pruned weight is {w}");
                }
            }
        });
    }
}

#[test]
fn bad_configurations_and_foreign_masks_are_errors() {
    assert!(magnitude_prune(&mut model(1), &PruneConfig::global(1.5)).is_err());
    let mut other = Sequential::new().push(Linear::new(8, 3, &mut Rng::seed_from(0)));
    let masks = magnitude_prune(&mut model(1), &PruneConfig::global(0.5)).unwrap();
    let err = apply_masks(&mut other, &masks).unwrap_err().to_string();
    assert!(
        err.contains("0.weight") && err.contains("2.weight"),
        "{err}"
    );
    assert!(apply_masks(&mut other, &PruneMasks::default()).is_ok());
}
