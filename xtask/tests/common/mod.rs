//! Test helpers: a loopback HTTP server with scripted (and deliberately broken) replies, toy
//! registries, and locating the shared datasets folder.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use xtask::fetch::FetchOptions;
use xtask::hash::Digests;
use xtask::registry::{DataFile, Dataset};
use xtask::source::Mirror;

/// What the server answers for one path.
#[derive(Clone)]
pub enum Reply {
    /// 200 with the body and its true Content-Length.
    Body(Vec<u8>),
    /// This status with a short text body.
    Status(u16),
    /// Announces `declared` bytes, sends `body` (shorter), then closes the connection.
    Truncated { declared: u64, body: Vec<u8> },
    /// 302 to this path on the same server.
    Redirect(String),
}

/// A loopback HTTP/1.1 server on 127.0.0.1:0 running in a thread. It handles a bounded number of
/// connections for a bounded time and stops when dropped.
pub struct Server {
    addr: std::net::SocketAddr,
    stop: Arc<AtomicBool>,
    hits: Arc<Mutex<Vec<String>>>,
    handle: Option<JoinHandle<()>>,
}

const MAX_CONNECTIONS: usize = 200;
const MAX_LIFETIME: Duration = Duration::from_secs(120);

impl Server {
    /// Serves `routes` first, then files under `root` (if given), else 404.
    pub fn start(routes: HashMap<String, Reply>, root: Option<PathBuf>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("local addr");
        let stop = Arc::new(AtomicBool::new(false));
        let hits = Arc::new(Mutex::new(Vec::new()));
        let (stop2, hits2) = (stop.clone(), hits.clone());
        let handle = std::thread::spawn(move || {
            let started = Instant::now();
            let mut served = 0;
            while !stop2.load(Ordering::SeqCst)
                && served < MAX_CONNECTIONS
                && started.elapsed() < MAX_LIFETIME
            {
                match listener.accept() {
                    Ok((stream, _)) => {
                        served += 1;
                        let _ = handle_connection(stream, &routes, root.as_deref(), &hits2);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(_) => break,
                }
            }
        });
        Server {
            addr,
            stop,
            hits,
            handle: Some(handle),
        }
    }

    /// Absolute URL of a path on this server (`path` starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Paths requested so far, in order.
    pub fn hits(&self) -> Vec<String> {
        self.hits.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn handle_connection(
    mut stream: TcpStream,
    routes: &HashMap<String, Reply>,
    root: Option<&Path>,
    hits: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 16 * 1024 {
        if stream.read(&mut byte)? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head);
    let path = text.split_whitespace().nth(1).unwrap_or("/").to_string();
    hits.lock().unwrap().push(path.clone());
    let reply = routes
        .get(&path)
        .cloned()
        .or_else(|| root.and_then(|r| file_reply(r, &path)))
        .unwrap_or(Reply::Status(404));
    match reply {
        Reply::Body(body) => {
            write_head(&mut stream, 200, "OK", body.len() as u64)?;
            stream.write_all(&body)?;
        }
        Reply::Status(code) => {
            let body = format!("status {code}\n");
            let reason = if code == 404 { "Not Found" } else { "Error" };
            write_head(&mut stream, code, reason, body.len() as u64)?;
            stream.write_all(body.as_bytes())?;
        }
        Reply::Redirect(to) => {
            write!(
                stream,
                "HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )?;
        }
        Reply::Truncated { declared, body } => {
            write_head(&mut stream, 200, "OK", declared)?;
            stream.write_all(&body)?;
        }
    }
    stream.flush()?;
    stream.shutdown(std::net::Shutdown::Both)
}

fn write_head(s: &mut TcpStream, code: u16, reason: &str, len: u64) -> std::io::Result<()> {
    write!(
        s,
        "HTTP/1.1 {code} {reason}\r\nContent-Length: {len}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n"
    )
}

fn file_reply(root: &Path, url_path: &str) -> Option<Reply> {
    let rel = Path::new(url_path.trim_start_matches('/'));
    if !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        return None;
    }
    std::fs::read(root.join(rel)).ok().map(Reply::Body)
}

/// Deterministic test bytes (an LCG), so content is not trivially compressible or repetitive.
pub fn test_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 56) as u8
        })
        .collect()
}

/// A one-file, non-shipped dataset `toy` whose file `data.bin` must equal `content`.
pub fn toy_dataset(content: &[u8], urls: Vec<String>, fallbacks: Vec<String>) -> Dataset {
    let mut d = Digests::new();
    d.update(content);
    let done = d.finish();
    Dataset {
        name: "toy".into(),
        title: "toy".into(),
        description: "test data".into(),
        license: "test".into(),
        license_short: "test".into(),
        homepage: "http://127.0.0.1/".into(),
        verified: "test".into(),
        shipped: false,
        mirror_folder: Some("toy-folder".into()),
        files: vec![DataFile {
            path: "data.bin".into(),
            size: done.len,
            sha256: Some(done.sha256),
            md5: Some(done.md5),
            urls,
            fallbacks,
        }],
    }
}

/// Options with a fresh cache inside `tmp`.
pub fn options(tmp: &Path, mirror: Option<Mirror>, offline: bool) -> FetchOptions {
    FetchOptions {
        workspace: xtask::paths::workspace_root(),
        cache_dir: tmp.join("cache"),
        mirror,
        offline,
        progress: false,
    }
}

/// Every file (recursively) under `dir`, relative, sorted; temporary files included.
pub fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

/// The shared datasets folder, or `None` (with a printed reason) when it is absent.
pub fn shared_datasets() -> Option<PathBuf> {
    let dir = xtask::paths::shared_datasets(&xtask::paths::workspace_root());
    if dir.join("SHA256SUMS").is_file() {
        Some(dir)
    } else {
        eprintln!(
            "skipping: shared datasets not found at {} (set GRADWORK_SHARED to the folder holding datasets/)",
            dir.display()
        );
        None
    }
}
