//! The parallel policy that keeps results bitwise identical for any thread count.
//!
//! Work is split into chunks whose size is a constant of this module, never derived from the
//! number of threads. Each chunk is computed by one thread, sequentially; reductions compute one
//! partial result per chunk and fold the partials in chunk order. The sequential path uses the same
//! chunks, so 1, 2 or 64 threads round identically. Never use rayon's float `sum`/`reduce`: their
//! association order depends on how work was stolen.

use rayon::prelude::*;

/// Elements per parallel task in elementwise kernels.
pub const ELEMENTWISE_CHUNK: usize = 1 << 15;

/// Below this many elements an elementwise kernel stays on the calling thread.
pub const PARALLEL_THRESHOLD: usize = 1 << 16;

/// The granularity at which a matmul's output rows are split between threads (matrixmultiply's
/// own row block). The number of pieces follows the thread count, but sgemm never splits K, so
/// where the rows are cut never changes the bits (tested in `tests/prop_determinism.rs`).
pub const MATMUL_ROW_BLOCK: usize = 64;

/// Elements per partial sum when one long row is reduced.
pub const REDUCE_CHUNK: usize = 1 << 14;

/// Fills `out` by calling `f(start, chunk)` on fixed-size chunks of `chunk_len` elements,
/// in parallel when `out` is large. `start` is the chunk's first index in `out`.
pub fn fill_chunks(out: &mut [f32], chunk_len: usize, f: impl Fn(usize, &mut [f32]) + Sync + Send) {
    if out.len() < PARALLEL_THRESHOLD {
        for (i, chunk) in out.chunks_mut(chunk_len).enumerate() {
            f(i * chunk_len, chunk);
        }
    } else {
        out.par_chunks_mut(chunk_len)
            .enumerate()
            .for_each(|(i, chunk)| f(i * chunk_len, chunk));
    }
}

/// Runs `f(row_index, row)` for each `row_len`-sized row of `out`, in parallel over fixed groups
/// of rows when the output is large. Each row is written by exactly one call.
pub fn for_each_row(out: &mut [f32], row_len: usize, f: impl Fn(usize, &mut [f32]) + Sync + Send) {
    if row_len == 0 {
        return;
    }
    let rows_per_task = (ELEMENTWISE_CHUNK / row_len).max(1);
    let task_len = rows_per_task * row_len;
    fill_chunks(out, task_len, |start, chunk| {
        let first_row = start / row_len;
        for (r, row) in chunk.chunks_mut(row_len).enumerate() {
            f(first_row + r, row);
        }
    });
}

/// Runs `f` on a thread of rayon's pool (directly when already on one) and returns its result.
///
/// Wrap a training or inference loop in it. Each parallel kernel forks and joins; from a thread
/// outside the pool (such as `main`) every fork is a hand-off to the pool and a wake-up back, at
/// every op, and the calling thread only waits. From inside the pool the caller takes part in the
/// work and idle threads steal from it. Results are the same bits either way.
///
/// ```
/// use gradwork_tensor::{par, Tensor};
/// let a = Tensor::ones(&[256, 256]);
/// let c = par::install(|| a.matmul(&a));
/// assert_eq!(c.get(&[0, 0]), 256.0);
/// ```
pub fn install<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    if rayon::current_thread_index().is_some() {
        f()
    } else {
        rayon::scope(|_| f())
    }
}

/// [`install`], with the pool's other threads kept awake for as long as `f` runs: each waits for
/// work by polling rayon's queues (`rayon::yield_now`) instead of sleeping, so a fork in `f`
/// starts on another core at once instead of after an OS wake-up (OpenMP runtimes, PyTorch's
/// included, spin the same way between parallel regions). The waiting threads use their cores
/// fully while `f` runs; use it for a training loop that owns the machine. Results are the same
/// bits as with [`install`]: only when work starts changes, never how it is split.
///
/// ```
/// use gradwork_tensor::{par, Tensor};
/// let a = Tensor::ones(&[256, 256]);
/// let c = par::install_busy(|| a.matmul(&a));
/// assert_eq!(c.get(&[0, 0]), 256.0);
/// ```
pub fn install_busy<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    use std::sync::atomic::{AtomicBool, Ordering};
    let done = AtomicBool::new(false);
    rayon::scope(|scope| {
        for _ in 1..rayon::current_num_threads() {
            scope.spawn(|_| {
                while !done.load(Ordering::Acquire) {
                    if rayon::yield_now() != Some(rayon::Yield::Executed) {
                        std::hint::spin_loop();
                    }
                }
            });
        }
        // Set on the way out even if `f` panics: the scope waits for the waiting threads,
        // which would otherwise poll forever.
        struct Release<'a>(&'a AtomicBool);
        impl Drop for Release<'_> {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Release);
            }
        }
        let _release = Release(&done);
        f()
    })
}
