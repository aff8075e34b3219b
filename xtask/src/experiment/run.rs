//! One experiment run, end to end: data, model, `fit`, test metrics, checkpoint, hashes, plots
//! and summary, all inside a rayon pool of the requested size.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use gradwork::metrics::{
    accuracy, mean_absolute_error, mean_squared_error, precision_recall_f1, r2_score, Average,
    PrfOptions,
};
use gradwork::nn::{Module, Sequential};
use gradwork::optim::{
    AdamConfig, Checkpoint, CheckpointMeta, OptimizerConfig, RmsPropConfig, SgdConfig,
};
use gradwork::train::{FitOptions, Loss, MetricKind, Targets, Trainer, Validation};

use super::data::{self, PreparedData};
use super::env_info;
use super::hashing::{sha256_file, sha256_state_dict};
use super::manifest::{LossSpec, Manifest, OptimizerSpec};
use super::model;
use super::plots::line_chart;
use super::results::{EpochRecord, Results, Timings, RESULTS_FORMAT};
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
    std::fs::write(out.join(files::SUMMARY), summary_markdown(&results))
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
    let t0 = Instant::now();
    let prepared = data::prepare(manifest, workspace)?;
    let data_seconds = t0.elapsed().as_secs_f64();
    let input = prepared.train.features.shape()[1..].to_vec();
    let (net, _) = model::build(&manifest.model, &input, manifest.seed)?;
    let num_params = net.num_params();
    let optimizer = optimizer_config(&manifest.optimizer)?
        .build()
        .map_err(ExperimentError::train)?;
    let regression = manifest.loss.is_regression();
    let mut trainer =
        Trainer::new(net, optimizer, loss(manifest.loss)).with_metric(if regression {
            MetricKind::MeanAbsoluteError
        } else {
            MetricKind::Accuracy
        });
    let t1 = Instant::now();
    let history = trainer
        .fit(
            &prepared.train,
            FitOptions {
                epochs: manifest.epochs,
                batch_size: manifest.batch_size,
                validation: if manifest.validation_fraction > 0.0 {
                    Validation::Fraction(manifest.validation_fraction)
                } else {
                    Validation::None
                },
                seed: manifest.seed,
                shuffle: true,
                callbacks: Vec::new(),
                progress,
            },
        )
        .map_err(ExperimentError::train)?;
    let train_seconds = t1.elapsed().as_secs_f64();
    let t2 = Instant::now();
    let test_metrics = test_metrics(&mut trainer, &prepared, manifest.batch_size, regression)?;
    let eval_seconds = t2.elapsed().as_secs_f64();

    let parameters_sha256 = sha256_state_dict(&trainer.model.state_dict());
    let checkpoint_path = out.join(files::CHECKPOINT);
    save_checkpoint(
        &trainer,
        manifest,
        &prepared,
        &checkpoint_path,
        history.epochs.len(),
    )?;
    let checkpoint_sha256 = sha256_file(&checkpoint_path)?;

    let records: Vec<EpochRecord> = history
        .epochs
        .iter()
        .map(|e| EpochRecord {
            epoch: e.epoch,
            learning_rate: e.learning_rate,
            metrics: e.metrics.clone(),
        })
        .collect();
    let metric = if regression { "mae" } else { "accuracy" };
    line_chart(
        &out.join(files::LOSS_SVG),
        &format!("{}: loss", manifest.name),
        &[
            ("train", history.series("loss")),
            ("validation", history.series("val_loss")),
        ],
    )?;
    line_chart(
        &out.join(files::METRIC_SVG),
        &format!("{}: {metric}", manifest.name),
        &[
            ("train", history.series(metric)),
            ("validation", history.series(&format!("val_{metric}"))),
        ],
    )?;
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
    })
}

fn test_metrics(
    trainer: &mut Trainer<Sequential>,
    prepared: &PreparedData,
    batch_size: usize,
    regression: bool,
) -> Result<BTreeMap<String, f64>, ExperimentError> {
    let mut out = trainer
        .evaluate(&prepared.test, batch_size)
        .map_err(ExperimentError::train)?;
    match &prepared.test.targets {
        Targets::Classes(y_true) if !regression => {
            let y_pred = trainer
                .predict_classes(&prepared.test.features, batch_size)
                .map_err(ExperimentError::train)?;
            let n_classes = prepared.class_names.as_ref().map_or(2, Vec::len);
            let average = if n_classes <= 2 {
                Average::Binary { pos_label: 1 }
            } else {
                Average::Macro
            };
            let prf = precision_recall_f1(y_true, &y_pred, average, &PrfOptions::default())
                .map_err(ExperimentError::train)?;
            out.insert(
                "accuracy".into(),
                accuracy(y_true, &y_pred).map_err(ExperimentError::train)?,
            );
            out.insert("precision".into(), prf.precision);
            out.insert("recall".into(), prf.recall);
            out.insert("f1".into(), prf.f1);
        }
        Targets::Values(y) => {
            let pred = trainer
                .predict(&prepared.test.features, batch_size)
                .map_err(ExperimentError::train)?
                .to_vec();
            let truth = y.to_vec();
            out.insert(
                "mse".into(),
                mean_squared_error(&truth, &pred).map_err(ExperimentError::train)?,
            );
            out.insert(
                "mae".into(),
                mean_absolute_error(&truth, &pred).map_err(ExperimentError::train)?,
            );
            out.insert(
                "r2".into(),
                r2_score(&truth, &pred).map_err(ExperimentError::train)?,
            );
        }
        Targets::Classes(_) => {}
    }
    Ok(out)
}

fn save_checkpoint(
    trainer: &Trainer<Sequential>,
    manifest: &Manifest,
    prepared: &PreparedData,
    path: &Path,
    epochs: usize,
) -> Result<(), ExperimentError> {
    let meta = CheckpointMeta {
        step: trainer.steps(),
        epoch: epochs as u64,
        seed: manifest.seed,
        config_hash: manifest.sha256(),
        ..CheckpointMeta::default()
    };
    let mut ckpt =
        Checkpoint::capture(&trainer.model, Some(trainer.optimizer.as_ref()), None, meta);
    if let Some(scaler) = &prepared.scaler {
        let bytes = serde_json::to_vec(scaler).map_err(ExperimentError::train)?;
        ckpt.extra.insert("scaler.json".into(), bytes);
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

fn loss(spec: LossSpec) -> Loss {
    match spec {
        LossSpec::BinaryCrossentropy => Loss::BinaryCrossEntropy,
        LossSpec::SparseCategoricalCrossentropy => Loss::SparseCategoricalCrossEntropy,
        LossSpec::Mse => Loss::MeanSquaredError,
        LossSpec::Mae => Loss::MeanAbsoluteError,
    }
}

/// The Markdown summary written beside `results.json`.
pub fn summary_markdown(r: &Results) -> String {
    let mut s = format!(
        "# Experiment `{}`\n\n{}\n\n| | |\n|---|---|\n",
        r.name, r.manifest.description
    );
    for (k, v) in &r.test_metrics {
        s += &format!("| test {k} | {v:.4} |\n");
    }
    s += &format!(
        "| epochs | {} |\n| parameters | {} |\n| train / test rows | {} / {} |\n| threads | {} |\n| wall time | {:.2} s ({:.0} samples/s) |\n| parameters SHA-256 | `{}` |\n| manifest SHA-256 | `{}` |\n| git | `{}`{} |\n\n",
        r.history.len(),
        r.num_params,
        r.split.n_train,
        r.split.n_test,
        r.environment.threads,
        r.timings.total_seconds,
        r.timings.train_samples_per_second,
        r.parameters_sha256,
        r.manifest_sha256,
        r.environment.git.commit,
        if r.environment.git.dirty { " (dirty)" } else { "" },
    );
    s += &format!(
        "Curves: [{}]({}), [{}]({}). Check it with `cargo xtask verify results.json`.\n",
        files::LOSS_SVG,
        files::LOSS_SVG,
        files::METRIC_SVG,
        files::METRIC_SVG
    );
    s
}
