//! `cargo xtask fetch`: command-line arguments and the command itself.

use std::path::PathBuf;

use crate::download::Downloader;
use crate::error::{FetchError, Result};
use crate::fetch::{self, FetchOptions, Outcome};
use crate::paths;
use crate::progress;
use crate::registry::{Dataset, Registry};
use crate::source::Mirror;

/// Arguments of `cargo xtask fetch`.
#[derive(Debug, Clone, clap::Args)]
pub struct FetchArgs {
    /// Datasets to fetch (see --list).
    #[arg(value_name = "NAME", required_unless_present_any = ["all", "list"])]
    pub names: Vec<String>,
    /// Fetch every dataset in the registry.
    #[arg(long, conflicts_with = "names")]
    pub all: bool,
    /// Show the registry: name, files, size, licence and whether it is installed.
    #[arg(long)]
    pub list: bool,
    /// Try this source first: a directory or an http(s) base URL laid out as
    /// `<mirror>/<dataset folder>/<file>`. Default: $GRADWORK_DATA_MIRROR.
    #[arg(long, value_name = "URL|DIR")]
    pub mirror: Option<String>,
    /// Use only the mirror; never contact the official URLs or fallbacks.
    #[arg(long)]
    pub offline: bool,
    /// Cache directory for downloaded files. Default: $GRADWORK_DATA, else `<workspace>/datasets/cache`.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Registry file. Default: `<workspace>/datasets/registry.toml`.
    #[arg(long, value_name = "FILE")]
    pub registry: Option<PathBuf>,
}

/// Builds the options from the arguments and the environment.
pub fn options(args: &FetchArgs) -> Result<FetchOptions> {
    let workspace = paths::workspace_root();
    let cache_dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| paths::cache_dir(&workspace));
    let mirror = match args
        .mirror
        .clone()
        .or_else(|| paths::env_nonempty(paths::ENV_MIRROR))
    {
        Some(value) => Some(Mirror::parse(&value)?),
        None => None,
    };
    Ok(FetchOptions {
        workspace,
        cache_dir,
        mirror,
        offline: args.offline,
        progress: progress::stderr_is_terminal(),
    })
}

/// Runs the command: prints the table with `--list`, else fetches the named datasets.
pub fn run(args: &FetchArgs) -> Result<()> {
    let opts = options(args)?;
    let registry_path = args
        .registry
        .clone()
        .unwrap_or_else(|| Registry::default_path(&opts.workspace));
    let registry = Registry::load(&registry_path)?;
    if args.list {
        print!("{}", crate::list::table(&registry, &opts));
        return Ok(());
    }
    let selected: Vec<&Dataset> = if args.all {
        registry.datasets.iter().collect()
    } else {
        args.names
            .iter()
            .map(|n| registry.get(n))
            .collect::<Result<_>>()?
    };
    if let Some(m) = &opts.mirror {
        eprintln!("mirror: {m}");
    }
    let downloader = Downloader::new(opts.progress);
    let mut errors = Vec::new();
    for dataset in &selected {
        match fetch_one(dataset, &opts, &downloader) {
            Ok(()) => {}
            Err(e) if selected.len() == 1 => return Err(e),
            Err(e) => {
                eprintln!("error: {}: {e}", dataset.name);
                errors.push(e);
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(FetchError::SomeFailed {
            failed: errors.len(),
            total: selected.len(),
        })
    }
}

fn fetch_one(dataset: &Dataset, opts: &FetchOptions, downloader: &Downloader) -> Result<()> {
    let reports = fetch::fetch_dataset(dataset, opts, downloader)?;
    for r in &reports {
        let what = match &r.outcome {
            Outcome::Shipped => "shipped in repo, verified".to_string(),
            Outcome::AlreadyInstalled => "already installed, verified".to_string(),
            Outcome::Installed { from } => format!("downloaded from {from}, verified"),
        };
        eprintln!("  {}: {what}", r.path.display());
    }
    println!(
        "{}: {} file(s) OK in {}",
        dataset.name,
        reports.len(),
        fetch::dataset_dir(opts, dataset).display()
    );
    Ok(())
}
