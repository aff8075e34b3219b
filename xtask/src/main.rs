//! `cargo xtask`: gradwork's developer tasks. A thin command line over the `xtask` library.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// gradwork's developer tasks.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// One subcommand per task; each lives in its own module of the library.
#[derive(Debug, Subcommand)]
enum Command {
    /// Download datasets into the cache and verify their SHA-256 (or list them with --list).
    Fetch(xtask::cmd_fetch::FetchArgs),
    /// Run an experiment manifest from experiments/ (default: tabular-csv), or list them with --list.
    Experiment(xtask::experiment::cmd::ExperimentArgs),
    /// Re-run the manifest stored in a results.json and fail unless everything but timings matches.
    Verify(xtask::experiment::cmd::VerifyArgs),
    /// Time gradwork on the issue-8 workloads, side by side with PyTorch (--vs pytorch).
    Bench(xtask::bench::BenchArgs),
    /// Run one benchmark workload in this process (started by `bench`; prints JSON lines).
    #[command(hide = true)]
    BenchWorker(xtask::bench::worker::WorkerArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result: Result<(), Box<dyn std::error::Error>> = match &cli.command {
        Command::Fetch(args) => xtask::cmd_fetch::run(args).map_err(Into::into),
        Command::Experiment(args) => {
            xtask::experiment::cmd::run_experiment(args).map_err(Into::into)
        }
        Command::Verify(args) => xtask::experiment::cmd::run_verify(args).map_err(Into::into),
        Command::Bench(args) => return xtask::bench::main_exit(args),
        Command::BenchWorker(args) => return xtask::bench::worker_exit(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            let mut source = e.source();
            while let Some(s) = source {
                eprintln!("  caused by: {s}");
                source = s.source();
            }
            ExitCode::FAILURE
        }
    }
}
