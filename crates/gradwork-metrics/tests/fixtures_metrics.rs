//! Every case of `fixtures/metrics.json` (scikit-learn 1.9.1 reference values) against gradwork.

use gradwork_metrics::*;
use gradwork_tensor::Tensor;
use serde_json::Value;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/metrics.json");

fn cases() -> Vec<Value> {
    let text = std::fs::read_to_string(FIXTURE).expect("fixtures/metrics.json is in the repo");
    let root: Value = serde_json::from_str(&text).expect("valid JSON");
    root["cases"].as_array().expect("cases array").clone()
}

/// `|actual - expected| <= 1e-12 * |expected| + 1e-15` (1e-15 absorbs expected exact zeros).
fn assert_close(actual: f64, expected: f64, what: &str) {
    assert!(
        (actual - expected).abs() <= 1e-12 * expected.abs() + 1e-15,
        "{what}: got {actual:e}, expected {expected:e}"
    );
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

fn usizes(v: &Value) -> Vec<usize> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_u64().expect("integer") as usize)
        .collect()
}

/// A fixture tensor object as f64 values and its shape; f32 data is parsed as f32 first.
fn tensor(v: &Value) -> (Vec<f64>, Vec<usize>) {
    let shape = usizes(&v["shape"]);
    let data = f64s(&v["data"]);
    let data = match v["dtype"].as_str() {
        Some("f32") => data.into_iter().map(|x| f64::from(x as f32)).collect(),
        _ => data,
    };
    (data, shape)
}

fn check_classification(case: &Value, name: &str) {
    let y_true = usizes(&case["y_true"]);
    let y_pred = usizes(&case["y_pred"]);
    let r = &case["results"];
    let labels = usizes(&r["labels"]);
    assert_eq!(
        case["zero_division"].as_f64(),
        Some(0.0),
        "{name}: fixture convention"
    );
    let options = PrfOptions {
        labels: Labels::Explicit(labels.clone()),
        zero_division: ZeroDivision::Zero,
    };

    assert_close(
        accuracy(&y_true, &y_pred).unwrap(),
        r["accuracy"].as_f64().unwrap(),
        name,
    );
    assert_eq!(
        accuracy_count(&y_true, &y_pred).unwrap() as f64,
        r["accuracy_count"].as_f64().unwrap(),
        "{name}: accuracy_count"
    );

    let cm = confusion_matrix(&y_true, &y_pred, &options.labels).unwrap();
    let expected_rows: Vec<Vec<u64>> = r["confusion_matrix"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| usizes(row).into_iter().map(|c| c as u64).collect())
        .collect();
    assert_eq!(cm.rows(), expected_rows, "{name}: confusion matrix");
    assert_eq!(cm.labels(), labels.as_slice(), "{name}: labels");

    let per = per_class_scores(&y_true, &y_pred, &options).unwrap();
    let pc = &r["per_class"];
    for (key, got) in [
        ("precision", &per.precision),
        ("recall", &per.recall),
        ("f1", &per.f1),
    ] {
        let expected = f64s(&pc[key]);
        assert_eq!(got.len(), expected.len(), "{name}: per_class {key} length");
        for (g, e) in got.iter().zip(&expected) {
            assert_close(*g, *e, &format!("{name}: per_class {key}"));
        }
    }
    let support: Vec<u64> = usizes(&pc["support"])
        .into_iter()
        .map(|s| s as u64)
        .collect();
    assert_eq!(per.support, support, "{name}: support");

    let mut averages = vec![
        ("macro", Average::Macro),
        ("micro", Average::Micro),
        ("weighted", Average::Weighted),
    ];
    if r.get("binary").is_some() {
        averages.push(("binary", Average::Binary { pos_label: 1 }));
    }
    for (key, average) in averages {
        let got = precision_recall_f1(&y_true, &y_pred, average, &options).unwrap();
        let e = &r[key];
        assert_close(
            got.precision,
            e["precision"].as_f64().unwrap(),
            &format!("{name}: {key} precision"),
        );
        assert_close(
            got.recall,
            e["recall"].as_f64().unwrap(),
            &format!("{name}: {key} recall"),
        );
        assert_close(
            got.f1,
            e["f1"].as_f64().unwrap(),
            &format!("{name}: {key} f1"),
        );
        // Streaming in two uneven batches gives the same bits as the one-shot function.
        let mut streaming = ConfusionMetric::f1(average, options.labels.clone()).unwrap();
        let cut = y_true.len() / 3;
        streaming
            .update(&Batch::Labels {
                y_true: &y_true[..cut],
                y_pred: &y_pred[..cut],
            })
            .unwrap();
        streaming
            .update(&Batch::Labels {
                y_true: &y_true[cut..],
                y_pred: &y_pred[cut..],
            })
            .unwrap();
        assert_eq!(
            streaming.compute().unwrap(),
            got.f1,
            "{name}: streaming {key} f1"
        );
    }

    // Where the union of both vectors is the fixture's label list, inferred labels agree too.
    let inferred = confusion_matrix(&y_true, &y_pred, &Labels::Inferred).unwrap();
    if inferred.labels() == labels.as_slice() {
        let got =
            precision_recall_f1(&y_true, &y_pred, Average::Macro, &PrfOptions::default()).unwrap();
        assert_close(
            got.f1,
            r["macro"]["f1"].as_f64().unwrap(),
            &format!("{name}: inferred macro f1"),
        );
    } else {
        assert!(
            name.contains("label_absent_everywhere"),
            "{name}: unexpected label mismatch"
        );
    }
}

fn check_roc_auc(case: &Value, name: &str) {
    let y_true = usizes(&case["y_true"]);
    let scores = f64s(&case["y_score"]);
    let got = roc_auc(&y_true, &scores);
    match case["value"].as_f64() {
        None => assert!(
            matches!(got, Err(MetricsError::SingleClass { .. })),
            "{name}: scikit-learn gives NaN, gradwork must give SingleClass, got {got:?}"
        ),
        Some(expected) => {
            assert_close(got.unwrap(), expected, name);
            // The scores are f32 values, so the f32 path and the tensor path give the same area.
            let scores32: Vec<f32> = scores.iter().map(|&s| s as f32).collect();
            assert_close(roc_auc(&y_true, &scores32).unwrap(), expected, name);
            let t = Tensor::from_vec(scores32, &[scores.len()]);
            assert_close(roc_auc_from_scores(&y_true, &t).unwrap(), expected, name);
        }
    }
}

fn check_log_loss(case: &Value, name: &str) {
    let y_true = usizes(&case["y_true"]);
    let labels = usizes(&case["labels"]);
    let expected = case["value"].as_f64().unwrap();
    if case.get("y_prob").is_some() {
        let (probs, shape) = tensor(&case["y_prob"]);
        assert_eq!(shape, vec![y_true.len(), labels.len()], "{name}: shape");
        let c = labels.len();
        assert_close(
            log_loss(&y_true, &probs, c, Reduction::Mean).unwrap(),
            expected,
            name,
        );
        if let Some(sum) = case["value_sum"].as_f64() {
            assert_close(
                log_loss(&y_true, &probs, c, Reduction::Sum).unwrap(),
                sum,
                name,
            );
        }
    } else {
        let p = f64s(&case["y_prob_positive"]);
        assert_eq!(labels, vec![0, 1], "{name}: binary labels");
        assert_close(
            binary_log_loss(&y_true, &p, Reduction::Mean).unwrap(),
            expected,
            name,
        );
        // The same values as a [n, 2] matrix (1 - p, p) give the same loss.
        let matrix: Vec<f64> = p.iter().flat_map(|&q| [1.0 - q, q]).collect();
        assert_close(
            log_loss(&y_true, &matrix, 2, Reduction::Mean).unwrap(),
            expected,
            name,
        );
    }
}

fn check_regression(case: &Value, name: &str) {
    let (y_true, shape) = tensor(&case["y_true"]);
    let (y_pred, pred_shape) = tensor(&case["y_pred"]);
    assert_eq!(shape, pred_shape, "{name}: shapes");
    let outputs = if shape.len() == 2 { shape[1] } else { 1 };
    let v = &case["values"];
    let s = RegressionScores::compute(&y_true, &y_pred, outputs).unwrap();
    assert_close(
        s.mse,
        v["mean_squared_error"].as_f64().unwrap(),
        &format!("{name}: mse"),
    );
    assert_close(
        s.mae,
        v["mean_absolute_error"].as_f64().unwrap(),
        &format!("{name}: mae"),
    );
    assert_close(
        s.rmse,
        v["root_mean_squared_error"].as_f64().unwrap(),
        &format!("{name}: rmse"),
    );
    assert_close(
        s.r2,
        v["r2_score"].as_f64().unwrap(),
        &format!("{name}: r2"),
    );
    for (key, got) in [
        ("r2_score_raw_values", &s.r2_per_output),
        ("mean_squared_error_raw_values", &s.mse_per_output),
    ] {
        if let Some(raw) = v.get(key) {
            let expected = f64s(raw);
            assert_eq!(got.len(), expected.len(), "{name}: {key}");
            for (g, e) in got.iter().zip(&expected) {
                assert_close(*g, *e, &format!("{name}: {key}"));
            }
        }
    }
    if let Some(perfect) = v.get("r2_score_perfect") {
        let p = RegressionScores::compute(&y_true, &y_true, outputs).unwrap();
        assert_eq!(
            p.r2,
            perfect.as_f64().unwrap(),
            "{name}: r2 of a perfect prediction"
        );
    }
    if outputs == 1 {
        assert_close(mean_squared_error(&y_true, &y_pred).unwrap(), s.mse, name);
        assert_close(mean_absolute_error(&y_true, &y_pred).unwrap(), s.mae, name);
        assert_close(
            root_mean_squared_error(&y_true, &y_pred).unwrap(),
            s.rmse,
            name,
        );
        assert_close(r2_score(&y_true, &y_pred).unwrap(), s.r2, name);
    }
}

fn check_top_k(case: &Value, name: &str) {
    let y_true = usizes(&case["y_true"]);
    let (scores, shape) = tensor(&case["y_score"]);
    let c = usizes(&case["labels"]).len();
    assert_eq!(shape, vec![y_true.len(), c], "{name}: shape");
    let by_k = case["values_by_k"].as_object().unwrap();
    assert!(!by_k.is_empty(), "{name}: no k values");
    for (k, expected) in by_k {
        let k: usize = k.parse().unwrap();
        let got = top_k_accuracy(&y_true, &scores, c, k).unwrap();
        assert_close(got, expected.as_f64().unwrap(), &format!("{name}: k={k}"));
        let count = case["values_by_k_count"][k.to_string()].as_f64().unwrap();
        assert_eq!(
            top_k_accuracy_count(&y_true, &scores, c, k).unwrap() as f64,
            count,
            "{name}: k={k}"
        );
        let t = Tensor::from_vec(scores.iter().map(|&s| s as f32).collect(), &shape);
        assert_close(
            top_k_accuracy_from_scores(&y_true, &t, k).unwrap(),
            got,
            name,
        );
    }
}

#[test]
fn every_metrics_fixture_case_matches_scikit_learn() {
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for case in cases() {
        let name = case["name"].as_str().unwrap().to_string();
        let metric = case["metric"].as_str().unwrap().to_string();
        match metric.as_str() {
            "classification" => check_classification(&case, &name),
            "roc_auc_score" => check_roc_auc(&case, &name),
            "log_loss" => check_log_loss(&case, &name),
            "regression" => check_regression(&case, &name),
            "top_k_accuracy_score" => check_top_k(&case, &name),
            other => panic!("{name}: unknown metric kind {other}"),
        }
        *counts.entry(metric).or_default() += 1;
    }
    for kind in [
        "classification",
        "roc_auc_score",
        "log_loss",
        "regression",
        "top_k_accuracy_score",
    ] {
        assert!(
            counts.get(kind).copied().unwrap_or(0) > 0,
            "no {kind} cases were checked"
        );
    }
}

#[test]
fn fixture_edge_cases_are_present() {
    // The edge cases the conventions hinge on must be in the file, or the test above proves little.
    let names: Vec<String> = cases()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    for needle in [
        "label_absent_everywhere",
        "roc_auc/ties",
        "roc_auc/one_class",
        "binary_clipped",
        "constant_target",
        "top_k_accuracy/ties",
        "2d_uniform_average",
    ] {
        assert!(
            names.iter().any(|n| n.contains(needle)),
            "no fixture case named *{needle}*"
        );
    }
}
