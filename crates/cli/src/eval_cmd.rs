//! `ponder eval`: held-out accuracy of a model per family and level, or on a real
//! benchmark (`--bench gsm8k`).

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use ponder_eval::{evaluate, run_benchmark, EvalConfig};
use ponder_tasks::bench::Benchmark;
use ponder_tasks::Family;
use ponder_think::SamplingParams;

use crate::model_path::{families, load_engine};

/// Arguments of `ponder eval`.
#[derive(Args)]
pub struct EvalArgs {
    /// A run folder or model folder, a .gguf file or a Hugging Face model folder.
    #[arg(long, default_value = "runs/demo")]
    model: PathBuf,
    /// Run a real benchmark instead of the task families (gsm8k).
    #[arg(long)]
    bench: Option<Benchmark>,
    /// Where the benchmark data lives (`gsm8k/test.jsonl` inside it).
    #[arg(long, default_value = "../shared/data")]
    data: PathBuf,
    /// Prompts generated together.
    #[arg(long, default_value_t = 8)]
    batch: usize,
    /// Families (comma-separated; default: all six).
    #[arg(long, value_delimiter = ',')]
    families: Vec<Family>,
    /// Levels (comma-separated; default: every level of each family).
    #[arg(long, value_delimiter = ',')]
    levels: Vec<u8>,
    /// Held-out problems per family and level (with --bench: the first n items; 0 = all).
    #[arg(short, default_value_t = 200)]
    n: usize,
    /// Sampled completions per problem, for sampled pass@1 and pass@k (0: greedy only).
    #[arg(long, default_value_t = 8)]
    samples: usize,
    /// Temperature of the sampled completions.
    #[arg(long, default_value_t = 1.0)]
    temperature: f32,
    /// Most new tokens per completion.
    #[arg(long, default_value_t = 768)]
    max_tokens: usize,
    /// Write the report here as JSON.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Runs `ponder eval`.
pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    let engine = load_engine(&args.model)?;
    if let Some(benchmark) = args.bench {
        let path = benchmark.default_path(&args.data);
        let mut items = benchmark.load(&path)?;
        if args.n > 0 {
            items.truncate(args.n);
        }
        let params = SamplingParams { temperature: 0.0, max_new_tokens: args.max_tokens, ..SamplingParams::default() };
        let report = run_benchmark(engine.as_ref(), benchmark, &items, &params, args.batch, 0)?;
        println!("{}", report.summary());
        if let Some(out) = args.out {
            std::fs::write(&out, serde_json::to_string_pretty(&report)?)
                .with_context(|| format!("cannot write {}", out.display()))?;
            println!("wrote {} (every item with the model's reply and its grade)", out.display());
        }
        return Ok(());
    }
    let config = EvalConfig {
        families: families(&args.families),
        levels: if args.levels.is_empty() { None } else { Some(args.levels) },
        n: args.n,
        samples: args.samples,
        temperature: args.temperature,
        max_new_tokens: args.max_tokens,
        ..EvalConfig::default()
    };
    let report = evaluate(engine.as_ref(), &config)?;
    print!("{}", report.table());
    println!("{:.0} generated tokens/s", report.tokens_per_second);
    if let Some(out) = args.out {
        let json = serde_json::to_string_pretty(&report)?;
        std::fs::write(&out, json).with_context(|| format!("cannot write {}", out.display()))?;
        println!("wrote {}", out.display());
    }
    Ok(())
}
