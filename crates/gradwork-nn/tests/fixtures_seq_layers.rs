//! Every case of the PyTorch sequence-layer fixtures (`nn_recurrent.json`,
//! `nn_multihead_attention.json`, `nn_transformer_encoder_layer.json`): parameters are loaded by
//! their state_dict names (strict, so the visitors must produce exactly PyTorch's names), the
//! forward pass runs in the case's mode, outputs are compared with the float64 reference at the
//! case's tolerance, then the loss `sum_k sum(outputs[k] * upstream[k])` is differentiated and
//! the gradients of every differentiated input and every parameter are compared.

use std::collections::BTreeMap;

use gradwork_autodiff::{Graph, Var};
use gradwork_nn::layers::{
    AttnMask, Gru, Lstm, MultiHeadAttention, RecurrentOutput, RecurrentState, Rnn,
    TransformerEncoderLayer,
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
    let dims = t["shape"].as_array().unwrap();
    dims.iter().map(|d| d.as_u64().unwrap() as usize).collect()
}

/// A fixture tensor as f32 (f32 decimals round-trip exactly; bools become 1.0 / 0.0).
fn tensor(t: &Value) -> Tensor {
    let data: Vec<f32> = t["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| match x {
            Value::Bool(b) => f32::from(u8::from(*b)),
            other => other.as_f64().unwrap() as f32,
        })
        .collect();
    Tensor::from_vec(data, &shape(t))
}

fn usize_of(case: &Value, key: &str) -> usize {
    case["config"][key].as_u64().unwrap() as usize
}

fn tolerance(case: &Value, which: &str) -> (f64, f64) {
    let t = &case["tolerance"][which];
    (t["rtol"].as_f64().unwrap(), t["atol"].as_f64().unwrap())
}

fn assert_close(what: &str, actual: &Tensor, expected: &Value, (rtol, atol): (f64, f64)) {
    assert_eq!(actual.shape(), shape(expected).as_slice(), "{what}: shape");
    let data = expected["data"].as_array().unwrap();
    for (i, (a, e)) in actual.to_vec().iter().zip(data).enumerate() {
        let e = e.as_f64().unwrap();
        let err = (*a as f64 - e).abs();
        assert!(
            err <= atol + rtol * e.abs(),
            "{what}[{i}]: got {a}, expected {e} (|diff| {err:e}, rtol {rtol}, atol {atol})"
        );
    }
}

fn state_dict(case: &Value) -> StateDict {
    let mut sd = StateDict::new();
    for (name, t) in case["params"].as_object().unwrap() {
        sd.insert(name, tensor(t));
    }
    sd
}

type Leaves = BTreeMap<String, Var>;
type Constants = BTreeMap<String, Tensor>;

/// Runs one case: `run` builds the outputs (by fixture name) from the differentiated inputs
/// (graph leaves, by fixture name) and the constant ones; then everything is checked.
fn check_case<M: Module>(
    case: &Value,
    module: &mut M,
    run: impl FnOnce(&M, &mut Ctx, &Leaves, &Constants) -> BTreeMap<String, Var>,
) {
    let name = case["name"].as_str().unwrap();
    module
        .load_state_dict(&state_dict(case), true)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let graph = Graph::new();
    let mut cx = Ctx::new(Some(&graph), case["mode"] == "train", Rng::seed_from(0));
    let differentiated: Vec<&String> = case["grads"]["inputs"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    let mut leaves = BTreeMap::new();
    let mut constants = BTreeMap::new();
    for (key, t) in case["inputs"].as_object().unwrap() {
        if differentiated.contains(&key) {
            leaves.insert(key.clone(), graph.leaf(tensor(t)));
        } else {
            constants.insert(key.clone(), tensor(t));
        }
    }
    let outputs = run(module, &mut cx, &leaves, &constants);
    let reference = &case["f64"];
    for (key, expected) in reference["outputs"].as_object().unwrap() {
        let out = outputs
            .get(key)
            .unwrap_or_else(|| panic!("{name}: no output {key}"));
        assert_close(
            &format!("{name} {key}"),
            out.value(),
            expected,
            tolerance(case, "forward"),
        );
    }
    let mut loss: Option<Var> = None;
    for (key, up) in case["upstream"].as_object().unwrap() {
        let term = outputs[key].mul(&Var::constant(tensor(up))).sum_all();
        loss = Some(match loss {
            None => term,
            Some(l) => l.add(&term),
        });
    }
    let grads = graph.backward(&loss.expect("an upstream")).unwrap();
    let tol = tolerance(case, "backward");
    for (key, expected) in reference["grads"]["inputs"].as_object().unwrap() {
        let g = grads.get_or_zeros(&leaves[key]);
        assert_close(&format!("{name} d/d{key}"), &g, expected, tol);
    }
    let param_grads = cx.param_grads(&grads);
    let expected_params = reference["grads"]["params"].as_object().unwrap();
    let mut seen = 0;
    module.visit_params("", &mut |path, p| {
        let expected = &expected_params[path];
        let g = param_grads
            .get(p)
            .unwrap_or_else(|| panic!("{name}: no grad for {path}"));
        assert_close(&format!("{name} d/d{path}"), g, expected, tol);
        seen += 1;
    });
    assert_eq!(seen, expected_params.len(), "{name}: parameter count");
}

fn recurrent_outputs(out: RecurrentOutput) -> BTreeMap<String, Var> {
    let mut map = BTreeMap::from([
        ("output".to_string(), out.output),
        ("h_n".to_string(), out.h_n),
    ]);
    if let Some(c) = out.c_n {
        map.insert("c_n".to_string(), c);
    }
    map
}

#[test]
fn recurrent_layers_match_pytorch_on_every_case() {
    let cases = load("nn_recurrent.json");
    assert!(!cases.is_empty());
    for case in &cases {
        let (input, hidden, layers) = (
            usize_of(case, "input_size"),
            usize_of(case, "hidden_size"),
            usize_of(case, "num_layers"),
        );
        let mut rng = Rng::seed_from(1);
        let op = case["op"].as_str().unwrap();
        macro_rules! run_recurrent {
            ($layer:expr) => {{
                let mut layer = $layer;
                check_case(case, &mut layer, |m, cx, leaves, _| {
                    let state = leaves.get("h_0").map(|h| RecurrentState {
                        h: h.clone(),
                        c: leaves.get("c_0").cloned(),
                    });
                    recurrent_outputs(m.forward_seq(cx, &leaves["input"], state.as_ref()).unwrap())
                });
            }};
        }
        match op {
            "LSTM" => run_recurrent!(Lstm::new(input, hidden, layers, &mut rng).unwrap()),
            "GRU" => run_recurrent!(Gru::new(input, hidden, layers, &mut rng).unwrap()),
            "RNN" => {
                assert_eq!(case["config"]["nonlinearity"], "tanh");
                run_recurrent!(Rnn::new(input, hidden, layers, &mut rng).unwrap())
            }
            other => panic!("unknown recurrent op {other}"),
        }
    }
}

/// The MHA / encoder `attn_mask` input: bool `[L, S]` (true = not allowed) or an additive float mask.
fn attn_mask(case: &Value, key: &str) -> Option<AttnMask> {
    let t = &case["inputs"][key];
    if t.is_null() {
        return None;
    }
    Some(if t["dtype"] == "bool" {
        AttnMask::Bool(tensor(t))
    } else {
        AttnMask::Additive(tensor(t))
    })
}

#[test]
fn multihead_attention_matches_pytorch_on_every_case() {
    let cases = load("nn_multihead_attention.json");
    assert!(!cases.is_empty());
    for case in &cases {
        assert_eq!(case["config"]["batch_first"], true);
        let mut rng = Rng::seed_from(2);
        let mut mha = MultiHeadAttention::new(
            usize_of(case, "embed_dim"),
            usize_of(case, "num_heads"),
            &mut rng,
        )
        .unwrap();
        let mask = attn_mask(case, "attn_mask");
        check_case(case, &mut mha, |m, cx, leaves, constants| {
            let (q, k, v) = match leaves.get("x") {
                Some(x) => (x, x, x),
                None => (&leaves["query"], &leaves["key"], &leaves["value"]),
            };
            let padding = constants.get("key_padding_mask");
            let (out, weights) = m.forward_attn(cx, q, k, v, padding, mask.as_ref()).unwrap();
            BTreeMap::from([
                ("output".to_string(), out),
                ("attn_weights".to_string(), weights),
            ])
        });
    }
}

#[test]
fn transformer_encoder_layer_matches_pytorch_on_every_case() {
    let cases = load("nn_transformer_encoder_layer.json");
    assert!(!cases.is_empty());
    for case in &cases {
        let config = &case["config"];
        assert_eq!(config["activation"], "relu");
        assert_eq!(config["batch_first"], true);
        let mut rng = Rng::seed_from(3);
        let mut layer = TransformerEncoderLayer::new(
            usize_of(case, "d_model"),
            usize_of(case, "nhead"),
            usize_of(case, "dim_feedforward"),
            config["dropout"].as_f64().unwrap() as f32,
            &mut rng,
        )
        .unwrap()
        .with_norm_first(config["norm_first"].as_bool().unwrap())
        .with_layer_norm_eps(config["layer_norm_eps"].as_f64().unwrap() as f32);
        let mask = attn_mask(case, "src_mask");
        check_case(case, &mut layer, |m, cx, leaves, constants| {
            let padding = constants.get("src_key_padding_mask");
            let out = m
                .forward_masked(cx, &leaves["src"], mask.as_ref(), padding)
                .unwrap();
            BTreeMap::from([("output".to_string(), out)])
        });
    }
}
