//! What the CSV reader accepts: headers or not, delimiters, BOM, CRLF, quotes, gzip, target and
//! feature selection, categorical encodings, class labels, schemas and missing values.

use std::io::Write;

use gradwork_data::{
    read_csv, read_csv_from_reader, read_csv_from_reader_with_schema, CategoricalColumns,
    CategoricalEncoding, ColumnRef, CsvOptions, DataError, ImputeStrategy, Imputer, MissingPolicy,
    TargetColumn, TargetKind,
};
use proptest::prelude::*;

fn read(text: &str, options: &CsvOptions) -> gradwork_data::Result<gradwork_data::TabularDataset> {
    read_csv_from_reader(text.as_bytes(), options)
}

#[test]
fn bom_crlf_quotes_and_semicolons_are_read() {
    let text = "\u{feff}\"a\";b;\"label\"\r\n\"1,5\";2;\"yes\"\r\n3;\"4\";no\r\n";
    let options = CsvOptions {
        delimiter: b';',
        ..Default::default()
    };
    let table = read(text, &options).unwrap_err();
    // "1,5" is a quoted field holding a comma: not a number, reported where it is.
    assert!(
        table.to_string().contains("line 2, column 1 (\"a\")"),
        "{table}"
    );
    let text = text.replace("1,5", "1.5");
    let table = read(&text, &options).unwrap();
    assert_eq!(table.feature_names, ["a", "b"]);
    assert_eq!(table.features.to_vec(), [1.5, 2.0, 3.0, 4.0]);
    assert_eq!(table.class_names.as_deref().unwrap(), ["no", "yes"]);
    assert_eq!(table.class_indices.as_deref().unwrap(), [1, 0]);
    assert_eq!(table.source_lines, [2, 3]);
}

#[test]
fn target_by_name_index_last_or_none_and_feature_subsets() {
    let text = "id,x,y,t\n1,10,100,0.5\n2,20,200,1.5\n";
    let by_name = read(
        text,
        &CsvOptions {
            target: TargetColumn::Name("x".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(by_name.feature_names, ["id", "y", "t"]);
    assert_eq!(by_name.targets.unwrap().to_vec(), [10.0, 20.0]);
    let by_index = read(
        text,
        &CsvOptions {
            target: TargetColumn::Index(0),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(by_index.target_name.as_deref(), Some("id"));
    let last = read(text, &CsvOptions::default()).unwrap();
    assert_eq!(last.targets.unwrap().to_vec(), [0.5, 1.5]);
    assert!(
        last.class_names.is_none(),
        "numeric targets are a regression target by default"
    );
    let none = read(
        text,
        &CsvOptions {
            target: TargetColumn::None,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(none.features.shape(), &[2, 4]);
    assert!(none.targets.is_none());
    let subset = CsvOptions {
        features: Some(vec![ColumnRef::Name("y".into()), ColumnRef::Index(1)]),
        ..Default::default()
    };
    let subset = read(text, &subset).unwrap();
    assert_eq!(subset.feature_names, ["y", "x"]);
    assert_eq!(subset.features.to_vec(), [100.0, 10.0, 200.0, 20.0]);
}

#[test]
fn numeric_class_labels_sort_numerically_and_keep_names() {
    let text = "x,y\n1,10\n2,2\n3,10\n4,1\n";
    let options = CsvOptions {
        target_kind: TargetKind::Classes,
        ..Default::default()
    };
    let table = read(text, &options).unwrap();
    assert_eq!(table.class_names.as_deref().unwrap(), ["1", "2", "10"]);
    assert_eq!(table.class_indices.as_deref().unwrap(), [2, 1, 2, 0]);
    assert_eq!(table.class_counts(), Some(vec![1, 1, 2]));
    assert_eq!(table.targets.unwrap().to_vec(), [2.0, 1.0, 2.0, 0.0]);
}

#[test]
fn categorical_features_one_hot_and_ordinal_with_sorted_categories() {
    let text = "color,size,y\nred,1,0\nblue,2,1\nred,3,0\ngreen,4,1\n";
    let one_hot = CsvOptions {
        categorical: CategoricalColumns::Auto,
        ..Default::default()
    };
    let table = read(text, &one_hot).unwrap();
    assert_eq!(
        table.feature_names,
        ["color=blue", "color=green", "color=red", "size"]
    );
    assert_eq!(
        table.features.to_vec(),
        [0., 0., 1., 1., 1., 0., 0., 2., 0., 0., 1., 3., 0., 1., 0., 4.]
    );
    let ordinal = CsvOptions {
        categorical: CategoricalColumns::Columns(vec![ColumnRef::Name("color".into())]),
        categorical_encoding: CategoricalEncoding::Ordinal,
        ..Default::default()
    };
    let table = read(text, &ordinal).unwrap();
    assert_eq!(table.feature_names, ["color", "size"]);
    assert_eq!(table.features.to_vec(), [2., 1., 0., 2., 2., 3., 1., 4.]);
}

#[test]
fn non_numeric_feature_is_an_error_unless_categorical() {
    let text = "color,y\nred,0\n";
    let err = read(text, &CsvOptions::default()).unwrap_err().to_string();
    assert!(
        err.contains("line 2, column 1 (\"color\")") && err.contains("\"red\""),
        "{err}"
    );
}

#[test]
fn schema_reads_a_test_file_the_same_way_and_refuses_unseen_categories() {
    let train = "color,y\nred,cat\nblue,dog\n";
    let options = CsvOptions {
        categorical: CategoricalColumns::Auto,
        ..Default::default()
    };
    let fitted = read(train, &options).unwrap();
    let test = "color,y\nblue,dog\nred,dog\n";
    let again =
        read_csv_from_reader_with_schema(test.as_bytes(), &options, &fitted.schema).unwrap();
    assert_eq!(again.feature_names, fitted.feature_names);
    assert_eq!(again.features.to_vec(), [1., 0., 0., 1.]);
    assert_eq!(again.class_indices.unwrap(), [1, 1]);
    let unseen = "color,y\nblue,dog\ngreen,cat\n";
    let err =
        read_csv_from_reader_with_schema(unseen.as_bytes(), &options, &fitted.schema).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("line 3, column 1 (\"color\")") && message.contains("\"green\""),
        "{message}"
    );
    assert!(message.contains("not seen when fitting"), "{message}");
    let unseen_class = "color,y\nblue,bird\n";
    let err = read_csv_from_reader_with_schema(unseen_class.as_bytes(), &options, &fitted.schema)
        .unwrap_err();
    assert!(
        err.to_string().contains("line 2, column 2 (\"y\")"),
        "{err}"
    );
}

#[test]
fn kept_missing_values_are_imputed_with_training_statistics_only() {
    let text = "a,b,y\n1,10,0\nNA,20,1\n3,?,0\n100,40,1\n";
    let options = CsvOptions {
        missing: MissingPolicy::Keep,
        ..Default::default()
    };
    let table = read(text, &options).unwrap();
    let x = table.features.to_vec();
    assert!(x[2].is_nan() && x[5].is_nan());
    let train_rows = [0, 1, 2];
    let imputer = Imputer {
        strategy: ImputeStrategy::Mean,
    }
    .fit_rows(&table.features, &train_rows)
    .unwrap();
    // Row 3 (a = 100) is a test row: it must not move the mean of column a.
    assert_eq!(imputer.statistics, [2.0, 15.0]);
    let filled = imputer.transform(&table.features).unwrap().to_vec();
    assert_eq!(filled, [1., 10., 2., 20., 3., 15., 100., 40.]);
    let median = Imputer {
        strategy: ImputeStrategy::Median,
    }
    .fit(&table.features)
    .unwrap();
    assert_eq!(median.statistics, [3.0, 20.0]);
    let frequent = Imputer {
        strategy: ImputeStrategy::MostFrequent,
    }
    .fit(&table.features)
    .unwrap();
    assert_eq!(
        frequent.statistics,
        [1.0, 10.0],
        "ties go to the smallest value"
    );
}

#[test]
fn a_numeric_missing_marker_wins_over_the_number() {
    let options = CsvOptions {
        missing_markers: vec!["-999".into(), "".into()],
        missing: MissingPolicy::Keep,
        ..Default::default()
    };
    let table = read("a,y\n-999,0\n-999.5,1\n", &options).unwrap();
    let x = table.features.to_vec();
    assert!(x[0].is_nan(), "-999 is a marker");
    assert_eq!(x[1], -999.5);
    let strict = CsvOptions {
        missing_markers: vec!["-999".into()],
        ..Default::default()
    };
    let err = read("a,y\n1,0\n-999,1\n", &strict).unwrap_err().to_string();
    assert!(
        err.contains("column 1 (\"a\"): 1 missing, first at line 3"),
        "{err}"
    );
}

#[test]
fn decimals_read_bit_for_bit_like_str_parse() {
    let cells = [
        "0.1",
        "-99.123456",
        "16777217",
        "3.4028235e38",
        "1e-7",
        "123456.789012",
        "+7",
        "-0",
    ];
    let text: String = std::iter::once("a,y\n".to_string())
        .chain(cells.iter().map(|c| format!("{c},0\n")))
        .collect();
    let table = read(&text, &CsvOptions::default()).unwrap();
    let got: Vec<u32> = table
        .features
        .to_vec()
        .iter()
        .map(|x| x.to_bits())
        .collect();
    let expected: Vec<u32> = cells
        .iter()
        .map(|c| c.parse::<f32>().unwrap().to_bits())
        .collect();
    assert_eq!(got, expected);
}

#[test]
fn gzipped_csv_is_read_transparently() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.csv.gz");
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&path).unwrap(),
        flate2::Compression::fast(),
    );
    gz.write_all(b"x,y\n1,2\n3,4\n").unwrap();
    gz.finish().unwrap();
    let table = read_csv(&path, &CsvOptions::default()).unwrap();
    assert_eq!(table.features.to_vec(), [1.0, 3.0]);
}

#[test]
fn io_error_names_the_path() {
    let err = read_csv("/definitely/not/here.csv", &CsvOptions::default()).unwrap_err();
    assert!(matches!(err, DataError::Io { .. }));
    assert!(err.to_string().contains("/definitely/not/here.csv"));
}

/// One line of a generated file: how it is terminated and whether it is preceded by blank lines.
#[derive(Debug, Clone)]
struct Row {
    crlf: bool,
    blank_lines_before: usize,
    multiline_first_field: bool,
}

fn rows() -> impl Strategy<Value = Vec<Row>> {
    prop::collection::vec(
        (any::<bool>(), 0usize..3, prop::bool::weighted(0.2)).prop_map(
            |(crlf, blank_lines_before, multiline_first_field)| Row {
                crlf,
                blank_lines_before,
                multiline_first_field,
            },
        ),
        1..12,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The reported line is the physical line the bad record starts on, whatever the mix of LF,
    /// CRLF, blank lines and quoted multi-line fields before it.
    #[test]
    fn error_line_is_the_physical_line_of_the_bad_record(rows in rows(), bad in any::<prop::sample::Index>()) {
        let bad = bad.index(rows.len());
        let mut text = String::from("a,b,y\n");
        let mut line = 2u64;
        let mut expected_line = 0;
        for (k, row) in rows.iter().enumerate() {
            let eol = if row.crlf { "\r\n" } else { "\n" };
            for _ in 0..row.blank_lines_before {
                text.push_str(eol);
                line += 1;
            }
            let first = if row.multiline_first_field { "\"x\ny\"" } else { "x" };
            let second = if k == bad { "oops" } else { "1" };
            if k == bad {
                expected_line = line;
            }
            text.push_str(&format!("{first},{second},0{eol}"));
            line += 1 + u64::from(row.multiline_first_field);
        }
        let options = CsvOptions {
            categorical: CategoricalColumns::Columns(vec![ColumnRef::Index(0)]),
            ..Default::default()
        };
        let message = read(&text, &options).unwrap_err().to_string();
        let expected = format!("line {expected_line}, column 2");
        prop_assert!(message.contains(&expected), "{} in {:?}", expected, message);
    }

    /// Reading and converting arbitrary bytes returns a table or an error, never a panic.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(
        prop::sample::select(vec![b'1', b'2', b'.', b'-', b'e', b',', b';', b'\n', b'\r', b'"', b' ', b'a', b'?', 0xff, 0xef, 0xbb, 0xbf, b'\t']),
        0..200,
    ), has_header in any::<bool>(), auto in any::<bool>(), keep in any::<bool>()) {
        let options = CsvOptions {
            has_header,
            categorical: if auto { CategoricalColumns::Auto } else { CategoricalColumns::None },
            missing: if keep { MissingPolicy::Keep } else { MissingPolicy::Error },
            ..Default::default()
        };
        let _ = read_csv_from_reader(&bytes[..], &options);
        let _ = gradwork_data::read_sklearn_csv_from_reader(&bytes[..]);
        let _ = gradwork_data::read_sst2_from_reader(&bytes[..], None);
        let _ = gradwork_data::read_idx_from_reader(&bytes[..], None);
    }

    /// Fully random bytes (not only CSV-ish ones) never panic either.
    #[test]
    fn fully_random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = read_csv_from_reader(&bytes[..], &CsvOptions { categorical: CategoricalColumns::Auto, ..Default::default() });
        let _ = read_csv_from_reader(&bytes[..], &CsvOptions { has_header: false, target_kind: TargetKind::Classes, ..Default::default() });
    }
}
