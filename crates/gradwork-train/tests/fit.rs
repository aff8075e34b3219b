//! `fit`/`evaluate`/`predict` behaviour: learning, early stopping, the NaN guard, determinism.

use gradwork_nn::{activations::Relu, layers::Linear, Module, Sequential, StateDict};
use gradwork_optim::{Adam, AdamConfig};
use gradwork_tensor::{Rng, Tensor};
use gradwork_train::{
    Callback, Control, Dataset, EarlyStopping, EpochLogs, FitOptions, History, Loss, MetricKind,
    ModelCheckpoint, Targets, TrainError, Trainer, Validation,
};

/// Two Gaussian blobs in 2-D, labels 0/1.
fn blobs(n: usize, seed: u64) -> Dataset {
    let mut rng = Rng::seed_from(seed);
    let mut x = Vec::with_capacity(n * 2);
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let class = i % 2;
        let centre = if class == 0 { -1.5 } else { 1.5 };
        x.push(centre + rng.next_normal() as f32 * 0.7);
        x.push(-centre + rng.next_normal() as f32 * 0.7);
        y.push(class);
    }
    Dataset::new(Tensor::from_vec(x, &[n, 2]), Targets::Classes(y)).unwrap()
}

fn classifier(seed: u64) -> Sequential {
    let mut rng = Rng::seed_from(seed);
    Sequential::new()
        .push(Linear::new(2, 16, &mut rng))
        .push(Relu)
        .push(Linear::new(16, 2, &mut rng))
}

fn trainer(seed: u64, lr: f64) -> Trainer<Sequential> {
    let adam = Adam::new(AdamConfig {
        lr,
        ..AdamConfig::adam()
    })
    .unwrap();
    Trainer::new(
        classifier(seed),
        Box::new(adam),
        Loss::SparseCategoricalCrossEntropy,
    )
    .with_metric(MetricKind::Accuracy)
}

#[test]
fn fit_learns_separable_blobs_and_reports_history() {
    let data = blobs(200, 1);
    let mut t = trainer(7, 0.01);
    let history = t
        .fit(
            &data,
            FitOptions {
                epochs: 15,
                batch_size: 16,
                validation: Validation::Fraction(0.2),
                seed: 3,
                ..FitOptions::default()
            },
        )
        .unwrap();
    assert_eq!(history.epochs.len(), 15);
    let loss = history.series("loss");
    assert!(loss.last().unwrap() < &(loss[0] * 0.5), "{loss:?}");
    assert!(history.last().unwrap().get("val_accuracy").unwrap() >= 0.95);
    let eval = t.evaluate(&blobs(100, 2), 32).unwrap();
    assert!(eval["accuracy"] >= 0.95, "{eval:?}");
    let probs = t.predict_proba(&blobs(10, 3).features, 4).unwrap();
    assert_eq!(probs.shape(), &[10, 2]);
    assert!(probs
        .sum(1, false)
        .to_vec()
        .iter()
        .all(|s| (s - 1.0).abs() < 1e-5));
    assert_eq!(
        t.predict_classes(&blobs(10, 3).features, 3).unwrap().len(),
        10
    );
}

#[test]
fn the_same_seed_gives_bitwise_identical_training() {
    let data = blobs(64, 4);
    let run = || {
        let mut t = trainer(5, 0.01);
        t.fit(
            &data,
            FitOptions {
                epochs: 3,
                batch_size: 8,
                seed: 11,
                ..FitOptions::default()
            },
        )
        .unwrap();
        t.model
            .state_dict()
            .iter()
            .flat_map(|(_, v)| v.to_vec())
            .map(f32::to_bits)
            .collect::<Vec<_>>()
    };
    assert_eq!(run(), run());
}

fn logs(epoch: usize, val_loss: f64) -> EpochLogs {
    let mut l = EpochLogs {
        epoch,
        ..EpochLogs::default()
    };
    l.metrics.insert("val_loss".into(), val_loss);
    l
}

fn weights_marker(model: &Sequential) -> f32 {
    model.state_dict().get("0.bias").unwrap().to_vec()[0]
}

fn set_marker(model: &mut Sequential, value: f32) {
    let mut sd = model.state_dict();
    let mut bias = sd.get("0.bias").unwrap().to_vec();
    bias[0] = value;
    sd.insert("0.bias", Tensor::from_vec(bias, &[16]));
    model.load_state_dict(&sd, true).unwrap();
}

#[test]
fn early_stopping_stops_after_patience_and_restores_the_best_epoch() {
    let mut model = classifier(1);
    let mut stop = EarlyStopping::new("val_loss", 2);
    let mut history = History::default();
    let sequence = [1.0, 0.5, 0.7, 0.8, 0.1];
    let mut stopped_at = None;
    for (i, &v) in sequence.iter().enumerate() {
        set_marker(&mut model, i as f32 + 100.0); // "weights after epoch i+1"
        let l = logs(i + 1, v);
        history.epochs.push(l.clone());
        if let Control::Stop(_) = stop.on_epoch_end(&l, &mut model).unwrap() {
            stopped_at = Some(i + 1);
            break;
        }
    }
    assert_eq!(stopped_at, Some(4));
    stop.on_train_end(&mut model, &mut history).unwrap();
    assert_eq!(weights_marker(&model), 101.0, "weights of epoch 2 restored");
    assert_eq!(history.restored_epoch, Some(2));
}

#[test]
fn early_stopping_restores_the_best_weights_when_the_budget_ends_first() {
    let mut model = classifier(1);
    let mut stop = EarlyStopping::new("val_loss", 10).min_delta(0.01);
    let mut history = History::default();
    for (i, &v) in [1.0, 0.5, 0.495].iter().enumerate() {
        set_marker(&mut model, i as f32);
        let l = logs(i + 1, v);
        history.epochs.push(l.clone());
        assert_eq!(
            stop.on_epoch_end(&l, &mut model).unwrap(),
            Control::Continue
        );
    }
    stop.on_train_end(&mut model, &mut history).unwrap();
    // 0.495 is not better than 0.5 by min_delta 0.01: epoch 2 stays the best.
    assert_eq!(weights_marker(&model), 1.0);
    assert_eq!(history.restored_epoch, Some(2));
}

#[test]
fn early_stopping_inside_fit_uses_validation_loss() {
    let data = blobs(120, 9);
    let mut t = trainer(3, 0.05);
    let history = t
        .fit(
            &data,
            FitOptions {
                epochs: 200,
                batch_size: 16,
                validation: Validation::Fraction(0.25),
                seed: 1,
                callbacks: vec![Box::new(EarlyStopping::new("val_loss", 3).min_delta(1e-3))],
                ..FitOptions::default()
            },
        )
        .unwrap();
    assert!(history.epochs.len() < 200, "never stopped");
    assert!(history
        .stopped_early
        .as_deref()
        .unwrap()
        .contains("early stopping"));
    let best = history.restored_epoch.unwrap();
    let best_loss = history.epochs[best - 1].get("val_loss").unwrap();
    // Later epochs may improve by less than min_delta; none by more.
    assert!(history
        .series("val_loss")
        .iter()
        .all(|&v| v >= best_loss - 1e-3));
}

/// Poisons the model's first weight after the first epoch, so epoch 2 produces NaN.
struct PoisonAfterFirstEpoch;

impl Callback for PoisonAfterFirstEpoch {
    fn name(&self) -> &str {
        "Poison"
    }
    fn on_epoch_end(
        &mut self,
        logs: &EpochLogs,
        model: &mut dyn Module,
    ) -> gradwork_train::Result<Control> {
        if logs.epoch == 1 {
            model.visit_params_mut("", &mut |path, p| {
                if path == "0.weight" {
                    p.data_mut()[0] = f32::NAN;
                }
            });
        }
        Ok(Control::Continue)
    }
}

#[test]
fn a_non_finite_loss_stops_with_epoch_step_batch_and_op_and_keeps_the_last_good_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let data = blobs(32, 5);
    let mut t = trainer(2, 0.01);
    let checkpoint = ModelCheckpoint::new(dir.path(), "loss");
    let last = checkpoint.last_path();
    let err = t
        .fit(
            &data,
            FitOptions {
                epochs: 3,
                batch_size: 8,
                shuffle: false,
                seed: 0,
                // The checkpoint runs first, so it saves epoch 1's good weights before the poison.
                callbacks: vec![Box::new(checkpoint), Box::new(PoisonAfterFirstEpoch)],
                ..FitOptions::default()
            },
        )
        .unwrap_err();
    match &err {
        TrainError::NonFinite {
            epoch,
            step,
            batch,
            first_op,
            ..
        } => {
            assert_eq!((*epoch, *step, *batch), (2, 4, 0));
            let op = first_op.as_deref().unwrap_or("");
            assert!(op.contains("linear") && op.contains("forward"), "{op}");
        }
        other => panic!("unexpected {other}"),
    }
    let message = err.to_string();
    assert!(
        message.contains("epoch 2") && message.contains("step 4") && message.contains("batch 0"),
        "{message}"
    );
    let saved = StateDict::load(&last).unwrap();
    assert!(
        saved.iter().all(|(_, t)| t.all_finite()),
        "the last good checkpoint was overwritten"
    );
}

#[test]
fn regression_with_mse_fits_a_line() {
    let mut rng = Rng::seed_from(0);
    let x = Tensor::rand_uniform(&[64, 1], -1.0, 1.0, &mut rng);
    let y = x.mul_scalar(3.0).add_scalar(0.5);
    let data = Dataset::new(x, Targets::Values(y)).unwrap();
    let mut rng = Rng::seed_from(1);
    let model = Sequential::new().push(Linear::new(1, 1, &mut rng));
    let adam = Adam::new(AdamConfig {
        lr: 0.1,
        ..AdamConfig::adam()
    })
    .unwrap();
    let mut t = Trainer::new(model, Box::new(adam), Loss::MeanSquaredError)
        .with_metric(MetricKind::MeanAbsoluteError);
    let h = t
        .fit(
            &data,
            FitOptions {
                epochs: 60,
                batch_size: 16,
                ..FitOptions::default()
            },
        )
        .unwrap();
    assert!(
        h.last().unwrap().get("mae").unwrap() < 0.05,
        "{:?}",
        h.last()
    );
    let w = t.model.state_dict().get("0.weight").unwrap().item();
    assert!((w - 3.0).abs() < 0.1, "{w}");
}

#[test]
fn bad_options_and_data_are_errors_not_panics() {
    let data = blobs(10, 1);
    let mut t = trainer(1, 0.01);
    assert!(t
        .fit(
            &data,
            FitOptions {
                batch_size: 0,
                ..FitOptions::default()
            }
        )
        .is_err());
    assert!(t
        .fit(
            &data,
            FitOptions {
                validation: Validation::Fraction(1.5),
                ..FitOptions::default()
            }
        )
        .is_err());
    assert!(Dataset::new(Tensor::zeros(&[3, 2]), Targets::Classes(vec![0, 1])).is_err());
}
