//! Tensor storage that recycles its large allocations.
//!
//! A training step allocates and frees the same large buffers (activations, gradients, im2col
//! panels) at every step. Through the system allocator each of those can be a fresh `mmap`
//! whose pages fault in zeroed on first touch and are unmapped again on free: measured on the MLP
//! and CNN benchmarks, that cost up to 45% of a step, and it varied 2-3x with the allocator's
//! state. So buffers of at least [`MIN_POOLED_LEN`] elements return to a process-wide pool when
//! their last tensor drops, and kernels take their outputs from it: after the first step, a
//! training loop reuses its buffers instead of asking the OS again.
//!
//! The pool holds at most [`MAX_POOLED_BYTES`] and a few buffers per exact length (a step needs
//! the same lengths every time); [`clear_buffer_pool`] returns everything to the allocator.
//! Pooled memory is always fully written before it is read (`zeroed` fills, `with_capacity`
//! hands out an empty `Vec`, `scratch` goes only to kernels that write every element), so reuse
//! can never change a result.

use std::collections::HashMap;
use std::ops::{Deref, DerefMut};
use std::sync::Mutex;

use crate::tensor::Elem;

/// Buffers shorter than this (16 KiB of f32) are left to the allocator, which serves them
/// quickly from its own free lists. Larger ones are pooled even below glibc's 128 KiB `mmap`
/// threshold: a buffer freed at the top of the heap can be trimmed back to the OS and fault in
/// again on the next call, and a 128x128 product (a 64 KiB output) ran at 55 GFLOP/s through the
/// allocator against 85-92 from the pool, sgemm's own speed.
pub const MIN_POOLED_LEN: usize = 4 * 1024;

/// The most memory the pool keeps for reuse.
pub const MAX_POOLED_BYTES: usize = 512 << 20;

/// The most free buffers kept for one length.
const MAX_PER_LEN: usize = 16;

struct Pool {
    by_len: HashMap<usize, Vec<Vec<Elem>>>,
    bytes: usize,
}

static POOL: Mutex<Option<Pool>> = Mutex::new(None);

fn with_pool<R>(f: impl FnOnce(&mut Pool) -> R) -> R {
    // A panic while the lock was held cannot leave the map inconsistent (every update is a
    // single push or pop), so a poisoned lock is safe to keep using.
    let mut guard = POOL.lock().unwrap_or_else(|e| e.into_inner());
    let pool = guard.get_or_insert_with(|| Pool {
        by_len: HashMap::new(),
        bytes: 0,
    });
    f(pool)
}

/// A free pooled buffer of exactly `len` elements (its stale contents included), if any.
fn take_pooled(len: usize) -> Option<Vec<Elem>> {
    if len < MIN_POOLED_LEN {
        return None;
    }
    with_pool(|pool| {
        let v = pool.by_len.get_mut(&len)?.pop()?;
        pool.bytes -= len * std::mem::size_of::<Elem>();
        Some(v)
    })
}

/// An empty `Vec` with capacity for `len` elements, reused from the pool when one is free.
pub(crate) fn with_capacity(len: usize) -> Vec<Elem> {
    match take_pooled(len) {
        Some(mut v) => {
            v.clear();
            v
        }
        None => Vec::with_capacity(len),
    }
}

/// `len` zeros, in a reused buffer when one is free.
pub(crate) fn zeroed(len: usize) -> Vec<Elem> {
    match take_pooled(len) {
        Some(mut v) => {
            v.fill(0.0);
            v
        }
        None => vec![0.0; len],
    }
}

/// `len` elements of unspecified value (zeros, or what a previous tensor left in a reused
/// buffer), for kernels that overwrite every element: it saves `zeroed`'s fill, which on large
/// activations costs as much as the page faults the pool avoids. Never read an element before
/// writing it.
pub(crate) fn scratch(len: usize) -> Vec<Elem> {
    take_pooled(len).unwrap_or_else(|| vec![0.0; len])
}

/// Offers a no longer needed `Vec` to the pool (it is freed if the pool does not want it). Only
/// full vectors (`len == capacity`) are kept, so every pooled buffer is `len` initialised
/// elements and `scratch` can hand it out as it is.
pub(crate) fn recycle(v: Vec<Elem>) {
    let len = v.capacity();
    if len < MIN_POOLED_LEN || v.len() != len {
        return;
    }
    let bytes = len * std::mem::size_of::<Elem>();
    with_pool(|pool| {
        if pool.bytes + bytes > MAX_POOLED_BYTES {
            return;
        }
        let list = pool.by_len.entry(len).or_default();
        if list.len() < MAX_PER_LEN {
            list.push(v);
            pool.bytes += bytes;
        }
    });
}

/// Frees every buffer the pool holds (for example after training, before a long inference-only
/// phase), and returns how many bytes were released.
///
/// ```
/// let _released = gradwork_tensor::clear_buffer_pool();
/// assert_eq!(gradwork_tensor::buffer_pool_bytes(), 0);
/// ```
pub fn clear_buffer_pool() -> usize {
    with_pool(|pool| {
        let released = pool.bytes;
        pool.by_len.clear();
        pool.bytes = 0;
        released
    })
}

/// The bytes currently held by the pool for reuse.
pub fn buffer_pool_bytes() -> usize {
    with_pool(|pool| pool.bytes)
}

/// A tensor's storage: a `Vec` that returns to the pool when dropped.
#[derive(Debug, Default)]
pub(crate) struct Buffer(Vec<Elem>);

impl Buffer {
    /// Takes the elements out (the emptied buffer then has nothing to recycle).
    pub(crate) fn into_vec(mut self) -> Vec<Elem> {
        std::mem::take(&mut self.0)
    }
}

impl From<Vec<Elem>> for Buffer {
    fn from(v: Vec<Elem>) -> Self {
        Buffer(v)
    }
}

impl Deref for Buffer {
    type Target = Vec<Elem>;
    fn deref(&self) -> &Vec<Elem> {
        &self.0
    }
}

impl DerefMut for Buffer {
    fn deref_mut(&mut self) -> &mut Vec<Elem> {
        &mut self.0
    }
}

impl Clone for Buffer {
    fn clone(&self) -> Self {
        let mut v = with_capacity(self.0.len());
        v.extend_from_slice(&self.0);
        Buffer(v)
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        recycle(std::mem::take(&mut self.0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_large_buffer_is_reused_and_handed_out_zeroed_or_empty() {
        // Lengths unique to this test, so parallel tests cannot take them.
        let len = MIN_POOLED_LEN + 12_345;
        let mut v = zeroed(len);
        v.iter_mut().for_each(|x| *x = 7.0);
        let ptr = v.as_ptr();
        drop(Buffer::from(v));
        let again = zeroed(len);
        assert_eq!(again.as_ptr(), ptr, "the freed buffer is reused");
        assert!(again.iter().all(|&x| x == 0.0));
        drop(Buffer::from(again));
        let empty = with_capacity(len);
        assert_eq!((empty.as_ptr(), empty.len()), (ptr, 0));
        // A partly filled vector is not pooled: scratch must find `len` initialised elements.
        drop(Buffer::from(empty));
        assert_eq!(with_pool(|p| p.by_len.get(&len).map_or(0, Vec::len)), 0);
    }

    #[test]
    fn small_buffers_and_taken_vectors_are_not_pooled() {
        drop(Buffer::from(vec![1.0; MIN_POOLED_LEN - 1]));
        let len = MIN_POOLED_LEN + 54_321;
        let taken = Buffer::from(vec![1.0; len]).into_vec();
        assert_eq!(taken.len(), len);
        // Other tests may add buffers concurrently, never of these lengths.
        let pooled_here = with_pool(|p| {
            p.by_len.get(&(MIN_POOLED_LEN - 1)).map_or(0, Vec::len)
                + p.by_len.get(&len).map_or(0, Vec::len)
        });
        assert_eq!(pooled_here, 0);
    }
}
