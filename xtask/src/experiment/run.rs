//! One experiment run, end to end: data, model, `fit`, test metrics, checkpoint, hashes, plots
//! and summary, all inside a rayon pool of the requested size.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use gradwork::nn::{Module, Sequential};
use gradwork::optim::{
    AdamConfig, Checkpoint, CheckpointMeta, Optimizer, OptimizerConfig, RmsPropConfig, SgdConfig,
};
use gradwork::train::{
    Callback, FitOptions, History, Loss, MetricKind, Targets, Trainer, Validation,
};

use super::data::{self, PreparedData};
use super::env_info;
use super::hashing::{sha256_file, sha256_state_dict};
use super::manifest::{LossSpec, Manifest, OptimizerSpec};
use super::metrics;
use super::model::{self, DataFacts};
use super::plots::line_chart;
use super::results::{EpochRecord, Results, Timings, RESULTS_FORMAT};
use super::schedule::ScheduleCallback;
use super::ExperimentError;

/// File names inside a run folder.
pub mod files {
    /// The results document.
    pub const RESULTS: &str = "results.json";
    /// The trained model, optimizer state and scaler (gradwork-optim checkpoint format).
    pub const CHECKPOINT: &str = "checkpoint.gwck";
    /// Loss per epoch, train and validation.
    pub const LOSS_SVG: &str = "loss.svg";
    /// Accuracy (or MAE for regression) per epoch, train and validation.
    pub const METRIC_SVG: &str = "accuracy.svg";
    /// The short Markdown summary.
    pub const SUMMARY: &str = "summary.md";
}

/// Runs `manifest` with `threads` threads, writing the run folder `out`; returns the results.
pub fn run(
    manifest: &Manifest,
    workspace: &Path,
    out: &Path,
    threads: usize,
    progress: bool,
) -> Result<Results, ExperimentError> {
    std::fs::create_dir_all(out).map_err(|e| ExperimentError::io(out, e))?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(ExperimentError::train)?;
    let environment = env_info::collect(workspace, threads);
    let results = pool.install(|| run_in_pool(manifest, workspace, out, progress, environment))?;
    results.save(&out.join(files::RESULTS))?;
    std::fs::write(
        out.join(files::SUMMARY),
        super::summary::summary_markdown(&results),
    )
    .map_err(|e| ExperimentError::io(&out.join(files::SUMMARY), e))?;
    Ok(results)
}

fn run_in_pool(
    manifest: &Manifest,
    workspace: &Path,
    out: &Path,
    progress: bool,
    environment: env_info::Environment,
) -> Result<Results, ExperimentError> {
    if manifest.language_model.is_some() {
        return super::run_lm::run(manifest, workspace, out, progress, environment);
    }
    if manifest.ensemble.is_some() || manifest.prune.is_some() {
        return super::run_ensemble::run(manifest, workspace, out, progress, environment);
    }
    let t0 = Instant::now();
    let prepared = data::prepare(manifest, workspace)?;
    let data_seconds = t0.elapsed().as_secs_f64();
    let input = prepared.train.features.shape()[1..].to_vec();
    let (net, _) = model::build(
        &manifest.model,
        &input,
        manifest.seed,
        data_facts(manifest, &prepared),
    )?;
    let num_params = net.num_params();
    let regression = manifest.loss.is_regression();
    let mut trainer = Trainer::new(net, build_optimizer(manifest)?, loss(manifest.loss))
        .with_metric(if regression {
            MetricKind::MeanAbsoluteError
        } else {
            MetricKind::Accuracy
        });
    let t1 = Instant::now();
    let (options, steps_per_epoch) =
        fit_options(manifest, manifest.seed, progress, prepared.train.len());
    let history = trainer
        .fit(&prepared.train, options)
        .map_err(ExperimentError::train)?;
    let train_seconds = t1.elapsed().as_secs_f64();
    let t2 = Instant::now();
    let test_metrics = test_metrics(&mut trainer, manifest, &prepared)?;
    let eval_seconds = t2.elapsed().as_secs_f64();

    let parameters_sha256 = sha256_state_dict(&trainer.model.state_dict());
    let checkpoint_path = out.join(files::CHECKPOINT);
    let mut extra = Vec::new();
    if let Some(scaler) = &prepared.scaler {
        extra.push((
            "scaler.json".to_string(),
            serde_json::to_vec(scaler).map_err(ExperimentError::train)?,
        ));
    }
    save_checkpoint(
        &trainer.model,
        Some(trainer.optimizer.as_ref()),
        trainer.steps(),
        history.epochs.len(),
        manifest,
        extra,
        &checkpoint_path,
    )?;
    let checkpoint_sha256 = sha256_file(&checkpoint_path)?;
    let records = epoch_records(&history, manifest, steps_per_epoch);
    write_plots(out, manifest, &records)?;
    let n_train = prepared.train.len() as f64 * (1.0 - manifest.validation_fraction);
    Ok(Results {
        format: RESULTS_FORMAT,
        name: manifest.name.clone(),
        manifest: manifest.clone(),
        manifest_sha256: manifest.sha256(),
        seed: manifest.seed,
        environment,
        data_files: prepared.files,
        split: prepared.split,
        scaler: prepared.scaler,
        num_params,
        history: records,
        test_metrics,
        parameters_sha256,
        checkpoint_sha256,
        timings: Timings {
            total_seconds: t0.elapsed().as_secs_f64(),
            data_seconds,
            train_seconds,
            train_samples_per_second: n_train * history.epochs.len() as f64
                / train_seconds.max(1e-9),
            eval_seconds,
        },
        vocabulary: prepared.vocabulary,
        ensemble: None,
        language_model: None,
    })
}

/// What the model builder needs from the data: the vocabulary size and the output count.
pub fn data_facts(manifest: &Manifest, prepared: &PreparedData) -> DataFacts {
    DataFacts {
        vocab: prepared.vocab.as_ref().map(|v| v.len()),
        outputs: if manifest.loss.is_regression() || manifest.loss == LossSpec::BinaryCrossentropy {
            Some(1)
        } else {
            prepared.class_names.as_ref().map(Vec::len)
        },
    }
}

/// The optimizer of a manifest; with a schedule, its learning rate starts at the schedule's
/// first value.
pub fn build_optimizer(manifest: &Manifest) -> Result<Box<dyn Optimizer>, ExperimentError> {
    let mut spec = manifest.optimizer.clone();
    if let Some(s) = &manifest.schedule {
        spec.lr = s.config.lr_at(0);
    }
    optimizer_config(&spec)?
        .build()
        .map_err(ExperimentError::train)
}

/// `fit` options for a training part of `n` rows (member seed `seed`), and the optimizer steps
/// per epoch.
pub fn fit_options(manifest: &Manifest, seed: u64, progress: bool, n: usize) -> (FitOptions, u64) {
    let n_val = if manifest.validation_fraction > 0.0 {
        (manifest.validation_fraction * n as f64).ceil() as usize
    } else {
        0
    };
    let steps_per_epoch = n.saturating_sub(n_val).div_ceil(manifest.batch_size) as u64;
    let mut callbacks: Vec<Box<dyn Callback>> = Vec::new();
    if let Some(s) = &manifest.schedule {
        callbacks.push(Box::new(ScheduleCallback::new(s.clone())));
    }
    let options = FitOptions {
        epochs: manifest.epochs,
        batch_size: manifest.batch_size,
        validation: if manifest.validation_fraction > 0.0 {
            Validation::Fraction(manifest.validation_fraction)
        } else {
            Validation::None
        },
        seed,
        shuffle: true,
        callbacks,
        progress,
    };
    (options, steps_per_epoch)
}

/// The history as records; with a schedule, each epoch's learning rate is the one of its first
/// step (the trainer samples it before the schedule's first update of the epoch).
pub fn epoch_records(
    history: &History,
    manifest: &Manifest,
    steps_per_epoch: u64,
) -> Vec<EpochRecord> {
    history
        .epochs
        .iter()
        .map(|e| EpochRecord {
            epoch: e.epoch,
            learning_rate: manifest.schedule.as_ref().map_or(e.learning_rate, |s| {
                s.lr_for_epoch(e.epoch, steps_per_epoch)
            }),
            metrics: e.metrics.clone(),
        })
        .collect()
}

/// `loss.svg` and `accuracy.svg` (MAE for regressions) from the history.
pub fn write_plots(
    out: &Path,
    manifest: &Manifest,
    records: &[EpochRecord],
) -> Result<(), ExperimentError> {
    let series = |key: &str| -> Vec<f64> {
        records
            .iter()
            .filter_map(|r| r.metrics.get(key).copied())
            .collect()
    };
    let metric = if manifest.loss.is_regression() {
        "mae"
    } else {
        "accuracy"
    };
    line_chart(
        &out.join(files::LOSS_SVG),
        &format!("{}: loss", manifest.name),
        &[
            ("train", series("loss")),
            ("validation", series("val_loss")),
        ],
    )?;
    line_chart(
        &out.join(files::METRIC_SVG),
        &format!("{}: {metric}", manifest.name),
        &[
            ("train", series(metric)),
            ("validation", series(&format!("val_{metric}"))),
        ],
    )
}

/// The test loss and exactly the manifest's listed metrics.
fn test_metrics(
    trainer: &mut Trainer<Sequential>,
    manifest: &Manifest,
    prepared: &PreparedData,
) -> Result<BTreeMap<String, f64>, ExperimentError> {
    let batch_size = manifest.batch_size;
    let evaluated = trainer
        .evaluate(&prepared.test, batch_size)
        .map_err(ExperimentError::train)?;
    let mut out = BTreeMap::new();
    if let Some(l) = evaluated.get("loss") {
        out.insert("loss".to_string(), *l);
    }
    let listed = &manifest.metrics;
    match &prepared.test.targets {
        Targets::Classes(y_true) if !manifest.loss.is_regression() => {
            let y_pred = trainer
                .predict_classes(&prepared.test.features, batch_size)
                .map_err(ExperimentError::train)?;
            let n_classes = prepared.class_names.as_ref().map_or(2, Vec::len);
            let x = &prepared.test.features;
            out.extend(metrics::classification(
                listed,
                y_true,
                &y_pred,
                n_classes,
                &mut || {
                    trainer
                        .predict_proba(x, batch_size)
                        .map_err(ExperimentError::train)
                },
            )?);
        }
        Targets::Values(y) => {
            let pred = trainer
                .predict(&prepared.test.features, batch_size)
                .map_err(ExperimentError::train)?
                .to_vec();
            out.extend(metrics::regression(listed, &y.to_vec(), &pred)?);
        }
        Targets::Classes(_) => {}
    }
    Ok(out)
}

/// Writes the checkpoint: model, optimizer state, step/epoch/seed, the manifest hash as
/// `config_hash`, and `extra` files (scaler, vocabulary).
pub fn save_checkpoint(
    model: &dyn Module,
    optimizer: Option<&dyn Optimizer>,
    step: u64,
    epochs: usize,
    manifest: &Manifest,
    extra: Vec<(String, Vec<u8>)>,
    path: &Path,
) -> Result<(), ExperimentError> {
    let meta = CheckpointMeta {
        step,
        epoch: epochs as u64,
        seed: manifest.seed,
        config_hash: manifest.sha256(),
        ..CheckpointMeta::default()
    };
    let mut ckpt = Checkpoint::capture(model, optimizer, None, meta);
    for (name, bytes) in extra {
        ckpt.extra.insert(name, bytes);
    }
    ckpt.save(path).map_err(ExperimentError::train)
}

/// The gradwork optimizer config for a manifest's optimizer table (PyTorch defaults otherwise).
pub fn optimizer_config(spec: &OptimizerSpec) -> Result<OptimizerConfig, ExperimentError> {
    let adam = |base: AdamConfig| AdamConfig {
        lr: spec.lr,
        beta1: spec.beta1.unwrap_or(base.beta1),
        beta2: spec.beta2.unwrap_or(base.beta2),
        eps: spec.eps.unwrap_or(base.eps),
        weight_decay: spec.weight_decay.unwrap_or(base.weight_decay),
        ..base
    };
    Ok(match spec.kind.as_str() {
        "sgd" => OptimizerConfig::Sgd(SgdConfig {
            lr: spec.lr,
            momentum: spec.momentum.unwrap_or(0.0),
            weight_decay: spec.weight_decay.unwrap_or(0.0),
            ..SgdConfig::default()
        }),
        "adam" => OptimizerConfig::Adam(adam(AdamConfig::adam())),
        "adamw" => OptimizerConfig::AdamW(adam(AdamConfig::adamw())),
        "rmsprop" => {
            let base = RmsPropConfig::default();
            OptimizerConfig::RmsProp(RmsPropConfig {
                lr: spec.lr,
                momentum: spec.momentum.unwrap_or(base.momentum),
                eps: spec.eps.unwrap_or(base.eps),
                weight_decay: spec.weight_decay.unwrap_or(base.weight_decay),
                ..base
            })
        }
        other => {
            return Err(ExperimentError::Train(format!(
                "unknown optimizer '{other}' (sgd, adam, adamw, rmsprop)"
            )))
        }
    })
}

/// The gradwork loss of a manifest's loss name.
pub fn loss(spec: LossSpec) -> Loss {
    match spec {
        LossSpec::BinaryCrossentropy => Loss::BinaryCrossEntropy,
        LossSpec::SparseCategoricalCrossentropy => Loss::SparseCategoricalCrossEntropy,
        LossSpec::Mse => Loss::MeanSquaredError,
        LossSpec::Mae => Loss::MeanAbsoluteError,
    }
}
