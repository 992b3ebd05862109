//! `ponder`: reasoning models that think before they answer — tasks, training, test-time
//! compute and serving, from one command line.

mod allocator;
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
    allocator::keep_freed_memory();
    pin_thread_count();
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

#[cfg(test)]
mod tests {
    use super::pin_thread_count;

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
}
