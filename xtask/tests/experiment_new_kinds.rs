//! End to end on tiny data: the language-model flow, the ensemble-and-prune flow, schedules,
//! the `metrics` list, and the token network's padding mask.

use std::collections::BTreeSet;
use std::path::Path;

use gradwork::autodiff::Var;
use gradwork::nn::{Ctx, Module};
use gradwork::tensor::Tensor;
use xtask::experiment::manifest::Manifest;
use xtask::experiment::model::{self, DataFacts};
use xtask::experiment::results::{differences, Results};
use xtask::experiment::run;

fn parse(text: &str) -> Manifest {
    Manifest::parse(text, Path::new("t.toml")).expect("manifest parses")
}

fn run_in(m: &Manifest, dir: &Path, threads: usize) -> Results {
    run::run(m, &xtask::paths::workspace_root(), dir, threads, false).expect("run succeeds")
}

fn keys(r: &Results) -> BTreeSet<&str> {
    r.test_metrics.keys().map(String::as_str).collect()
}

const XOR: &str = r#"
name = "t"
description = "test"
epochs = 3
batch_size = 8
seed = 5
loss = "sparse_categorical_crossentropy"
METRICS

[data]
kind = "xor"
samples = 80
noise = 0.1

[split]
test_fraction = 0.25
seed = 1

[model]
layers = [{ type = "dense", units = 8, activation = "tanh" }, { type = "dense", units = 2 }]

[optimizer]
kind = "adam"
lr = 0.02
"#;

#[test]
fn a_char_lstm_learns_samples_and_reproduces_across_thread_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = tmp.path().join("corpus.txt");
    let text: String = (0..400)
        .map(|i| ["to be, ", "or not ", "to be. "][i % 3])
        .collect();
    std::fs::write(&corpus, &text).unwrap();
    let m = parse(&format!(
        r#"
name = "t"
description = "test"
epochs = 3
batch_size = 8
seed = 3
loss = "sparse_categorical_crossentropy"
metrics = ["perplexity", "bits_per_char"]

[data]
kind = "char_corpus"
path = "{}"
train_fraction = 0.8
seq_len = 12
train_windows = 48
eval_windows = 16

[model]
layers = [{{ type = "embedding", dim = 6 }}, {{ type = "lstm", units = 16 }}, {{ type = "dense" }}]

[optimizer]
kind = "adam"
lr = 0.02

[schedule]
every = "step"
Linear = {{ base_lr = 0.02, start_factor = 0.5, end_factor = 1.0, total_iters = 6 }}

[language_model]
clip_grad_norm = 1.0
prompt = "to "
sample_length = 20
temperature = 0.7
"#,
        corpus.display()
    ));
    let a = run_in(&m, &tmp.path().join("a"), 1);
    let b = run_in(&m, &tmp.path().join("b"), 2);
    let diffs = differences(
        &a,
        &b,
        &[
            "timings",
            "environment.threads",
            "manifest.threads",
            "manifest_sha256",
            "checkpoint_sha256",
        ],
    );
    assert!(diffs.is_empty(), "1 vs 2 threads differ: {diffs:#?}");

    let lm = a.language_model.as_ref().expect("language-model record");
    let loss = a.test_metrics["loss"];
    assert!(
        loss < lm.initial_val_loss - 0.5,
        "validation loss {loss} did not fall from {}",
        lm.initial_val_loss
    );
    assert_eq!(lm.steps, 3 * 6);
    assert_eq!(
        keys(&a),
        BTreeSet::from(["loss", "perplexity", "bits_per_char"])
    );
    assert_eq!(a.test_metrics["perplexity"], loss.exp());
    assert_eq!(
        a.test_metrics["bits_per_char"],
        loss / std::f64::consts::LN_2
    );
    assert_eq!(lm.sample.chars().count(), 3 + 20);
    assert!(lm.sample.starts_with("to "));
    let written = std::fs::read_to_string(tmp.path().join("a").join("sample.txt")).unwrap();
    assert_eq!(written, lm.sample);
    // The schedule's per-epoch record is its first step's rate: 6 steps per epoch.
    let lrs: Vec<f64> = a.history.iter().map(|e| e.learning_rate).collect();
    assert_eq!(lrs, [0.01, 0.02, 0.02]);
    assert_eq!(a.split.method, "prefix");
    assert_eq!(a.split.n_train + a.split.n_test, text.len());
}

#[test]
fn ensemble_and_prune_records_every_stage_and_keeps_pruned_weights_at_zero() {
    let tmp = tempfile::tempdir().unwrap();
    let m = parse(&format!(
        "{}\n[ensemble]\nmembers = 2\n\n[prune]\nsparsities = [0.5, 0.75]\nfinetune_epochs = 2\n",
        XOR.replace("METRICS", "metrics = [\"accuracy\", \"f1\"]")
    ));
    let r = run_in(&m, tmp.path(), 1);
    let e = r.ensemble.as_ref().expect("ensemble record");
    let stages: Vec<(&str, f64)> = e
        .stages
        .iter()
        .map(|s| (s.stage.as_str(), s.sparsity))
        .collect();
    assert_eq!(
        stages,
        [
            ("trained", 0.0),
            ("pruned", 0.5),
            ("finetuned", 0.5),
            ("pruned", 0.75),
            ("finetuned", 0.75)
        ]
    );
    // Weights: 2x8 + 8x2 = 32 per member; global pruning zeroes round(s * 32) of them, and
    // fine-tuning must not bring any back.
    for s in &e.stages[1..] {
        for &measured in &s.measured_sparsity {
            assert_eq!(measured, (s.sparsity * 32.0).round() / 32.0, "{}", s.stage);
        }
        assert_eq!(s.members.len(), 2);
    }
    assert_eq!(e.members.iter().map(|m| m.seed).collect::<Vec<_>>(), [5, 6]);
    assert_ne!(
        e.members[0].parameters_sha256,
        e.members[1].parameters_sha256
    );
    assert_eq!(r.test_metrics, e.stages[4].ensemble);
    assert_eq!(keys(&r), BTreeSet::from(["loss", "accuracy", "f1"]));
    assert_eq!(r.history, e.members[0].history);
    assert_eq!(r.num_params, 2 * (2 * 8 + 8 + 8 * 2 + 2));
}

#[test]
fn test_metrics_hold_exactly_the_listed_metrics() {
    let tmp = tempfile::tempdir().unwrap();
    let m = parse(&XOR.replace("METRICS", "metrics = [\"roc_auc\", \"log_loss\"]"));
    let r = run_in(&m, &tmp.path().join("c"), 1);
    assert_eq!(keys(&r), BTreeSet::from(["loss", "roc_auc", "log_loss"]));
    // Cross-entropy of the softmax outputs is the log loss of the same probabilities.
    assert!((r.test_metrics["loss"] - r.test_metrics["log_loss"]).abs() < 1e-5);
    let m = parse(&XOR.replace("METRICS", "metrics = []"));
    let r = run_in(&m, &tmp.path().join("d"), 1);
    assert_eq!(keys(&r), BTreeSet::from(["loss"]));
}

#[test]
fn an_epoch_schedule_sets_and_records_each_epochs_rate() {
    let tmp = tempfile::tempdir().unwrap();
    let base = XOR.replace("METRICS", "metrics = [\"accuracy\"]");
    let m = parse(&format!(
        "{base}\n[schedule]\nStep = {{ base_lr = 0.02, step_size = 1, gamma = 0.5 }}\n"
    ));
    let r = run_in(&m, &tmp.path().join("s"), 1);
    let lrs: Vec<f64> = r.history.iter().map(|e| e.learning_rate).collect();
    assert_eq!(lrs, [0.02, 0.01, 0.005]);
    let plain = run_in(&parse(&base), &tmp.path().join("p"), 1);
    assert_ne!(plain.parameters_sha256, r.parameters_sha256);
    assert_eq!(
        plain
            .history
            .iter()
            .map(|e| e.learning_rate)
            .collect::<Vec<_>>(),
        [0.02; 3]
    );
}

#[test]
fn a_step_schedule_changes_the_rate_every_step() {
    // 60 training rows, batch 8: 8 steps per epoch. Decaying by half every 4 steps, epoch e
    // starts at step 8 (e - 1), i.e. 0.02 * 0.5^(2 (e - 1)).
    let tmp = tempfile::tempdir().unwrap();
    let base = XOR.replace("METRICS", "metrics = [\"accuracy\"]");
    let m = parse(&format!(
        "{base}\n[schedule]\nevery = \"step\"\nStep = {{ base_lr = 0.02, step_size = 4, gamma = 0.5 }}\n"
    ));
    let r = run_in(&m, tmp.path(), 1);
    let lrs: Vec<f64> = r.history.iter().map(|e| e.learning_rate).collect();
    assert_eq!(lrs, [0.02, 0.005, 0.00125]);
}

#[test]
fn padding_changes_nothing_in_a_masked_transformer() {
    let m = parse(
        r#"
name = "t"
description = "test"
epochs = 1
batch_size = 2
seed = 9
loss = "sparse_categorical_crossentropy"

[data]
kind = "xor"
samples = 4
noise = 0.0

[model]
layers = [
    { type = "embedding", dim = 8, scale = true },
    { type = "positional_encoding" },
    { type = "transformer_encoder", layers = 1, heads = 2, ff = 16 },
    { type = "mean_pool" },
    { type = "dense", units = 2 },
]

[optimizer]
kind = "adam"
lr = 0.01
"#,
    );
    let facts = DataFacts {
        vocab: Some(20),
        outputs: Some(2),
    };
    let (mut net, out) = model::build(&m.model, &[10], 1, facts).unwrap();
    assert_eq!(out, [2]);
    let forward = |net: &mut gradwork::nn::Sequential, rows: &[&[f32]]| {
        let ids: Vec<f32> = rows.iter().flat_map(|r| r.iter().copied()).collect();
        let x = Tensor::from_vec(ids, &[rows.len(), rows[0].len()]);
        net.forward(&mut Ctx::eval(), &Var::constant(x))
            .unwrap()
            .into_value()
            .to_vec()
    };
    let short: &[f32] = &[5.0, 6.0, 7.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
    let long: &[f32] = &[3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 2.0, 0.0, 0.0];
    let alone = forward(&mut net, &[short]);
    let alone_shorter = forward(&mut net, &[&short[..4]]);
    assert_eq!(alone, alone_shorter, "trailing padding must be dropped");
    let batched = forward(&mut net, &[short, long]);
    for (a, b) in alone.iter().zip(&batched[..2]) {
        assert!(
            (a - b).abs() < 1e-5,
            "masked padding leaked: {alone:?} vs {batched:?}"
        );
    }
}
