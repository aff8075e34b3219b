//! Core behaviour of the tape: accumulation, broadcasting, untracked inputs, long chains, errors.

use gradwork_autodiff::{grad_check, AutodiffError, GradCheckConfig, Graph, Var};
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
fn anomaly_mode_names_the_first_bad_op() {
    let graph = Graph::with_anomaly_detection();
    let x = graph.leaf(Tensor::from_vec(vec![-1.0, 4.0], &[2]));
    let err = x.value().clone();
    drop(err);
    let msg = match Var::from_op("sqrt", &[&x], x.value().sqrt(), || {
        |g: &Tensor, _: &[bool]| Ok(vec![Some(g.clone())])
    }) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("expected an anomaly"),
    };
    assert!(
        msg.contains("sqrt") && msg.contains("forward") && msg.contains("[2]"),
        "{msg}"
    );
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
