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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Fetch(args) => xtask::cmd_fetch::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                eprintln!("  caused by: {s}");
                source = s.source();
            }
            ExitCode::FAILURE
        }
    }
}
