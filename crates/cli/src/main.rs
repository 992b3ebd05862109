//! `ponder`: reasoning models that think before they answer — tasks, training, test-time
//! compute and serving, from one command line.

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
    /// Verifiable reasoning tasks: list families, show problems with solver traces, verify answers.
    Tasks(tasks_cmd::TasksArgs),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Tasks(args) => tasks_cmd::run(args),
    }
}
