//! Manifest parsing of the newer keys (`schedule`, `ensemble`, `prune`, `language_model`, the
//! text data kinds and token layers, `metrics`): every shipped manifest loads, every training
//! example has one, and a bad key or value is an error that names it.

use std::path::Path;

use xtask::experiment::manifest::{self, Manifest};
use xtask::experiment::schedule::ScheduleEvery;

const BASE: &str = r#"
name = "t"
description = "test"
epochs = 2
batch_size = 4
seed = 1
loss = "sparse_categorical_crossentropy"
metrics = ["accuracy"]

[data]
kind = "xor"
samples = 40
noise = 0.1

[model]
layers = [{ type = "dense", units = 4, activation = "tanh" }, { type = "dense", units = 2 }]

[optimizer]
kind = "adam"
lr = 0.01
"#;

fn parse(text: &str) -> Result<Manifest, String> {
    Manifest::parse(text, Path::new("t.toml")).map_err(|e| e.to_string())
}

fn error_of(extra: &str) -> String {
    match parse(&format!("{BASE}{extra}")) {
        Ok(_) => panic!("accepted a bad manifest:\n{extra}"),
        Err(e) => e,
    }
}

#[test]
fn every_shipped_manifest_loads_and_every_training_example_has_one() {
    let root = xtask::paths::workspace_root();
    let all = manifest::load_all(&manifest::manifests_dir(&root)).expect("manifests load");
    let names: Vec<&str> = all.iter().map(|m| m.name.as_str()).collect();
    let examples = std::fs::read_dir(root.join("examples")).unwrap();
    for entry in examples {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|x| x != "rs") {
            continue;
        }
        let stem = path
            .file_stem()
            .unwrap()
            .to_str()
            .unwrap()
            .replace('_', "-");
        // quickstart is a tour of tensor operations: it trains nothing.
        if stem == "quickstart" {
            continue;
        }
        assert!(
            names.contains(&stem.as_str()),
            "examples/{} has no experiments/{stem}.toml (have {names:?})",
            path.file_name().unwrap().to_str().unwrap()
        );
    }
}

#[test]
fn a_schedule_table_parses_into_the_optim_config() {
    let m = parse(&format!(
        "{BASE}\n[schedule]\nevery = \"step\"\nStep = {{ base_lr = 0.01, step_size = 3, gamma = 0.5 }}\n"
    ))
    .unwrap();
    let s = m.schedule.expect("schedule");
    assert_eq!(s.every, ScheduleEvery::Step);
    assert_eq!(s.lr_at_step(2, 100), 0.01);
    assert_eq!(s.lr_at_step(3, 100), 0.005);
    // Per epoch, t counts epochs: step 7 of 5-step epochs is epoch index 1.
    let m = parse(&format!(
        "{BASE}\n[schedule]\nStep = {{ base_lr = 0.01, step_size = 1, gamma = 0.5 }}\n"
    ))
    .unwrap();
    let s = m.schedule.unwrap();
    assert_eq!(s.every, ScheduleEvery::Epoch);
    assert_eq!(s.lr_at_step(7, 5), 0.005);
    assert_eq!(s.lr_for_epoch(3, 5), 0.0025);
}

#[test]
fn a_schedule_round_trips_through_the_results_json_form() {
    let m = parse(&format!(
        "{BASE}\n[schedule]\nevery = \"epoch\"\nCosineAnnealing = {{ base_lr = 0.01, t_max = 4, eta_min = 0.001 }}\n"
    ))
    .unwrap();
    let json = serde_json::to_string(&m).unwrap();
    let back: Manifest = serde_json::from_str(&json).unwrap();
    assert_eq!(back, m);
    assert_eq!(back.sha256(), m.sha256());
}

#[test]
fn schedule_errors_name_the_bad_key() {
    // A misspelt key instead of a required one: the missing field and the given keys.
    let e =
        error_of("\n[schedule]\nCosineAnnealing = { base_lr = 0.01, t_max = 4, eta_mn = 0.0 }\n");
    assert!(e.contains("eta_min") && e.contains("eta_mn"), "{e}");
    // A key the schedule does not have, next to all the ones it needs.
    let e = error_of(
        "\n[schedule]\nCosineAnnealing = { base_lr = 0.01, t_max = 4, eta_min = 0.0, gamma = 1.0 }\n",
    );
    assert!(e.contains("unknown key `gamma`"), "{e}");
    let e = error_of("\n[schedule]\nCosine = { base_lr = 0.01 }\n");
    assert!(e.contains("Cosine"), "{e}");
    let e = error_of("\n[schedule]\nevery = \"batch\"\nConstant = { lr = 0.1 }\n");
    assert!(e.contains("schedule.every"), "{e}");
    let e = error_of("\n[schedule]\nevery = \"step\"\n");
    assert!(e.contains("exactly one schedule"), "{e}");
    let e = error_of("\n[schedule]\nStep = { base_lr = 0.01, step_size = 0, gamma = 0.5 }\n");
    assert!(e.contains("step_size"), "{e}");
}

#[test]
fn unknown_keys_of_the_new_tables_are_named() {
    for (extra, key) in [
        ("\n[ensemble]\nmembers = 2\nseeds = [1]\n", "seeds"),
        (
            "\n[prune]\nsparsities = [0.5]\nfinetune_epochs = 1\nsparsity = 0.5\n",
            "sparsity",
        ),
        ("\nschedul = 1\n", "schedul"),
    ] {
        let e = error_of(extra);
        assert!(
            e.contains(key),
            "error for {extra:?} does not name `{key}`: {e}"
        );
    }
}

#[test]
fn bad_prune_and_ensemble_values_are_refused() {
    let e = error_of("\n[prune]\nsparsities = [0.9, 0.5]\nfinetune_epochs = 1\n");
    assert!(e.contains("increase"), "{e}");
    let e = error_of("\n[prune]\nsparsities = [1.0]\nfinetune_epochs = 1\n");
    assert!(e.contains("(0, 1)"), "{e}");
    let e = error_of("\n[ensemble]\nmembers = 0\n");
    assert!(e.contains("ensemble.members"), "{e}");
}

#[test]
fn metrics_must_fit_the_task() {
    let text = BASE.replace("[\"accuracy\"]", "[\"accuracy\", \"r2\"]");
    let e = parse(&text).unwrap_err();
    assert!(e.contains("`r2`") && e.contains("classification"), "{e}");
    let text = BASE.replace("[\"accuracy\"]", "[\"f1\", \"f1\"]");
    assert!(parse(&text).unwrap_err().contains("twice"));
    let text = BASE.replace("[\"accuracy\"]", "[\"roc_auc\", \"log_loss\"]");
    assert!(parse(&text).is_ok());
}

const LM: &str = r#"
name = "t"
description = "test"
epochs = 1
batch_size = 4
seed = 1
loss = "sparse_categorical_crossentropy"

[data]
kind = "char_corpus"
path = "x.txt"
train_fraction = 0.9
seq_len = 8
train_windows = 8
eval_windows = 4

[model]
layers = [{ type = "embedding", dim = 4 }, { type = "lstm", units = 8 }, { type = "dense" }]

[optimizer]
kind = "adam"
lr = 0.01
"#;

#[test]
fn language_model_tables_are_checked() {
    let ok =
        format!("{LM}\n[language_model]\nprompt = \"A\"\nsample_length = 3\ntemperature = 0.5\n");
    let m = parse(&ok).unwrap();
    assert_eq!(m.task(), xtask::experiment::metrics::Task::LanguageModel);
    // char_corpus without [language_model], and the table without char_corpus.
    assert!(parse(LM).unwrap_err().contains("[language_model]"));
    let e = error_of("\n[language_model]\nprompt = \"A\"\nsample_length = 3\ntemperature = 0.5\n");
    assert!(e.contains("char_corpus"), "{e}");
    let e = parse(&format!(
        "{LM}\n[language_model]\nprompt = \"A\"\nsample_length = 3\ntemperature = 0.5\ntop_k = 3\n"
    ))
    .unwrap_err();
    assert!(e.contains("top_k"), "{e}");
    let e = parse(&format!(
        "{LM}\n[language_model]\nprompt = \"A\"\nsample_length = 3\ntemperature = 0.0\n"
    ))
    .unwrap_err();
    assert!(e.contains("temperature"), "{e}");
    let e = parse(&format!(
        "{}\n[language_model]\nprompt = \"A\"\nsample_length = 3\ntemperature = 1.0\n",
        LM.replace(
            "kind = \"char_corpus\"",
            "kind = \"char_corpus\"\nwindows = 3"
        )
    ))
    .unwrap_err();
    assert!(e.contains("windows"), "{e}");
}

#[test]
fn token_layer_keys_are_checked() {
    let text = format!(
        "{}\n[language_model]\nprompt = \"A\"\nsample_length = 3\ntemperature = 1.0\n",
        LM.replace("units = 8 }", "unit = 8 }")
    );
    let e = parse(&text).unwrap_err();
    assert!(e.contains("unit"), "{e}");
    let text = format!(
        "{}\n[language_model]\nprompt = \"A\"\nsample_length = 3\ntemperature = 1.0\n",
        LM.replace("type = \"lstm\"", "type = \"gru\"")
    );
    let e = parse(&text).unwrap_err();
    assert!(e.contains("gru"), "{e}");
}
