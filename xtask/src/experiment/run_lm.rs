//! The language-model flow (`[language_model]` with `char_corpus` data): each epoch trains on
//! `train_windows` windows drawn at seeded offsets of the training prefix, measures the loss in
//! nats per character on fixed validation windows, and at the end samples `sample_length`
//! characters after the prompt with seeded temperature sampling (written to `sample.txt`).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use gradwork::autodiff::{Graph, Var};
use gradwork::nn::{Ctx, Module};
use gradwork::optim::clip_grad_norm;
use gradwork::tensor::{Rng, Tensor};
use gradwork::train::{Loss, Targets};

use super::data_text::{
    prepare_corpus, windows, VocabularyRecord, EVAL_WINDOW_STREAM, WINDOW_STREAM,
};
use super::env_info::Environment;
use super::hashing::{sha256_file, sha256_state_dict};
use super::manifest::{DataSpec, Manifest};
use super::metrics;
use super::model::{self, DataFacts};
use super::network::Network;
use super::results::{EpochRecord, LanguageModelRecord, Results, Timings, RESULTS_FORMAT};
use super::run::{build_optimizer, files, save_checkpoint, write_plots};
use super::ExperimentError;

/// The RNG stream of dropout (forked again by step).
pub const DROPOUT_STREAM: u64 = 0xD209;
/// The RNG stream of text sampling.
pub const SAMPLE_STREAM: u64 = 0x5A3B;
/// The generated text, beside `results.json`.
pub const SAMPLE_FILE: &str = "sample.txt";

/// Runs a language-model manifest (inside the run's rayon pool).
pub fn run(
    manifest: &Manifest,
    workspace: &Path,
    out: &Path,
    progress: bool,
    environment: Environment,
) -> Result<Results, ExperimentError> {
    let DataSpec::CharCorpus {
        path,
        dataset,
        file,
        train_fraction,
        seq_len,
        train_windows,
        eval_windows,
        char_limit,
    } = &manifest.data
    else {
        return Err(ExperimentError::Data(
            "a language model needs char_corpus data".into(),
        ));
    };
    let lm = manifest
        .language_model
        .as_ref()
        .ok_or_else(|| ExperimentError::Train("no [language_model] table".into()))?;
    let (seq, batch) = (*seq_len, manifest.batch_size);
    let t0 = Instant::now();
    let corpus = prepare_corpus(workspace, path, dataset, file, *train_fraction, *char_limit)?;
    if corpus.train.len() <= seq + 1 || corpus.valid.len() <= seq + 1 {
        return Err(ExperimentError::Data(format!(
            "seq_len {seq} needs more than {} characters in each part (train {}, validation {})",
            seq + 1,
            corpus.train.len(),
            corpus.valid.len()
        )));
    }
    let data_seconds = t0.elapsed().as_secs_f64();
    let vocab = corpus.vocab.len();
    let facts = DataFacts {
        vocab: Some(vocab),
        outputs: Some(vocab),
    };
    let (mut net, shape) = model::build_network(&manifest.model, &[seq], manifest.seed, facts)?;
    if shape != [seq, vocab] {
        return Err(ExperimentError::Train(format!(
            "a language model must output [T, V] = [{seq}, {vocab}] logits per window, not {shape:?}"
        )));
    }
    let num_params = net.num_params();
    let mut optimizer = build_optimizer(manifest)?;
    let root = Rng::seed_from(manifest.seed);
    let (val_x, val_y) = windows(
        &corpus.valid,
        *eval_windows,
        seq,
        &mut root.fork(EVAL_WINDOW_STREAM),
    );
    let t1 = Instant::now();
    let (initial_val_loss, _) = evaluate(&mut net, &val_x, &val_y, batch, vocab)?;
    let steps_per_epoch = train_windows.div_ceil(batch) as u64;
    let mut step = 0u64;
    let mut records = Vec::new();
    let mut last = (initial_val_loss, 0.0);
    let mut eval_seconds = 0.0;
    for epoch in 1..=manifest.epochs {
        let (x, y) = windows(
            &corpus.train,
            *train_windows,
            seq,
            &mut root.fork(WINDOW_STREAM).fork(epoch as u64),
        );
        let x = x.to_vec();
        let learning_rate = match &manifest.schedule {
            Some(s) => s.lr_for_epoch(epoch, steps_per_epoch),
            None => optimizer.learning_rate(),
        };
        let (mut loss_sum, mut correct) = (0.0, 0usize);
        for start in (0..*train_windows).step_by(batch) {
            let end = (start + batch).min(*train_windows);
            let n = end - start;
            let xb = Tensor::from_vec(x[start * seq..end * seq].to_vec(), &[n, seq]);
            let yb = y[start * seq..end * seq].to_vec();
            if let Some(s) = &manifest.schedule {
                optimizer.set_learning_rate(s.lr_at_step(step, steps_per_epoch));
            }
            let graph = Graph::new();
            let mut cx = Ctx::train(&graph, root.fork(DROPOUT_STREAM).fork(step));
            let logits = net
                .forward(&mut cx, &Var::constant(xb))
                .and_then(|l| Ok(l.try_reshape(&[n * seq, vocab])?))
                .map_err(ExperimentError::train)?;
            correct += matches(&logits.value().argmax(1), &yb);
            let loss = Loss::SparseCategoricalCrossEntropy
                .compute(&logits, &Targets::Classes(yb))
                .map_err(ExperimentError::train)?;
            let grads = graph.backward(&loss).map_err(ExperimentError::train)?;
            let mut param_grads = cx.into_param_grads(&grads);
            if let Some(c) = lm.clip_grad_norm {
                clip_grad_norm(&mut param_grads, c as f32).map_err(ExperimentError::train)?;
            }
            optimizer
                .step(&mut net, &param_grads)
                .map_err(ExperimentError::train)?;
            loss_sum += loss.value().item() as f64 * n as f64;
            step += 1;
        }
        let te = Instant::now();
        last = evaluate(&mut net, &val_x, &val_y, batch, vocab)?;
        eval_seconds += te.elapsed().as_secs_f64();
        let mut m = BTreeMap::new();
        m.insert("loss".to_string(), loss_sum / *train_windows as f64);
        m.insert(
            "accuracy".to_string(),
            correct as f64 / (*train_windows * seq) as f64,
        );
        m.insert("val_loss".to_string(), last.0);
        m.insert("val_accuracy".to_string(), last.1);
        if progress {
            eprintln!(
                "epoch {epoch}/{}: train loss {:.4}, validation {:.4} nats/char ({:.1} s)",
                manifest.epochs,
                m["loss"],
                last.0,
                t1.elapsed().as_secs_f64()
            );
        }
        records.push(EpochRecord {
            epoch,
            learning_rate,
            metrics: m,
        });
    }
    let train_seconds = t1.elapsed().as_secs_f64() - eval_seconds;

    let te = Instant::now();
    let mut test_metrics = BTreeMap::from([("loss".to_string(), last.0)]);
    test_metrics.extend(metrics::language_model(&manifest.metrics, last.0, last.1)?);
    let sample = generate(&mut net, &corpus.vocab, lm, &root.fork(SAMPLE_STREAM))?;
    let sample_path = out.join(SAMPLE_FILE);
    std::fs::write(&sample_path, &sample).map_err(|e| ExperimentError::io(&sample_path, e))?;
    eval_seconds += te.elapsed().as_secs_f64();

    let checkpoint_path = out.join(files::CHECKPOINT);
    let vocab_json = serde_json::to_vec(&corpus.vocab).map_err(ExperimentError::train)?;
    save_checkpoint(
        &net,
        Some(optimizer.as_ref()),
        step,
        records.len(),
        manifest,
        vec![("vocabulary.json".to_string(), vocab_json)],
        &checkpoint_path,
    )?;
    write_plots(out, manifest, &records)?;
    Ok(Results {
        format: RESULTS_FORMAT,
        name: manifest.name.clone(),
        manifest: manifest.clone(),
        manifest_sha256: manifest.sha256(),
        seed: manifest.seed,
        environment,
        data_files: corpus.files,
        split: corpus.split,
        scaler: None,
        num_params,
        history: records,
        test_metrics,
        parameters_sha256: sha256_state_dict(&net.state_dict()),
        checkpoint_sha256: sha256_file(&checkpoint_path)?,
        timings: Timings {
            total_seconds: t0.elapsed().as_secs_f64(),
            data_seconds,
            train_seconds,
            // Characters predicted per second.
            train_samples_per_second: (step as usize * batch * seq) as f64
                / train_seconds.max(1e-9),
            eval_seconds,
        },
        vocabulary: Some(VocabularyRecord::of(&corpus.vocab)),
        ensemble: None,
        language_model: Some(LanguageModelRecord {
            vocabulary_size: vocab,
            initial_val_loss,
            steps: step,
            prompt: lm.prompt.clone(),
            temperature: lm.temperature,
            sample,
        }),
    })
}

fn matches(predicted: &[usize], truth: &[usize]) -> usize {
    predicted.iter().zip(truth).filter(|(p, t)| p == t).count()
}

/// Mean loss (nats per character) and next-character accuracy over the windows `x`.
fn evaluate(
    net: &mut Network,
    x: &Tensor,
    y: &[usize],
    batch: usize,
    vocab: usize,
) -> Result<(f64, f64), ExperimentError> {
    let (count, seq) = (x.shape()[0], x.shape()[1]);
    let values = x.to_vec();
    let (mut loss_sum, mut correct) = (0.0, 0usize);
    for start in (0..count).step_by(batch) {
        let end = (start + batch).min(count);
        let n = end - start;
        let xb = Tensor::from_vec(values[start * seq..end * seq].to_vec(), &[n, seq]);
        let yb = y[start * seq..end * seq].to_vec();
        let logits = net
            .forward(&mut Ctx::eval(), &Var::constant(xb))
            .and_then(|l| Ok(l.try_reshape(&[n * seq, vocab])?))
            .map_err(ExperimentError::train)?;
        correct += matches(&logits.value().argmax(1), &yb);
        let loss = Loss::SparseCategoricalCrossEntropy
            .compute(&logits, &Targets::Classes(yb))
            .map_err(ExperimentError::train)?;
        loss_sum += loss.value().item() as f64 * n as f64;
    }
    Ok((
        loss_sum / count as f64,
        correct as f64 / (count * seq) as f64,
    ))
}

/// Warms the recurrent state up on the prompt, then draws `sample_length` characters from
/// `softmax(logits / temperature)` with `rng`.
fn generate(
    net: &mut Network,
    vocab: &gradwork::data::Vocabulary,
    lm: &super::tasks::LanguageModelSpec,
    rng: &Rng,
) -> Result<String, ExperimentError> {
    let mut rng = rng.clone();
    let mut state = Vec::new();
    let mut logits = None;
    for id in vocab.encode_chars(&lm.prompt) {
        logits = Some(net.step(id, &mut state).map_err(ExperimentError::Train)?);
    }
    let mut text = lm.prompt.clone();
    let mut logits = logits.ok_or_else(|| ExperimentError::Train("empty prompt".into()))?;
    for _ in 0..lm.sample_length {
        let p = logits
            .mul_scalar(1.0 / lm.temperature as f32)
            .softmax(-1)
            .to_vec();
        let mut u = rng.next_f32();
        let mut id = p.len() - 1;
        for (i, &q) in p.iter().enumerate() {
            if u < q {
                id = i;
                break;
            }
            u -= q;
        }
        text += &vocab.decode_chars(&[id]);
        logits = net.step(id, &mut state).map_err(ExperimentError::Train)?;
    }
    Ok(text)
}
