//! Measures how fast `read_csv` loads a numeric CSV file.
//!
//! ```text
//! cargo run --release -p gradwork-data --example csv_throughput -- FILE.csv [repeats]
//! ```
//! With no file, writes a ~100 MB numeric CSV (20 float columns + a label) to a temporary folder
//! first and prints its path, so the same file can be timed with pandas.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use gradwork_data::{read_csv, CsvOptions};

fn write_numeric_csv(path: &PathBuf, target_bytes: u64) {
    let mut out = BufWriter::new(std::fs::File::create(path).expect("create the CSV"));
    let header: Vec<String> = (0..20).map(|j| format!("x{j}")).collect();
    writeln!(out, "{},label", header.join(",")).unwrap();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut written = 0u64;
    while written < target_bytes {
        let mut line = String::with_capacity(256);
        for _ in 0..20 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let value = (state >> 11) as f64 / (1u64 << 53) as f64 * 200.0 - 100.0;
            line.push_str(&format!("{value:.6},"));
        }
        line.push_str(&format!("{}\n", state % 10));
        written += line.len() as u64;
        out.write_all(line.as_bytes()).unwrap();
    }
    out.flush().unwrap();
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = match args.next() {
        Some(p) => PathBuf::from(p),
        None => {
            let path = std::env::temp_dir().join("gradwork_csv_throughput.csv");
            write_numeric_csv(&path, 100_000_000);
            println!("wrote {}", path.display());
            path
        }
    };
    let repeats: usize = args.next().map_or(Ok(3), |r| r.parse())?;
    let bytes = std::fs::metadata(&path)?.len() as f64;
    let mut best = f64::INFINITY;
    for _ in 0..repeats {
        let start = Instant::now();
        let table = read_csv(&path, &CsvOptions::default())?;
        let seconds = start.elapsed().as_secs_f64();
        best = best.min(seconds);
        println!(
            "{} rows x {} features in {seconds:.3} s",
            table.n_rows(),
            table.n_features()
        );
    }
    println!(
        "best: {:.3} s = {:.1} MB/s ({:.1} MB file)",
        best,
        bytes / best / 1e6,
        bytes / 1e6
    );
    Ok(())
}
