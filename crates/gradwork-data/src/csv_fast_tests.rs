//! The fast numeric path must read every input exactly as the `csv` crate path does: the same
//! values bit for bit, the same lines, the same schema, the same error, whatever the block size
//! and the number of rayon threads.

use proptest::prelude::*;

use crate::csv_fast_read::FastConfig;
use crate::csv_options::{
    CategoricalColumns, ColumnRef, CsvOptions, MissingPolicy, TargetColumn, TargetKind,
};
use crate::csv_reader::{read_any_with, Engine, Fitting};
use crate::tabular::TabularDataset;

/// Everything a reading produced, with floats as bits (so NaN equals NaN) and errors as text.
fn outcome(result: crate::Result<TabularDataset>) -> String {
    match result {
        Ok(t) => {
            let bits = |v: Vec<f32>| v.into_iter().map(f32::to_bits).collect::<Vec<_>>();
            format!(
                "ok shape={:?} features={:?} targets={:?} classes={:?} names={:?} lines={:?} schema={:?}",
                t.features.shape(),
                bits(t.features.to_vec()),
                t.targets.map(|x| bits(x.to_vec())),
                (t.class_indices, t.class_names),
                (t.feature_names, t.target_name),
                t.source_lines,
                serde_json::to_string(&t.schema).expect("a serialisable schema")
            )
        }
        Err(e) => format!("error {e}"),
    }
}

fn read(text: &[u8], options: &CsvOptions, engine: Engine) -> String {
    outcome(read_any_with(text, None, options, Fitting::Fit, engine))
}

/// Block sizes from one byte (every line its own block, lines longer than a block) upwards.
const CONFIGS: [FastConfig; 4] = [
    FastConfig {
        block_bytes: 1,
        blocks_per_thread: 1,
    },
    FastConfig {
        block_bytes: 7,
        blocks_per_thread: 3,
    },
    FastConfig {
        block_bytes: 64,
        blocks_per_thread: 2,
    },
    FastConfig {
        block_bytes: 1 << 20,
        blocks_per_thread: 2,
    },
];

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a rayon pool")
}

/// Checks that every fast configuration on 1 and 2 threads agrees with the `csv` crate path;
/// returns that path's outcome.
fn assert_same(text: &[u8], options: &CsvOptions) -> String {
    let expected = read(text, options, Engine::CsvOnly);
    for threads in [1, 2] {
        for config in CONFIGS {
            let got = pool(threads).install(|| read(text, options, Engine::Fast(config)));
            if got != expected {
                let at = got
                    .bytes()
                    .zip(expected.bytes())
                    .position(|(a, b)| a != b)
                    .unwrap_or(got.len().min(expected.len()));
                let around = |s: &str| {
                    s.get(at.saturating_sub(80)..(at + 80).min(s.len()))
                        .map(str::to_string)
                };
                panic!(
                    "{threads} threads, {config:?}: fast path {:?} but csv path {:?} (input starts {:?})",
                    around(&got),
                    around(&expected),
                    String::from_utf8_lossy(&text[..text.len().min(120)])
                );
            }
        }
    }
    expected
}

/// A numeric CSV of `rows` rows: 4 features with assorted decimals and an integer label.
fn numeric_csv(rows: usize, line_end: &str) -> String {
    let mut text = format!("a,b,c,d,label{line_end}");
    let mut state = 42u64;
    for i in 0..rows {
        let mut cells = Vec::new();
        for k in 0..4 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let x = (state >> 11) as f64 / (1u64 << 53) as f64 * 200.0 - 100.0;
            cells.push(match k {
                0 => format!("{x:.6}"),
                1 => format!("{}", (x * 1000.0).round() as i64),
                2 => format!("{x:.1}"),
                _ => format!("{x}"), // up to 17 significant digits: the general parser's share
            });
        }
        cells.push(format!("{}", i % 3));
        text.push_str(&cells.join(","));
        text.push_str(line_end);
    }
    text
}

#[test]
fn fast_path_equals_csv_path_on_plain_numeric_files_lf_and_crlf() {
    for line_end in ["\n", "\r\n"] {
        let text = numeric_csv(300, line_end);
        let expected = assert_same(text.as_bytes(), &CsvOptions::default());
        assert!(expected.starts_with("ok shape=[300, 4]"), "{expected}");
        // Without the last line break, and with blank lines in between.
        let trimmed = text.trim_end();
        assert_same(trimmed.as_bytes(), &CsvOptions::default());
        let blank = text.replacen(line_end, &format!("{line_end}{line_end}"), 7);
        assert_same(blank.as_bytes(), &CsvOptions::default());
    }
}

#[test]
fn fast_path_equals_csv_path_with_quoted_multiline_fields_and_crlf() {
    let mut text = numeric_csv(200, "\r\n").replace("a,b,c,d,label", "a,b,c,d,note,label");
    // Give every row a note column; a few notes are quoted and span lines, one quotes a quote.
    let mut lines: Vec<String> = text.split("\r\n").map(str::to_string).collect();
    for (i, line) in lines.iter_mut().enumerate().skip(1) {
        let Some(comma) = line.rfind(',') else {
            continue;
        };
        let note = match i % 50 {
            17 => "\"two\r\nlines\"".to_string(),
            31 => "\"a \"\"quoted\"\" word, and\nan LF\"".to_string(),
            _ => format!("n{i}"),
        };
        line.insert_str(comma, &format!(",{note}"));
    }
    text = lines.join("\r\n");
    let options = CsvOptions {
        features: Some(vec![ColumnRef::Index(0), ColumnRef::Index(3)]),
        ..CsvOptions::default()
    };
    let expected = assert_same(text.as_bytes(), &options);
    assert!(expected.starts_with("ok shape=[200, 2]"), "{expected}");
    // A quoted number in a selected column.
    let quoted = text.replacen("\r\n1", "\r\n\"1\"", 1);
    assert_same(quoted.as_bytes(), &options);
}

#[test]
fn fast_path_equals_csv_path_on_cells_it_declines() {
    let base = numeric_csv(120, "\n");
    let keep = CsvOptions {
        missing: MissingPolicy::Keep,
        ..CsvOptions::default()
    };
    let auto = CsvOptions {
        categorical: CategoricalColumns::Auto,
        ..CsvOptions::default()
    };
    let line = |k: usize| base.lines().nth(k).unwrap().to_string();
    let edits: Vec<(String, String)> = vec![
        (line(40), line(40).replacen(',', ",NA,", 1)),
        (line(5), line(5).replacen(',', ",,", 1)), // ragged + empty cell
        (line(60), line(60).replacen(',', " ,  ", 1)), // spaces around
        (line(70), line(70).replacen(',', ",1e3,", 1)), // exponent (+ ragged)
        (line(80), format!("{},x", line(80))),     // too many fields
        (line(90), line(90).replace(',', ";")),    // too few fields
        (line(100), line(100).replacen(',', ",-inf,", 1)), // infinite
        (line(110), line(110).replacen(',', ",\u{e9},", 1)), // text
        (line(20), line(20).replacen(',', "\r,", 1)), // lone CR
    ];
    for (from, to) in &edits {
        let text = base.replacen(from.as_str(), to, 1);
        for options in [&CsvOptions::default(), &keep, &auto] {
            assert_same(text.as_bytes(), options);
        }
    }
    // Missing cells: the per-column report (counts and first lines) must agree, and with
    // `Keep` the NaNs land on the same rows.
    let missing: String = base
        .lines()
        .enumerate()
        .map(|(i, line)| {
            let mut cells: Vec<&str> = line.split(',').collect();
            if i % 9 == 4 {
                cells[1] = "NA";
            }
            if i % 13 == 6 {
                cells[2] = " ? ";
            }
            format!("{}\n", cells.join(","))
        })
        .collect();
    assert!(assert_same(missing.as_bytes(), &CsvOptions::default()).starts_with("error"));
    assert!(assert_same(missing.as_bytes(), &keep).starts_with("ok"));
    // A column that turns to text after many numeric rows, and a text target.
    let text_late = format!("{base}1,2,3,cat,0\n4,5,6,7,1\n");
    assert_same(text_late.as_bytes(), &auto);
    let classes = base.replace(",0\n", ",zero\n");
    assert_same(classes.as_bytes(), &CsvOptions::default());
}

#[test]
fn fast_path_equals_csv_path_for_other_layouts() {
    let base = numeric_csv(150, "\n");
    let no_header = base.split_once('\n').unwrap().1.to_string();
    let cases = [
        (
            no_header.clone(),
            CsvOptions {
                has_header: false,
                ..CsvOptions::default()
            },
        ),
        (
            base.replace(',', ";"),
            CsvOptions {
                delimiter: b';',
                ..CsvOptions::default()
            },
        ),
        (
            base.replace(',', "\t"),
            CsvOptions {
                delimiter: b'\t',
                target: TargetColumn::Index(1),
                target_kind: TargetKind::Regression,
                ..CsvOptions::default()
            },
        ),
        (
            format!("skip me\n{base}"),
            CsvOptions {
                skip_rows: 1,
                target: TargetColumn::None,
                features: Some(vec![ColumnRef::Name("d".into()), ColumnRef::Index(0)]),
                ..CsvOptions::default()
            },
        ),
        (
            format!("\u{feff}{}", base.replace('\n', "\r")), // old Mac line ends and a BOM
            CsvOptions::default(),
        ),
    ];
    for (text, options) in &cases {
        assert!(assert_same(text.as_bytes(), options).starts_with("ok"));
    }
}

/// Rows of mostly numbers, sometimes ragged, with assorted line ends, quotes (some spanning
/// lines), missing markers and text.
fn csvish() -> impl Strategy<Value = Vec<u8>> {
    let numbers = [
        "1",
        "23",
        "-4.5",
        ".5",
        "7.",
        "0.000001",
        "99999999999",
        "-0.25",
        "42.125",
    ];
    let odd = [
        "NA", "?", "", " 3 ", "x", "1e5", "\"2\"", "\"a\nb\"", "\"", "\u{e9}", "1\r2",
    ];
    // Numbers four times out of five.
    let cells: Vec<&str> = numbers
        .iter()
        .cycle()
        .take(44)
        .chain(&odd)
        .copied()
        .collect();
    let cell = prop::sample::select(cells);
    let width = prop::sample::select(vec![3usize, 3, 3, 3, 3, 3, 3, 2, 4]);
    let end = prop::sample::select(vec!["\n", "\n", "\n", "\r\n", "\r\n", "\r", "\n\n", ""]);
    let row = (
        width.prop_flat_map(move |w| prop::collection::vec(cell.clone(), w)),
        end,
    )
        .prop_map(|(cells, end)| format!("{}{end}", cells.join(",")));
    prop::collection::vec(row, 0..40)
        .prop_map(|rows| format!("a,b,c\n{}", rows.concat()).into_bytes())
}

/// Bytes with no row structure at all, from the characters that matter to either path.
fn soup() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop::sample::select(b"0123456789,,,..--\"\"\r\n\n\n eENAx?\t;".to_vec());
    prop::collection::vec(byte, 0..120).prop_map(|bytes| [b"a,b,c\n".to_vec(), bytes].concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn fast_path_equals_csv_path_on_byte_soup(text in soup(), keep in any::<bool>()) {
        let options = CsvOptions {
            missing: if keep { MissingPolicy::Keep } else { MissingPolicy::Error },
            categorical: if keep { CategoricalColumns::Auto } else { CategoricalColumns::None },
            ..CsvOptions::default()
        };
        let expected = read(&text, &options, Engine::CsvOnly);
        for threads in [1, 2] {
            for config in CONFIGS {
                let got = pool(threads).install(|| read(&text, &options, Engine::Fast(config)));
                prop_assert_eq!(&got, &expected);
            }
        }
    }

    #[test]
    fn fast_path_equals_csv_path_on_arbitrary_record_structures(text in csvish(), keep in any::<bool>()) {
        let options = CsvOptions {
            missing: if keep { MissingPolicy::Keep } else { MissingPolicy::Error },
            categorical: if keep { CategoricalColumns::Auto } else { CategoricalColumns::None },
            ..CsvOptions::default()
        };
        let expected = read(&text, &options, Engine::CsvOnly);
        for threads in [1, 2] {
            for config in CONFIGS {
                let got = pool(threads).install(|| read(&text, &options, Engine::Fast(config)));
                prop_assert_eq!(&got, &expected);
            }
        }
    }
}

/// A reader that yields `data`, fails once, then reports the end (as the prefetching file
/// reader does), so an error met once must not be lost.
struct FailsAfter {
    data: std::io::Cursor<Vec<u8>>,
    failed: bool,
}

impl std::io::Read for FailsAfter {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.data.read(buf)? {
            0 if !self.failed && !buf.is_empty() => {
                self.failed = true;
                Err(std::io::Error::other("disk on fire"))
            }
            n => Ok(n),
        }
    }
}

#[test]
fn read_errors_surface_from_the_fast_path_after_earlier_row_errors() {
    let text = numeric_csv(400, "\n");
    let failing = |text: &str| FailsAfter {
        data: std::io::Cursor::new(text.as_bytes().to_vec()),
        failed: false,
    };
    let options = CsvOptions::default();
    for threads in [1, 2] {
        for config in CONFIGS {
            let got = pool(threads).install(|| {
                outcome(read_any_with(
                    failing(&text),
                    None,
                    &options,
                    Fitting::Fit,
                    Engine::Fast(config),
                ))
            });
            let expected = outcome(read_any_with(
                failing(&text),
                None,
                &options,
                Fitting::Fit,
                Engine::CsvOnly,
            ));
            assert!(got.contains("disk on fire"), "{got}");
            assert_eq!(got, expected);
            // A bad cell before the failure is reported first, as record by record.
            let bad = text.replacen("\n1", "\nx", 1);
            let got = pool(threads).install(|| {
                outcome(read_any_with(
                    failing(&bad),
                    None,
                    &options,
                    Fitting::Fit,
                    Engine::Fast(config),
                ))
            });
            assert!(got.contains("not a number"), "{got}");
            // A quote late in the file hands the rest to the `csv` crate, which must still meet
            // the read error (well-quoted, and unterminated).
            let half = text.len() / 2;
            let at = half + text[half..].find('\n').unwrap() + 1;
            for insert in ["\"1\"", "\""] {
                let quoted = format!("{}{insert}{}", &text[..at], &text[at..]);
                let read = |engine| {
                    outcome(read_any_with(
                        failing(&quoted),
                        None,
                        &options,
                        Fitting::Fit,
                        engine,
                    ))
                };
                let expected = read(Engine::CsvOnly);
                let got = pool(threads).install(|| read(Engine::Fast(config)));
                assert_eq!(got, expected, "{insert}");
            }
        }
    }
}

#[test]
fn a_quote_opening_a_last_field_of_one_newline_is_reported_on_its_own_line() {
    // The record `1,1,"` + newline starts on line 2; its quote opens the last field (it does not
    // close one), so the record is not taken for one ending on line 1.
    let text = b"a,b,c\n1,1,\"\n";
    let expected = assert_same(text, &CsvOptions::default());
    assert!(expected.starts_with("error line 2, column 3"), "{expected}");
}

#[test]
fn fast_path_equals_csv_path_after_a_header_longer_than_the_read_ahead() {
    // A 70 kB header: the `csv` crate's 64 kB buffer refills while reading it, and the data
    // must start exactly after it.
    let columns = 9_000;
    let header: Vec<String> = (0..columns).map(|j| format!("col{j}")).collect();
    let mut text = header.join(",") + "\n";
    for i in 0..3 {
        let row: Vec<String> = (0..columns).map(|j| format!("{}.5", i * j % 97)).collect();
        text.push_str(&row.join(","));
        text.push('\n');
    }
    let expected = assert_same(text.as_bytes(), &CsvOptions::default());
    assert!(
        expected.starts_with("ok shape=[3, 8999]"),
        "{}",
        &expected[..60]
    );
}
