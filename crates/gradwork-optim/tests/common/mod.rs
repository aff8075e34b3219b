//! Helpers shared by the integration tests: fixture parsing and a one-parameter model.
#![allow(dead_code)]

use gradwork_autodiff::Var;
use gradwork_nn::{join_path, Ctx, Module, Param};
use gradwork_tensor::Tensor;
use serde_json::Value;

/// A model holding exactly one parameter, named `theta`.
pub struct OneParam(pub Param);

impl Module for OneParam {
    fn forward(&mut self, cx: &mut Ctx, _input: &Var) -> gradwork_nn::Result<Var> {
        Ok(cx.param(&self.0))
    }
    fn visit_params(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param)) {
        f(&join_path(prefix, "theta"), &self.0)
    }
    fn visit_params_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Param)) {
        f(&join_path(prefix, "theta"), &mut self.0)
    }
}

/// Reads a fixture file from the workspace's `fixtures/` folder.
pub fn fixture(name: &str) -> Value {
    let path = format!("{}/../../fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A tensor object's shape.
pub fn shape(v: &Value) -> Vec<usize> {
    v["shape"]
        .as_array()
        .expect("shape")
        .iter()
        .map(|d| d.as_u64().expect("dim") as usize)
        .collect()
}

/// A tensor object's data parsed as f32 (the fixtures' f32 values round-trip exactly).
pub fn data_f32(v: &Value) -> Vec<f32> {
    v["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|x| x.as_f64().expect("number") as f32)
        .collect()
}

/// A tensor object's data as f64.
pub fn data_f64(v: &Value) -> Vec<f64> {
    v["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

/// A tensor object as an f32 tensor.
pub fn tensor(v: &Value) -> Tensor {
    Tensor::from_vec(data_f32(v), &shape(v))
}

/// `(rtol, atol)` from a case's `tolerance`.
pub fn tolerance(case: &Value) -> (f64, f64) {
    let t = &case["tolerance"];
    (
        t["rtol"].as_f64().expect("rtol"),
        t["atol"].as_f64().expect("atol"),
    )
}

/// Asserts `|got - want| <= atol + rtol * |want|` elementwise, naming the first failure.
pub fn assert_close(what: &str, got: &[f64], want: &[f64], rtol: f64, atol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let err = (g - w).abs();
        assert!(
            err <= atol + rtol * w.abs(),
            "{what}[{i}]: got {g}, want {w} (|diff| {err:e}, rtol {rtol}, atol {atol})"
        );
    }
}

/// f32 values widened to f64.
pub fn widen(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| f64::from(x)).collect()
}
