//! End to end against the project's shared datasets (located via GRADWORK_SHARED, default
//! `<workspace>/../shared`; skipped with a message when absent): serving them over loopback HTTP, the
//! `fetch mnist --mirror DIR` command, refusal of a corrupted mirror copy, and agreement of the
//! registry with the shared SHA256SUMS.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use common::{files_under, options, shared_datasets, Server};
use xtask::download::Downloader;
use xtask::fetch::{self, Outcome};
use xtask::hash;
use xtask::registry::Registry;
use xtask::source::Mirror;

fn registry() -> Registry {
    Registry::load(&Registry::default_path(&xtask::paths::workspace_root())).unwrap()
}

/// `path -> sha256` from a `sha256sum`-style file.
fn read_sums(path: &Path) -> HashMap<String, String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once("  "))
        .map(|(h, p)| (p.to_string(), h.to_string()))
        .collect()
}

#[test]
fn registry_hashes_and_sizes_agree_with_shared_sha256sums() {
    let Some(shared) = shared_datasets() else {
        return;
    };
    let sums = read_sums(&shared.join("SHA256SUMS"));
    let mut checked = 0;
    for d in &registry().datasets {
        for f in &d.files {
            let key = format!("{}/{}", d.mirror_folder(), f.path);
            let Some(h) = sums.get(&key) else { continue };
            assert_eq!(f.sha256.as_deref(), Some(h.as_str()), "{key}");
            let on_disk = std::fs::metadata(shared.join(&key)).unwrap().len();
            assert_eq!(f.size, on_disk, "{key}");
            checked += 1;
        }
    }
    // Every registry file except Fashion-MNIST's four has a shared copy.
    let total: usize = registry().datasets.iter().map(|d| d.files.len()).sum();
    assert_eq!(checked, total - 4);
}

#[test]
fn shared_datasets_served_over_http_install_through_the_mirror() {
    let Some(shared) = shared_datasets() else {
        return;
    };
    let server = Server::start(HashMap::new(), Some(shared));
    let tmp = tempfile::tempdir().unwrap();
    let opts = options(tmp.path(), Some(Mirror::Url(server.url(""))), true);
    let reg = registry();
    let dl = Downloader::new(false);
    for name in ["digits", "tiny-shakespeare", "california-housing"] {
        let d = reg.get(name).unwrap();
        for r in fetch::fetch_dataset(d, &opts, &dl).unwrap() {
            assert!(matches!(r.outcome, Outcome::Installed { .. }), "{name}");
        }
        for f in &d.files {
            assert_eq!(fetch::file_status(&opts, d, f), fetch::Status::Verified);
        }
    }
    assert_eq!(server.hits().len(), 4);
}

#[test]
fn cli_fetch_mnist_from_shared_mirror_installs_verified_files() {
    let Some(shared) = shared_datasets() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("data");
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(["fetch", "mnist", "--mirror"])
            .arg(&shared)
            .env("GRADWORK_DATA", &cache)
            .env_remove("GRADWORK_DATA_MIRROR")
            .output()
            .unwrap()
    };
    let out = run();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let sums = read_sums(&shared.join("SHA256SUMS"));
    let mnist = registry().get("mnist").unwrap().clone();
    for f in &mnist.files {
        let got = hash::hash_file(&cache.join("mnist").join(&f.path)).unwrap();
        assert_eq!(&got.sha256, &sums[&format!("mnist/{}", f.path)]);
    }
    assert_eq!(files_under(&cache).len(), 4, "{:?}", files_under(&cache));
    // A second run verifies and skips.
    let again = run();
    assert!(again.status.success());
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert_eq!(
        stderr.matches("already installed, verified").count(),
        4,
        "{stderr}"
    );
}

#[test]
fn cli_refuses_a_corrupted_mirror_copy_and_leaves_no_file() {
    let Some(shared) = shared_datasets() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let mirror = tmp.path().join("mirror");
    std::fs::create_dir_all(mirror.join("mnist")).unwrap();
    for f in &registry().get("mnist").unwrap().files {
        let mut bytes = std::fs::read(shared.join("mnist").join(&f.path)).unwrap();
        if f.path == "t10k-labels-idx1-ubyte.gz" {
            bytes[1000] ^= 0x01;
        }
        std::fs::write(mirror.join("mnist").join(&f.path), bytes).unwrap();
    }
    let cache = tmp.path().join("data");
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["fetch", "mnist", "--offline", "--mirror"])
        .arg(&mirror)
        .env("GRADWORK_DATA", &cache)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("SHA-256 mismatch"), "{stderr}");
    assert!(stderr.contains("t10k-labels-idx1-ubyte.gz"), "{stderr}");
    let left = files_under(&cache);
    assert!(
        !left.iter().any(|p| p.contains("t10k-labels")),
        "the corrupt file (or its temporary) was left: {left:?}"
    );
}

#[test]
fn cli_uses_the_gradwork_data_mirror_variable_for_an_http_mirror() {
    let Some(shared) = shared_datasets() else {
        return;
    };
    let server = Server::start(HashMap::new(), Some(shared));
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["fetch", "digits", "sst2", "--offline"])
        .env("GRADWORK_DATA", tmp.path())
        .env("GRADWORK_DATA_MIRROR", server.url("/"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        files_under(tmp.path()),
        [
            "digits/digits.csv.gz",
            "sst2/dev.tsv",
            "sst2/test.tsv",
            "sst2/train.tsv"
        ]
    );
    assert_eq!(
        server.hits(),
        [
            "/digits/digits.csv.gz",
            "/sst2/train.tsv",
            "/sst2/dev.tsv",
            "/sst2/test.tsv"
        ]
    );
}
