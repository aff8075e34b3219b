//! Split sizes and stratified per-class counts against scikit-learn 1.9.1 (fixtures/data_splits.json).

use gradwork_data::{split_sizes, stratified_train_test_split, train_test_split, SplitConfig};
use serde_json::Value;

fn fixture() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/data_splits.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture file")).expect("valid JSON")
}

fn case<'a>(all: &'a Value, name: &str) -> &'a [Value] {
    all["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("case {name}"))["entries"]
        .as_array()
        .unwrap()
}

fn usizes(v: &Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

#[test]
fn split_sizes_match_sklearn_on_every_entry_including_errors_and_f64_rounding() {
    let all = fixture();
    let entries = case(&all, "train_test_split_sizes");
    assert!(
        entries.len() >= 100,
        "expected the full grid, got {}",
        entries.len()
    );
    let mut rounding_cases = 0;
    let mut error_cases = 0;
    for e in entries {
        let n = e["n"].as_u64().unwrap() as usize;
        let fraction = e["test_size"].as_f64().unwrap();
        let got = split_sizes(n, fraction);
        if e.get("error").is_some() {
            error_cases += 1;
            assert!(
                got.is_err(),
                "n={n} f={fraction}: sklearn errors, we gave {got:?}"
            );
            continue;
        }
        let expected = (
            e["n_train"].as_u64().unwrap() as usize,
            e["n_test"].as_u64().unwrap() as usize,
        );
        assert_eq!(got.unwrap(), expected, "n={n} f={fraction}");
        if e["f64_rounding_differs_from_exact"].as_bool().unwrap() {
            rounding_cases += 1;
        }
        // The index split itself has exactly these sizes, shuffled or not.
        for shuffle in [false, true] {
            let split = train_test_split(
                n,
                &SplitConfig {
                    test_fraction: fraction,
                    shuffle,
                    seed: 3,
                },
            )
            .unwrap();
            assert_eq!((split.train.len(), split.test.len()), expected);
        }
    }
    assert!(
        rounding_cases > 0 && error_cases > 0,
        "the fixture should exercise rounding and errors"
    );
}

#[test]
fn stratified_counts_match_sklearn_allocation_or_one_of_its_tie_outcomes() {
    let all = fixture();
    let entries = case(&all, "stratified_shuffle_split_counts");
    for (k, e) in entries.iter().enumerate() {
        let y = usizes(&e["y"]);
        let fraction = e["test_size"].as_f64().unwrap();
        let classes = usizes(&e["classes"]);
        if e.get("error").is_some() {
            let got = stratified_train_test_split(
                &y,
                &SplitConfig {
                    test_fraction: fraction,
                    shuffle: true,
                    seed: 0,
                },
            );
            assert!(
                got.is_err(),
                "entry {k}: sklearn errors ({}), we split",
                e["error"]
            );
            continue;
        }
        let outcomes: Vec<(Vec<usize>, Vec<usize>)> = e["outcomes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| (usizes(&o["train_counts"]), usizes(&o["test_counts"])))
            .collect();
        // Several seeds, so that random tie-breaks explore the outcomes.
        for seed in 0..20 {
            let split = stratified_train_test_split(
                &y,
                &SplitConfig {
                    test_fraction: fraction,
                    shuffle: true,
                    seed,
                },
            )
            .unwrap();
            let count = |rows: &[usize]| -> Vec<usize> {
                classes
                    .iter()
                    .map(|c| rows.iter().filter(|&&r| y[r] == *c).count())
                    .collect()
            };
            let got = (count(&split.train), count(&split.test));
            assert_eq!(
                split.train.len(),
                e["n_train"].as_u64().unwrap() as usize,
                "entry {k}"
            );
            assert_eq!(
                split.test.len(),
                e["n_test"].as_u64().unwrap() as usize,
                "entry {k}"
            );
            if e["deterministic"].as_bool().unwrap() {
                let expected = (usizes(&e["train_counts"]), usizes(&e["test_counts"]));
                assert_eq!(got, expected, "entry {k} seed {seed}");
            } else {
                assert!(
                    outcomes.contains(&got),
                    "entry {k} seed {seed}: {got:?} is not one of {outcomes:?}"
                );
            }
        }
    }
}
