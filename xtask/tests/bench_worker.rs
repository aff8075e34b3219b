//! The benchmark's processes: the gradwork worker's protocol, the synthetic data against the
//! figures the shared peer harness computed with numpy, and `bench` without PyTorch.

use std::process::Command;

use xtask::bench::data::SyntheticMnist;
use xtask::bench::protocol::{WorkerOutput, GRADWORK, MATRIXMULTIPLY, NUMPY};

const XTASK: &str = env!("CARGO_BIN_EXE_xtask");

#[test]
fn quick_gemm_worker_prints_meta_then_one_positive_figure_per_shape_and_implementation() {
    let out = Command::new(XTASK)
        .args([
            "bench-worker",
            "--workload",
            "gemm",
            "--threads",
            "1",
            "--quick",
        ])
        .env("RAYON_NUM_THREADS", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let parsed = WorkerOutput::parse(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(parsed.metas.len(), 1);
    assert_eq!(parsed.metas[0].implementation, GRADWORK);
    assert_eq!(parsed.metas[0].runtime_threads, Some(1));
    // --quick keeps the squares up to 128: two shapes, two implementations each.
    let mut seen: Vec<(String, String)> = parsed
        .measurements
        .iter()
        .map(|m| (m.case.clone(), m.implementation.clone()))
        .collect();
    seen.sort();
    let expected = [
        ("128x128x128", GRADWORK),
        ("128x128x128", MATRIXMULTIPLY),
        ("64x64x64", GRADWORK),
        ("64x64x64", MATRIXMULTIPLY),
    ];
    assert_eq!(
        seen,
        expected
            .map(|(c, i)| (c.to_string(), i.to_string()))
            .to_vec()
    );
    for m in &parsed.measurements {
        assert_eq!((m.unit.as_str(), m.threads), ("GFLOP/s", 1));
        assert!(m.value.is_finite() && m.value > 0.0, "{m:?}");
        assert!(m.samples.len() >= 3);
        let (lo, hi) = m
            .samples
            .iter()
            .fold((f64::MAX, 0.0f64), |(l, h), &v| (l.min(v), h.max(v)));
        assert!(
            lo <= m.value && m.value <= hi,
            "median outside its samples: {m:?}"
        );
    }
}

#[test]
fn worker_rejects_an_unknown_workload() {
    let out = Command::new(XTASK)
        .args(["bench-worker", "--workload", "resnet", "--quick"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("resnet"));
}

#[test]
fn synthetic_data_matches_the_numpy_generator_of_the_peer_harness() {
    // Reference from ../shared/bench/peers/results-example.txt, made by numpy: the sum of all
    // 60,000 x 784 features (printed to 3 decimals) and the label histogram.
    let fp = SyntheticMnist::generate(60_000).fingerprint();
    assert!(
        (fp.feature_sum - 23_522_815.175).abs() < 1e-3,
        "{}",
        fp.feature_sum
    );
    assert_eq!(
        fp.label_histogram,
        vec![5929, 5965, 6101, 5956, 5962, 6046, 6083, 5899, 6076, 5983]
    );
}

#[test]
fn pytorch_peer_script_generates_the_same_data_when_numpy_is_available() {
    let script = xtask::bench::python::peer_script();
    let out = Command::new(xtask::bench::python::python_from_env())
        .arg(&script)
        .args(["--fingerprint", "300"])
        .output();
    let Some(out) = out.ok().filter(|o| o.status.success()) else {
        eprintln!("skipped: no Python with numpy to run {}", script.display());
        return;
    };
    let line = String::from_utf8_lossy(&out.stdout);
    let theirs: xtask::bench::data::DataFingerprint = serde_json::from_str(line.trim()).unwrap();
    assert_eq!(theirs, SyntheticMnist::generate(300).fingerprint());
}

/// The peer script's numpy SGEMM (`--numpy`, no torch needed) speaks the worker protocol: a meta
/// line naming numpy and its BLAS, then one figure per quick shape, each the median of its
/// repetitions; and it refuses the other workloads.
#[test]
fn numpy_peer_times_sgemm_when_numpy_is_available() {
    let script = xtask::bench::python::peer_script();
    let run = |workload: &str| {
        Command::new(xtask::bench::python::python_from_env())
            .arg(&script)
            .args([
                "--workload",
                workload,
                "--numpy",
                "--threads",
                "1",
                "--quick",
            ])
            .env("OPENBLAS_NUM_THREADS", "1")
            .output()
    };
    let Some(out) = run("gemm").ok().filter(|o| o.status.success()) else {
        eprintln!("skipped: no Python with numpy to run {}", script.display());
        return;
    };
    let parsed = WorkerOutput::parse(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(parsed.metas.len(), 1);
    assert_eq!(parsed.metas[0].implementation, NUMPY);
    assert!(parsed.metas[0].versions.contains_key("numpy"));
    let cases: Vec<&str> = parsed
        .measurements
        .iter()
        .map(|m| m.case.as_str())
        .collect();
    assert_eq!(cases, ["64x64x64", "128x128x128"]);
    for m in &parsed.measurements {
        assert_eq!(
            (m.implementation.as_str(), m.unit.as_str()),
            (NUMPY, "GFLOP/s")
        );
        let (lo, hi) = m
            .samples
            .iter()
            .fold((f64::MAX, 0.0f64), |(l, h), &v| (l.min(v), h.max(v)));
        assert!(m.value > 0.0 && lo <= m.value && m.value <= hi, "{m:?}");
    }
    let refused = run("mlp").unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("SGEMM only"));
}

/// A "python" that cannot import torch: the real interpreter in isolated mode without
/// site-packages, or nothing at all if there is no python3.
fn python_without_torch(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("python-no-torch");
    std::fs::write(&path, "#!/bin/sh\nexec python3 -I -S \"$@\"\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    path
}

#[test]
fn bench_without_torch_says_how_to_get_it_and_still_reports_gradwork() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let out = Command::new(XTASK)
        .args([
            "bench",
            "--vs",
            "pytorch",
            "--threads",
            "1",
            "--workloads",
            "gemm",
            "--quick",
        ])
        .arg("--json")
        .arg(&json)
        .env("GRADWORK_BENCH_PYTHON", python_without_torch(dir.path()))
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{all}");
    assert!(all.contains("PyTorch not found: pip install torch, or set GRADWORK_BENCH_PYTHON"));
    assert!(all.contains("SGEMM Tensor::matmul"), "{all}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 4, "2 quick shapes x (matmul, sgemm)");
    for row in rows {
        assert!(row["gradwork"].as_f64().unwrap() > 0.0);
        assert!(row["pytorch"].is_null() && row["speedup"].is_null());
    }
    assert_eq!(report["pytorch"]["torch_version"], serde_json::Value::Null);
    assert_eq!(report["quick"], true);
}
