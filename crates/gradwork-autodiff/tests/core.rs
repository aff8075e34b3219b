//! Core behaviour of the tape: accumulation, broadcasting, untracked inputs, long chains, errors,
//! anomaly mode, and memory (each step's tape is freed).

use std::cell::Cell;
use std::rc::Rc;

use gradwork_autodiff::{grad_check, AutodiffError, GradCheckConfig, Graph, Phase, Var};
use gradwork_tensor::Tensor;

#[test]
fn shared_subexpressions_accumulate() {
    let graph = Graph::new();
    let x = graph.leaf(Tensor::from_vec(vec![3.0], &[1]));
    let y = &x * &x; // used twice below
    let z = (&y + &y).sum_all(); // z = 2x^2, dz/dx = 4x
    let grads = graph.backward(&z).unwrap();
    assert_eq!(grads.get(&x).unwrap().to_vec(), vec![12.0]);
}

#[test]
fn broadcasting_is_undone_in_backward() {
    let graph = Graph::new();
    let x = graph.leaf(Tensor::ones(&[4, 3]));
    let b = graph.leaf(Tensor::zeros(&[3]));
    let loss = (&x + &b).sum_all();
    let grads = graph.backward(&loss).unwrap();
    assert_eq!(grads.get(&b).unwrap().to_vec(), vec![4.0; 3]);
    assert_eq!(grads.get(&x).unwrap().shape(), &[4, 3]);
}

#[test]
fn untracked_computation_records_nothing() {
    let graph = Graph::new();
    let c = Var::constant(Tensor::ones(&[2]));
    let y = (&c * 3.0).exp();
    assert!(!y.is_tracked());
    assert!(graph.is_empty());
    let x = graph.leaf(Tensor::ones(&[2]));
    let detached = (&x * 2.0).detach();
    assert!(!detached.is_tracked());
}

#[test]
fn a_100k_op_chain_does_not_overflow_the_stack() {
    let graph = Graph::new();
    let x = graph.leaf(Tensor::from_vec(vec![1.0], &[1]));
    let mut y = x.clone();
    for _ in 0..100_000 {
        y = y.mul_scalar(1.0);
    }
    let grads = graph.backward(&y.sum_all()).unwrap();
    assert_eq!(grads.get(&x).unwrap().to_vec(), vec![1.0]);
}

#[test]
fn backward_errors_are_explicit() {
    let graph = Graph::new();
    let x = graph.leaf(Tensor::ones(&[2]));
    let y = &x * 2.0;
    assert!(matches!(
        graph.backward(&y),
        Err(AutodiffError::NotScalar { .. })
    ));
    let other = Graph::new();
    let z = other.leaf(Tensor::ones(&[2]));
    assert!(matches!(
        x.try_add(&z),
        Err(AutodiffError::GraphMismatch { op: "add" })
    ));
    let loss = y.sum_all();
    graph.backward(&loss).unwrap();
    assert!(matches!(
        graph.backward(&loss),
        Err(AutodiffError::AlreadyDifferentiated)
    ));
}

#[test]
fn anomaly_mode_reports_a_nan_made_in_forward_with_op_phase_and_shapes() {
    let graph = Graph::with_anomaly_detection();
    let x = graph.leaf(Tensor::from_vec(vec![-1.0, 4.0], &[2]));
    let y = x.try_exp().unwrap(); // finite: no report
    let error = y.try_neg().unwrap().try_ln().unwrap_err(); // ln of a negative is NaN
    assert_eq!(
        error,
        AutodiffError::Anomaly {
            op: "ln",
            phase: Phase::Forward,
            input_shapes: vec![vec![2]],
        }
    );
    let message = error.to_string();
    assert!(message.contains("ln") && message.contains("forward") && message.contains("[2]"));
    // Without anomaly mode the same computation records the NaN silently.
    let quiet = Graph::new();
    let x = quiet.leaf(Tensor::from_vec(vec![-1.0, 4.0], &[2]));
    assert!(!x.try_ln().unwrap().value().all_finite());
}

#[test]
fn anomaly_mode_reports_an_inf_that_appears_only_in_backward() {
    let graph = Graph::with_anomaly_detection();
    let x = graph.leaf(Tensor::from_vec(vec![0.0, 4.0, 1.0], &[3, 1]));
    let w = graph.leaf(Tensor::ones(&[1, 2]));
    // sqrt(0) = 0 is finite; its derivative 0.5 / sqrt(0) is not.
    let loss = x.try_sqrt().unwrap().matmul(&w).sum_all();
    assert!(loss.value().all_finite());
    let error = graph.backward(&loss).err().expect("an anomaly in backward");
    assert_eq!(
        error,
        AutodiffError::Anomaly {
            op: "sqrt",
            phase: Phase::Backward,
            input_shapes: vec![vec![3, 1]],
        }
    );
    // The same graph without anomaly mode returns the infinite gradient.
    let quiet = Graph::new();
    let x = quiet.leaf(Tensor::from_vec(vec![0.0, 4.0, 1.0], &[3, 1]));
    let grads = quiet.backward(&x.sqrt().sum_all()).unwrap();
    assert!(grads.get(&x).unwrap().to_vec()[0].is_infinite());
}

#[test]
fn anomaly_reports_name_untracked_inputs_too() {
    let graph = Graph::with_anomaly_detection();
    let x = graph.leaf(Tensor::from_vec(vec![1.0, 2.0], &[2]));
    let zero = Var::constant(Tensor::zeros(&[3, 1]));
    // x / 0 is infinite in forward; both operands' shapes are reported.
    let error = x.try_div(&zero).unwrap_err();
    assert_eq!(
        error,
        AutodiffError::Anomaly {
            op: "div",
            phase: Phase::Forward,
            input_shapes: vec![vec![2], vec![3, 1]],
        }
    );
}

#[test]
fn panicking_forms_panic_with_the_anomaly_message() {
    let graph = Graph::with_anomaly_detection();
    let x = graph.leaf(Tensor::from_vec(vec![-1.0], &[1]));
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| x.ln()));
    let payload = caught.expect_err("a panic");
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(message.contains("anomaly: ln"), "{message}");
}

#[test]
fn grad_check_catches_a_wrong_gradient() {
    // A deliberately wrong rule: claims d(2x)/dx = 3.
    let wrong = |v: &[Var]| {
        Var::from_op("wrong", &[&v[0]], v[0].value().mul_scalar(2.0), || {
            |g: &Tensor, _: &[bool]| Ok(vec![Some(g.mul_scalar(3.0))])
        })
    };
    let x = Tensor::from_vec(vec![0.5, 1.5], &[2]);
    let report = grad_check(wrong, &[x], GradCheckConfig::default()).unwrap();
    assert!(!report.passed());
}

#[test]
fn matmul_linear_and_softmax_pass_grad_check() {
    let mut rng = gradwork_tensor::Rng::seed_from(3);
    let x = Tensor::rand_normal(&[3, 4], 0.0, 1.0, &mut rng);
    let w = Tensor::rand_normal(&[5, 4], 0.0, 1.0, &mut rng);
    let b = Tensor::rand_normal(&[5], 0.0, 1.0, &mut rng);
    let cfg = GradCheckConfig::default();
    let report = grad_check(
        |v| v[0].try_linear(&v[1], Some(&v[2])),
        &[x.clone(), w.clone(), b],
        cfg,
    )
    .unwrap();
    assert!(report.passed(), "{report}");
    let report = grad_check(|v| v[0].try_matmul(&v[1].t()), &[x.clone(), w], cfg).unwrap();
    assert!(report.passed(), "{report}");
    let report = grad_check(|v| v[0].try_log_softmax(1), std::slice::from_ref(&x), cfg).unwrap();
    assert!(report.passed(), "{report}");
    let report = grad_check(|v| v[0].try_softmax(0), std::slice::from_ref(&x), cfg).unwrap();
    assert!(report.passed(), "{report}");
    let report = grad_check(|v| v[0].try_var(1, 1, true), &[x], cfg).unwrap();
    assert!(report.passed(), "{report}");
}

/// Counts how many times it is dropped: captured by a gradient rule, it tells when the tape
/// that holds the rule is freed.
struct DropProbe(Rc<Cell<usize>>);

impl Drop for DropProbe {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

#[test]
fn a_10000_step_training_loop_frees_each_graph_at_the_end_of_its_step() {
    let freed = Rc::new(Cell::new(0usize));
    let mut w = Tensor::from_vec(vec![0.5, -0.25, 0.125], &[3, 1]);
    let x = Var::constant(Tensor::from_vec(
        vec![1.0, 2.0, -1.0, 0.5, 0.0, 1.5],
        &[2, 3],
    ));
    let mut tape_lengths = std::collections::BTreeSet::new();
    for step in 0..10_000 {
        let grads = {
            let graph = Graph::new();
            let wv = graph.leaf(w.clone());
            let y = x.matmul(&wv).tanh();
            let loss = y.square().sum_all();
            // A branch recorded after the loss: backward never visits it, so only freeing the
            // whole tape frees the probe its rule holds.
            let probe = DropProbe(freed.clone());
            let _unused = Var::from_op("probe", &[&y], y.value().clone(), move || {
                move |g: &Tensor, _: &[bool]| {
                    let _keep = &probe;
                    Ok(vec![Some(g.clone())])
                }
            })
            .unwrap();
            let grads = graph.backward(&loss).unwrap();
            tape_lengths.insert(graph.len());
            w = &w - &grads.get(&wv).unwrap().mul_scalar(0.01);
            assert_eq!(freed.get(), step, "the tape outlived its step");
            grads
        };
        // The graph and its variables are gone; the gradients alone do not keep the tape.
        assert_eq!(freed.get(), step + 1, "step {step}'s tape was not freed");
        drop(grads);
    }
    assert_eq!(freed.get(), 10_000);
    // Each step records the same nodes: the tape does not grow across steps.
    assert_eq!(tape_lengths.into_iter().collect::<Vec<_>>(), vec![6]);
}

#[test]
fn backward_frees_each_rule_as_soon_as_it_has_run() {
    let freed = Rc::new(Cell::new(0usize));
    let graph = Graph::new();
    let x = graph.leaf(Tensor::ones(&[2]));
    let probe = DropProbe(freed.clone());
    let y = Var::from_op("probe", &[&x], x.value().clone(), move || {
        move |g: &Tensor, _: &[bool]| {
            let _keep = &probe;
            Ok(vec![Some(g.clone())])
        }
    })
    .unwrap();
    graph.backward(&y.sum_all()).unwrap();
    // The graph and `y` are still alive, but the rule (and what it saved) is released.
    assert_eq!(freed.get(), 1);
    assert!(y.is_tracked());
}
