//! How the binary's memory allocator is set up: glibc's malloc, told to keep what it frees.
//!
//! Training allocates and frees the same large buffers every step (candle allocates every
//! op's output). glibc's defaults hand large blocks back to the kernel on every free
//! (`mmap`/`munmap` above a threshold, and trimming the heap's top), and a page handed back
//! costs a fault and a zeroed page when it is used again. On this project's machines, a
//! virtual machine that reports freed pages to its host, that costs far more than zeroing:
//! a first touch ran at 0.3 GiB/s against 6.5 GiB/s for memory the guest still held.
//!
//! So the binary keeps its heap: no trimming, blocks up to glibc's largest mmap threshold
//! (32 MiB) from the heap, and one arena, so that a buffer freed on one thread serves the
//! next allocation on any. Freed blocks coalesce at once, and the heap stays at a step's
//! peak. jemalloc, used before, had to be purged every RL step (its never-decaying dirty
//! pages do not coalesce, and a run grew by 0.6–2.5 GB a step); on 6-step RL runs of the
//! 4-layer reasoner this setup took 116 s against jemalloc's 132 s, with 2.6 GB resident
//! against 5.2 GB (docs/rl-notebook.md, session 27).

/// Largest block glibc serves from the heap rather than from its own `mmap` (glibc's upper
/// limit for this setting on 64-bit systems: half its 64 MiB heap size).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 32 << 20;

/// Sets up glibc's malloc to keep freed memory (see the module docs). Call it first thing
/// in `main`, before any thread starts. Elsewhere than Linux with glibc it does nothing.
#[allow(unsafe_code)] // mallopt: plain integer settings of the C allocator
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt takes two integers and changes only the allocator's settings; it is
    // called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, -1); // -1: never trim the heap's top
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// Bytes of heap glibc holds, in use or free.
    #[allow(unsafe_code)]
    fn heap_bytes() -> usize {
        // SAFETY: mallinfo2 reads the allocator's counters and takes no arguments.
        unsafe { libc::mallinfo2() }.arena
    }

    /// Other tests of this binary run on other threads and allocate a little meanwhile.
    const SLACK: usize = 8 << 20;

    /// Regression: an RL step's buffers change size every step. glibc's defaults unmapped
    /// them on every free, and jemalloc (never returning pages) grew by gigabytes a step.
    /// Here rounds of buffers of shuffled sizes, six alive at once, are kept when freed and
    /// reused: after each round the heap still holds at least the most that was ever alive
    /// at once, and never twice that.
    #[test]
    fn buffers_of_changing_sizes_reuse_the_heap() {
        keep_freed_memory();
        let mut live: std::collections::VecDeque<Vec<u8>> = Default::default();
        let (mut heap_after, mut peak_live) = (Vec::new(), 0usize);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for _round in 0..6 {
            for _ in 0..40 {
                let mb: usize = rng.random_range(1..=31);
                live.push_back(vec![1u8; mb << 20]);
                if live.len() > 6 {
                    live.pop_front();
                }
                peak_live = peak_live.max(live.iter().map(Vec::len).sum());
            }
            live.clear();
            heap_after.push(heap_bytes());
        }
        let last = heap_after[5];
        assert!(last >= peak_live, "freed buffers were handed back: {heap_after:?} bytes after each round");
        // Fragmentation costs up to about 1.5× here (seeds 1–3 and 7); an allocator that
        // does not reuse would hold the nearly 4 GB of all rounds.
        assert!(
            last < 2 * peak_live + SLACK,
            "the heap holds over twice the most ever alive ({peak_live} bytes): {heap_after:?} after each round"
        );
    }
}
