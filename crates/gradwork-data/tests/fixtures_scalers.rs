//! Fitted attributes and transforms of StandardScaler and MinMaxScaler against scikit-learn 1.9.1
//! (fixtures/data_scalers.json), each within its case's tolerance.

use gradwork_data::{MinMaxScaler, StandardScaler};
use gradwork_tensor::Tensor;
use serde_json::Value;

fn fixture() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/data_scalers.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture file")).expect("valid JSON")
}

fn f64s(t: &Value) -> Vec<f64> {
    t["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// The stored values are exactly representable in f32, so the cast is exact.
fn tensor(t: &Value) -> Tensor {
    let shape: Vec<usize> = t["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect();
    Tensor::from_vec(f64s(t).iter().map(|&x| x as f32).collect(), &shape)
}

fn assert_close(name: &str, what: &str, got: &[f64], expected: &[f64], rtol: f64, atol: f64) {
    assert_eq!(got.len(), expected.len(), "{name} {what}: length");
    for (k, (g, e)) in got.iter().zip(expected).enumerate() {
        assert!(
            (g - e).abs() <= atol + rtol * e.abs(),
            "{name} {what}[{k}]: got {g}, expected {e}"
        );
    }
}

fn as_f64(t: &Tensor) -> Vec<f64> {
    t.to_vec().iter().map(|&x| x as f64).collect()
}

#[test]
fn scalers_match_sklearn_fitted_attributes_and_transforms() {
    let all = fixture();
    let cases = all["cases"].as_array().unwrap();
    assert!(!cases.is_empty());
    let (mut standard, mut minmax) = (0, 0);
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let (rtol, atol) = (
            c["tolerance"]["rtol"].as_f64().unwrap(),
            c["tolerance"]["atol"].as_f64().unwrap(),
        );
        // Fitted statistics are f64 in both implementations: compare them tightly.
        let (frtol, fatol) = (1e-9, 1e-9);
        let x_train = tensor(&c["X_train"]);
        let x_test = tensor(&c["X_test"]);
        let fitted = &c["fitted"];
        let (train_t, test_t) = match c["scaler"].as_str().unwrap() {
            "StandardScaler" => {
                standard += 1;
                let config = StandardScaler {
                    with_mean: c["config"]["with_mean"].as_bool().unwrap(),
                    with_std: c["config"]["with_std"].as_bool().unwrap(),
                };
                let s = config.fit(&x_train).unwrap();
                assert_close(
                    name,
                    "mean_",
                    &s.mean,
                    &f64s(&fitted["mean_"]),
                    frtol,
                    fatol,
                );
                assert_close(name, "var_", &s.var, &f64s(&fitted["var_"]), frtol, fatol);
                assert_close(
                    name,
                    "scale_",
                    &s.scale,
                    &f64s(&fitted["scale_"]),
                    frtol,
                    fatol,
                );
                assert_eq!(
                    s.n_samples_seen as u64,
                    fitted["n_samples_seen_"].as_u64().unwrap()
                );
                let test_t = s.transform(&x_test).unwrap();
                if let Some(round) = c.get("test_inverse_roundtrip") {
                    let back = s.inverse_transform(&test_t).unwrap();
                    assert_close(name, "inverse", &as_f64(&back), &f64s(round), rtol, atol);
                }
                (s.transform(&x_train).unwrap(), test_t)
            }
            "MinMaxScaler" => {
                minmax += 1;
                let range = c["config"]["feature_range"].as_array().unwrap();
                let config = MinMaxScaler {
                    feature_range: (range[0].as_f64().unwrap(), range[1].as_f64().unwrap()),
                };
                let s = config.fit(&x_train).unwrap();
                for (attr, got) in [
                    ("data_min_", &s.data_min),
                    ("data_max_", &s.data_max),
                    ("data_range_", &s.data_range),
                    ("scale_", &s.scale),
                    ("min_", &s.min),
                ] {
                    assert_close(name, attr, got, &f64s(&fitted[attr]), frtol, fatol);
                }
                (
                    s.transform(&x_train).unwrap(),
                    s.transform(&x_test).unwrap(),
                )
            }
            other => panic!("unknown scaler {other}"),
        };
        assert_close(
            name,
            "train_transformed",
            &as_f64(&train_t),
            &f64s(&c["train_transformed"]),
            rtol,
            atol,
        );
        assert_close(
            name,
            "test_transformed",
            &as_f64(&test_t),
            &f64s(&c["test_transformed"]),
            rtol,
            atol,
        );
    }
    assert!(standard > 0 && minmax > 0);
}
