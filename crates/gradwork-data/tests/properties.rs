//! Property tests of splits, k-folds, scalers and the DataLoader, checked against independent
//! definitions (counting, sorting, naive arithmetic) rather than the implementation itself.

use std::collections::BTreeSet;

use gradwork_data::{
    split_sizes, stratified_train_test_split, train_test_split, DataLoader, DataLoaderConfig,
    KFold, MinMaxScaler, SplitConfig, StandardScaler, StratifiedKFold,
};
use gradwork_tensor::Tensor;
use proptest::prelude::*;

fn is_partition(parts: &[&[usize]], n: usize) -> bool {
    let mut all: Vec<usize> = parts.iter().flat_map(|p| p.iter().copied()).collect();
    all.sort_unstable();
    all == (0..n).collect::<Vec<_>>()
}

fn labels() -> impl Strategy<Value = Vec<usize>> {
    // 2..5 classes with 2..30 members each, in random order.
    prop::collection::vec(2usize..30, 2..5).prop_flat_map(|counts| {
        let labels: Vec<usize> = counts
            .iter()
            .enumerate()
            .flat_map(|(c, &k)| std::iter::repeat_n(c, k))
            .collect();
        Just(labels).prop_shuffle()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn split_parts_are_disjoint_and_cover_every_row(n in 2usize..300, fraction in 0.01f64..0.99, seed in any::<u64>(), shuffle in any::<bool>()) {
        let config = SplitConfig { test_fraction: fraction, shuffle, seed };
        match train_test_split(n, &config) {
            Ok(split) => {
                prop_assert!(is_partition(&[&split.train, &split.test], n));
                prop_assert_eq!(split.test.len(), (fraction * n as f64).ceil() as usize);
            }
            Err(_) => prop_assert!((fraction * n as f64).ceil() as usize >= n),
        }
    }

    #[test]
    fn same_seed_gives_the_same_split_and_another_seed_usually_not(n in 40usize..200, seed in any::<u64>()) {
        let config = SplitConfig { test_fraction: 0.3, shuffle: true, seed };
        let a = train_test_split(n, &config).unwrap();
        prop_assert_eq!(&a, &train_test_split(n, &config).unwrap());
        let other = train_test_split(n, &SplitConfig { seed: seed ^ 1, ..config }).unwrap();
        prop_assert_ne!(a, other);
    }

    #[test]
    fn stratified_counts_are_within_one_row_of_the_proportional_target(labels in labels(), fraction in 0.1f64..0.6, seed in any::<u64>()) {
        let config = SplitConfig { test_fraction: fraction, shuffle: true, seed };
        let n_classes = labels.iter().max().unwrap() + 1;
        let Ok((n_train, n_test)) = split_sizes(labels.len(), fraction) else { return Ok(()) };
        if n_train < n_classes || n_test < n_classes {
            prop_assert!(stratified_train_test_split(&labels, &config).is_err());
            return Ok(());
        }
        let split = stratified_train_test_split(&labels, &config).unwrap();
        prop_assert!(is_partition(&[&split.train, &split.test], labels.len()));
        prop_assert_eq!(&split, &stratified_train_test_split(&labels, &config).unwrap());
        for class in 0..n_classes {
            let total = labels.iter().filter(|&&l| l == class).count() as f64;
            let in_test = split.test.iter().filter(|&&r| labels[r] == class).count() as f64;
            let target = total * n_test as f64 / labels.len() as f64;
            prop_assert!((in_test - target).abs() <= 1.0 + 1e-9, "class {}: {} test rows, target {}", class, in_test, target);
        }
    }

    #[test]
    fn kfold_test_folds_partition_the_rows_with_sklearn_sizes(n in 2usize..100, k in 2usize..8, shuffle in any::<bool>(), seed in any::<u64>()) {
        prop_assume!(k <= n);
        let folds = KFold { n_splits: k, shuffle, seed }.split(n).unwrap();
        let tests: Vec<&[usize]> = folds.iter().map(|f| f.test.as_slice()).collect();
        prop_assert!(is_partition(&tests, n));
        for (i, fold) in folds.iter().enumerate() {
            prop_assert_eq!(fold.test.len(), n / k + usize::from(i < n % k));
            prop_assert!(is_partition(&[&fold.train, &fold.test], n));
        }
    }

    #[test]
    fn stratified_kfold_keeps_each_class_within_one_row_per_fold(labels in labels(), k in 2usize..5, shuffle in any::<bool>(), seed in any::<u64>()) {
        let n_classes = labels.iter().max().unwrap() + 1;
        let largest_class = (0..n_classes).map(|c| labels.iter().filter(|&&l| l == c).count()).max().unwrap();
        let result = StratifiedKFold { n_splits: k, shuffle, seed }.split(&labels);
        // scikit-learn refuses n_splits greater than every class's size (and only warns when
        // some classes are smaller than n_splits).
        if k > largest_class {
            prop_assert!(result.is_err());
            return Ok(());
        }
        let folds = result.unwrap();
        let tests: Vec<&[usize]> = folds.iter().map(|f| f.test.as_slice()).collect();
        prop_assert!(is_partition(&tests, labels.len()));
        for class in 0..n_classes {
            let per_fold: Vec<usize> = folds.iter().map(|f| f.test.iter().filter(|&&r| labels[r] == class).count()).collect();
            let (lo, hi) = (per_fold.iter().min().unwrap(), per_fold.iter().max().unwrap());
            prop_assert!(hi - lo <= 1, "class {}: {:?}", class, per_fold);
        }
    }

    #[test]
    fn scaler_transform_then_inverse_is_the_identity(
        rows in 2usize..20, cols in 1usize..5,
        values in prop::collection::vec(-1000.0f32..1000.0, 100),
        offset in -1e3f32..1e3,
    ) {
        let data: Vec<f32> = (0..rows * cols).map(|i| values[i % values.len()] * 0.01 + offset).collect();
        let x = Tensor::from_vec(data.clone(), &[rows, cols]);
        let standard = StandardScaler::default().fit(&x).unwrap();
        let back = standard.inverse_transform(&standard.transform(&x).unwrap()).unwrap().to_vec();
        for (a, b) in data.iter().zip(&back) {
            prop_assert!((a - b).abs() <= 1e-5 * a.abs().max(1.0), "{} vs {}", a, b);
        }
        let minmax = MinMaxScaler { feature_range: (-1.0, 1.0) }.fit(&x).unwrap();
        let scaled = minmax.transform(&x).unwrap().to_vec();
        prop_assert!(scaled.iter().all(|v| (-1.0 - 1e-6..=1.0 + 1e-6).contains(v)));
        let back = minmax.inverse_transform(&minmax.transform(&x).unwrap()).unwrap().to_vec();
        for (a, b) in data.iter().zip(&back) {
            prop_assert!((a - b).abs() <= 1e-5 * a.abs().max(1.0), "{} vs {}", a, b);
        }
    }

    #[test]
    fn standard_scaler_matches_a_naive_f64_mean_and_population_variance(rows in 2usize..30, values in prop::collection::vec(-50.0f32..50.0, 30)) {
        let x = Tensor::from_vec(values[..rows].to_vec(), &[rows, 1]);
        let s = StandardScaler::default().fit(&x).unwrap();
        let mean = values[..rows].iter().map(|&v| v as f64).sum::<f64>() / rows as f64;
        let var = values[..rows].iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / rows as f64;
        prop_assert!((s.mean[0] - mean).abs() < 1e-9);
        prop_assert!((s.var[0] - var).abs() < 1e-9 * var.max(1.0));
    }

    #[test]
    fn loader_covers_each_row_once_per_epoch_and_depends_only_on_seed_and_epoch(
        n in 1usize..120, batch in 1usize..17, seed in any::<u64>(), epoch in 0u64..1000, drop_last in any::<bool>(),
    ) {
        let x = Tensor::from_fn(&[n, 2], |i| i as f32);
        let y = Tensor::from_fn(&[n], |i| i as f32);
        let config = DataLoaderConfig { batch_size: batch, shuffle: true, drop_last, seed };
        let loader = DataLoader::new(x.clone(), Some(y.clone()), config).unwrap();
        let batches: Vec<_> = loader.epoch(epoch).collect();
        let mut seen: Vec<usize> = Vec::new();
        for b in &batches {
            prop_assert!(b.indices.len() == batch || (!drop_last && b.indices.len() < batch));
            // The gathered rows are the rows of the indices.
            let rows: Vec<f32> = b.indices.iter().flat_map(|&i| [2.0 * i as f32, 2.0 * i as f32 + 1.0]).collect();
            prop_assert_eq!(b.features.to_vec(), rows);
            let targets: Vec<f32> = b.indices.iter().map(|&i| i as f32).collect();
            prop_assert_eq!(b.targets.as_ref().unwrap().to_vec(), targets);
            seen.extend(&b.indices);
        }
        let distinct: BTreeSet<usize> = seen.iter().copied().collect();
        prop_assert_eq!(distinct.len(), seen.len(), "no row twice");
        let expected = if drop_last { n / batch * batch } else { n };
        prop_assert_eq!(seen.len(), expected);
        // A fresh loader (a resumed run) with the same seed sees the same order for this epoch.
        let resumed = DataLoader::new(x, Some(y), config).unwrap();
        prop_assert_eq!(resumed.epoch_order(epoch), loader.epoch_order(epoch));
    }
}

#[test]
fn different_epochs_get_different_orders() {
    let x = Tensor::zeros(&[50, 1]);
    let loader = DataLoader::new(
        x,
        None,
        DataLoaderConfig {
            batch_size: 8,
            ..Default::default()
        },
    )
    .unwrap();
    assert_ne!(loader.epoch_order(0), loader.epoch_order(1));
    // The documented derivation: seed -> SHUFFLE_STREAM -> epoch.
    let expected = gradwork_tensor::Rng::seed_from(0)
        .fork(gradwork_data::SHUFFLE_STREAM)
        .fork(1)
        .permutation(50);
    assert_eq!(loader.epoch_order(1), expected);
    let unshuffled = DataLoader::new(
        Tensor::zeros(&[5, 1]),
        None,
        DataLoaderConfig {
            shuffle: false,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(unshuffled.epoch_order(7), [0, 1, 2, 3, 4]);
}

#[test]
fn validation_split_is_shuffled_not_the_last_rows() {
    let x = Tensor::from_fn(&[100, 1], |i| i as f32);
    let loader = DataLoader::new(x, None, DataLoaderConfig::default()).unwrap();
    let (train, validation) = loader.split_validation(0.2).unwrap();
    assert_eq!((train.n_rows(), validation.n_rows()), (80, 20));
    let rows: Vec<f32> = validation
        .epoch(0)
        .flat_map(|b| b.features.to_vec())
        .collect();
    assert_ne!(
        rows,
        (80..100).map(|i| i as f32).collect::<Vec<_>>(),
        "Keras's last rows"
    );
    let train_rows: Vec<f32> = train.epoch(0).flat_map(|b| b.features.to_vec()).collect();
    let mut all: Vec<f32> = rows.iter().chain(&train_rows).copied().collect();
    all.sort_by(f32::total_cmp);
    assert_eq!(all, (0..100).map(|i| i as f32).collect::<Vec<_>>());
}

#[test]
fn loader_refuses_mismatched_rows_and_zero_batch_size() {
    let err = DataLoader::new(
        Tensor::zeros(&[4, 2]),
        Some(Tensor::zeros(&[3])),
        DataLoaderConfig::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("[3]"), "{err}");
    assert!(DataLoader::new(
        Tensor::zeros(&[4, 2]),
        None,
        DataLoaderConfig {
            batch_size: 0,
            ..Default::default()
        }
    )
    .is_err());
}

#[test]
fn stratified_kfold_without_shuffle_matches_sklearn_assignment() {
    // sklearn 1.9 StratifiedKFold(3).split(X, y) for y = [0]*6 + [1]*3 gives test folds
    // [0, 1, 6], [2, 3, 7], [4, 5, 8] (worked out from its round-robin allocation).
    let labels = [0, 0, 0, 0, 0, 0, 1, 1, 1];
    let folds = StratifiedKFold {
        n_splits: 3,
        shuffle: false,
        seed: 0,
    }
    .split(&labels)
    .unwrap();
    let tests: Vec<Vec<usize>> = folds.into_iter().map(|f| f.test).collect();
    assert_eq!(tests, [vec![0, 1, 6], vec![2, 3, 7], vec![4, 5, 8]]);
    assert!(StratifiedKFold {
        n_splits: 4,
        shuffle: false,
        seed: 0
    }
    .split(&[0, 0, 1, 1, 2, 2])
    .is_err());
    assert!(KFold {
        n_splits: 5,
        shuffle: false,
        seed: 0
    }
    .split(4)
    .is_err());
    assert!(KFold {
        n_splits: 1,
        shuffle: false,
        seed: 0
    }
    .split(4)
    .is_err());
}

#[test]
fn scalers_refuse_wrong_shapes_naming_op_and_shapes() {
    let fitted = StandardScaler::default()
        .fit(&Tensor::zeros(&[3, 2]))
        .unwrap();
    let err = fitted
        .transform(&Tensor::zeros(&[3, 4]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("StandardScaler::transform")
            && err.contains("[n, 2]")
            && err.contains("[3, 4]"),
        "{err}"
    );
    let err = MinMaxScaler::default()
        .fit(&Tensor::zeros(&[6]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("MinMaxScaler::fit") && err.contains("[6]"),
        "{err}"
    );
    assert!(MinMaxScaler {
        feature_range: (1.0, 0.0)
    }
    .fit(&Tensor::zeros(&[2, 1]))
    .is_err());
    let nan = Tensor::from_vec(vec![1.0, f32::NAN], &[2, 1]);
    assert!(StandardScaler::default()
        .fit(&nan)
        .unwrap_err()
        .to_string()
        .contains("impute"));
}

#[test]
fn fitted_scalers_round_trip_through_serde() {
    let x = Tensor::from_vec(vec![1.0, 2.0, 4.0, 8.0], &[2, 2]);
    let fitted = StandardScaler::default().fit(&x).unwrap();
    let json = serde_json::to_string(&fitted).unwrap();
    let back: gradwork_data::FittedStandardScaler = serde_json::from_str(&json).unwrap();
    assert_eq!(back, fitted);
    let fitted = MinMaxScaler::default().fit(&x).unwrap();
    let back: gradwork_data::FittedMinMaxScaler =
        serde_json::from_str(&serde_json::to_string(&fitted).unwrap()).unwrap();
    assert_eq!(back, fitted);
}
