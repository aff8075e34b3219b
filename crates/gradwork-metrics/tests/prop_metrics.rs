//! Property tests: invariances and identities every metric must satisfy, against naive references.

use gradwork_metrics::*;
use proptest::collection::vec;
use proptest::prelude::*;

/// `(n_classes, y_true, y_pred, permutation of 0..n)`.
fn labelled() -> impl Strategy<Value = (usize, Vec<usize>, Vec<usize>, Vec<usize>)> {
    (1usize..6, 1usize..40).prop_flat_map(|(c, n)| {
        (
            Just(c),
            vec(0..c, n),
            vec(0..c, n),
            Just((0..n).collect::<Vec<usize>>()).prop_shuffle(),
        )
    })
}

fn permute<T: Copy>(values: &[T], order: &[usize]) -> Vec<T> {
    order.iter().map(|&i| values[i]).collect()
}

/// Cuts `0..n` into consecutive batches whose sizes cycle through `sizes`.
fn batches(n: usize, sizes: &[usize]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    for &size in sizes.iter().cycle() {
        if start >= n {
            break;
        }
        let end = (start + size).min(n);
        out.push(start..end);
        start = end;
    }
    out
}

/// Naive top-k: sort class indices by (score descending, index descending) and look at the first k.
fn naive_top_k_hits(y_true: &[usize], scores: &[f64], c: usize, k: usize) -> usize {
    let mut hits = 0;
    for (i, &y) in y_true.iter().enumerate() {
        let row = &scores[i * c..(i + 1) * c];
        let mut order: Vec<usize> = (0..c).collect();
        order.sort_by(|&a, &b| row[b].total_cmp(&row[a]).then(b.cmp(&a)));
        hits += usize::from(order[..k.min(c)].contains(&y));
    }
    hits
}

/// Naive O(n²) Mann-Whitney AUC.
fn naive_auc(y_true: &[usize], scores: &[f64]) -> f64 {
    let (mut wins, mut pairs) = (0.0, 0.0);
    for (i, &yi) in y_true.iter().enumerate() {
        for (j, &yj) in y_true.iter().enumerate() {
            if yi == 1 && yj == 0 {
                pairs += 1.0;
                if scores[i] > scores[j] {
                    wins += 1.0;
                } else if scores[i] == scores[j] {
                    wins += 0.5;
                }
            }
        }
    }
    wins / pairs
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * b.abs().max(1.0)
}

const AVERAGES: [Average; 3] = [Average::Macro, Average::Micro, Average::Weighted];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn classification_metrics_are_invariant_under_permuting_samples((c, t, p, order) in labelled()) {
        let (tp, pp) = (permute(&t, &order), permute(&p, &order));
        let options = PrfOptions { labels: Labels::Classes(c), ..Default::default() };
        prop_assert_eq!(accuracy(&t, &p).unwrap(), accuracy(&tp, &pp).unwrap());
        prop_assert_eq!(
            confusion_matrix(&t, &p, &options.labels).unwrap(),
            confusion_matrix(&tp, &pp, &options.labels).unwrap()
        );
        for average in AVERAGES {
            prop_assert_eq!(
                precision_recall_f1(&t, &p, average, &options).unwrap(),
                precision_recall_f1(&tp, &pp, average, &options).unwrap()
            );
        }
    }

    #[test]
    fn score_metrics_are_invariant_under_permuting_samples(
        (c, t, _p, order) in labelled(),
        raw in vec(-3.0f64..3.0, 240),
        k in 1usize..6,
    ) {
        let n = t.len();
        let scores = &raw[..n * c];
        let permuted_scores: Vec<f64> =
            order.iter().flat_map(|&i| scores[i * c..(i + 1) * c].iter().copied()).collect();
        let tp = permute(&t, &order);
        prop_assert_eq!(
            top_k_accuracy_count(&t, scores, c, k).unwrap(),
            top_k_accuracy_count(&tp, &permuted_scores, c, k).unwrap()
        );
        // Probabilities: a softmax of each row.
        let probs: Vec<f64> = scores
            .chunks(c)
            .flat_map(|row| {
                let z: f64 = row.iter().map(|s| s.exp()).sum();
                row.iter().map(move |s| s.exp() / z).collect::<Vec<_>>()
            })
            .collect();
        let permuted_probs: Vec<f64> =
            order.iter().flat_map(|&i| probs[i * c..(i + 1) * c].iter().copied()).collect();
        prop_assert!(close(
            log_loss(&t, &probs, c, Reduction::Mean).unwrap(),
            log_loss(&tp, &permuted_probs, c, Reduction::Mean).unwrap()
        ));
        // Binary labels and one score per sample for ROC-AUC.
        let yb: Vec<usize> = t.iter().map(|&y| y % 2).collect();
        let sb = &raw[..n];
        if yb.contains(&0) && yb.contains(&1) {
            prop_assert_eq!(
                roc_auc(&yb, sb).unwrap(),
                roc_auc(&permute(&yb, &order), &permute(sb, &order)).unwrap()
            );
        }
    }

    #[test]
    fn regression_metrics_are_invariant_under_permuting_samples(
        (_c, t, _p, order) in labelled(),
        raw in vec(-5.0f64..5.0, 80),
    ) {
        let n = t.len();
        let (y_true, y_pred) = (&raw[..n], &raw[40..40 + n]);
        let a = RegressionScores::compute(y_true, y_pred, 1).unwrap();
        let b = RegressionScores::compute(&permute(y_true, &order), &permute(y_pred, &order), 1).unwrap();
        for (x, y) in [(a.mse, b.mse), (a.mae, b.mae), (a.rmse, b.rmse)] {
            prop_assert!(close(x, y), "{x} vs {y}");
        }
        if n >= 2 {
            // R² divides by the target variance, which may be small: compare its parts' scale.
            prop_assert!((a.r2 - b.r2).abs() <= 1e-9 * a.r2.abs().max(1.0), "{} vs {}", a.r2, b.r2);
        }
    }

    #[test]
    fn accuracy_equals_confusion_matrix_trace_over_n((_c, t, p, _order) in labelled()) {
        let cm = confusion_matrix(&t, &p, &Labels::Inferred).unwrap();
        prop_assert_eq!(cm.total(), t.len() as u64);
        prop_assert_eq!(accuracy_count(&t, &p).unwrap() as u64, cm.trace());
        prop_assert_eq!(accuracy(&t, &p).unwrap(), cm.trace() as f64 / t.len() as f64);
        // Micro precision = recall = F1 = accuracy when every label is counted.
        let micro = cm.average(Average::Micro, ZeroDivision::Zero).unwrap();
        let acc = accuracy(&t, &p).unwrap();
        prop_assert!(close(micro.precision, acc) && close(micro.recall, acc) && close(micro.f1, acc));
    }

    #[test]
    fn f1_is_the_harmonic_mean_of_precision_and_recall((c, t, p, _order) in labelled()) {
        let options = PrfOptions { labels: Labels::Classes(c), ..Default::default() };
        let s = per_class_scores(&t, &p, &options).unwrap();
        for i in 0..c {
            let (pr, re, f1) = (s.precision[i], s.recall[i], s.f1[i]);
            let expected = if pr + re > 0.0 { 2.0 * pr * re / (pr + re) } else { 0.0 };
            prop_assert!(close(f1, expected), "class {i}: f1 {f1}, 2PR/(P+R) {expected}");
        }
    }

    #[test]
    fn streaming_in_random_batches_equals_the_one_shot_value(
        (c, t, p, _order) in labelled(),
        raw in vec(-4.0f64..4.0, 80),
        sizes in vec(1usize..9, 1..8),
    ) {
        let n = t.len();
        let (y_true, y_pred) = (&raw[..n], &raw[40..40 + n]);
        let mut acc = Accuracy::new();
        let mut mse = MeanSquaredError::new();
        let mut mae = MeanAbsoluteError::new();
        let mut loss = MeanLoss::new();
        let mut f1 = ConfusionMetric::f1(Average::Macro, Labels::Classes(c)).unwrap();
        let mut precision = ConfusionMetric::precision(Average::Weighted, Labels::Inferred).unwrap();
        for r in batches(n, &sizes) {
            let labels = Batch::Labels { y_true: &t[r.clone()], y_pred: &p[r.clone()] };
            let values = Batch::Values { y_true: &y_true[r.clone()], y_pred: &y_pred[r.clone()] };
            acc.update(&labels).unwrap();
            f1.update(&labels).unwrap();
            precision.update(&labels).unwrap();
            mse.update(&values).unwrap();
            mae.update(&values).unwrap();
            loss.update(&Batch::Losses(&y_true[r])).unwrap();
        }
        prop_assert_eq!(acc.compute().unwrap(), accuracy(&t, &p).unwrap());
        prop_assert_eq!(mse.compute().unwrap(), mean_squared_error(y_true, y_pred).unwrap());
        prop_assert_eq!(mae.compute().unwrap(), mean_absolute_error(y_true, y_pred).unwrap());
        let options = PrfOptions { labels: Labels::Classes(c), ..Default::default() };
        prop_assert_eq!(f1.compute().unwrap(), f1_score(&t, &p, Average::Macro, &options).unwrap());
        prop_assert_eq!(
            precision.compute().unwrap(),
            precision_score(&t, &p, Average::Weighted, &PrfOptions::default()).unwrap()
        );
        let mut sum = 0.0;
        for v in y_true {
            sum += v;
        }
        prop_assert_eq!(loss.compute().unwrap(), sum / n as f64);
    }

    #[test]
    fn roc_auc_of_reversed_scores_is_one_minus_auc(
        labels in vec(0usize..2, 2..40),
        order_seed in Just((0..40).collect::<Vec<usize>>()).prop_shuffle(),
    ) {
        let mut y = labels;
        y[0] = 0;
        y[1] = 1;
        // Distinct scores: a permutation of 0..40 scaled, so there are no ties.
        let scores: Vec<f64> = order_seed[..y.len()].iter().map(|&i| i as f64 * 0.37 - 3.0).collect();
        let reversed: Vec<f64> = scores.iter().map(|s| -s).collect();
        let auc = roc_auc(&y, &scores).unwrap();
        prop_assert!(close(roc_auc(&y, &reversed).unwrap(), 1.0 - auc));
        prop_assert!(close(auc, naive_auc(&y, &scores)));
    }

    #[test]
    fn roc_auc_with_ties_equals_the_naive_pair_count(
        labels in vec(0usize..2, 2..40),
        coarse in vec(-3i32..3, 40),
    ) {
        let mut y = labels;
        y[0] = 0;
        y[1] = 1;
        let scores: Vec<f64> = coarse[..y.len()].iter().map(|&s| f64::from(s) * 0.5).collect();
        prop_assert!(close(roc_auc(&y, &scores).unwrap(), naive_auc(&y, &scores)));
    }

    #[test]
    fn top_k_matches_a_naive_sort_with_ties_to_the_higher_index(
        (c, t, _p, _order) in labelled(),
        coarse in vec(-2i32..2, 240),
        k in 1usize..7,
    ) {
        let scores: Vec<f64> = coarse[..t.len() * c].iter().map(|&s| f64::from(s)).collect();
        prop_assert_eq!(
            top_k_accuracy_count(&t, &scores, c, k).unwrap(),
            naive_top_k_hits(&t, &scores, c, k)
        );
    }
}
