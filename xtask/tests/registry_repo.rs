//! The committed registry and the datasets shipped in the repository.

mod common;

use std::process::Command;

use xtask::fetch::{self, Status};
use xtask::registry::Registry;

fn registry() -> Registry {
    Registry::load(&Registry::default_path(&xtask::paths::workspace_root())).unwrap()
}

#[test]
fn registry_lists_the_ten_datasets_each_with_verifiable_files() {
    let reg = registry();
    let mut names = reg.names();
    names.sort();
    let mut want = vec![
        "mnist",
        "fashion-mnist",
        "iris",
        "wine",
        "breast-cancer",
        "digits",
        "diabetes",
        "california-housing",
        "sst2",
        "tiny-shakespeare",
    ];
    want.sort();
    assert_eq!(names, want);
    for d in &reg.datasets {
        assert!(
            !d.license.is_empty() && !d.description.is_empty(),
            "{}",
            d.name
        );
        for f in &d.files {
            assert!(f.sha256.is_some(), "{}/{} has no SHA-256", d.name, f.path);
            assert!(f.size > 0);
            assert!(
                d.shipped || !(f.urls.is_empty() && f.fallbacks.is_empty()),
                "{}/{} has no download URL",
                d.name,
                f.path
            );
        }
    }
}

#[test]
fn shipped_files_are_in_the_repo_small_and_match_the_registry() {
    let reg = registry();
    let tmp = tempfile::tempdir().unwrap();
    let opts = common::options(tmp.path(), None, true);
    let shipped: Vec<_> = reg.datasets.iter().filter(|d| d.shipped).collect();
    let names: Vec<&str> = shipped.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["iris", "wine", "breast-cancer", "diabetes"]);
    for d in shipped {
        for f in &d.files {
            assert!(f.size < 1_000_000, "{}/{} too big to ship", d.name, f.path);
            assert_eq!(
                fetch::file_status(&opts, d, f),
                Status::Verified,
                "{}/{}",
                d.name,
                f.path
            );
        }
        // Fetching a shipped dataset verifies in place and downloads nothing.
        let reports =
            fetch::fetch_dataset(d, &opts, &xtask::download::Downloader::new(false)).unwrap();
        assert!(reports.iter().all(|r| r.outcome == fetch::Outcome::Shipped));
    }
    assert!(common::files_under(&opts.cache_dir).is_empty());
}

#[test]
fn cli_list_shows_every_dataset_with_its_install_state() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["fetch", "--list"])
        .env("GRADWORK_DATA", tmp.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for d in &registry().datasets {
        let line = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(d.name.as_str()))
            .unwrap_or_else(|| panic!("{} missing from:\n{text}", d.name));
        let want = if d.shipped { "in repo" } else { "no" };
        assert!(line.trim_end().ends_with(want), "{line}");
        assert!(line.contains(&d.license_short), "{line}");
    }
}

#[test]
fn cli_rejects_unknown_dataset_names_with_the_known_list() {
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["fetch", "no-such-set", "--offline"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("unknown dataset 'no-such-set'") && stderr.contains("mnist"),
        "{stderr}"
    );
}
