//! Reading (and gunzipping) a file on a helper thread, so disk reads and decompression overlap
//! with parsing on the caller's thread. Chunks travel through a bounded channel, so at most a
//! few megabytes are in flight whatever the file size.

use std::io::Read;
use std::sync::mpsc::{sync_channel, Receiver};

/// The size of one chunk read on the helper thread.
const CHUNK: usize = 1 << 20;
/// How many chunks may wait in the channel.
const IN_FLIGHT: usize = 4;

/// A reader whose bytes are produced by a helper thread reading `inner`.
#[derive(Debug)]
pub(crate) struct PrefetchReader {
    chunks: Receiver<std::io::Result<Vec<u8>>>,
    current: Vec<u8>,
    position: usize,
    finished: bool,
}

impl PrefetchReader {
    /// Starts the helper thread. It stops at the end of `inner`, at its first error, or when
    /// this reader is dropped (its next send fails).
    pub fn spawn(mut inner: Box<dyn Read + Send>) -> Self {
        let (sender, chunks) = sync_channel(IN_FLIGHT);
        std::thread::spawn(move || loop {
            // `read_to_end` fills spare capacity without zeroing it first.
            let mut chunk = Vec::with_capacity(CHUNK);
            // (It also retries interrupted reads.)
            let result = (&mut inner)
                .take(CHUNK as u64)
                .read_to_end(&mut chunk)
                .map(|_| ());
            let done = chunk.len() < CHUNK || result.is_err();
            let message = match result {
                Ok(()) => Ok(chunk),
                Err(e) => Err(e),
            };
            if sender.send(message).is_err() || done {
                return;
            }
        });
        PrefetchReader {
            chunks,
            current: Vec::new(),
            position: 0,
            finished: false,
        }
    }
}

impl Read for PrefetchReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.position == self.current.len() {
            if self.finished {
                return Ok(0);
            }
            match self.chunks.recv() {
                Ok(Ok(chunk)) => {
                    self.finished = chunk.len() < CHUNK;
                    self.current = chunk;
                    self.position = 0;
                }
                Ok(Err(e)) => {
                    self.finished = true;
                    return Err(e);
                }
                // The helper ended without a final chunk (it panicked): report it as an error.
                Err(_) => {
                    self.finished = true;
                    return Err(std::io::Error::other("the file-reading thread stopped"));
                }
            }
        }
        let n = buf.len().min(self.current.len() - self.position);
        buf[..n].copy_from_slice(&self.current[self.position..self.position + n]);
        self.position += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::{PrefetchReader, CHUNK};
    use std::io::Read;

    #[test]
    fn bytes_arrive_in_order_across_chunk_boundaries() {
        let data: Vec<u8> = (0..(2 * CHUNK + 12345))
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        let mut out = Vec::new();
        PrefetchReader::spawn(Box::new(std::io::Cursor::new(data.clone())))
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, data);
        let mut empty = Vec::new();
        PrefetchReader::spawn(Box::new(std::io::empty()))
            .read_to_end(&mut empty)
            .unwrap();
        assert!(empty.is_empty());
    }

    /// A reader that yields some bytes, then fails.
    struct Failing(usize);

    impl Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0 == 0 {
                return Err(std::io::Error::other("disk on fire"));
            }
            let n = buf.len().min(self.0);
            buf[..n].fill(b'x');
            self.0 -= n;
            Ok(n)
        }
    }

    #[test]
    fn read_errors_reach_the_caller() {
        let mut out = Vec::new();
        let err = PrefetchReader::spawn(Box::new(Failing(10)))
            .read_to_end(&mut out)
            .unwrap_err();
        assert!(err.to_string().contains("disk on fire"));
    }
}
