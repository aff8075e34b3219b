//! Every case of the PyTorch layer fixtures (`fixtures/nn_*.json`): parameters and buffers are
//! loaded by their state_dict names, the forward pass runs in the case's mode, outputs are
//! compared with the float64 reference at the case's tolerance, then `backward_with` the
//! case's upstream gradient, and the gradients of the input and of every parameter are
//! compared too (plus running statistics after the pass, and max-pool indices).

use gradwork_autodiff::{Graph, Var};
use gradwork_nn::layers::{
    AvgPool2d, BatchNorm1d, BatchNorm2d, Conv2dConfig, Embedding, LayerNorm, Linear, MaxPool2d,
};
use gradwork_nn::{Ctx, Module, StateDict};
use gradwork_tensor::{Rng, Tensor};
use serde_json::Value;

fn load(file: &str) -> Vec<Value> {
    let path = format!("{}/../../fixtures/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let json: Value = serde_json::from_str(&text).unwrap();
    json["cases"].as_array().expect("cases").clone()
}

fn shape(t: &Value) -> Vec<usize> {
    t["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect()
}

/// An f32 (or i64) fixture tensor, parsed as f32: the decimals round-trip exactly.
fn tensor(t: &Value) -> Tensor {
    let data: Vec<f32> = t["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect();
    Tensor::from_vec(data, &shape(t))
}

fn f64s(t: &Value) -> Vec<f64> {
    t["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn usizes(t: &Value) -> Vec<usize> {
    t["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

fn pair(v: &Value) -> (usize, usize) {
    let a = v.as_array().unwrap();
    (
        a[0].as_u64().unwrap() as usize,
        a[1].as_u64().unwrap() as usize,
    )
}

fn tolerance(case: &Value, which: &str) -> (f64, f64) {
    let t = &case["tolerance"][which];
    (t["rtol"].as_f64().unwrap(), t["atol"].as_f64().unwrap())
}

fn assert_close(what: &str, actual: &Tensor, expected: &Value, (rtol, atol): (f64, f64)) {
    assert_eq!(actual.shape(), shape(expected).as_slice(), "{what}: shape");
    for (i, (a, e)) in actual.to_vec().iter().zip(f64s(expected)).enumerate() {
        let err = (*a as f64 - e).abs();
        assert!(
            err <= atol + rtol * e.abs(),
            "{what}[{i}]: got {a}, expected {e} (|diff| {err:e}, rtol {rtol}, atol {atol})"
        );
    }
}

fn build(case: &Value) -> Box<dyn Module> {
    let c = &case["config"];
    let int = |k: &str| c[k].as_u64().unwrap() as usize;
    let op = case["op"].as_str().unwrap();
    let mut rng = Rng::seed_from(0);
    match op {
        "Linear" if c["bias"].as_bool().unwrap() => Box::new(Linear::new(
            int("in_features"),
            int("out_features"),
            &mut rng,
        )),
        "Linear" => Box::new(Linear::without_bias(
            int("in_features"),
            int("out_features"),
            &mut rng,
        )),
        "Conv2d" => {
            assert_eq!(c["padding_mode"], "zeros");
            let config = Conv2dConfig::new(
                int("in_channels"),
                int("out_channels"),
                pair(&c["kernel_size"]),
            )
            .with_stride(pair(&c["stride"]))
            .with_padding(pair(&c["padding"]))
            .with_dilation(pair(&c["dilation"]))
            .with_groups(int("groups"))
            .with_bias(c["bias"].as_bool().unwrap());
            Box::new(config.init(&mut rng).unwrap())
        }
        "MaxPool2d" => {
            assert_eq!(pair(&c["dilation"]), (1, 1));
            assert_eq!(c["ceil_mode"], false);
            Box::new(
                MaxPool2d::new(pair(&c["kernel_size"]))
                    .with_stride(pair(&c["stride"]))
                    .with_padding(pair(&c["padding"])),
            )
        }
        "AvgPool2d" => {
            assert_eq!(c["ceil_mode"], false);
            assert!(c["divisor_override"].is_null());
            Box::new(
                AvgPool2d::new(pair(&c["kernel_size"]))
                    .with_stride(pair(&c["stride"]))
                    .with_padding(pair(&c["padding"]))
                    .with_count_include_pad(c["count_include_pad"].as_bool().unwrap()),
            )
        }
        "Embedding" => {
            assert!(c["padding_idx"].is_null() && c["max_norm"].is_null());
            Box::new(Embedding::new(
                int("num_embeddings"),
                int("embedding_dim"),
                &mut rng,
            ))
        }
        "LayerNorm" => {
            let dims = c["normalized_shape"].as_array().unwrap();
            assert_eq!(dims.len(), 1, "normalised over the last axis only");
            let mut norm = LayerNorm::new(dims[0].as_u64().unwrap() as usize);
            norm.eps = c["eps"].as_f64().unwrap() as f32;
            Box::new(norm)
        }
        "BatchNorm1d" | "BatchNorm2d" => {
            let channels = int("num_features");
            let (eps, momentum) = (c["eps"].as_f64().unwrap(), c["momentum"].as_f64().unwrap());
            if op == "BatchNorm1d" {
                let mut bn = BatchNorm1d::new(channels);
                (bn.state.eps, bn.state.momentum) = (eps as f32, momentum as f32);
                Box::new(bn)
            } else {
                let mut bn = BatchNorm2d::new(channels);
                (bn.state.eps, bn.state.momentum) = (eps as f32, momentum as f32);
                Box::new(bn)
            }
        }
        other => panic!("no layer for op {other}"),
    }
}

/// Runs one case end to end; returns how many tensors were compared.
fn run_case(case: &Value) -> usize {
    let name = case["name"].as_str().unwrap();
    let mut model = build(case);
    let mut state = StateDict::new();
    for section in ["params", "buffers"] {
        if let Some(entries) = case[section].as_object() {
            for (key, value) in entries {
                state.insert(key, tensor(value));
            }
        }
    }
    // Strict: the layer's names and shapes must be exactly PyTorch's.
    model
        .load_state_dict(&state, true)
        .unwrap_or_else(|e| panic!("{name}: {e}"));

    let graph = Graph::new();
    let training = case["mode"] == "train";
    let mut cx = Ctx::new(Some(&graph), training, Rng::seed_from(0));
    let inputs = case["inputs"].as_object().unwrap();
    let (output, input_leaf) = if let Some(indices) = inputs.get("indices") {
        // The Module entry point: the ids as f32 in a constant.
        let ids = Var::constant(tensor(indices));
        (model.forward(&mut cx, &ids).unwrap(), None)
    } else {
        let x = graph.leaf(tensor(&inputs["input"]));
        (model.forward(&mut cx, &x).unwrap(), Some(x))
    };
    let mut compared = 0;
    let reference = &case["f64"];
    let forward_tol = tolerance(case, "forward");
    assert_close(
        &format!("{name} output"),
        output.value(),
        &reference["outputs"]["output"],
        forward_tol,
    );
    compared += 1;
    let upstream = tensor(&case["upstream"]["output"]);
    let grads = graph.backward_with(&output, upstream).unwrap();
    let backward_tol = tolerance(case, "backward");
    if let Some(x) = &input_leaf {
        let expected = &reference["grads"]["inputs"]["input"];
        assert_close(
            &format!("{name} d input"),
            &grads.get_or_zeros(x),
            expected,
            backward_tol,
        );
        compared += 1;
    }
    let param_grads = cx.param_grads(&grads);
    let expected_params = reference["grads"]["params"].as_object().unwrap();
    let mut seen = 0;
    model.visit_params("", &mut |path, p| {
        let expected = expected_params
            .get(path)
            .unwrap_or_else(|| panic!("{name}: no reference gradient for {path}"));
        let got = param_grads
            .get(p)
            .unwrap_or_else(|| panic!("{name}: {path} got no gradient"));
        assert_close(&format!("{name} d {path}"), got, expected, backward_tol);
        seen += 1;
    });
    assert_eq!(
        seen,
        expected_params.len(),
        "{name}: every parameter checked"
    );
    compared += seen;

    if let Some(after) = reference.get("buffers_after").and_then(Value::as_object) {
        let state = model.state_dict();
        for (key, expected) in after {
            let got = state
                .get(key)
                .unwrap_or_else(|| panic!("{name}: no buffer {key}"));
            assert_close(&format!("{name} {key} after"), got, expected, forward_tol);
            compared += 1;
        }
        let counter = &case["buffers_after"]["num_batches_tracked"];
        let got = state.get("num_batches_tracked").unwrap();
        assert_eq!(got.shape(), &[] as &[usize], "{name}: a 0-d counter");
        assert_eq!(
            got.item() as usize,
            usizes(counter)[0],
            "{name}: num_batches_tracked"
        );
        compared += 1;
    }
    compared
}

fn run_file(file: &str, ops: &[&str]) {
    let cases = load(file);
    assert!(!cases.is_empty(), "{file}: no cases");
    for case in &cases {
        assert!(
            ops.contains(&case["op"].as_str().unwrap()),
            "{file}: unexpected op"
        );
        assert!(run_case(case) >= 2);
    }
}

#[test]
fn linear_matches_pytorch_on_every_case() {
    run_file("nn_linear.json", &["Linear"]);
}

#[test]
fn conv2d_matches_pytorch_on_every_case() {
    run_file("nn_conv2d.json", &["Conv2d"]);
}

#[test]
fn pooling_matches_pytorch_on_every_case() {
    run_file("nn_pool2d.json", &["MaxPool2d", "AvgPool2d"]);
}

#[test]
fn max_pool_indices_match_pytorch() {
    let mut checked = 0;
    for case in load("nn_pool2d.json")
        .iter()
        .filter(|c| c["op"] == "MaxPool2d")
    {
        let c = &case["config"];
        let pool = MaxPool2d::new(pair(&c["kernel_size"]))
            .with_stride(pair(&c["stride"]))
            .with_padding(pair(&c["padding"]));
        let x = Var::constant(tensor(&case["inputs"]["input"]));
        let (_, indices) = pool.forward_with_indices(&x).unwrap();
        assert_eq!(
            indices,
            usizes(&case["outputs"]["indices"]),
            "{}",
            case["name"]
        );
        checked += 1;
    }
    assert!(checked > 0);
}

#[test]
fn embedding_matches_pytorch_on_every_case() {
    run_file("nn_embedding.json", &["Embedding"]);
}

#[test]
fn layer_norm_matches_pytorch_on_every_case() {
    run_file("nn_layer_norm.json", &["LayerNorm"]);
}

#[test]
fn batch_norm_matches_pytorch_in_train_and_eval_with_running_stats() {
    let cases = load("nn_batch_norm.json");
    let modes: Vec<&str> = cases.iter().map(|c| c["mode"].as_str().unwrap()).collect();
    assert!(modes.contains(&"train") && modes.contains(&"eval"));
    run_file("nn_batch_norm.json", &["BatchNorm1d", "BatchNorm2d"]);
}
