//! `ponder tasks …`: look at the task families, their problems, traces and verdicts.

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use ponder_tasks::{seed_for, Family, Problem, Rng, Split};
use rand::SeedableRng;

/// Arguments of `ponder tasks`.
#[derive(Args)]
pub struct TasksArgs {
    #[command(subcommand)]
    command: TasksCommand,
}

#[derive(Subcommand)]
enum TasksCommand {
    /// The families, their difficulty levels and answer formats, with one example prompt each.
    List,
    /// Problems of one family with the solver's thinking and answer.
    Show {
        /// Family: word, count, letters, cipher, countdown or sudoku.
        family: Family,
        /// Difficulty level (1 = easiest; `ponder tasks list` shows each family's levels).
        #[arg(short, long, default_value_t = 1)]
        difficulty: u8,
        /// First seed; problem i uses seed + i (before the split filter).
        #[arg(short, long, default_value_t = 0)]
        seed: u64,
        /// How many problems.
        #[arg(short, default_value_t = 1)]
        n: usize,
        /// Probability that a step of the trace contains a mistake (then corrected).
        #[arg(long, default_value_t = 0.0)]
        mistake_rate: f64,
        /// Only problems of this split (train or test); default: any.
        #[arg(long)]
        split: Option<SplitArg>,
        /// One JSON object per line instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Grades an answer (or a whole completion with <think>…</think>) for a problem id.
    Verify {
        /// Family of the problem.
        family: Family,
        /// Problem id, as printed by `show` (FAMILY-DIFFICULTY-SEED).
        #[arg(long)]
        id: String,
        /// The answer text or completion.
        #[arg(long)]
        answer: String,
    },
    /// Trace lengths in bytes per family and difficulty (the tiny reasoner is byte-level).
    Stats {
        /// Problems per family and level.
        #[arg(short, default_value_t = 200)]
        n: usize,
        /// Mistake rate of the traces measured.
        #[arg(long, default_value_t = 0.0)]
        mistake_rate: f64,
    },
}

/// `--split` values.
#[derive(Clone, Copy, clap::ValueEnum)]
enum SplitArg {
    Train,
    Test,
}

/// Runs `ponder tasks …`.
pub fn run(args: TasksArgs) -> anyhow::Result<()> {
    match args.command {
        TasksCommand::List => list(),
        TasksCommand::Show { family, difficulty, seed, n, mistake_rate, split, json } => {
            let split = split.map(|s| match s {
                SplitArg::Train => Split::Train,
                SplitArg::Test => Split::Test,
            });
            show(family, difficulty, seed, n, mistake_rate, split, json)
        }
        TasksCommand::Verify { family, id, answer } => verify(family, &id, &answer),
        TasksCommand::Stats { n, mistake_rate } => stats(n, mistake_rate),
    }
}

fn list() -> anyhow::Result<()> {
    for family in Family::ALL {
        println!("{family}  ({} levels; answer: {})", family.levels(), family.answer_format());
        for level in 1..=family.levels() {
            println!("  {level}: {}", family.level_description(level));
        }
        let example = family.generate(1, 0)?;
        println!("  example: {}\n", example.prompt.replace('\n', "\n           "));
    }
    Ok(())
}

/// The solver's worked solution of a problem, from a seed derived from the problem's.
fn solve(problem: &Problem, mistake_rate: f64) -> ponder_tasks::Solution {
    let mut rng = Rng::seed_from_u64(seed_for(problem.seed, &[problem.family() as u64, 0x501e]));
    problem.solve(&mut rng, mistake_rate)
}

fn show(
    family: Family,
    difficulty: u8,
    seed: u64,
    n: usize,
    mistake_rate: f64,
    split: Option<Split>,
    json: bool,
) -> anyhow::Result<()> {
    let problems: Vec<Problem> = match split {
        Some(split) => family.problems(split, difficulty, seed)?.take(n).collect(),
        None => (seed..seed + n as u64).map(|s| family.generate(difficulty, s)).collect::<Result<_, _>>()?,
    };
    for problem in problems {
        let solution = solve(&problem, mistake_rate);
        if json {
            let line = serde_json::json!({
                "family": family,
                "difficulty": problem.difficulty,
                "id": problem.id,
                "split": Split::of_prompt(&problem.prompt),
                "prompt": problem.prompt,
                "thinking": solution.thinking,
                "answer": solution.answer,
                "mistakes": solution.mistakes,
                "completion": solution.completion(),
            });
            println!("{line}");
        } else {
            println!("### {} ({:?} split)", problem.id, Split::of_prompt(&problem.prompt));
            println!("{}\n{}\n", problem.prompt, solution.completion());
        }
    }
    Ok(())
}

fn verify(family: Family, id: &str, answer: &str) -> anyhow::Result<()> {
    let problem = Family::problem_from_id(id).with_context(|| format!("cannot rebuild problem `{id}`"))?;
    if problem.family() != family {
        bail!("problem `{id}` is a {} problem, not {family}", problem.family());
    }
    let verdict = problem.verify(answer);
    println!("{}", serde_json::to_string(&verdict)?);
    Ok(())
}

fn stats(n: usize, mistake_rate: f64) -> anyhow::Result<()> {
    println!("| family | level | what | prompt bytes (mean) | trace bytes (mean) | trace bytes (max) | completion bytes (max) |");
    println!("|---|---|---|---|---|---|---|");
    for family in Family::ALL {
        for level in 1..=family.levels() {
            let (mut prompt, mut trace, mut trace_max, mut completion_max) = (0usize, 0usize, 0usize, 0usize);
            for seed in 0..n as u64 {
                let problem = family.generate(level, seed)?;
                let solution = solve(&problem, mistake_rate);
                prompt += problem.prompt.len();
                trace += solution.thinking.len();
                trace_max = trace_max.max(solution.thinking.len());
                completion_max = completion_max.max(solution.completion().len());
            }
            println!(
                "| {family} | {level} | {} | {} | {} | {trace_max} | {completion_max} |",
                family.level_description(level),
                prompt / n.max(1),
                trace / n.max(1),
            );
        }
    }
    Ok(())
}
