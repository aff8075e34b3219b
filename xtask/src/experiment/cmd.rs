//! The `experiment` and `verify` subcommands: arguments, run folders, the thread-count check and
//! the printed summaries.

use std::path::{Path, PathBuf};

use super::manifest::{self, Manifest, DEFAULT_EXPERIMENT};
use super::results::{differences, Results};
use super::run::{self, files};
use super::ExperimentError;
use crate::paths;

/// Arguments of `cargo xtask experiment`.
#[derive(Debug, Clone, clap::Args)]
pub struct ExperimentArgs {
    /// The experiment (a name from `--list`, or a path to a `.toml` manifest); default `tabular-csv`.
    pub name: Option<String>,
    /// List the shipped experiments.
    #[arg(long)]
    pub list: bool,
    /// The run folder (default `runs/<name>/<UTC time>-<manifest hash>`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Thread counts, comma-separated (`1,2`): run at each and fail unless the trained parameters
    /// agree bitwise. Default: the manifest's `threads`.
    #[arg(long, value_delimiter = ',')]
    pub threads: Vec<usize>,
    /// Override the manifest's epochs (recorded in the resolved manifest, so `verify` reproduces it).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// No per-epoch progress.
    #[arg(long)]
    pub quiet: bool,
}

/// Arguments of `cargo xtask verify`.
#[derive(Debug, Clone, clap::Args)]
pub struct VerifyArgs {
    /// The `results.json` to reproduce.
    pub results: PathBuf,
    /// Where the re-run writes its folder (default: a temporary folder, removed afterwards).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also fail when the environment (rustc, CPU, git commit) differs.
    #[arg(long)]
    pub strict_env: bool,
    /// No per-epoch progress.
    #[arg(long)]
    pub quiet: bool,
}

/// Runs `cargo xtask experiment`.
pub fn run_experiment(args: &ExperimentArgs) -> Result<(), ExperimentError> {
    let workspace = paths::workspace_root();
    if args.list {
        print_list(&workspace)?;
        return Ok(());
    }
    let mut m = manifest::find(
        &workspace,
        args.name.as_deref().unwrap_or(DEFAULT_EXPERIMENT),
    )?;
    if let Some(e) = args.epochs {
        m.epochs = e;
        m.validate().map_err(|message| ExperimentError::Manifest {
            path: PathBuf::from("--epochs"),
            message,
        })?;
    }
    let counts = if args.threads.is_empty() {
        vec![m.threads]
    } else {
        args.threads.clone()
    };
    if counts.contains(&0) {
        return Err(ExperimentError::Train(
            "--threads: counts must be at least 1".into(),
        ));
    }
    let base = args
        .out
        .clone()
        .unwrap_or_else(|| default_run_dir(&workspace, &m));
    let mut all = Vec::new();
    for &t in &counts {
        let dir = if counts.len() == 1 {
            base.clone()
        } else {
            base.join(format!("threads-{t}"))
        };
        m.threads = t;
        eprintln!(
            "== experiment {} ({} thread(s)) -> {}",
            m.name,
            t,
            dir.display()
        );
        let r = run::run(&m, &workspace, &dir, t, !args.quiet)?;
        print_summary(&r, &dir);
        all.push(r);
    }
    if all.len() > 1 {
        check_threads(&all)?;
    }
    Ok(())
}

/// Fails unless every run produced bitwise-equal parameters (and equal results apart from timings
/// and the thread count).
pub fn check_threads(all: &[Results]) -> Result<(), ExperimentError> {
    let first = &all[0];
    let mut problems = Vec::new();
    for r in &all[1..] {
        for d in differences(
            first,
            r,
            &[
                "timings",
                "environment.threads",
                "manifest.threads",
                "manifest_sha256",
                "checkpoint_sha256",
            ],
        ) {
            problems.push(format!(
                "threads {} vs {}: {d}",
                first.environment.threads, r.environment.threads
            ));
        }
    }
    println!("\nThread counts and parameter hashes:");
    for r in all {
        println!(
            "  {:>3} thread(s): {}  ({:.2} s)",
            r.environment.threads, r.parameters_sha256, r.timings.total_seconds
        );
    }
    if problems.is_empty() {
        println!("OK: trained parameters agree bitwise across thread counts");
        Ok(())
    } else {
        Err(ExperimentError::Mismatch(format!(
            "results differ between thread counts:\n  {}",
            problems.join("\n  ")
        )))
    }
}

/// Runs `cargo xtask verify`.
pub fn run_verify(args: &VerifyArgs) -> Result<(), ExperimentError> {
    let workspace = paths::workspace_root();
    let expected = Results::load(&args.results)?;
    let tmp;
    let dir = match &args.out {
        Some(d) => d.clone(),
        None => {
            tmp = tempfile::tempdir().map_err(|e| ExperimentError::io(Path::new("tempdir"), e))?;
            tmp.path().join("verify")
        }
    };
    let threads = expected.environment.threads;
    eprintln!(
        "== verify {} ({} thread(s)) against {}",
        expected.name,
        threads,
        args.results.display()
    );
    let got = run::run(&expected.manifest, &workspace, &dir, threads, !args.quiet)?;
    let env_diffs = differences(&expected, &got, &["timings", "environment.threads"])
        .into_iter()
        .filter(|d| d.starts_with("environment."))
        .collect::<Vec<_>>();
    let diffs = differences(&expected, &got, &["timings", "environment"]);
    for d in &env_diffs {
        println!("note: environment differs: {d}");
    }
    if diffs.is_empty() && (!args.strict_env || env_diffs.is_empty()) {
        println!(
            "OK: {} reproduced exactly (parameters {}; test metrics {:?})",
            expected.name, got.parameters_sha256, got.test_metrics
        );
        Ok(())
    } else {
        for d in &diffs {
            println!("DIFFERS: {d}");
        }
        Err(ExperimentError::Mismatch(format!(
            "{} field(s) differ from {} (listed above)",
            diffs.len() + if args.strict_env { env_diffs.len() } else { 0 },
            args.results.display()
        )))
    }
}

fn default_run_dir(workspace: &Path, m: &Manifest) -> PathBuf {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    workspace
        .join("runs")
        .join(&m.name)
        .join(format!("{}-{}", utc_stamp(secs), &m.sha256()[..8]))
}

/// `YYYYMMDDTHHMMSSZ` for seconds since the Unix epoch (civil-from-days, proleptic Gregorian).
pub fn utc_stamp(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

fn print_list(workspace: &Path) -> Result<(), ExperimentError> {
    let all = manifest::load_all(&manifest::manifests_dir(workspace))?;
    println!(
        "{:<22} {:<34} {:>9}  description",
        "name", "data", "est. time"
    );
    for m in all {
        let data = serde_json::to_value(&m.data)
            .ok()
            .and_then(|v| {
                let kind = v.get("kind")?.as_str()?.to_string();
                let detail = v
                    .get("path")
                    .or_else(|| v.get("dataset"))
                    .and_then(|p| p.as_str())
                    .map(|p| format!(" {p}"))
                    .unwrap_or_default();
                Some(format!("{kind}{detail}"))
            })
            .unwrap_or_default();
        let est = m
            .estimated_seconds
            .map_or("?".to_string(), |s| format!("~{s:.0} s"));
        let default = if m.name == DEFAULT_EXPERIMENT {
            " (default)"
        } else {
            ""
        };
        println!(
            "{:<22} {:<34} {:>9}  {}{default}",
            m.name, data, est, m.description
        );
    }
    Ok(())
}

fn print_summary(r: &Results, dir: &Path) {
    println!("\n== {}: {}", r.name, r.manifest.description);
    println!(
        "   data: {} train / {} test rows ({} split); {} parameters; {} epochs; seed {}",
        r.split.n_train,
        r.split.n_test,
        r.split.method,
        r.num_params,
        r.history.len(),
        r.seed
    );
    let metrics: Vec<String> = r
        .test_metrics
        .iter()
        .map(|(k, v)| format!("{k} {v:.4}"))
        .collect();
    println!("   test: {}", metrics.join(", "));
    if let Some(e) = &r.ensemble {
        for st in &e.stages {
            let members: Vec<String> = st
                .members
                .iter()
                .map(|m| m.get("accuracy").map_or("-".into(), |a| format!("{a:.4}")))
                .collect();
            let ensemble = st
                .ensemble
                .get("accuracy")
                .map_or("-".into(), |a| format!("{a:.4}"));
            println!(
                "   {:<9} sparsity {:.2}: members accuracy [{}], ensemble {ensemble}",
                st.stage,
                st.sparsity,
                members.join(", ")
            );
        }
    }
    if let Some(lm) = &r.language_model {
        println!(
            "   validation loss {:.4} -> {:.4} nats/char over {} steps; sample in {}",
            lm.initial_val_loss,
            r.test_metrics.get("loss").copied().unwrap_or(f64::NAN),
            lm.steps,
            dir.join(super::run_lm::SAMPLE_FILE).display()
        );
    }
    println!(
        "   time: {:.2} s total, {:.2} s training ({:.0} samples/s), {} thread(s)",
        r.timings.total_seconds,
        r.timings.train_seconds,
        r.timings.train_samples_per_second,
        r.environment.threads
    );
    println!("   parameters sha256: {}", r.parameters_sha256);
    println!(
        "   wrote {}/{{{}, {}, {}, {}, {}}}",
        dir.display(),
        files::RESULTS,
        files::CHECKPOINT,
        files::LOSS_SVG,
        files::METRIC_SVG,
        files::SUMMARY
    );
    println!(
        "   reproduce: cargo xtask verify {}",
        dir.join(files::RESULTS).display()
    );
}
