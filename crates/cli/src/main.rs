//! `ponder`: reasoning models that think before they answer — tasks, training, test-time
//! compute and serving, from one command line.

mod ask_cmd;
mod bench_cmd;
mod bench_decode;
mod charts;
mod demo_cmd;
mod eval_cmd;
mod model_path;
mod pretrain_cmd;
mod rl_cmd;
mod sweep_cmd;
mod tasks_cmd;

use clap::{Parser, Subcommand};

/// jemalloc instead of the system allocator: training allocates and frees the same large
/// activation buffers every step; glibc returns them to the OS each time (page faults
/// dominated a step), jemalloc keeps and reuses them.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Hands every arena's freed pages back to the system. jemalloc is configured never to do
/// it on its own (see `.cargo/config.toml`), which suits training's fixed buffer sizes;
/// the RL loop calls this once per step, whose sizes change every time
/// ([`ponder_train::memory`]).
#[cfg(not(target_env = "msvc"))]
#[allow(unsafe_code)] // jemalloc's mallctl, the one call that takes no value
fn purge_allocator() {
    // "arena.<MALLCTL_ARENAS_ALL>.purge" (MALLCTL_ARENAS_ALL is 4096 in jemalloc 5).
    const PURGE_ALL: &[u8] = b"arena.4096.purge\0";
    // SAFETY: a NUL-terminated name and no old or new value, as the purge command takes.
    let status = unsafe {
        tikv_jemalloc_sys::mallctl(
            PURGE_ALL.as_ptr().cast(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            0,
        )
    };
    debug_assert_eq!(status, 0, "jemalloc refused to purge");
}

/// The ponder command line.
#[derive(Parser)]
#[command(name = "ponder", version, about = "Reasoning models that think before they answer")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Pretrain the tiny reasoner, show it thinking, and print its accuracy table (runs/demo).
    Demo(demo_cmd::DemoArgs),
    /// Pretrain a tiny reasoner from scratch on solver traces (or resume a killed run).
    Pretrain(pretrain_cmd::PretrainArgs),
    /// Reinforcement learning on verifiable rewards (GRPO family) and the train-time curve.
    Rl(rl_cmd::RlArgs),
    /// Held-out accuracy per family and level: pass@1 (greedy, sampled), pass@k, thinking length.
    Eval(eval_cmd::EvalArgs),
    /// The test-time compute curve: accuracy vs compute for longer thinking, votes and best-of-N.
    Sweep(sweep_cmd::SweepArgs),
    /// Ask a trained model a question; its thinking streams dimmed, then the answer.
    Ask(ask_cmd::AskArgs),
    /// Speed figures: training and sampling throughput, beside the peer implementation.
    Bench(bench_cmd::BenchArgs),
    /// Verifiable reasoning tasks: list families, show problems with solver traces, verify answers.
    Tasks(tasks_cmd::TasksArgs),
}

/// Fixes `RAYON_NUM_THREADS` to candle's own thread count, once, before any thread starts.
/// candle asks for its thread count on every matrix product, and unless that variable is
/// set the answer parses /proc/cpuinfo each time: `perf` put 5.7% of an RL step's CPU
/// samples there, on the thread the pool waits for. The count stays what candle would
/// choose (physical cores), which also sizes rayon's global pool; a value the user set wins.
fn pin_thread_count() {
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        std::env::set_var("RAYON_NUM_THREADS", candle_core::utils::get_num_threads().to_string());
    }
}

fn main() -> anyhow::Result<()> {
    pin_thread_count();
    #[cfg(not(target_env = "msvc"))]
    ponder_train::memory::set_memory_release(purge_allocator);
    match Cli::parse().command {
        Command::Demo(args) => demo_cmd::run(args),
        Command::Pretrain(args) => pretrain_cmd::run(args),
        Command::Rl(args) => rl_cmd::run(args),
        Command::Eval(args) => eval_cmd::run(args),
        Command::Sweep(args) => sweep_cmd::run(args),
        Command::Ask(args) => ask_cmd::run(args),
        Command::Bench(args) => bench_cmd::run(args),
        Command::Tasks(args) => tasks_cmd::run(args),
    }
}

#[cfg(all(test, target_os = "linux", not(target_env = "msvc")))]
mod tests {
    use super::{pin_thread_count, purge_allocator};

    /// Regression: candle parsed /proc/cpuinfo on every matrix product (5.7% of an RL step)
    /// because it reads its thread count from `RAYON_NUM_THREADS` when set and from the
    /// CPU list otherwise. Pinning sets the variable to the count candle chose.
    #[test]
    fn the_thread_count_is_pinned_to_candles_choice() {
        let chosen = candle_core::utils::get_num_threads();
        pin_thread_count();
        assert_eq!(std::env::var("RAYON_NUM_THREADS").as_deref(), Ok(chosen.to_string().as_str()));
        assert_eq!(candle_core::utils::get_num_threads(), chosen);
    }

    /// Resident bytes of this process (the second field of /proc/self/statm, in pages).
    fn resident() -> usize {
        let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
        let pages: usize = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).expect("resident pages");
        pages * 4096
    }

    /// Regression: an RL run of the 4-layer reasoner grew by about 0.6 GB a step (buffers
    /// of new sizes every step, freed pages never handed back) until the kernel killed it
    /// at 24 GB. The purge the RL loop calls each step must return them.
    #[test]
    fn purging_hands_freed_pages_back_to_the_system() {
        purge_allocator();
        let before = resident();
        for mb in (8..=96).step_by(8) {
            let buffer = vec![1u8; mb << 20]; // written, so resident
            std::hint::black_box(&buffer);
        }
        let held = resident();
        purge_allocator();
        let after = resident();
        let mb = |bytes: usize| bytes >> 20;
        assert!(held > before + (64 << 20), "freed pages were not kept: {} -> {} MB", mb(before), mb(held));
        assert!(
            after < before + (32 << 20),
            "purge kept {} MB of {} MB (started at {} MB)",
            mb(after),
            mb(held),
            mb(before)
        );
    }
}
