//! The benchmark's table and JSON writer.

use xtask::bench::protocol::{Measurement, WorkerLine, GRADWORK, MATRIXMULTIPLY, NUMPY, PYTORCH};
use xtask::bench::report::{build_rows, render_table, BenchReport, JobRecord};
use xtask::bench::{python::PytorchStatus, render_summary, system, system::Machine};

fn figures() -> Vec<Measurement> {
    let m = |w: &str, case: &str, imp: &str, t: usize, v: f64, unit: &str, hib: bool| {
        Measurement::new(w, case, imp, t, v, unit, hib)
    };
    vec![
        // PyTorch first and thread 2 before 1: rows must not depend on arrival order.
        m("mlp_infer_latency", "bs1", PYTORCH, 1, 80.0, "us", false),
        m(
            "mlp_train",
            "bs128",
            PYTORCH,
            2,
            30_000.0,
            "samples/s",
            true,
        ),
        m(
            "mlp_train",
            "bs128",
            GRADWORK,
            2,
            45_000.0,
            "samples/s",
            true,
        ),
        m(
            "mlp_train",
            "bs128",
            GRADWORK,
            1,
            20_000.0,
            "samples/s",
            true,
        ),
        m("gemm", "64x64x64", MATRIXMULTIPLY, 1, 50.0, "GFLOP/s", true),
        m("gemm", "64x64x64", GRADWORK, 1, 40.0, "GFLOP/s", true),
        m("gemm", "64x64x64", PYTORCH, 1, 80.0, "GFLOP/s", true),
        m("mlp_infer_latency", "bs1", GRADWORK, 1, 20.0, "us", false),
    ]
}

#[test]
fn rows_pair_each_rust_figure_with_pytorch_and_speedup_above_one_means_faster() {
    let rows = build_rows(&figures());
    let key: Vec<(&str, &str, usize)> = rows
        .iter()
        .map(|r| (r.workload.as_str(), r.implementation.as_str(), r.threads))
        .collect();
    assert_eq!(
        key,
        vec![
            ("gemm", GRADWORK, 1),
            ("gemm", MATRIXMULTIPLY, 1),
            ("mlp_train", GRADWORK, 1),
            ("mlp_train", GRADWORK, 2),
            ("mlp_infer_latency", GRADWORK, 1),
        ]
    );
    // Rates divide: 40 vs 80 GFLOP/s is half as fast; 45k vs 30k samples/s is 1.5x.
    assert_eq!(rows[0].speedup, Some(0.5));
    assert_eq!(rows[1].speedup, Some(50.0 / 80.0));
    assert_eq!(rows[3].speedup, Some(1.5));
    // No PyTorch figure at 1 thread: no ratio.
    assert_eq!((rows[2].pytorch, rows[2].speedup), (None, None));
    // Latencies invert: 20 us against 80 us is 4x faster.
    assert_eq!(rows[4].speedup, Some(4.0));
}

#[test]
fn several_rounds_give_one_row_with_each_sides_median() {
    let m =
        |imp: &str, v: f64| Measurement::new("mlp_train", "bs128", imp, 1, v, "samples/s", true);
    // Three rounds: gradwork 90k, 70k, 100k (median 90k); PyTorch 40k, 60k, 45k (median 45k).
    let figures = vec![
        m(GRADWORK, 90_000.0),
        m(PYTORCH, 40_000.0),
        m(GRADWORK, 70_000.0),
        m(PYTORCH, 60_000.0),
        m(GRADWORK, 100_000.0),
        m(PYTORCH, 45_000.0),
    ];
    let rows = build_rows(&figures);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].gradwork, Some(90_000.0));
    assert_eq!(rows[0].pytorch, Some(45_000.0));
    assert_eq!(rows[0].speedup, Some(2.0));
    // An even number of rounds takes the mean of the middle two.
    let rows = build_rows(&figures[..4]);
    assert_eq!(
        (rows[0].gradwork, rows[0].pytorch),
        (Some(80_000.0), Some(50_000.0))
    );
}

#[test]
fn table_has_a_header_one_line_per_row_and_aligned_columns() {
    let rows = build_rows(&figures());
    let table = render_table(&rows);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("workload") && lines[0].ends_with("speed-up"));
    assert!(lines[1].chars().all(|c| c == '-' || c == ' '));
    let body = &lines[2..2 + rows.len()];
    assert!(body[0].starts_with("SGEMM Tensor::matmul"));
    assert!(body[1].starts_with("SGEMM direct matrixmultiply"));
    assert!(body[3].contains("45,000") && body[3].contains("30,000") && body[3].ends_with("1.50x"));
    assert!(
        body[2].ends_with('-'),
        "missing PyTorch figure shown as '-': {}",
        body[2]
    );
    assert!(body[4].ends_with("4.00x"));
    // Right-aligned numbers end in the same column on every line.
    let end = |l: &str| l.find(" samples/s").or_else(|| l.find(" GFLOP/s"));
    assert_eq!(end(body[2]), end(body[3]));
}

/// numpy's SGEMM figure joins the gradwork and matrixmultiply rows of its shape and thread count
/// (never a row of its own), with its own ratio; the table grows two columns for it, shown as
/// '-' on rows without one.
#[test]
fn numpy_figures_join_the_sgemm_rows_with_their_own_ratio() {
    let mut figures = figures();
    figures.push(Measurement::new(
        "gemm", "64x64x64", NUMPY, 1, 100.0, "GFLOP/s", true,
    ));
    let rows = build_rows(&figures);
    assert_eq!(rows.len(), 5, "no row of numpy's own");
    assert_eq!(
        (rows[0].implementation.as_str(), rows[0].numpy),
        (GRADWORK, Some(100.0))
    );
    assert_eq!(rows[0].speedup_vs_numpy, Some(0.4));
    assert_eq!(rows[1].speedup_vs_numpy, Some(0.5));
    assert_eq!(rows[0].speedup, Some(0.5), "the PyTorch ratio is unchanged");
    assert_eq!((rows[2].numpy, rows[2].speedup_vs_numpy), (None, None));

    let table = render_table(&rows);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].ends_with("numpy  vs numpy"), "{}", lines[0]);
    assert!(
        lines[2].contains("100.0") && lines[2].ends_with("0.40x"),
        "{}",
        lines[2]
    );
    assert!(lines[4].ends_with("-         -"), "{}", lines[4]);
    assert!(table.contains("vs numpy = "));
    // Without numpy figures the table keeps its seven columns.
    assert!(!render_table(&build_rows(&figures[..figures.len() - 1])).contains("numpy"));
}

#[test]
fn json_report_round_trips_through_a_file() {
    let measurements = figures();
    let report = BenchReport {
        machine: Machine::from_cpuinfo("model name\t: Test CPU\nflags\t: sse avx2 fma\n"),
        threads: vec![1, 2],
        quick: true,
        build: "debug".into(),
        versions: [("gradwork".to_string(), "0.1.0".to_string())].into(),
        pytorch: PytorchStatus::not_requested(),
        data_identical: Some(true),
        jobs: Vec::new(),
        rows: build_rows(&measurements),
        measurements,
    };
    assert_eq!(report.machine.cpu_model, "Test CPU");
    assert_eq!(report.machine.simd, vec!["avx2", "fma"]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/bench.json");
    report.write_json(&path).unwrap();
    let back: BenchReport = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(back, report);
}

#[test]
fn worker_lines_round_trip_and_stray_output_is_ignored() {
    let m = figures()
        .remove(2)
        .with_samples(vec![1.0, 2.0])
        .with_detail("partial", false);
    let line = WorkerLine::Measurement(m.clone()).to_json();
    assert_eq!(WorkerLine::parse(&line), Some(WorkerLine::Measurement(m)));
    assert_eq!(WorkerLine::parse("warming up..."), None);
    assert_eq!(WorkerLine::parse("{\"type\":\"unknown\"}"), None);
}

fn job(implementation: &str, threads: usize, round: usize, round_trip: Option<f64>) -> JobRecord {
    JobRecord {
        round,
        implementation: implementation.into(),
        job: "mlp bs128".into(),
        threads,
        wall_s: 1.0,
        loadavg_before: Some(0.1),
        loadavg_after: Some(0.2),
        core_round_trip_ns: round_trip,
        data: None,
        error: None,
    }
}

fn report_with_jobs(jobs: Vec<JobRecord>) -> BenchReport {
    BenchReport {
        machine: Machine::from_cpuinfo("model name\t: Test CPU\nflags\t: avx2 fma\n"),
        threads: vec![1, 2],
        quick: false,
        build: "release".into(),
        versions: Default::default(),
        pytorch: PytorchStatus::not_requested(),
        data_identical: None,
        jobs,
        rows: Vec::new(),
        measurements: Vec::new(),
    }
}

/// Processes whose core-to-core round trip was under half or over twice the run's median are
/// named under the table, by side, job, threads and round; one-thread processes measure nothing.
#[test]
fn processes_started_with_unusual_cpu_placement_are_named_under_the_table() {
    let report = report_with_jobs(vec![
        job(GRADWORK, 1, 0, None),
        job(GRADWORK, 2, 0, Some(68.0)),
        job(PYTORCH, 2, 0, Some(71.0)),
        job(GRADWORK, 2, 1, Some(352.0)),
        job(PYTORCH, 2, 1, Some(136.0)),
        job(GRADWORK, 2, 2, Some(29.0)),
        job(PYTORCH, 2, 2, Some(66.0)),
    ]);
    let placement = report.cpu_placement().unwrap();
    assert_eq!(
        (
            placement.shortest_ns,
            placement.median_ns,
            placement.longest_ns
        ),
        (29.0, 71.0, 352.0)
    );
    let unusual: Vec<_> = placement
        .unusual
        .iter()
        .map(|j| (j.implementation.as_str(), j.round))
        .collect();
    assert_eq!(unusual, vec![(GRADWORK, 1), (GRADWORK, 2)]);
    let text = render_summary(&report);
    assert!(
        text.contains(
            "core-to-core round trip before each multi-threaded process: 29-352 ns, median 71"
        ),
        "{text}"
    );
    assert!(
        text.contains("note: 2 multi-threaded process(es) started"),
        "{text}"
    );
    assert!(
        text.contains("gradwork mlp bs128 threads=2 round 2 (352 ns)"),
        "{text}"
    );
    assert!(
        text.contains("gradwork mlp bs128 threads=2 round 3 (29 ns)"),
        "{text}"
    );

    let steady = report_with_jobs(vec![
        job(GRADWORK, 2, 0, Some(68.0)),
        job(PYTORCH, 2, 0, Some(90.0)),
    ]);
    assert!(steady.cpu_placement().unwrap().unusual.is_empty());
    assert!(!render_summary(&steady).contains("placed unlike"));
    let none = report_with_jobs(vec![job(GRADWORK, 1, 0, None)]);
    assert!(none.cpu_placement().is_none());
    assert!(!render_summary(&none).contains("core-to-core"));
}

/// Reports written before the round trip was recorded still load (the field defaults to none).
#[test]
fn job_records_without_a_round_trip_still_load() {
    let old = r#"{"round":0,"implementation":"gradwork","job":"mlp bs128","threads":2,"wall_s":1.0,
        "loadavg_before":null,"loadavg_after":null,"data":null,"error":null}"#;
    let record: JobRecord = serde_json::from_str(old).unwrap();
    assert_eq!(record.core_round_trip_ns, None);
}

/// The probe gives a plausible latency (tens of nanoseconds to a few microseconds between two
/// spinning threads), or none on a single CPU or when the threads could not run side by side.
#[test]
fn core_round_trip_is_a_plausible_latency() {
    match system::core_round_trip_ns() {
        Some(ns) => assert!(ns.is_finite() && ns > 1.0 && ns < 50_000.0, "{ns} ns"),
        None => {
            let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
            eprintln!("round trip not measured ({cpus} CPUs, or the threads shared one)");
        }
    }
}
