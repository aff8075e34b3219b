//! Ensembles average their members' predictions (as given, or after a softmax), refuse members
//! that disagree on shape, and work as one Module with named parameters.

use gradwork_autodiff::{Graph, Var};
use gradwork_nn::ensemble::{
    average_predictions, predict_ensemble, predict_ensemble_of, Combine, Ensemble,
};
use gradwork_nn::{layers::Linear, predict, Ctx, Module};
use gradwork_tensor::{Rng, Tensor};

fn members(count: u64, out: usize) -> Vec<Box<dyn Module>> {
    (0..count)
        .map(|s| Box::new(Linear::new(3, out, &mut Rng::seed_from(s))) as Box<dyn Module>)
        .collect()
}

#[test]
fn the_ensemble_prediction_is_the_mean_of_member_predictions() {
    let x = Tensor::rand_normal(&[5, 3], 0.0, 1.0, &mut Rng::seed_from(9));
    let mut models = members(3, 4);
    let each: Vec<Vec<f32>> = models
        .iter_mut()
        .map(|m| predict(m.as_mut(), &x).unwrap().to_vec())
        .collect();
    let mean = predict_ensemble(&mut models, &x, Combine::Mean).unwrap();
    for (i, v) in mean.to_vec().iter().enumerate() {
        let expected = (each[0][i] + each[1][i] + each[2][i]) / 3.0;
        assert!((v - expected).abs() < 1e-6);
    }
    let probs = predict_ensemble(&mut models, &x, Combine::MeanOfSoftmax).unwrap();
    let softmaxes: Vec<Vec<f32>> = each
        .iter()
        .map(|e| Tensor::from_vec(e.clone(), &[5, 4]).softmax(-1).to_vec())
        .collect();
    for (i, v) in probs.to_vec().iter().enumerate() {
        let expected = (softmaxes[0][i] + softmaxes[1][i] + softmaxes[2][i]) / 3.0;
        assert!((v - expected).abs() < 1e-6);
    }
    let mut concrete: Vec<Linear> = (0..3)
        .map(|s| Linear::new(3, 4, &mut Rng::seed_from(s)))
        .collect();
    assert_eq!(
        predict_ensemble_of(&mut concrete, &x, Combine::Mean)
            .unwrap()
            .to_vec(),
        mean.to_vec()
    );
}

#[test]
fn members_that_disagree_on_shape_are_refused() {
    let mut models = members(2, 4);
    models.push(Box::new(Linear::new(3, 5, &mut Rng::seed_from(7))));
    let err = predict_ensemble(&mut models, &Tensor::ones(&[2, 3]), Combine::Mean).unwrap_err();
    assert!(err.to_string().contains("member 2"), "{err}");
    let err = average_predictions(
        &[Tensor::ones(&[2, 3]), Tensor::ones(&[3, 2])],
        Combine::Mean,
    );
    assert!(err.is_err());
    assert!(average_predictions(&[], Combine::Mean).is_err());
}

#[test]
fn an_ensemble_module_names_member_parameters_and_trains_them_all() {
    let mut ensemble = Ensemble::new(members(2, 2), Combine::Mean);
    let keys: Vec<String> = ensemble.state_dict().keys().cloned().collect();
    assert_eq!(keys, vec!["0.bias", "0.weight", "1.bias", "1.weight"]);
    let graph = Graph::new();
    let mut cx = Ctx::train(&graph, Rng::seed_from(0));
    let y = ensemble
        .forward(&mut cx, &Var::constant(Tensor::ones(&[4, 3])))
        .unwrap();
    let grads = cx.param_grads(&graph.backward(&y.sum_all()).unwrap());
    assert_eq!(grads.len(), 4);
    // d/db of mean over 2 members of sum(y) is 4 rows / 2 members.
    ensemble.visit_params("", &mut |path, p| {
        if path.ends_with("bias") {
            assert!(grads
                .get(p)
                .unwrap()
                .to_vec()
                .iter()
                .all(|g| (g - 2.0).abs() < 1e-6));
        }
    });
}
