//! State dicts: round trips, strict loading that lists every problem, refusal of corrupt files.

use gradwork_nn::{activations::Relu, layers::Linear, Module, NnError, Sequential, StateDict};
use gradwork_tensor::{Rng, Tensor};

fn mlp(seed: u64, hidden: usize) -> Sequential {
    let mut rng = Rng::seed_from(seed);
    Sequential::new()
        .push(Linear::new(3, hidden, &mut rng))
        .push(Relu)
        .push(Linear::new(hidden, 2, &mut rng))
}

#[test]
fn save_then_load_restores_every_parameter_bitwise() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.gwsd");
    let a = mlp(1, 4);
    a.state_dict().save(&path).unwrap();
    let mut b = mlp(2, 4);
    assert_ne!(
        a.state_dict().get("0.weight").unwrap().to_vec(),
        b.state_dict().get("0.weight").unwrap().to_vec()
    );
    b.load_state_dict(&StateDict::load(&path).unwrap(), true)
        .unwrap();
    for (key, value) in a.state_dict().iter() {
        let loaded = b.state_dict().get(key).unwrap().to_vec();
        assert_eq!(
            value
                .to_vec()
                .iter()
                .map(|x| x.to_bits())
                .collect::<Vec<_>>(),
            loaded.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            "{key}"
        );
    }
}

#[test]
fn strict_loading_reports_missing_unexpected_and_mismatched_keys_at_once() {
    let mut sd = mlp(1, 4).state_dict();
    sd.insert("extra.weight", Tensor::zeros(&[1]));
    let mut other = mlp(1, 5); // hidden size differs: 0.weight, 0.bias, 2.weight mismatch
    let err = other.load_state_dict(&sd, true).unwrap_err();
    match &err {
        NnError::StateDictMismatch {
            missing,
            unexpected,
            mismatched,
        } => {
            assert!(missing.is_empty());
            assert_eq!(unexpected, &vec!["extra.weight".to_string()]);
            let keys: Vec<&str> = mismatched.iter().map(|m| m.key.as_str()).collect();
            assert_eq!(keys, vec!["0.weight", "0.bias", "2.weight"]);
        }
        other => panic!("unexpected error {other}"),
    }
    assert!(err.to_string().contains("extra.weight"));
    let mut partial = StateDict::new();
    partial.insert("0.weight", Tensor::zeros(&[4, 3]));
    let err = mlp(1, 4)
        .load_state_dict(&partial, true)
        .unwrap_err()
        .to_string();
    assert!(err.contains("3 missing key(s)"), "{err}");
    mlp(1, 4).load_state_dict(&partial, false).unwrap();
}

#[test]
fn truncated_or_flipped_state_files_are_refused() {
    let bytes = mlp(3, 4).state_dict().to_bytes().unwrap();
    for cut in [0, 3, 10, bytes.len() / 2, bytes.len() - 1] {
        assert!(
            StateDict::from_bytes(&bytes[..cut]).is_err(),
            "cut at {cut}"
        );
    }
    let mut rng = Rng::seed_from(9);
    for _ in 0..500 {
        let mut copy = bytes.clone();
        let bit = rng.below((copy.len() * 8) as u64) as usize;
        copy[bit / 8] ^= 1 << (bit % 8);
        assert!(
            StateDict::from_bytes(&copy).is_err(),
            "flip of bit {bit} accepted"
        );
    }
    assert!(StateDict::from_bytes(&bytes).is_ok());
}
