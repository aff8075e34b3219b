//! Every case of `fixtures/ops_functional.json` and `fixtures/nn_losses.json` (PyTorch; see
//! fixtures/README.md): the inputs become graph leaves, the op runs, its outputs are compared with
//! the case's float64 reference within the case's forward tolerance, then `backward_with` the
//! case's `upstream` gradient and the input gradients are compared with the float64 gradients
//! within the backward tolerance. This checks the gradient rules against an outside oracle (and
//! so checks `grad_check`, which the property tests rely on).
//!
//! Tags: the `kink` cases hold exact zeros; relu'(0) = 0 and leaky_relu'(0) = slope are PyTorch's
//! conventions and ours, so they are compared like any other case.

use std::collections::BTreeMap;

use gradwork_autodiff::loss::{self, Reduction};
use gradwork_autodiff::{Graph, Var};
use gradwork_tensor::Tensor;
use serde_json::Value;

const OPS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../fixtures/ops_functional.json"
);
const LOSSES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/nn_losses.json");

/// Ops this test does not run, with the reason. Empty: every op in both files is handled; a new
/// op in the fixtures fails the test until it is handled or listed here.
const SKIPPED_OPS: &[(&str, &str)] = &[];

/// Differentiated inputs (in the fixtures) whose gradients are not compared, with the reason.
const CONSTANT_INPUTS: &[(&str, &str)] = &[(
    "target",
    "gradwork's losses take targets as constant tensors; torch also differentiated them",
)];

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

/// An f32 tensor object: shortest round-trip f32 decimals, so `as f32` is exact.
fn f32_tensor(tensor: &Value) -> Tensor {
    assert_eq!(tensor["dtype"], "f32");
    let data = numbers(tensor).into_iter().map(|x| x as f32).collect();
    Tensor::from_vec(data, &shape_of(tensor))
}

fn indices(tensor: &Value) -> Vec<usize> {
    assert_eq!(tensor["dtype"], "i64");
    numbers(tensor).into_iter().map(|x| x as usize).collect()
}

fn reduction(config: &Value) -> Reduction {
    match config["reduction"].as_str().expect("reduction") {
        "mean" => Reduction::Mean,
        "sum" => Reduction::Sum,
        other => panic!("unknown reduction {other}"),
    }
}

fn keepdim(config: &Value) -> bool {
    config["keepdim"].as_bool().unwrap_or(false)
}

/// The `dim` of a reduction: none (all elements), one axis, or several.
enum Dims {
    All,
    One(i64),
    Many(Vec<i64>),
}

fn dims(config: &Value) -> Dims {
    match &config["dim"] {
        Value::Null => Dims::All,
        Value::Array(list) => Dims::Many(list.iter().map(|d| d.as_i64().expect("dim")).collect()),
        d => Dims::One(d.as_i64().expect("dim")),
    }
}

/// Runs the case's op on `leaves` (the float inputs) and `case` (targets, config). Returns the
/// differentiable outputs by name, or `None` when the op is not handled here.
fn run(case: &Value, leaves: &BTreeMap<String, Var>) -> Option<Vec<(String, Var)>> {
    let op = case["op"].as_str().expect("op");
    let config = &case["config"];
    let x = &leaves["input"];
    let target = || f32_tensor(&case["inputs"]["target"]);
    let output = |v: Var| Some(vec![("output".to_string(), v)]);
    match op {
        "relu" => output(x.relu()),
        "leaky_relu" => output(x.leaky_relu(config["negative_slope"].as_f64()? as f32)),
        "gelu" => match config["approximate"].as_str()? {
            "none" => output(x.gelu()),
            "tanh" => output(x.gelu_tanh()),
            _ => None,
        },
        "sigmoid" => output(x.sigmoid()),
        "tanh" => output(x.tanh()),
        "exp" => output(x.exp()),
        "log" => output(x.ln()),
        "softmax" => output(x.softmax(config["dim"].as_i64()?)),
        "log_softmax" => output(x.log_softmax(config["dim"].as_i64()?)),
        "logsumexp" => output(x.logsumexp(config["dim"].as_i64()?, keepdim(config))),
        "matmul" => output(x.matmul(&leaves["other"])),
        "add" => output(x + &leaves["other"]),
        "sub" => output(x - &leaves["other"]),
        "mul" => output(x * &leaves["other"]),
        "div" => output(x / &leaves["other"]),
        "sum" => output(match dims(config) {
            Dims::All => x.sum_all(),
            Dims::One(d) => x.sum(d, keepdim(config)),
            Dims::Many(ds) => x.sum_axes(&ds, keepdim(config)),
        }),
        "mean" => output(match dims(config) {
            Dims::All => x.mean_all(),
            Dims::One(d) => x.mean(d, keepdim(config)),
            Dims::Many(ds) => x.mean_axes(&ds, keepdim(config)),
        }),
        "var" => {
            let correction = config["correction"].as_u64()? as usize;
            output(x.var(config["dim"].as_i64()?, correction, keepdim(config)))
        }
        "max" => match dims(config) {
            Dims::All => output(x.max_all()),
            Dims::One(d) => {
                // The indices are forward-only: compare them with torch's exactly.
                let expected = indices(&case["outputs"]["indices"]);
                assert_eq!(x.value().argmax(d), expected, "{}: indices", case["name"]);
                Some(vec![("values".to_string(), x.max(d, keepdim(config)))])
            }
            Dims::Many(_) => None,
        },
        "mse_loss" => output(loss::mse_loss(x, &target(), reduction(config))),
        "l1_loss" => output(loss::l1_loss(x, &target(), reduction(config))),
        "binary_cross_entropy" => {
            output(loss::binary_cross_entropy(x, &target(), reduction(config)))
        }
        "binary_cross_entropy_with_logits" => output(loss::binary_cross_entropy_with_logits(
            x,
            &target(),
            reduction(config),
        )),
        "cross_entropy" => match config["target"].as_str()? {
            "class_indices" => output(loss::cross_entropy_with_logits(
                x,
                &indices(&case["inputs"]["target"]),
                reduction(config),
            )),
            "probabilities" => output(loss::cross_entropy_with_probs(
                x,
                &target(),
                reduction(config),
            )),
            _ => None,
        },
        "nll_loss" => output(loss::nll_loss(
            x,
            &indices(&case["inputs"]["target"]),
            reduction(config),
        )),
        _ => None,
    }
}

/// Elementwise `|actual - expected| <= atol + rtol |expected|` (numpy's allclose), or a message
/// naming the worst element.
fn compare(what: &str, actual: &Tensor, expected: &Value, tolerance: &Value) -> Result<(), String> {
    let (rtol, atol) = (
        tolerance["rtol"].as_f64().expect("rtol"),
        tolerance["atol"].as_f64().expect("atol"),
    );
    if actual.shape() != shape_of(expected).as_slice() {
        return Err(format!(
            "{what}: shape {:?}, expected {:?}",
            actual.shape(),
            shape_of(expected)
        ));
    }
    for (i, (a, e)) in actual.to_vec().iter().zip(numbers(expected)).enumerate() {
        let a = *a as f64;
        if (a - e).abs() > atol + rtol * e.abs() || !a.is_finite() {
            return Err(format!(
                "{what}: element {i} is {a}, expected {e} (rtol {rtol}, atol {atol})"
            ));
        }
    }
    Ok(())
}

/// Runs one case; `Ok(false)` when its op is in the skip list.
fn check_case(case: &Value) -> Result<bool, String> {
    let name = case["name"].as_str().expect("name");
    let op = case["op"].as_str().expect("op");
    if SKIPPED_OPS.iter().any(|(skipped, _)| *skipped == op) {
        return Ok(false);
    }
    let graph = Graph::new();
    let expected_grads = case["f64"]["grads"]["inputs"].as_object().expect("grads");
    let mut leaves = BTreeMap::new();
    for (input, tensor) in case["inputs"].as_object().expect("inputs") {
        let constant = CONSTANT_INPUTS.iter().any(|(c, _)| c == input);
        if tensor["dtype"] == "f32" && !constant {
            leaves.insert(input.clone(), graph.leaf(f32_tensor(tensor)));
        }
    }
    for input in expected_grads.keys() {
        let known = leaves.contains_key(input) || CONSTANT_INPUTS.iter().any(|(c, _)| c == input);
        if !known {
            return Err(format!("{name}: a gradient for unknown input {input}"));
        }
    }
    let outputs = run(case, &leaves).ok_or_else(|| format!("{name}: op {op} is not handled"))?;
    let tolerance = &case["tolerance"];
    for (output, var) in &outputs {
        let expected = &case["f64"]["outputs"][output.as_str()];
        compare(
            &format!("{name} {output}"),
            var.value(),
            expected,
            &tolerance["forward"],
        )?;
    }
    let upstream = case["upstream"].as_object().expect("upstream");
    if upstream.len() != 1 {
        return Err(format!(
            "{name}: {} upstream tensors; one was expected",
            upstream.len()
        ));
    }
    let (output, seed) = upstream.iter().next().expect("one upstream");
    let root = &outputs
        .iter()
        .find(|(o, _)| o == output)
        .ok_or_else(|| format!("{name}: no output {output} for the upstream gradient"))?
        .1;
    let grads = graph
        .backward_with(root, f32_tensor(seed))
        .map_err(|e| format!("{name}: {e}"))?;
    for (input, leaf) in &leaves {
        let expected = &expected_grads[input.as_str()];
        let actual = grads.get_or_zeros(leaf);
        compare(
            &format!("{name} d/d{input}"),
            &actual,
            expected,
            &tolerance["backward"],
        )?;
    }
    Ok(true)
}

fn check_file(path: &str) -> usize {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let file: Value = serde_json::from_str(&text).expect("fixture JSON");
    let cases = file["cases"].as_array().expect("cases");
    assert!(!cases.is_empty(), "{path} has no cases");
    let mut failures = Vec::new();
    let mut checked = 0;
    for case in cases {
        match check_case(case) {
            Ok(true) => checked += 1,
            Ok(false) => {}
            Err(message) => failures.push(message),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert_eq!(checked + skipped_in(cases), cases.len());
    checked
}

fn skipped_in(cases: &[Value]) -> usize {
    cases
        .iter()
        .filter(|c| SKIPPED_OPS.iter().any(|(op, _)| c["op"] == *op))
        .count()
}

#[test]
fn every_functional_op_matches_pytorch_forward_and_backward() {
    let checked = check_file(OPS);
    assert!(checked > 0);
}

#[test]
fn every_loss_matches_pytorch_forward_and_backward() {
    let checked = check_file(LOSSES);
    assert!(checked > 0);
}

#[test]
fn the_fixtures_hold_kink_and_large_magnitude_cases_and_they_pass() {
    // The conventions the module docs state are exercised, not skipped.
    let text = std::fs::read_to_string(OPS).expect("fixture");
    let file: Value = serde_json::from_str(&text).expect("JSON");
    let tagged: Vec<&Value> = file["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .filter(|c| {
            c["tags"]
                .as_array()
                .is_some_and(|t| t.iter().any(|t| t == "kink" || t == "large_magnitude"))
        })
        .collect();
    assert!(!tagged.is_empty());
    for case in tagged {
        assert_eq!(check_case(case), Ok(true), "{}", case["name"]);
    }
}
