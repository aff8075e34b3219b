//! The `sst2` data kind end to end through the binary: SST-2 is fetched from the shared datasets
//! (GRADWORK_SHARED, default `<workspace>/../shared`; skipped with a message when absent) into a
//! temporary cache, then a tiny Transformer manifest trains on a few hundred phrases.

use std::process::Command;

use xtask::experiment::results::Results;

const MANIFEST: &str = r#"
name = "tiny-sst2"
description = "test"
epochs = 1
batch_size = 32
seed = 4
loss = "sparse_categorical_crossentropy"
metrics = ["accuracy", "roc_auc"]

[data]
kind = "sst2"
train_limit = 300
dev_limit = 64
max_len = 16
vocab_size = 500

[model]
input_shape = [16]
layers = [
    { type = "embedding", dim = 16, scale = true },
    { type = "positional_encoding", dropout = 0.1 },
    { type = "transformer_encoder", layers = 1, heads = 2, ff = 32, dropout = 0.1 },
    { type = "mean_pool" },
    { type = "dense", units = 2 },
]

[optimizer]
kind = "adam"
lr = 0.001
"#;

#[test]
fn a_tiny_sst2_transformer_runs_from_a_fresh_cache() {
    let shared = xtask::paths::shared_datasets(&xtask::paths::workspace_root());
    if !shared.join("sst2").join("train.tsv").is_file() {
        eprintln!(
            "skipping: SST-2 not found under {} (set GRADWORK_SHARED to the folder holding datasets/)",
            shared.display()
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let xtask = || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_xtask"));
        c.env("GRADWORK_DATA", &cache)
            .env_remove("GRADWORK_DATA_MIRROR");
        c
    };
    let fetched = xtask()
        .args(["fetch", "sst2", "--offline", "--mirror"])
        .arg(&shared)
        .output()
        .unwrap();
    assert!(
        fetched.status.success(),
        "fetch failed: {}",
        String::from_utf8_lossy(&fetched.stderr)
    );
    let manifest = tmp.path().join("tiny-sst2.toml");
    std::fs::write(&manifest, MANIFEST).unwrap();
    let out = tmp.path().join("run");
    let ran = xtask()
        .args(["experiment", "--quiet", "--out"])
        .arg(&out)
        .arg(&manifest)
        .output()
        .unwrap();
    assert!(
        ran.status.success(),
        "experiment failed: {}",
        String::from_utf8_lossy(&ran.stderr)
    );
    let r = Results::load(&out.join("results.json")).unwrap();
    assert_eq!(r.split.method, "official");
    assert_eq!((r.split.n_train, r.split.n_test), (300, 64));
    let counts = r.split.test_class_counts.as_ref().unwrap();
    assert_eq!(counts.len(), 2);
    assert_eq!(counts.iter().sum::<usize>(), 64);
    let vocab = r.vocabulary.as_ref().expect("vocabulary record");
    assert!(vocab.size > 2 && vocab.size <= 500, "{}", vocab.size);
    let names: Vec<&str> = r.data_files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["sst2/train.tsv", "sst2/dev.tsv"]);
    let keys: Vec<&str> = r.test_metrics.keys().map(String::as_str).collect();
    assert_eq!(keys, ["accuracy", "loss", "roc_auc"]);
    let accuracy = r.test_metrics["accuracy"];
    assert!((0.0..=1.0).contains(&accuracy));
    // The embedding table alone holds vocabulary x 16 parameters.
    assert!(r.num_params > vocab.size * 16);
}
