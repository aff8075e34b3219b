//! Reads every CSV of the shared datasets folder and MNIST's IDX files, checking row counts and
//! label balance against the facts in each dataset's SOURCE.md. The folder is located through
//! GRADWORK_SHARED (default: <workspace>/../shared); the tests skip with a message when it is absent.

use std::path::PathBuf;

use gradwork_data::{
    read_csv, read_mnist, read_sklearn_csv, read_sst2, CharCorpus, CsvOptions, ImageLayout,
    TargetColumn,
};

fn datasets() -> Option<PathBuf> {
    let shared = std::env::var_os("GRADWORK_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")));
    let dir = shared.join("datasets");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "skipping: shared datasets not found at {} (set GRADWORK_SHARED)",
            dir.display()
        );
        None
    }
}

fn counts(labels: &[usize], classes: usize) -> Vec<usize> {
    let mut c = vec![0; classes];
    for &l in labels {
        c[l] += 1;
    }
    c
}

#[test]
fn sklearn_classification_csvs_have_the_documented_rows_and_class_balance() {
    let Some(dir) = datasets() else { return };
    // (file, rows, features, class names, class counts)
    type Expected = (
        &'static str,
        usize,
        usize,
        &'static [&'static str],
        &'static [usize],
    );
    let cases: [Expected; 3] = [
        (
            "iris/sklearn/iris.csv",
            150,
            4,
            &["setosa", "versicolor", "virginica"],
            &[50, 50, 50],
        ),
        (
            "wine/wine_data.csv",
            178,
            13,
            &["class_0", "class_1", "class_2"],
            &[59, 71, 48],
        ),
        (
            "breast-cancer-wisconsin/breast_cancer.csv",
            569,
            30,
            &["malignant", "benign"],
            &[212, 357],
        ),
    ];
    for (file, rows, features, names, balance) in cases {
        let table = read_sklearn_csv(dir.join(file)).unwrap();
        assert_eq!(table.features.shape(), &[rows, features], "{file}");
        assert_eq!(table.class_names.as_deref().unwrap(), names, "{file}");
        assert_eq!(table.class_counts().unwrap(), balance, "{file}");
        assert_eq!(
            table.source_lines[0], 2,
            "{file}: the metadata line is line 1"
        );
    }
    // The first iris row, as printed in SOURCE.md's neighbour file.
    let iris = read_sklearn_csv(dir.join("iris/sklearn/iris.csv")).unwrap();
    assert_eq!(iris.features.to_vec()[..4], [5.1, 3.5, 1.4, 0.2]);
}

#[test]
fn gzipped_digits_csv_has_1797_rows_and_the_documented_class_counts() {
    let Some(dir) = datasets() else { return };
    let options = CsvOptions {
        has_header: false,
        target_kind: gradwork_data::TargetKind::Classes,
        ..Default::default()
    };
    let digits = read_csv(dir.join("digits/digits.csv.gz"), &options).unwrap();
    assert_eq!(digits.features.shape(), &[1797, 64]);
    assert_eq!(
        digits.class_names.as_deref().unwrap(),
        ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]
    );
    assert_eq!(
        digits.class_counts().unwrap(),
        [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    );
    assert!(digits
        .features
        .to_vec()
        .iter()
        .all(|&p| (0.0..=16.0).contains(&p)));
}

#[test]
fn diabetes_space_separated_gz_files_have_442_rows() {
    let Some(dir) = datasets() else { return };
    let options = CsvOptions {
        has_header: false,
        delimiter: b' ',
        target: TargetColumn::None,
        ..Default::default()
    };
    let data = read_csv(
        dir.join("diabetes/sklearn/diabetes_data_raw.csv.gz"),
        &options,
    )
    .unwrap();
    assert_eq!(data.features.shape(), &[442, 10]);
    let sex: Vec<f32> = data.features.to_vec().chunks(10).map(|r| r[1]).collect();
    assert!(
        sex.iter().all(|&s| s == 1.0 || s == 2.0),
        "sex is coded 1/2"
    );
    let target = read_csv(
        dir.join("diabetes/sklearn/diabetes_target.csv.gz"),
        &options,
    )
    .unwrap();
    assert_eq!(target.features.shape(), &[442, 1]);
    let y = target.features.to_vec();
    assert!(
        y.iter().all(|&v| (25.0..=346.0).contains(&v)),
        "targets within 25..346"
    );
    assert_eq!(y.iter().copied().fold(f32::INFINITY, f32::min), 25.0);
    assert_eq!(y.iter().copied().fold(f32::NEG_INFINITY, f32::max), 346.0);
}

#[test]
fn california_housing_has_20640_rows_of_8_features_and_a_value_target() {
    let Some(dir) = datasets() else { return };
    let options = CsvOptions {
        has_header: false,
        ..Default::default()
    };
    let housing = read_csv(dir.join("california-housing/cal_housing.data"), &options).unwrap();
    assert_eq!(housing.features.shape(), &[20640, 8]);
    assert!(housing.class_names.is_none(), "a regression target");
    assert_eq!(housing.features.to_vec()[..2], [-122.23, 37.88]);
    assert_eq!(housing.targets.unwrap().to_vec()[0], 452600.0);
}

#[test]
fn linnerud_space_separated_csvs_with_headers_have_20_rows() {
    let Some(dir) = datasets() else { return };
    let options = CsvOptions {
        delimiter: b' ',
        target: TargetColumn::None,
        ..Default::default()
    };
    let exercise = read_csv(dir.join("linnerud/sklearn/linnerud_exercise.csv"), &options).unwrap();
    assert_eq!(exercise.feature_names, ["Chins", "Situps", "Jumps"]);
    assert_eq!(exercise.n_rows(), 20);
    let linfa = read_csv(
        dir.join("linnerud/linfa/linnerud_exercise.csv.gz"),
        &CsvOptions {
            target: TargetColumn::None,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        linfa.features, exercise.features,
        "the CRLF linfa copy has the same content"
    );
}

#[test]
fn mnist_idx_files_have_60000_and_10000_images_with_all_ten_labels() {
    let Some(dir) = datasets() else { return };
    let train = read_mnist(dir.join("mnist"), "train", ImageLayout::Flat).unwrap();
    assert_eq!(train.images.shape(), &[60000, 784]);
    // The well-known MNIST training label counts.
    assert_eq!(
        counts(&train.labels, 10),
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    );
    let test = read_mnist(dir.join("mnist"), "t10k", ImageLayout::Channels).unwrap();
    assert_eq!(test.images.shape(), &[10000, 1, 28, 28]);
    assert_eq!(
        counts(&test.labels, 10),
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
    let pixels = test.images.to_vec();
    assert!(pixels.iter().all(|&p| (0.0..=1.0).contains(&p)));
    assert_eq!(pixels.iter().copied().fold(0.0, f32::max), 1.0);
}

#[test]
fn sst2_and_tiny_shakespeare_have_the_documented_sizes() {
    let Some(dir) = datasets() else { return };
    let dev = read_sst2(dir.join("sst2/dev.tsv")).unwrap();
    assert_eq!(dev.len(), 872);
    assert_eq!(dev.iter().filter(|s| s.label == 1).count(), 444);
    let train = read_sst2(dir.join("sst2/train.tsv")).unwrap();
    assert_eq!(train.len(), 67349);
    assert_eq!(train.iter().filter(|s| s.label == 0).count(), 29780);
    let corpus = CharCorpus::read(dir.join("tiny-shakespeare/input.txt")).unwrap();
    assert_eq!(corpus.ids.len(), 1_115_394);
    assert_eq!(corpus.vocabulary.len(), 2 + 65);
    assert!(!corpus.ids.contains(&gradwork_data::UNK_ID));
}
