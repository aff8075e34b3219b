//! Runs every (job, thread count) in its own process, gradwork and PyTorch back to back so the
//! two see the same machine state (and, for SGEMM, numpy's BLAS after them), and gathers the
//! report.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::data::DataFingerprint;
use super::protocol::{WorkerOutput, GRADWORK, NUMPY, PYTORCH};
use super::python::PytorchStatus;
use super::report::{build_rows, BenchReport, JobRecord};
use super::system::{core_round_trip_ns, loadavg_1m, rust_versions, Machine};
use super::worker::build_profile;
use super::Job;

/// What to run and with which programs.
#[derive(Debug, Clone)]
pub struct DriverConfig {
    /// Thread counts, each run separately.
    pub threads: Vec<usize>,
    /// The jobs, in order.
    pub jobs: Vec<Job>,
    /// Smoke-test sizes.
    pub quick: bool,
    /// The program whose `bench-worker` subcommand runs a gradwork job (normally this binary).
    pub worker_exe: PathBuf,
    /// The interpreter and script of the PyTorch peer, or `None` to run gradwork alone.
    pub pytorch: Option<(String, PathBuf)>,
    /// The status reported when `pytorch` is `None` (not requested, or torch missing).
    pub pytorch_status: PytorchStatus,
    /// A worker still running after this long is killed and reported as failed.
    pub timeout: Duration,
    /// How many times every (job, thread count) runs; the table reports medians over rounds.
    pub rounds: usize,
}

/// Environment variables that pin every runtime's thread count to `t`.
pub fn thread_env(t: usize) -> Vec<(&'static str, String)> {
    [
        "RAYON_NUM_THREADS",
        "OMP_NUM_THREADS",
        "MKL_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
    ]
    .into_iter()
    .map(|k| (k, t.to_string()))
    .collect()
}

/// Runs everything and returns the report; progress goes to `log`. A failed worker is recorded
/// in its [`JobRecord`] and the run goes on.
pub fn run(config: &DriverConfig, log: &mut dyn Write) -> BenchReport {
    let workspace = crate::paths::workspace_root();
    let mut versions = rust_versions(&workspace);
    let mut jobs = Vec::new();
    let mut measurements = Vec::new();
    let rounds = config.rounds.max(1);
    for round in 0..rounds {
        if rounds > 1 {
            let _ = writeln!(log, "round {} of {rounds}", round + 1);
        }
        for &t in &config.threads {
            for &job in &config.jobs {
                let mut args = job.worker_args();
                args.extend(["--threads".to_string(), t.to_string()]);
                if config.quick {
                    args.push("--quick".into());
                }
                let mut commands = vec![(GRADWORK, config.worker_exe.as_os_str().to_owned(), {
                    let mut a = vec!["bench-worker".to_string()];
                    a.extend(args.iter().cloned());
                    a
                })];
                if let Some((python, script)) = &config.pytorch {
                    let mut a = vec![script.display().to_string()];
                    a.extend(args.iter().cloned());
                    // For SGEMM, numpy's BLAS too, in a process of its own (see `NUMPY`).
                    let numpy = (job == Job::Gemm).then(|| {
                        let mut numpy = a.clone();
                        numpy.push("--numpy".into());
                        numpy
                    });
                    commands.push((PYTORCH, python.into(), a));
                    if let Some(numpy) = numpy {
                        commands.push((NUMPY, python.into(), numpy));
                    }
                }
                for (implementation, program, argv) in commands {
                    let mut cmd = Command::new(&program);
                    cmd.args(&argv).envs(thread_env(t));
                    let before = loadavg_1m();
                    let round_trip = if t > 1 { core_round_trip_ns() } else { None };
                    let start = Instant::now();
                    let outcome = run_process(cmd, config.timeout);
                    let wall_s = start.elapsed().as_secs_f64();
                    let (output, error) = match outcome {
                        Ok(stdout) => (WorkerOutput::parse(&stdout), None),
                        Err((reason, stdout)) => (WorkerOutput::parse(&stdout), Some(reason)),
                    };
                    let error = error.or_else(|| {
                        output
                            .measurements
                            .is_empty()
                            .then(|| "it reported no measurements".to_string())
                    });
                    let _ = writeln!(
                        log,
                        "  {implementation:<8} {:<10} threads={t}  {wall_s:6.1} s{}{}",
                        job.label(),
                        round_trip.map_or(String::new(), |ns| format!(
                            "  (core-to-core round trip {ns:.0} ns before it)"
                        )),
                        error
                            .as_deref()
                            .map_or(String::new(), |e| format!("  FAILED: {e}")),
                    );
                    for meta in &output.metas {
                        for (k, v) in &meta.versions {
                            versions.entry(k.clone()).or_insert_with(|| v.clone());
                        }
                    }
                    jobs.push(JobRecord {
                        round,
                        implementation: implementation.to_string(),
                        job: job.label(),
                        threads: t,
                        wall_s,
                        loadavg_before: before,
                        loadavg_after: loadavg_1m(),
                        core_round_trip_ns: round_trip,
                        data: output.metas.iter().find_map(|m| m.data.clone()),
                        error,
                    });
                    measurements.extend(output.measurements);
                }
            }
        }
    }
    let pytorch = config.pytorch_status.clone();
    if let Some(v) = &pytorch.torch_version {
        versions.entry("torch".into()).or_insert_with(|| v.clone());
    }
    BenchReport {
        machine: Machine::detect(),
        threads: config.threads.clone(),
        quick: config.quick,
        build: build_profile().to_string(),
        versions,
        pytorch,
        data_identical: data_identical(&jobs),
        rows: build_rows(&measurements),
        jobs,
        measurements,
    }
}

/// Whether all workers that generated the same number of samples got the same data; `None`
/// when no two did.
pub fn data_identical(jobs: &[JobRecord]) -> Option<bool> {
    let mut by_size: BTreeMap<usize, Vec<&DataFingerprint>> = BTreeMap::new();
    for d in jobs.iter().filter_map(|j| j.data.as_ref()) {
        by_size.entry(d.samples).or_default().push(d);
    }
    let groups: Vec<_> = by_size.values().filter(|g| g.len() > 1).collect();
    if groups.is_empty() {
        return None;
    }
    Some(groups.iter().all(|g| g.iter().all(|d| *d == g[0])))
}

/// Runs `cmd` to completion (or kills it at `timeout`); returns its stdout, or the reason it
/// failed with whatever stdout it produced.
fn run_process(mut cmd: Command, timeout: Duration) -> Result<String, (String, String)> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| (format!("cannot start: {e}"), String::new()))?;
    // Drain both pipes on threads so a chatty worker cannot block on a full pipe.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_string(&mut s);
            }
            s
        })
    };
    let out = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) if start.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                break Err(format!("killed after {} s", timeout.as_secs()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => break Err(format!("wait failed: {e}")),
        }
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    let tail = |s: &str| {
        let lines: Vec<&str> = s.lines().collect();
        lines[lines.len().saturating_sub(8)..].join("\n")
    };
    match status {
        Ok(s) if s.success() => Ok(stdout),
        Ok(s) => Err((format!("{s}; stderr:\n{}", tail(&stderr)), stdout)),
        Err(reason) => Err((format!("{reason}; stderr:\n{}", tail(&stderr)), stdout)),
    }
}
