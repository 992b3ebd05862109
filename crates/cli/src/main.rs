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

fn main() -> anyhow::Result<()> {
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
