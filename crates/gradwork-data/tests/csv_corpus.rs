//! A corpus of malformed CSV files (tests/corpus/): each must give an error whose message names
//! the line and the column, and says what is wrong.

use std::path::PathBuf;

use gradwork_data::{
    read_csv, read_sklearn_csv, ColumnRef, CsvOptions, DataError, TargetColumn, TargetKind,
};

fn corpus(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus")).join(name)
}

enum How {
    Default,
    Options(CsvOptions),
    Sklearn,
}

struct Case {
    file: &'static str,
    how: How,
    line: u64,
    /// What the message must say about the column: `column 3`, or `column "name"`.
    column: &'static str,
    /// A piece of the problem's description.
    problem: &'static str,
}

fn case(file: &'static str, line: u64, column: &'static str, problem: &'static str) -> Case {
    Case {
        file,
        how: How::Default,
        line,
        column,
        problem,
    }
}

fn with(options: CsvOptions, c: Case) -> Case {
    Case {
        how: How::Options(options),
        ..c
    }
}

fn cases() -> Vec<Case> {
    let regression = CsvOptions {
        target_kind: TargetKind::Regression,
        ..Default::default()
    };
    vec![
        case(
            "ragged_short_row.csv",
            3,
            "column 3",
            "2 fields but the first row has 3",
        ),
        case("ragged_long_row.csv", 2, "column 4", "4 fields"),
        case(
            "unparsable_number.csv",
            2,
            "column 2 (\"b\")",
            "not a number",
        ),
        with(
            regression,
            case(
                "unparsable_regression_target.csv",
                3,
                "column 2 (\"y\")",
                "not a number",
            ),
        ),
        case("unterminated_quote.csv", 2, "column 3", "2 fields"),
        case(
            "unterminated_quote_last_field.csv",
            3,
            "column 2 (\"b\")",
            "unterminated",
        ),
        case("empty.csv", 1, "column 1", "empty"),
        case("header_only.csv", 2, "column 1", "no data row"),
        case("header_only_bom_crlf.csv", 2, "column 1", "no data row"),
        case(
            "duplicate_header.csv",
            1,
            "column 3 (\"a\")",
            "duplicate column name (first used by column 1)",
        ),
        case("non_utf8_cell.csv", 2, "column 2 (\"b\")", "UTF-8"),
        case("non_utf8_header.csv", 1, "column 2", "UTF-8"),
        case(
            "lone_target_column.csv",
            1,
            "column 1 (\"y\")",
            "no feature",
        ),
        case(
            "missing_values.csv",
            4,
            "column 1 (\"a\")",
            "1 missing, first at line 4",
        ),
        case(
            "missing_target.csv",
            3,
            "column 2 (\"y\")",
            "target value is missing",
        ),
        case("out_of_range_number.csv", 2, "column 1 (\"a\")", "finite"),
        case("infinite_literal.csv", 3, "column 1 (\"a\")", "finite"),
        with(
            CsvOptions {
                target: TargetColumn::Name("label".into()),
                ..Default::default()
            },
            case(
                "unknown_target_name.csv",
                1,
                "column \"label\"",
                "no such column",
            ),
        ),
        with(
            CsvOptions {
                features: Some(vec![ColumnRef::Index(5)]),
                ..Default::default()
            },
            case("unknown_feature_index.csv", 1, "column 6", "no such column"),
        ),
        case("crlf_ragged.csv", 3, "column 3", "2 fields"),
        case("bom_bad_number.csv", 3, "column 2 (\"b\")", "not a number"),
        case(
            "wrong_delimiter.csv",
            1,
            "column 1 (\"a;b;y\")",
            "no feature",
        ),
        with(
            CsvOptions {
                delimiter: b'\t',
                ..Default::default()
            },
            case("tab_bad_number.tsv", 3, "column 2 (\"b\")", "not a number"),
        ),
        case(
            "quoted_bad_number.csv",
            2,
            "column 2 (\"b\")",
            "not a number",
        ),
        case(
            "multiline_quoted_number.csv",
            2,
            "column 2 (\"b\")",
            "spans several lines",
        ),
        case("blank_lines_then_ragged.csv", 5, "column 4", "4 fields"),
        with(
            CsvOptions {
                has_header: false,
                ..Default::default()
            },
            case("no_header_ragged.csv", 2, "column 3", "2 fields"),
        ),
        case(
            "whitespace_only_cell.csv",
            3,
            "column 1 (\"a\")",
            "1 missing",
        ),
        case("nul_byte.csv", 2, "column 1 (\"a\")", "not a number"),
        Case {
            how: How::Sklearn,
            ..case(
                "sklearn_bad_metadata.csv",
                1,
                "column 1",
                "n_samples is not a count",
            )
        },
        Case {
            how: How::Sklearn,
            ..case(
                "sklearn_row_count_mismatch.csv",
                1,
                "column 1",
                "announces 3 rows, the file has 2",
            )
        },
        Case {
            how: How::Sklearn,
            ..case(
                "sklearn_label_out_of_range.csv",
                3,
                "column 3",
                "not an integer in 0..2",
            )
        },
        with(
            CsvOptions {
                skip_rows: 5,
                ..Default::default()
            },
            case("skip_rows_past_end.csv", 3, "column 1", "no record"),
        ),
    ]
}

#[test]
fn every_malformed_file_gives_an_error_naming_line_column_and_problem() {
    let cases = cases();
    assert!(cases.len() >= 25);
    let on_disk = std::fs::read_dir(corpus("")).unwrap().count();
    assert_eq!(on_disk, cases.len(), "every corpus file has an expectation");
    let mut failures = Vec::new();
    for c in &cases {
        let path = corpus(c.file);
        let result = match &c.how {
            How::Default => read_csv(&path, &CsvOptions::default()),
            How::Options(options) => read_csv(&path, options),
            How::Sklearn => read_sklearn_csv(&path),
        };
        let message = match result {
            Ok(table) => {
                failures.push(format!(
                    "{}: expected an error, read {} rows",
                    c.file,
                    table.n_rows()
                ));
                continue;
            }
            Err(e) => e.to_string(),
        };
        let line = format!("line {}", c.line);
        for needed in [line.as_str(), c.column, c.problem, c.file] {
            if !message.contains(needed) {
                failures.push(format!(
                    "{}: {message:?} does not contain {needed:?}",
                    c.file
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn missing_value_report_lists_per_column_counts_and_first_lines() {
    let error = read_csv(corpus("missing_values.csv"), &CsvOptions::default()).unwrap_err();
    let DataError::MissingValues { columns, .. } = error else {
        panic!("expected MissingValues, got {error}");
    };
    // Column a: "?" on line 4. Column b: "", "NA", "NaN" on lines 2, 3, 5.
    let summary: Vec<(usize, &str, usize, Vec<u64>)> = columns
        .iter()
        .map(|c| {
            (
                c.column,
                c.column_name.as_str(),
                c.count,
                c.first_lines.clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![(1, "a", 1, vec![4]), (2, "b", 3, vec![2, 3, 5])]
    );
}

#[test]
fn csv_problem_text_is_quoted_in_the_message() {
    let error = read_csv(corpus("unparsable_number.csv"), &CsvOptions::default()).unwrap_err();
    assert!(error.to_string().contains("\"x2\""), "{error}");
}
