//! How many heap allocations a single-sample forward pass makes.
//!
//! Latency at batch 1 is a few microseconds of arithmetic, so each allocation shows: this test
//! keeps the count near "one buffer and one header per op output" so that a regression (a shape
//! copied into a `Vec` on every call, say) fails here rather than only in a benchmark.

#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use gradwork_nn::activations::Relu;
use gradwork_nn::layers::Linear;
use gradwork_nn::{predict, Sequential};
use gradwork_tensor::{Rng, Tensor};

thread_local! {
    /// Allocations made by this thread (the test harness's other threads do not count).
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

struct CountingAllocator;

fn count_one() {
    // `try_with`: the thread-local may be gone while a thread is being torn down.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

#[test]
fn a_single_sample_mlp_forward_pass_allocates_little_beyond_its_outputs() {
    let mut rng = Rng::seed_from(0);
    let mut model = Sequential::new()
        .push(Linear::new(784, 256, &mut rng))
        .push(Relu)
        .push(Linear::new(256, 128, &mut rng))
        .push(Relu)
        .push(Linear::new(128, 10, &mut rng));
    let x = Tensor::rand_uniform(&[1, 784], 0.0, 1.0, &mut rng);
    let first = predict(&mut model, &x).unwrap();
    let before = ALLOCATIONS.with(Cell::get);
    let second = predict(&mut model, &x).unwrap();
    let made = ALLOCATIONS.with(Cell::get) - before;
    assert_eq!(first.to_vec(), second.to_vec());
    // Five op outputs (three products, two ReLUs), each a data buffer and a shared header: 10.
    // The rest is the forward pass's bookkeeping; it was 125 before shapes were stored inline.
    assert!(
        made <= 20,
        "a single-sample forward pass made {made} allocations"
    );
}
