//! A numeric CSV of several megabytes (several blocks of the parallel path) read on 1 and 2 rayon
//! threads gives bit-identical tables, equal to an independent reading: every cell through
//! `str::parse::<f32>`, every line counted by hand.

use std::io::Write;

use gradwork_data::{read_csv, CsvOptions};

/// Writes `rows` rows of 6 assorted numeric cells and a label, with CRLF line ends and a few
/// blank lines; returns the text.
fn write_csv(path: &std::path::Path, rows: usize) -> String {
    let mut text = String::from("a,b,c,d,e,f,label\r\n");
    let mut state = 7u64;
    for i in 0..rows {
        let mut cells = Vec::new();
        for k in 0..6 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let x = (state >> 11) as f64 / (1u64 << 53) as f64 * 2000.0 - 1000.0;
            cells.push(match k {
                0 => format!("{x:.6}"),
                1 => format!("{x}"),
                2 => format!("{}", x.round() as i64),
                3 => format!("{:.3}", x / 1e4),
                4 => format!("{x:e}"),
                _ => format!(" {x:.2} "),
            });
        }
        cells.push(format!("{}", i % 4));
        text.push_str(&cells.join(","));
        text.push_str(if i % 5000 == 4999 { "\r\n\r\n" } else { "\r\n" });
    }
    std::fs::File::create(path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    text
}

#[test]
fn multi_block_numeric_file_is_identical_on_1_and_2_threads_and_matches_std_parsing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("numbers.csv");
    let text = write_csv(&path, 60_000);
    assert!(text.len() > 3 << 20, "want several 1 MB blocks");

    let read_on = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| read_csv(&path, &CsvOptions::default()).unwrap())
    };
    let one = read_on(1);
    let two = read_on(2);
    let bits = |v: Vec<f32>| v.into_iter().map(f32::to_bits).collect::<Vec<_>>();
    assert_eq!(bits(one.features.to_vec()), bits(two.features.to_vec()));
    assert_eq!(
        bits(one.targets.clone().unwrap().to_vec()),
        bits(two.targets.clone().unwrap().to_vec())
    );
    assert_eq!(one.source_lines, two.source_lines);

    // The independent reading.
    let mut features = Vec::new();
    let mut targets = Vec::new();
    let mut lines = Vec::new();
    for (k, line) in text.split("\r\n").enumerate().skip(1) {
        if line.is_empty() {
            continue;
        }
        let cells: Vec<f32> = line
            .split(',')
            .map(|c| c.trim().parse::<f32>().unwrap())
            .collect();
        features.extend_from_slice(&cells[..6]);
        targets.push(cells[6]);
        lines.push(k as u64 + 1);
    }
    assert_eq!(one.features.shape(), &[lines.len(), 6]);
    assert_eq!(bits(one.features.to_vec()), bits(features));
    assert_eq!(bits(one.targets.unwrap().to_vec()), bits(targets));
    assert_eq!(one.source_lines, lines);
}
