//! CSV load throughput: a generated numeric CSV (20 float columns + an integer label) read into
//! a `TabularDataset` on 1 and 2 rayon threads. Criterion reports bytes per second.
#![allow(missing_docs)] // criterion_group! generates an undocumented public function

use std::io::{BufWriter, Write};
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gradwork_data::{read_csv, CsvOptions};

/// Writes `rows` rows of 20 pseudo-random floats with 6 decimals and a 0..10 label; returns the size.
fn write_numeric_csv(path: &Path, rows: usize) -> u64 {
    let mut out = BufWriter::new(std::fs::File::create(path).unwrap());
    let header: Vec<String> = (0..20).map(|j| format!("x{j}")).collect();
    writeln!(out, "{},label", header.join(",")).unwrap();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..rows {
        for _ in 0..20 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let value = (state >> 11) as f64 / (1u64 << 53) as f64 * 200.0 - 100.0;
            write!(out, "{value:.6},").unwrap();
        }
        writeln!(out, "{}", state % 10).unwrap();
    }
    out.flush().unwrap();
    std::fs::metadata(path).unwrap().len()
}

fn csv_load(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("numeric.csv");
    let bytes = write_numeric_csv(&path, 50_000);
    let mut group = c.benchmark_group("csv_load");
    group.throughput(Throughput::Bytes(bytes));
    group.sample_size(10);
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        group.bench_function(format!("numeric/50000x21/threads{threads}"), |b| {
            b.iter(|| pool.install(|| read_csv(&path, &CsvOptions::default()).unwrap()))
        });
    }
    group.finish();
}

criterion_group!(benches, csv_load);
criterion_main!(benches);
