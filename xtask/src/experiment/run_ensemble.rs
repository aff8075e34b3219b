//! The `[ensemble]` / `[prune]` flow: train `members` copies of the model (seeds `seed`,
//! `seed + 1`, ...), report each member and the averaged class probabilities on the test part,
//! then for each sparsity magnitude-prune every member, report, fine-tune with the pruned
//! weights held at zero, and report again. Every step is a [`StageRecord`] in `results.json`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use gradwork::autodiff::{Graph, Var};
use gradwork::metrics::{log_loss_from_probs, Reduction};
use gradwork::nn::ensemble::{average_predictions, Combine, Ensemble};
use gradwork::nn::prune::{
    apply_masks, magnitude_prune, measured_sparsity, PruneConfig, PruneMasks,
};
use gradwork::nn::{Ctx, Module, Sequential};
use gradwork::tensor::{Rng, Tensor};
use gradwork::train::{Dataset, MetricKind, Targets, Trainer};

use super::data::{self, PreparedData};
use super::env_info::Environment;
use super::hashing::{sha256_file, sha256_state_dict};
use super::manifest::Manifest;
use super::metrics;
use super::model;
use super::results::{EnsembleRecord, MemberRecord, Results, StageRecord, Timings, RESULTS_FORMAT};
use super::run::{
    build_optimizer, data_facts, epoch_records, files, fit_options, loss, save_checkpoint,
    write_plots,
};
use super::tasks::PruneScopeSpec;
use super::ExperimentError;

/// The RNG stream of fine-tuning (forked by member seed, then by pruning step).
pub const FINETUNE_STREAM: u64 = 0xF17E;

type Member = Trainer<Sequential>;

/// Runs the ensemble-and-prune flow (inside the run's rayon pool).
pub fn run(
    manifest: &Manifest,
    workspace: &Path,
    out: &Path,
    progress: bool,
    environment: Environment,
) -> Result<Results, ExperimentError> {
    let t0 = Instant::now();
    let prepared = data::prepare(manifest, workspace)?;
    let data_seconds = t0.elapsed().as_secs_f64();
    let input = prepared.train.features.shape()[1..].to_vec();
    let facts = data_facts(manifest, &prepared);
    let n_members = manifest.ensemble.as_ref().map_or(1, |e| e.members);

    let t1 = Instant::now();
    let mut members: Vec<Member> = Vec::new();
    let mut member_records = Vec::new();
    for i in 0..n_members {
        let seed = manifest.seed + i as u64;
        let (net, _) = model::build(&manifest.model, &input, seed, facts)?;
        let mut trainer = Trainer::new(net, build_optimizer(manifest)?, loss(manifest.loss))
            .with_metric(MetricKind::Accuracy);
        let (options, steps_per_epoch) =
            fit_options(manifest, seed, progress, prepared.train.len());
        let history = trainer
            .fit(&prepared.train, options)
            .map_err(ExperimentError::train)?;
        member_records.push(MemberRecord {
            seed,
            history: epoch_records(&history, manifest, steps_per_epoch),
            parameters_sha256: String::new(),
        });
        members.push(trainer);
    }
    let mut train_seconds = t1.elapsed().as_secs_f64();

    let t2 = Instant::now();
    let mut stages = vec![stage(
        "trained",
        0.0,
        Vec::new(),
        &mut members,
        manifest,
        &prepared,
    )?];
    let mut eval_seconds = t2.elapsed().as_secs_f64();
    if let Some(p) = &manifest.prune {
        for (k, &sparsity) in p.sparsities.iter().enumerate() {
            let config = match p.scope {
                PruneScopeSpec::Global => PruneConfig::global(sparsity),
                PruneScopeSpec::PerLayer => PruneConfig::per_layer(sparsity),
            }
            .with_biases(p.include_biases);
            let mut masks = Vec::new();
            for m in members.iter_mut() {
                // A later, higher target keeps the earlier zeros: they rank smallest.
                masks.push(magnitude_prune(&mut m.model, &config).map_err(ExperimentError::train)?);
            }
            let t = Instant::now();
            let measured = measured_all(&members, &masks);
            stages.push(stage(
                "pruned",
                sparsity,
                measured,
                &mut members,
                manifest,
                &prepared,
            )?);
            eval_seconds += t.elapsed().as_secs_f64();
            if p.finetune_epochs == 0 {
                continue;
            }
            let t = Instant::now();
            for (i, (m, mask)) in members.iter_mut().zip(&masks).enumerate() {
                let root = Rng::seed_from(manifest.seed + i as u64)
                    .fork(FINETUNE_STREAM)
                    .fork(k as u64);
                finetune(
                    m,
                    &prepared.train,
                    mask,
                    p.finetune_epochs,
                    manifest.batch_size,
                    &root,
                )?;
            }
            train_seconds += t.elapsed().as_secs_f64();
            let t = Instant::now();
            let measured = measured_all(&members, &masks);
            stages.push(stage(
                "finetuned",
                sparsity,
                measured,
                &mut members,
                manifest,
                &prepared,
            )?);
            eval_seconds += t.elapsed().as_secs_f64();
        }
    }

    let steps = members.first().map_or(0, |m| m.steps());
    let mut models: Vec<Box<dyn Module>> = Vec::new();
    for (m, record) in members.into_iter().zip(member_records.iter_mut()) {
        record.parameters_sha256 = sha256_state_dict(&m.model.state_dict());
        models.push(Box::new(m.model));
    }
    let ensemble = Ensemble::new(models, Combine::Mean);
    let parameters_sha256 = sha256_state_dict(&ensemble.state_dict());
    let checkpoint_path = out.join(files::CHECKPOINT);
    let mut extra = Vec::new();
    if let Some(scaler) = &prepared.scaler {
        extra.push((
            "scaler.json".to_string(),
            serde_json::to_vec(scaler).map_err(ExperimentError::train)?,
        ));
    }
    save_checkpoint(
        &ensemble,
        None,
        steps,
        manifest.epochs,
        manifest,
        extra,
        &checkpoint_path,
    )?;
    let history = member_records[0].history.clone();
    write_plots(out, manifest, &history)?;
    let test_metrics = stages
        .last()
        .map(|s| s.ensemble.clone())
        .unwrap_or_default();
    let fit_rows = prepared.train.len() as f64 * (1.0 - manifest.validation_fraction);
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
        num_params: ensemble.num_params(),
        history,
        test_metrics,
        parameters_sha256,
        checkpoint_sha256: sha256_file(&checkpoint_path)?,
        timings: Timings {
            total_seconds: t0.elapsed().as_secs_f64(),
            data_seconds,
            train_seconds,
            train_samples_per_second: fit_rows * (manifest.epochs * n_members) as f64
                / train_seconds.max(1e-9),
            eval_seconds,
        },
        vocabulary: prepared.vocabulary,
        ensemble: Some(EnsembleRecord {
            members: member_records,
            stages,
        }),
        language_model: None,
    })
}

fn measured_all(members: &[Member], masks: &[PruneMasks]) -> Vec<f64> {
    members
        .iter()
        .zip(masks)
        .map(|(m, mask)| measured_sparsity(&m.model, mask))
        .collect()
}

/// Class probabilities as `[n, C]` (a one-column sigmoid output becomes `[1 - p, p]`).
fn probabilities(m: &mut Member, x: &Tensor, batch: usize) -> Result<Tensor, ExperimentError> {
    let p = m.predict_proba(x, batch).map_err(ExperimentError::train)?;
    Ok(match p.shape() {
        [n, 1] => {
            let v = p.to_vec();
            let two: Vec<f32> = v.iter().flat_map(|&q| [1.0 - q, q]).collect();
            Tensor::from_vec(two, &[*n, 2])
        }
        _ => p,
    })
}

/// The test metrics of every member and of the averaged probabilities after one step.
fn stage(
    name: &str,
    sparsity: f64,
    measured_sparsity: Vec<f64>,
    members: &mut [Member],
    manifest: &Manifest,
    prepared: &PreparedData,
) -> Result<StageRecord, ExperimentError> {
    let Targets::Classes(y_true) = &prepared.test.targets else {
        return Err(ExperimentError::Train(
            "an ensemble needs class labels".into(),
        ));
    };
    let n_classes = prepared.class_names.as_ref().map_or(2, Vec::len);
    let score = |p: &Tensor| -> Result<BTreeMap<String, f64>, ExperimentError> {
        let y_pred = p.argmax(1);
        metrics::classification(&manifest.metrics, y_true, &y_pred, n_classes, &mut || {
            Ok(p.clone())
        })
    };
    let mut all = Vec::new();
    let mut member_metrics = Vec::new();
    for m in members.iter_mut() {
        let p = probabilities(m, &prepared.test.features, manifest.batch_size)?;
        member_metrics.push(score(&p)?);
        all.push(p);
    }
    let averaged = average_predictions(&all, Combine::Mean).map_err(ExperimentError::train)?;
    let mut ensemble = score(&averaged)?;
    ensemble.insert(
        "loss".into(),
        log_loss_from_probs(y_true, &averaged, Reduction::Mean).map_err(ExperimentError::train)?,
    );
    Ok(StageRecord {
        stage: name.to_string(),
        sparsity,
        measured_sparsity,
        members: member_metrics,
        ensemble,
    })
}

/// The manual loop plus one step: the masks are re-applied after every optimizer step, so
/// pruned weights stay exactly zero. Shuffles fork `root` by epoch; dropout by step.
fn finetune(
    m: &mut Member,
    data: &Dataset,
    masks: &PruneMasks,
    epochs: usize,
    batch_size: usize,
    root: &Rng,
) -> Result<(), ExperimentError> {
    let mut step = 0u64;
    for epoch in 0..epochs {
        let order = root.fork(epoch as u64).permutation(data.len());
        for rows in order.chunks(batch_size) {
            let batch = data.select(rows).map_err(ExperimentError::train)?;
            let graph = Graph::new();
            let mut cx = Ctx::train(&graph, root.fork(u64::MAX).fork(step));
            let output = m
                .model
                .forward(&mut cx, &Var::constant(batch.features.clone()))
                .map_err(ExperimentError::train)?;
            let loss = m
                .loss
                .compute(&output, &batch.targets)
                .map_err(ExperimentError::train)?;
            let grads = graph.backward(&loss).map_err(ExperimentError::train)?;
            m.optimizer
                .step(&mut m.model, &cx.into_param_grads(&grads))
                .map_err(ExperimentError::train)?;
            apply_masks(&mut m.model, masks).map_err(ExperimentError::train)?;
            step += 1;
        }
    }
    Ok(())
}
