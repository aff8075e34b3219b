//! Leftovers of interrupted runs in the cache are tidied, and live ones are left alone.

mod common;

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use common::{files_under, options, test_bytes, toy_dataset, Reply, Server};
use xtask::download::Downloader;
use xtask::fetch::fetch_file;

#[test]
fn stale_temporary_files_are_removed_and_fresh_ones_kept() {
    let content = test_bytes(1_000, 21);
    let mut routes = HashMap::new();
    routes.insert("/f.bin".to_string(), Reply::Body(content.clone()));
    let server = Server::start(routes, None);
    let tmp = tempfile::tempdir().unwrap();
    let ds = toy_dataset(&content, vec![server.url("/f.bin")], vec![]);
    let opts = options(tmp.path(), None, false);
    let dir = opts.cache_dir.join("toy");
    std::fs::create_dir_all(&dir).unwrap();
    let stale = dir.join(".data.bin.OLD123.part");
    let fresh = dir.join(".data.bin.NEW456.part");
    let unrelated = dir.join(".other.bin.OLD789.part");
    for p in [&stale, &fresh, &unrelated] {
        std::fs::write(p, b"partial").unwrap();
    }
    let two_hours_ago = SystemTime::now() - Duration::from_secs(7200);
    for p in [&stale, &unrelated] {
        std::fs::File::options()
            .write(true)
            .open(p)
            .unwrap()
            .set_modified(two_hours_ago)
            .unwrap();
    }
    fetch_file(&ds, &ds.files[0], &opts, &Downloader::new(false)).unwrap();
    assert_eq!(
        files_under(&dir),
        vec![
            ".data.bin.NEW456.part".to_string(),
            ".other.bin.OLD789.part".to_string(),
            "data.bin".to_string()
        ]
    );
}
