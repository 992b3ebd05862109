//! Handing freed memory back to the system between RL steps.
//!
//! The `ponder` binary runs on jemalloc configured never to return freed pages on its own
//! (`.cargo/config.toml`): pretraining allocates the same buffer sizes every step and
//! reusing them is much faster (a finite decay measured 40% slower here). RL's buffers
//! change size with every batch of completions, and without a release a run of the 4-layer
//! reasoner grew by about 0.6 GB a step until the kernel killed it at 24 GB. The allocator
//! belongs to the binary, so the binary registers how to release; the RL loop calls it once
//! per step.
//!
//! The release makes each step fault its peak footprint back in, and a profile puts about a
//! fifth of an RL step in the kernel zeroing those pages. Both alternatives were measured on
//! 3-step runs of the 4-layer reasoner (docs/rl-notebook.md, session 26): keeping the pages
//! cut page faults 3.8× but not CPU time, while resident memory grew 3.3 GB; releasing them
//! lazily (`dirty_decay_ms:0`, so freed pages are `MADV_FREE`d) split the huge pages and
//! took 500× the faults and 3× the kernel time. So the release stays a full purge.

use std::sync::OnceLock;

static RELEASE: OnceLock<fn()> = OnceLock::new();

/// Registers the function that hands freed memory back to the system (the binary's
/// allocator purge). Only the first registration counts.
pub fn set_memory_release(release: fn()) {
    let _ = RELEASE.set(release);
}

/// Hands freed memory back, if a release was registered (a no-op otherwise, as with the
/// system allocator, which returns large blocks itself).
pub fn release_memory() {
    if let Some(release) = RELEASE.get() {
        release();
    }
}
