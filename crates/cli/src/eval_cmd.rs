//! `ponder eval`: held-out accuracy of a model per family and level.

use std::path::PathBuf;

use anyhow::Context;
use candle_core::Device;
use clap::Args;
use ponder_eval::{evaluate, EvalConfig};
use ponder_model::TinyReasoner;
use ponder_tasks::Family;

use crate::model_path::{families, model_dir};

/// Arguments of `ponder eval`.
#[derive(Args)]
pub struct EvalArgs {
    /// A run folder or model folder.
    #[arg(long, default_value = "runs/demo")]
    model: PathBuf,
    /// Families (comma-separated; default: all six).
    #[arg(long, value_delimiter = ',')]
    families: Vec<Family>,
    /// Levels (comma-separated; default: every level of each family).
    #[arg(long, value_delimiter = ',')]
    levels: Vec<u8>,
    /// Held-out problems per family and level.
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
    let dir = model_dir(&args.model)?;
    let model = TinyReasoner::load(&dir, &Device::Cpu)?;
    let config = EvalConfig {
        families: families(&args.families),
        levels: if args.levels.is_empty() { None } else { Some(args.levels) },
        n: args.n,
        samples: args.samples,
        temperature: args.temperature,
        max_new_tokens: args.max_tokens,
        ..EvalConfig::default()
    };
    let report = evaluate(&model, &config)?;
    print!("{}", report.table());
    println!("{:.0} generated tokens/s", report.tokens_per_second);
    if let Some(out) = args.out {
        let json = serde_json::to_string_pretty(&report)?;
        std::fs::write(&out, json).with_context(|| format!("cannot write {}", out.display()))?;
        println!("wrote {}", out.display());
    }
    Ok(())
}
