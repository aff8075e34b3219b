//! KFold and StratifiedKFold without shuffling against scikit-learn (fixtures/sklearn_kfold.json,
//! made by fixtures/make_sklearn_kfold.py): the exact train and test indices of every fold, and a
//! refusal wherever scikit-learn raises.

use gradwork_data::{KFold, Split, StratifiedKFold};
use serde_json::Value;

fn fixture() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/sklearn_kfold.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture file")).expect("valid JSON")
}

fn usizes(v: &Value) -> Vec<usize> {
    v.as_array()
        .expect("a list")
        .iter()
        .map(|x| x.as_u64().expect("an index") as usize)
        .collect()
}

fn cases<'a>(all: &'a Value, splitter: &str) -> Vec<&'a Value> {
    all["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .filter(|c| c["splitter"] == splitter)
        .collect()
}

/// Checks gradwork's folds (or refusal) against one case; returns whether sklearn refused.
fn check(case: &Value, got: gradwork_data::Result<Vec<Split>>) -> bool {
    let name = case["name"].as_str().expect("a name");
    if let Some(error) = case.get("error") {
        assert!(
            got.is_err(),
            "{name}: sklearn refused ({error}), gradwork did not"
        );
        return true;
    }
    let got = got.unwrap_or_else(|e| panic!("{name}: sklearn gave folds, gradwork refused: {e}"));
    let expected = case["folds"].as_array().expect("folds");
    assert_eq!(got.len(), expected.len(), "{name}: number of folds");
    for (k, (fold, want)) in got.iter().zip(expected).enumerate() {
        assert_eq!(
            fold.test,
            usizes(&want["test"]),
            "{name}: test rows of fold {k}"
        );
        assert_eq!(
            fold.train,
            usizes(&want["train"]),
            "{name}: train rows of fold {k}"
        );
    }
    false
}

#[test]
fn kfold_folds_equal_sklearn_exactly() {
    let all = fixture();
    let cases = cases(&all, "KFold");
    assert!(cases.len() >= 10, "only {} KFold cases", cases.len());
    let mut refusals = 0;
    for case in cases {
        let n = case["n"].as_u64().expect("n") as usize;
        let n_splits = case["n_splits"].as_u64().expect("n_splits") as usize;
        let kfold = KFold {
            n_splits,
            shuffle: false,
            seed: 0,
        };
        refusals += usize::from(check(case, kfold.split(n)));
    }
    assert!(refusals >= 2, "the fixture's refusals were not exercised");
}

#[test]
fn stratified_kfold_folds_equal_sklearn_exactly() {
    let all = fixture();
    let cases = cases(&all, "StratifiedKFold");
    assert!(
        cases.len() >= 20,
        "only {} StratifiedKFold cases",
        cases.len()
    );
    let (mut refusals, mut small_class_cases) = (0, 0);
    for case in cases {
        let labels = usizes(&case["y"]);
        let n_splits = case["n_splits"].as_u64().expect("n_splits") as usize;
        let counts = usizes(&case["class_counts_by_first_appearance"]);
        small_class_cases +=
            usize::from(case.get("error").is_none() && counts.iter().any(|&c| c < n_splits));
        let skf = StratifiedKFold {
            n_splits,
            shuffle: false,
            seed: 0,
        };
        refusals += usize::from(check(case, skf.split(&labels)));
    }
    assert!(refusals >= 2, "the fixture's refusals were not exercised");
    assert!(
        small_class_cases >= 3,
        "too few cases with a class smaller than n_splits"
    );
}
