//! The real download path against a loopback HTTP server: success, HTTP errors, truncated bodies, wrong
//! hashes, wrong sizes, source order and fallback, directory mirrors, re-verification.

mod common;

use std::collections::HashMap;

use common::{files_under, options, test_bytes, toy_dataset, Reply, Server};
use xtask::download::Downloader;
use xtask::error::FetchError;
use xtask::fetch::{fetch_file, Outcome};
use xtask::hash::Digests;
use xtask::source::Mirror;

fn routes(pairs: Vec<(&str, Reply)>) -> HashMap<String, Reply> {
    pairs.into_iter().map(|(p, r)| (p.to_string(), r)).collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    let mut d = Digests::new();
    d.update(bytes);
    d.finish().sha256
}

#[test]
fn http_download_installs_verified_bytes_and_leaves_no_temporary_file() {
    let content = test_bytes(300_000, 1);
    let server = Server::start(
        routes(vec![("/toy/data.bin", Reply::Body(content.clone()))]),
        None,
    );
    let tmp = tempfile::tempdir().unwrap();
    let ds = toy_dataset(&content, vec![server.url("/toy/data.bin")], vec![]);
    let opts = options(tmp.path(), None, false);
    let report = fetch_file(&ds, &ds.files[0], &opts, &Downloader::new(false)).unwrap();
    assert_eq!(
        report.outcome,
        Outcome::Installed {
            from: server.url("/toy/data.bin")
        }
    );
    assert_eq!(std::fs::read(&report.path).unwrap(), content);
    assert_eq!(
        files_under(&opts.cache_dir),
        vec!["toy/data.bin".to_string()]
    );
}

#[test]
fn http_404_is_reported_with_url_and_status_and_nothing_is_installed() {
    let content = test_bytes(1000, 2);
    let server = Server::start(routes(vec![]), None);
    let tmp = tempfile::tempdir().unwrap();
    let url = server.url("/missing.bin");
    let ds = toy_dataset(&content, vec![url.clone()], vec![]);
    let opts = options(tmp.path(), None, false);
    let err = fetch_file(&ds, &ds.files[0], &opts, &Downloader::new(false)).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, FetchError::AllSourcesFailed { .. }), "{msg}");
    assert!(msg.contains("HTTP 404") && msg.contains(&url), "{msg}");
    assert!(
        msg.contains("--mirror"),
        "the error must say what to do: {msg}"
    );
    assert!(files_under(&opts.cache_dir).is_empty());
}

#[test]
fn truncated_body_is_a_short_read_and_leaves_no_file() {
    let content = test_bytes(200_000, 3);
    let server = Server::start(
        routes(vec![(
            "/cut.bin",
            Reply::Truncated {
                declared: content.len() as u64,
                body: content[..70_000].to_vec(),
            },
        )]),
        None,
    );
    let tmp = tempfile::tempdir().unwrap();
    let ds = toy_dataset(&content, vec![server.url("/cut.bin")], vec![]);
    let opts = options(tmp.path(), None, false);
    let err = fetch_file(&ds, &ds.files[0], &opts, &Downloader::new(false)).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("short read"), "{msg}");
    assert!(msg.contains("expected 200000"), "{msg}");
    assert!(
        files_under(&opts.cache_dir).is_empty(),
        "{:?}",
        files_under(&opts.cache_dir)
    );
}

#[test]
fn wrong_hash_is_refused_naming_expected_and_actual_digests() {
    let content = test_bytes(50_000, 4);
    let mut corrupt = content.clone();
    corrupt[12_345] ^= 0x01;
    let server = Server::start(routes(vec![("/f.bin", Reply::Body(corrupt.clone()))]), None);
    let tmp = tempfile::tempdir().unwrap();
    let ds = toy_dataset(&content, vec![server.url("/f.bin")], vec![]);
    let opts = options(tmp.path(), None, false);
    let err = fetch_file(&ds, &ds.files[0], &opts, &Downloader::new(false)).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("SHA-256 mismatch"), "{msg}");
    assert!(
        msg.contains(&sha256_hex(&content)),
        "expected digest missing: {msg}"
    );
    assert!(
        msg.contains(&sha256_hex(&corrupt)),
        "actual digest missing: {msg}"
    );
    assert!(files_under(&opts.cache_dir).is_empty());
}

#[test]
fn wrong_announced_size_is_refused() {
    let content = test_bytes(10_000, 5);
    let mut longer = content.clone();
    longer.extend_from_slice(b"extra");
    let server = Server::start(routes(vec![("/f.bin", Reply::Body(longer))]), None);
    let tmp = tempfile::tempdir().unwrap();
    let ds = toy_dataset(&content, vec![server.url("/f.bin")], vec![]);
    let opts = options(tmp.path(), None, false);
    let msg = fetch_file(&ds, &ds.files[0], &opts, &Downloader::new(false))
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("size mismatch") && msg.contains("10000") && msg.contains("10005"),
        "{msg}"
    );
    assert!(files_under(&opts.cache_dir).is_empty());
}

#[test]
fn sources_are_tried_mirror_then_official_then_fallback_until_one_verifies() {
    let content = test_bytes(80_000, 6);
    let server = Server::start(
        routes(vec![
            // The mirror has no copy (404), the official URL cuts off, the fallback is good.
            (
                "/official/data.bin",
                Reply::Truncated {
                    declared: content.len() as u64,
                    body: content[..1000].to_vec(),
                },
            ),
            ("/fallback/data.bin", Reply::Body(content.clone())),
        ]),
        None,
    );
    let tmp = tempfile::tempdir().unwrap();
    let ds = toy_dataset(
        &content,
        vec![server.url("/official/data.bin")],
        vec![server.url("/fallback/data.bin")],
    );
    let mirror = Mirror::parse(&server.url("/mirror/")).unwrap();
    let opts = options(tmp.path(), Some(mirror), false);
    let report = fetch_file(&ds, &ds.files[0], &opts, &Downloader::new(false)).unwrap();
    assert_eq!(
        server.hits(),
        vec![
            "/mirror/toy-folder/data.bin".to_string(),
            "/official/data.bin".to_string(),
            "/fallback/data.bin".to_string()
        ]
    );
    assert_eq!(
        report.outcome,
        Outcome::Installed {
            from: server.url("/fallback/data.bin")
        }
    );
    assert_eq!(std::fs::read(report.path).unwrap(), content);
}

#[test]
fn corrupt_http_mirror_falls_back_to_the_official_url() {
    let content = test_bytes(20_000, 7);
    let mut corrupt = content.clone();
    corrupt[0] ^= 0x80;
    let server = Server::start(
        routes(vec![
            ("/m/toy-folder/data.bin", Reply::Body(corrupt)),
            ("/official.bin", Reply::Body(content.clone())),
        ]),
        None,
    );
    let tmp = tempfile::tempdir().unwrap();
    let ds = toy_dataset(&content, vec![server.url("/official.bin")], vec![]);
    let opts = options(tmp.path(), Some(Mirror::Url(server.url("/m"))), false);
    let report = fetch_file(&ds, &ds.files[0], &opts, &Downloader::new(false)).unwrap();
    assert_eq!(std::fs::read(report.path).unwrap(), content);
    assert_eq!(server.hits().len(), 2);
}

#[test]
fn directory_mirror_installs_offline() {
    let content = test_bytes(5_000, 8);
    let tmp = tempfile::tempdir().unwrap();
    let mirror_dir = tmp.path().join("mirror");
    std::fs::create_dir_all(mirror_dir.join("toy-folder")).unwrap();
    std::fs::write(mirror_dir.join("toy-folder").join("data.bin"), &content).unwrap();
    // The registry URL points nowhere reachable; offline mode must not try it.
    let ds = toy_dataset(&content, vec!["http://127.0.0.1:9/never".into()], vec![]);
    let opts = options(tmp.path(), Some(Mirror::Dir(mirror_dir.clone())), true);
    let report = fetch_file(&ds, &ds.files[0], &opts, &Downloader::new(false)).unwrap();
    assert_eq!(
        report.outcome,
        Outcome::Installed {
            from: mirror_dir
                .join("toy-folder")
                .join("data.bin")
                .display()
                .to_string()
        }
    );
    assert_eq!(std::fs::read(report.path).unwrap(), content);
}

#[test]
fn installed_file_is_verified_and_skipped_and_a_corrupted_one_is_replaced() {
    let content = test_bytes(40_000, 9);
    let server = Server::start(routes(vec![("/f.bin", Reply::Body(content.clone()))]), None);
    let tmp = tempfile::tempdir().unwrap();
    let ds = toy_dataset(&content, vec![server.url("/f.bin")], vec![]);
    let opts = options(tmp.path(), None, false);
    let dl = Downloader::new(false);
    let first = fetch_file(&ds, &ds.files[0], &opts, &dl).unwrap();
    let second = fetch_file(&ds, &ds.files[0], &opts, &dl).unwrap();
    assert_eq!(second.outcome, Outcome::AlreadyInstalled);
    assert_eq!(
        server.hits().len(),
        1,
        "a verified file must not be downloaded again"
    );

    // Same size, one flipped bit: only the hash can tell, and it must.
    let mut bytes = std::fs::read(&first.path).unwrap();
    bytes[100] ^= 0x04;
    std::fs::write(&first.path, &bytes).unwrap();
    let third = fetch_file(&ds, &ds.files[0], &opts, &dl).unwrap();
    assert!(matches!(third.outcome, Outcome::Installed { .. }));
    assert_eq!(server.hits().len(), 2);
    assert_eq!(std::fs::read(&third.path).unwrap(), content);
}

#[test]
fn file_without_recorded_sha256_is_never_installed() {
    let content = test_bytes(100, 10);
    let server = Server::start(routes(vec![("/f.bin", Reply::Body(content.clone()))]), None);
    let tmp = tempfile::tempdir().unwrap();
    let mut ds = toy_dataset(&content, vec![server.url("/f.bin")], vec![]);
    ds.files[0].sha256 = None;
    let opts = options(tmp.path(), None, false);
    let err = fetch_file(&ds, &ds.files[0], &opts, &Downloader::new(false)).unwrap_err();
    assert!(matches!(err, FetchError::NoVerifiedHash { .. }), "{err}");
    assert!(err.to_string().contains("refusing"), "{err}");
    assert!(server.hits().is_empty());
    assert!(files_under(&opts.cache_dir).is_empty());
}

#[test]
fn offline_without_mirror_fails_and_says_why() {
    let content = test_bytes(100, 11);
    let tmp = tempfile::tempdir().unwrap();
    let ds = toy_dataset(&content, vec!["http://127.0.0.1:9/never".into()], vec![]);
    let opts = options(tmp.path(), None, true);
    let msg = fetch_file(&ds, &ds.files[0], &opts, &Downloader::new(false))
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("--offline was given without a mirror"),
        "{msg}"
    );
}

#[test]
fn list_cell_reports_missing_partial_installed_and_corrupt_states() {
    let a = test_bytes(3_000, 12);
    let b = test_bytes(4_000, 13);
    let tmp = tempfile::tempdir().unwrap();
    let mut ds = toy_dataset(&a, vec![], vec![]);
    let mut second = toy_dataset(&b, vec![], vec![]).files.remove(0);
    second.path = "sub/second.bin".into();
    ds.files.push(second);
    let opts = options(tmp.path(), None, true);
    let cell = || xtask::list::installed_cell(&opts, &ds);
    assert_eq!(cell(), "no");
    let dir = opts.cache_dir.join("toy");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("data.bin"), &a).unwrap();
    assert_eq!(cell(), "partial 1/2");
    std::fs::write(dir.join("sub").join("second.bin"), &b).unwrap();
    assert_eq!(cell(), "yes");
    let mut bad = b.clone();
    bad[7] ^= 0x10;
    std::fs::write(dir.join("sub").join("second.bin"), &bad).unwrap();
    assert_eq!(cell(), "CORRUPT (fetch again)");
}

#[test]
fn redirects_are_followed_to_the_verified_file() {
    let content = test_bytes(9_000, 14);
    let server = Server::start(
        routes(vec![
            ("/moved.bin", Reply::Redirect("/real.bin".into())),
            ("/real.bin", Reply::Body(content.clone())),
        ]),
        None,
    );
    let tmp = tempfile::tempdir().unwrap();
    let ds = toy_dataset(&content, vec![server.url("/moved.bin")], vec![]);
    let opts = options(tmp.path(), None, false);
    let report = fetch_file(&ds, &ds.files[0], &opts, &Downloader::new(false)).unwrap();
    assert_eq!(std::fs::read(report.path).unwrap(), content);
    assert_eq!(
        server.hits(),
        vec!["/moved.bin".to_string(), "/real.bin".to_string()]
    );
}

#[test]
fn every_file_of_a_dataset_is_attempted_and_all_failures_are_reported() {
    let good = test_bytes(2_000, 15);
    let other = test_bytes(2_500, 16);
    let server = Server::start(routes(vec![("/good.bin", Reply::Body(good.clone()))]), None);
    let tmp = tempfile::tempdir().unwrap();
    // Three files: the first and last have no copy anywhere, the middle one is fine.
    let mut ds = toy_dataset(&other, vec![server.url("/gone1.bin")], vec![]);
    let mut middle = toy_dataset(&good, vec![server.url("/good.bin")], vec![])
        .files
        .remove(0);
    middle.path = "good.bin".into();
    let mut last = ds.files[0].clone();
    last.path = "last.bin".into();
    last.urls = vec![server.url("/gone2.bin")];
    ds.files.push(middle);
    ds.files.push(last);
    let opts = options(tmp.path(), None, false);
    let err = xtask::fetch::fetch_dataset(&ds, &opts, &Downloader::new(false)).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, FetchError::FilesFailed { ref errors, .. } if errors.len() == 2),
        "{msg}"
    );
    assert!(
        msg.contains("/gone1.bin") && msg.contains("/gone2.bin"),
        "{msg}"
    );
    assert_eq!(
        files_under(&opts.cache_dir),
        vec!["toy/good.bin".to_string()]
    );
}

#[test]
fn require_file_returns_verified_paths_and_names_the_fetch_command_otherwise() {
    let workspace = xtask::paths::workspace_root();
    let registry =
        xtask::registry::Registry::load(&xtask::registry::Registry::default_path(&workspace))
            .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let opts = options(tmp.path(), None, true);
    let shipped =
        xtask::fetch::require_file(&registry, &opts, "breast-cancer", "breast_cancer.csv").unwrap();
    assert_eq!(
        shipped,
        workspace
            .join("datasets")
            .join("breast-cancer")
            .join("breast_cancer.csv")
    );
    let msg = xtask::fetch::require_file(&registry, &opts, "mnist", "t10k-labels-idx1-ubyte.gz")
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("cargo xtask fetch mnist") && msg.contains("missing"),
        "{msg}"
    );
}
