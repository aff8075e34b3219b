//! conv2d, max_pool2d and avg_pool2d (forward and backward kernels) against PyTorch's reference
//! values in `fixtures/nn_conv2d.json` and `fixtures/nn_pool2d.json`.
//!
//! Each case is checked against its float64 reference with the case's own tolerance; every size
//! and hyper-parameter is read from the file. The backward fixtures define
//! `loss = sum(output * upstream)`, so the gradients are the backward kernels applied to `upstream`.

use gradwork_tensor::{Conv2dOptions, Pool2dOptions, Tensor};
use serde_json::Value;

const CONV_FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/nn_conv2d.json");
const POOL_FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/nn_pool2d.json");

fn load(path: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    let file: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {path}: {e}"));
    let cases = file["cases"].as_array().expect("a `cases` array").clone();
    assert!(!cases.is_empty(), "{path} holds no cases");
    cases
}

fn shape_of(t: &Value) -> Vec<usize> {
    t["shape"]
        .as_array()
        .expect("a tensor shape")
        .iter()
        .map(|d| d.as_u64().expect("a dimension") as usize)
        .collect()
}

/// An f32 fixture tensor, each value parsed as f32 (the shortest round-trip decimal of an f32).
fn f32_tensor(t: &Value) -> Tensor {
    assert_eq!(t["dtype"], "f32", "expected an f32 tensor");
    let data: Vec<f32> = t["data"]
        .as_array()
        .expect("tensor data")
        .iter()
        .map(|v| v.as_f64().expect("a number") as f32)
        .collect();
    Tensor::from_vec(data, &shape_of(t))
}

fn numbers(t: &Value) -> Vec<f64> {
    t["data"]
        .as_array()
        .expect("tensor data")
        .iter()
        .map(|v| v.as_f64().expect("a number"))
        .collect()
}

fn pair(v: &Value) -> (usize, usize) {
    let a = v.as_array().expect("an [h, w] pair");
    (
        a[0].as_u64().unwrap() as usize,
        a[1].as_u64().unwrap() as usize,
    )
}

/// NumPy's allclose, elementwise, with the tolerance object `{rtol, atol}`.
fn assert_close(case: &str, what: &str, actual: &Tensor, expected: &Value, tolerance: &Value) {
    let (rtol, atol) = (
        tolerance["rtol"].as_f64().unwrap(),
        tolerance["atol"].as_f64().unwrap(),
    );
    assert_eq!(actual.shape(), shape_of(expected), "{case}: {what} shape");
    for (i, (a, e)) in actual.to_vec().iter().zip(numbers(expected)).enumerate() {
        let a = *a as f64;
        assert!(
            (a - e).abs() <= atol + rtol * e.abs(),
            "{case}: {what}[{i}] = {a}, expected {e} (rtol {rtol}, atol {atol})"
        );
    }
}

#[test]
fn conv2d_forward_and_gradients_match_pytorch_float64_references() {
    let cases = load(CONV_FIXTURES);
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        assert_eq!(case["op"], "Conv2d", "{name}");
        let config = &case["config"];
        assert_eq!(
            config["padding_mode"], "zeros",
            "{name}: only zero padding exists"
        );
        let options = Conv2dOptions {
            stride: pair(&config["stride"]),
            padding: pair(&config["padding"]),
            dilation: pair(&config["dilation"]),
            groups: config["groups"].as_u64().unwrap() as usize,
        };
        let input = f32_tensor(&case["inputs"]["input"]);
        let weight = f32_tensor(&case["params"]["weight"]);
        assert_eq!(
            (weight.shape()[2], weight.shape()[3]),
            pair(&config["kernel_size"]),
            "{name}: weight shape vs kernel_size"
        );
        let has_bias = config["bias"].as_bool().unwrap();
        let bias = has_bias.then(|| f32_tensor(&case["params"]["bias"]));
        let (fwd, bwd) = (
            &case["tolerance"]["forward"],
            &case["tolerance"]["backward"],
        );
        let reference = &case["f64"];

        let output = input.conv2d(&weight, bias.as_ref(), &options);
        assert_close(
            name,
            "output",
            &output,
            &reference["outputs"]["output"],
            fwd,
        );

        let upstream = f32_tensor(&case["upstream"]["output"]);
        let grads = &reference["grads"];
        let grad_input = Tensor::conv2d_backward_input(&upstream, &weight, input.shape(), &options);
        assert_close(
            name,
            "grad input",
            &grad_input,
            &grads["inputs"]["input"],
            bwd,
        );
        let grad_weight =
            Tensor::conv2d_backward_weight(&upstream, &input, weight.shape(), &options);
        assert_close(
            name,
            "grad weight",
            &grad_weight,
            &grads["params"]["weight"],
            bwd,
        );
        if has_bias {
            let grad_bias = Tensor::try_conv2d_backward_bias(&upstream).unwrap();
            assert_close(name, "grad bias", &grad_bias, &grads["params"]["bias"], bwd);
        }
    }
}

#[test]
fn pooling_outputs_indices_and_gradients_match_pytorch_float64_references() {
    let cases = load(POOL_FIXTURES);
    let (mut max_cases, mut avg_cases) = (0, 0);
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let config = &case["config"];
        assert_eq!(config["ceil_mode"], false, "{name}: only floor mode exists");
        let mut options = Pool2dOptions::new(pair(&config["kernel_size"]))
            .with_stride(pair(&config["stride"]))
            .with_padding(pair(&config["padding"]));
        let input = f32_tensor(&case["inputs"]["input"]);
        let upstream = f32_tensor(&case["upstream"]["output"]);
        let (fwd, bwd) = (
            &case["tolerance"]["forward"],
            &case["tolerance"]["backward"],
        );
        let reference = &case["f64"];
        let expected_grad = &reference["grads"]["inputs"]["input"];
        match case["op"].as_str().unwrap() {
            "MaxPool2d" => {
                max_cases += 1;
                assert_eq!(pair(&config["dilation"]), (1, 1), "{name}: dilation 1 only");
                let (output, indices) = input.max_pool2d_with_indices(&options);
                assert_close(
                    name,
                    "output",
                    &output,
                    &reference["outputs"]["output"],
                    fwd,
                );
                let expected_indices: Vec<usize> = case["outputs"]["indices"]["data"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| i.as_u64().unwrap() as usize)
                    .collect();
                assert_eq!(indices, expected_indices, "{name}: indices");
                let grad = Tensor::max_pool2d_backward(&upstream, &indices, input.shape());
                assert_close(name, "grad input", &grad, expected_grad, bwd);
            }
            "AvgPool2d" => {
                avg_cases += 1;
                assert!(
                    config["divisor_override"].is_null(),
                    "{name}: no divisor_override"
                );
                options.count_include_pad = config["count_include_pad"].as_bool().unwrap();
                let output = input.avg_pool2d(&options);
                assert_close(
                    name,
                    "output",
                    &output,
                    &reference["outputs"]["output"],
                    fwd,
                );
                let grad = Tensor::avg_pool2d_backward(&upstream, input.shape(), &options);
                assert_close(name, "grad input", &grad, expected_grad, bwd);
            }
            other => panic!("{name}: unexpected op {other}"),
        }
    }
    assert!(
        max_cases > 0 && avg_cases > 0,
        "both pool kinds must be covered"
    );
}
