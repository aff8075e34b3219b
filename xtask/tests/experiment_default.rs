//! The default experiment (`cargo xtask experiment`, Breast Cancer MLP) is reproducible: two runs give
//! identical results.json apart from timings, `verify` accepts it, and every artefact is written.

use std::path::Path;
use std::process::Command;

use xtask::experiment::results::{differences, Results};

fn xtask(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .output()
        .expect("the xtask binary runs")
}

fn run_default(out: &Path) -> Results {
    let o = xtask(&["experiment", "--quiet", "--out", out.to_str().unwrap()]);
    assert!(
        o.status.success(),
        "experiment failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    Results::load(&out.join("results.json")).unwrap()
}

#[test]
fn default_experiment_is_reproducible_verifiable_and_complete() {
    let tmp = tempfile::tempdir().unwrap();
    let (a_dir, b_dir) = (tmp.path().join("a"), tmp.path().join("b"));
    let a = run_default(&a_dir);
    let b = run_default(&b_dir);

    // Identical apart from timings (and the git commit, which a concurrent commit may move).
    let diffs = differences(&a, &b, &["timings", "environment.git"]);
    assert!(diffs.is_empty(), "runs differ: {diffs:#?}");
    assert_eq!(a.parameters_sha256, b.parameters_sha256);
    assert_eq!(a.checkpoint_sha256, b.checkpoint_sha256);

    // The articles' pipeline on Breast Cancer: 569 rows, 20 % test, scaler fitted on train.
    assert_eq!(a.name, "tabular-csv");
    assert_eq!((a.split.n_train, a.split.n_test), (455, 114));
    let counts = a.split.test_class_counts.clone().unwrap();
    assert_eq!(counts.iter().sum::<usize>(), 114);
    assert_eq!(a.scaler.as_ref().unwrap().offset.len(), 30);
    assert_eq!(a.history.len(), a.manifest.epochs);
    assert!(a.history.iter().all(|e| e.metrics.contains_key("val_loss")));
    let acc = a.test_metrics["accuracy"];
    assert!(acc >= 0.95, "test accuracy {acc} < 0.95");
    for k in ["loss", "precision", "recall", "f1"] {
        assert!(a.test_metrics[k].is_finite(), "{k} missing");
    }
    assert_eq!(a.data_files.len(), 1);
    assert_eq!(a.data_files[0].sha256.len(), 64);

    // The checkpoint file's bytes are the ones hashed in results.json.
    let ckpt = std::fs::read(a_dir.join("checkpoint.gwck")).unwrap();
    assert_eq!(
        xtask::experiment::hashing::sha256_hex(&ckpt),
        a.checkpoint_sha256
    );
    for f in ["loss.svg", "accuracy.svg", "summary.md"] {
        let text = std::fs::read_to_string(a_dir.join(f)).unwrap();
        assert!(text.len() > 100, "{f} is nearly empty");
    }
    assert!(std::fs::read_to_string(a_dir.join("loss.svg"))
        .unwrap()
        .contains("<svg"));

    // verify re-runs the stored manifest and accepts it...
    let results = a_dir.join("results.json");
    let o = xtask(&["verify", "--quiet", results.to_str().unwrap()]);
    assert!(
        o.status.success(),
        "verify failed: {}",
        String::from_utf8_lossy(&o.stdout)
    );

    // ...and refuses a tampered record, naming the field.
    let text = std::fs::read_to_string(&results).unwrap();
    let tampered = text.replacen(&a.parameters_sha256, &"0".repeat(64), 1);
    let bad = tmp.path().join("tampered.json");
    std::fs::write(&bad, tampered).unwrap();
    let o = xtask(&["verify", "--quiet", bad.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("parameters_sha256"));
}

#[test]
fn thread_counts_one_and_two_agree_bitwise() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("t");
    let o = xtask(&[
        "experiment",
        "xor",
        "--quiet",
        "--threads",
        "1,2",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let one = Results::load(&out.join("threads-1/results.json")).unwrap();
    let two = Results::load(&out.join("threads-2/results.json")).unwrap();
    assert_eq!((one.environment.threads, two.environment.threads), (1, 2));
    assert_eq!(one.parameters_sha256, two.parameters_sha256);
}

#[test]
fn every_shipped_manifest_parses_and_the_list_names_them() {
    let dir = xtask::experiment::manifest::manifests_dir(&xtask::paths::workspace_root());
    let all = xtask::experiment::manifest::load_all(&dir).unwrap();
    let o = xtask(&["experiment", "--list"]);
    assert!(o.status.success());
    let list = String::from_utf8_lossy(&o.stdout);
    for m in &all {
        assert!(list.contains(&m.name), "{} not listed", m.name);
    }
    for name in [
        "tabular-csv",
        "iris",
        "xor",
        "linear-regression",
        "mnist-mlp",
        "mnist-cnn",
    ] {
        assert!(all.iter().any(|m| m.name == name), "{name} has no manifest");
    }
}

#[test]
fn unknown_manifest_keys_are_refused() {
    let path = Path::new("x.toml");
    let base = std::fs::read_to_string(
        xtask::experiment::manifest::manifests_dir(&xtask::paths::workspace_root())
            .join("xor.toml"),
    )
    .unwrap();
    assert!(xtask::experiment::manifest::Manifest::parse(&base, path).is_ok());
    let typo = base.replace("batch_size", "batchsize");
    let err = xtask::experiment::manifest::Manifest::parse(&typo, path).unwrap_err();
    assert!(err.to_string().contains("batchsize"), "{err}");
}
