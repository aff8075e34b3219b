//! Forward values of `fixtures/ops_functional.json` (PyTorch, see fixtures/README.md): every case
//! whose op has a forward in gradwork-tensor is recomputed and compared with the case's float64
//! reference within the case's own forward tolerance. Inputs are parsed as f32, sizes and
//! hyper-parameters come from the file. Gradients are checked by gradwork-autodiff.

use gradwork_tensor::Tensor;
use serde_json::Value;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../fixtures/ops_functional.json"
);

/// Ops this file deliberately does not recompute, with the reason. Empty: every op in the file
/// has a forward here. A new op in the fixtures fails the test until it is handled or listed.
const SKIPPED_OPS: &[(&str, &str)] = &[];

fn shape_of(tensor: &Value) -> Vec<usize> {
    tensor["shape"]
        .as_array()
        .expect("shape")
        .iter()
        .map(|d| d.as_u64().expect("size") as usize)
        .collect()
}

fn numbers(tensor: &Value) -> Vec<f64> {
    tensor["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

/// An f32 tensor object: the decimals are shortest round-trip f32 values, so `as f32` is exact.
fn f32_tensor(tensor: &Value) -> Tensor {
    assert_eq!(tensor["dtype"], "f32");
    let data = numbers(tensor).into_iter().map(|x| x as f32).collect();
    Tensor::from_vec(data, &shape_of(tensor))
}

fn int(config: &Value, key: &str) -> i64 {
    config[key]
        .as_i64()
        .unwrap_or_else(|| panic!("config.{key}"))
}

fn keepdim(config: &Value) -> bool {
    config["keepdim"].as_bool().unwrap_or(false)
}

/// A case's results: float outputs by name, and integer outputs (indices) by name.
type Outputs = (Vec<(String, Tensor)>, Vec<(String, Vec<i64>)>);

/// Runs the case's op, or `None` when the op is unknown here.
fn run(case: &Value) -> Option<Outputs> {
    let op = case["op"].as_str().expect("op");
    let config = &case["config"];
    let input = f32_tensor(&case["inputs"]["input"]);
    let other = || f32_tensor(&case["inputs"]["other"]);
    let dims = || -> Option<Vec<i64>> {
        match &config["dim"] {
            Value::Null => None,
            Value::Array(list) => Some(list.iter().map(|d| d.as_i64().expect("dim")).collect()),
            d => Some(vec![d.as_i64().expect("dim")]),
        }
    };
    let one = |t: Tensor| Some((vec![("output".to_string(), t)], vec![]));
    match op {
        "relu" => one(input.relu()),
        "leaky_relu" => one(input.leaky_relu(config["negative_slope"].as_f64()? as f32)),
        "gelu" => match config["approximate"].as_str()? {
            "none" => one(input.gelu()),
            "tanh" => one(input.gelu_tanh()),
            other => panic!("gelu approximation {other:?} is not handled"),
        },
        "sigmoid" => one(input.sigmoid()),
        "tanh" => one(input.tanh()),
        "exp" => one(input.exp()),
        "log" => one(input.log()),
        "softmax" => one(input.softmax(int(config, "dim"))),
        "log_softmax" => one(input.log_softmax(int(config, "dim"))),
        "logsumexp" => one(input.logsumexp(int(config, "dim"), keepdim(config))),
        "matmul" => one(input.matmul(&other())),
        "add" => one(input.add(&other())),
        "sub" => one(input.sub(&other())),
        "mul" => one(input.mul(&other())),
        "div" => one(input.div(&other())),
        "sum" => one(match dims() {
            None => input.sum_all(),
            Some(d) if d.len() == 1 => input.sum(d[0], keepdim(config)),
            Some(d) => input.sum_axes(&d, keepdim(config)),
        }),
        "mean" => one(match dims() {
            None => input.mean_all(),
            Some(d) if d.len() == 1 => input.mean(d[0], keepdim(config)),
            Some(d) => input.mean_axes(&d, keepdim(config)),
        }),
        "var" => {
            let d = dims().expect("var over all elements is not in the fixtures");
            assert_eq!(d.len(), 1, "var over several axes is not handled");
            let correction = int(config, "correction") as usize;
            one(input.var(d[0], correction, keepdim(config)))
        }
        "max" => match dims() {
            None => one(Tensor::scalar(input.try_max_all().ok()?)),
            Some(d) => {
                let values = input.max(d[0], keepdim(config));
                let indices = input.argmax(d[0]).into_iter().map(|i| i as i64).collect();
                Some((
                    vec![("values".to_string(), values)],
                    vec![("indices".to_string(), indices)],
                ))
            }
        },
        _ => None,
    }
}

#[test]
fn functional_op_forwards_match_the_f64_reference_within_the_case_tolerance() {
    let text = std::fs::read_to_string(FIXTURE).expect("read fixtures/ops_functional.json");
    let file: Value = serde_json::from_str(&text).expect("valid JSON");
    let cases = file["cases"].as_array().expect("cases");
    assert!(!cases.is_empty());
    let mut checked = 0;
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let op = case["op"].as_str().expect("op");
        if SKIPPED_OPS.iter().any(|(skipped, _)| *skipped == op) {
            continue;
        }
        let (floats, ints) =
            run(case).unwrap_or_else(|| panic!("{name}: op {op:?} is not handled"));
        let tolerance = &case["tolerance"]["forward"];
        let rtol = tolerance["rtol"].as_f64().expect("rtol");
        let atol = tolerance["atol"].as_f64().expect("atol");
        let references = case["f64"]["outputs"].as_object().expect("f64 outputs");
        assert_eq!(
            references.len(),
            floats.len(),
            "{name}: outputs {:?}",
            references.keys()
        );
        for (output, got) in &floats {
            let want = &references[output.as_str()];
            assert_eq!(got.shape(), &shape_of(want)[..], "{name}: {output} shape");
            for (i, (&g, e)) in got.to_vec().iter().zip(numbers(want)).enumerate() {
                assert!(
                    (g as f64 - e).abs() <= atol + rtol * e.abs(),
                    "{name}: {output}[{i}] is {g}, the f64 reference is {e} (rtol {rtol}, atol {atol})"
                );
            }
        }
        for (output, got) in &ints {
            let want = &case["outputs"][output.as_str()];
            assert_eq!(want["dtype"], "i64");
            let want: Vec<i64> = want["data"]
                .as_array()
                .expect("data")
                .iter()
                .map(|x| x.as_i64().expect("integer"))
                .collect();
            assert_eq!(got, &want, "{name}: {output}");
        }
        checked += 1;
    }
    assert_eq!(checked + skipped_count(cases), cases.len());
}

fn skipped_count(cases: &[Value]) -> usize {
    cases
        .iter()
        .filter(|c| SKIPPED_OPS.iter().any(|(op, _)| c["op"] == *op))
        .count()
}
