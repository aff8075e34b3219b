//! Measures how fast `read_csv` loads a numeric CSV file, on 1 and 2 rayon threads, next to
//! `pandas.read_csv` on the same file when a Python with pandas is at hand.
//!
//! ```text
//! cargo run --release -p gradwork-data --example csv_throughput -- [FILE.csv] [repeats] [threads,...]
//! ```
//! With no file (or `-`), writes a ~100 MB numeric CSV (20 float columns + a label) to a temporary
//! folder first and prints its path. `repeats` defaults to 5 and the thread counts to `1,2`.
//! pandas runs through `$GRADWORK_PANDAS_PYTHON` (default `python3`); without pandas that line is
//! skipped with a note. Medians and bests of the repeats are printed in MB/s (10^6 bytes per second).

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
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

/// The 1, 5 and 15-minute load averages (Linux), to judge how quiet the machine was.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// The median and the minimum of some timings.
fn median_and_best(mut seconds: Vec<f64>) -> (f64, f64) {
    seconds.sort_by(f64::total_cmp);
    (seconds[seconds.len() / 2], seconds[0])
}

const PANDAS_SCRIPT: &str = "
import sys, time
import pandas as pd
for _ in range(int(sys.argv[2])):
    start = time.perf_counter()
    frame = pd.read_csv(sys.argv[1])
    print(time.perf_counter() - start, frame.shape[0], pd.__version__, flush=True)
";

/// Times `pandas.read_csv` on `path`; `None` (with a note) when no Python with pandas runs.
fn time_pandas(path: &Path, repeats: usize) -> Option<(Vec<f64>, String)> {
    let python = std::env::var("GRADWORK_PANDAS_PYTHON").unwrap_or_else(|_| "python3".into());
    let output = Command::new(&python)
        .args(["-c", PANDAS_SCRIPT])
        .arg(path)
        .arg(repeats.to_string())
        .output();
    let output = match output {
        Ok(o) if o.status.success() => o,
        Ok(o) => {
            let why = String::from_utf8_lossy(&o.stderr);
            println!("pandas: skipped ({python} failed: {})", why.trim());
            return None;
        }
        Err(e) => {
            println!("pandas: skipped (cannot run {python}: {e}); set GRADWORK_PANDAS_PYTHON");
            return None;
        }
    };
    let text = String::from_utf8_lossy(&output.stdout);
    let mut version = String::new();
    let seconds = text
        .lines()
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            let s = parts.next()?.parse().ok()?;
            version = parts.nth(1).unwrap_or("").to_string();
            Some(s)
        })
        .collect::<Vec<f64>>();
    (!seconds.is_empty()).then_some((seconds, version))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = match args.next().filter(|p| p != "-") {
        Some(p) => PathBuf::from(p),
        None => {
            let path = std::env::temp_dir().join("gradwork_csv_throughput.csv");
            write_numeric_csv(&path, 100_000_000);
            println!("wrote {}", path.display());
            path
        }
    };
    let repeats: usize = args.next().map_or(Ok(5), |r| r.parse())?;
    let threads: Vec<usize> = args
        .next()
        .unwrap_or_else(|| "1,2".into())
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let bytes = std::fs::metadata(&path)?.len() as f64;
    println!(
        "{}: {:.1} MB; load average {}",
        path.display(),
        bytes / 1e6,
        load_average()
    );
    let mb_per_s = |seconds: f64| bytes / seconds / 1e6;
    for &n in &threads {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(n).build()?;
        let mut seconds = Vec::with_capacity(repeats);
        let mut shape = (0, 0);
        for _ in 0..repeats.max(1) {
            let start = Instant::now();
            let table = pool.install(|| read_csv(&path, &CsvOptions::default()))?;
            seconds.push(start.elapsed().as_secs_f64());
            shape = (table.n_rows(), table.n_features());
        }
        let (median, best) = median_and_best(seconds);
        println!(
            "gradwork, {n} thread(s): {} rows x {} features, median {median:.3} s = {:.1} MB/s (best {:.1} MB/s)",
            shape.0,
            shape.1,
            mb_per_s(median),
            mb_per_s(best)
        );
    }
    if let Some((seconds, version)) = time_pandas(&path, repeats.max(1)) {
        let (median, best) = median_and_best(seconds);
        println!(
            "pandas {version} read_csv: median {median:.3} s = {:.1} MB/s (best {:.1} MB/s)",
            mb_per_s(median),
            mb_per_s(best)
        );
    }
    println!("load average after: {}", load_average());
    Ok(())
}
