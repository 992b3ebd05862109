//! `ponder demo`: the main job. Pretrains the default tiny reasoner from scratch within a
//! time budget, shows it thinking on one problem per family, prints the accuracy table
//! and writes everything to the run folder.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use ponder_eval::{evaluate, EvalConfig};
use ponder_model::{Preset, SamplingParams, TinyReasoner};
use ponder_tasks::{Family, Split};
use ponder_think::Engine;
use ponder_train::{pretrain, PretrainConfig};

/// Longest completion in the demo: every level-1 trace fits (see `ponder tasks stats`).
const MAX_TOKENS: usize = 640;

/// Arguments of `ponder demo`.
#[derive(Args)]
pub struct DemoArgs {
    /// Run folder.
    #[arg(long, default_value = "runs/demo")]
    out: PathBuf,
    /// Minutes of pretraining.
    #[arg(long, default_value_t = 10.0)]
    minutes: f64,
    /// Model size (nano: the size that learns most in minutes on 2 cores).
    #[arg(long, default_value = "nano")]
    preset: Preset,
    /// Held-out problems per family in the accuracy table (level 1).
    #[arg(short, default_value_t = 20)]
    n: usize,
    /// Seed of the run.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

/// Runs `ponder demo`.
pub fn run(args: DemoArgs) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let mut config = PretrainConfig::for_preset(args.preset);
    config.minutes = Some(args.minutes);
    config.seed = args.seed;
    config.eval_per_level = 0; // the demo evaluates once, below
    println!(
        "ponder demo: pretraining a tiny reasoner ({} parameters) from scratch for {} minutes on solver traces",
        config.model.param_count(),
        args.minutes
    );
    println!(
        "  of all six task families, with self-corrections in {:.0}% of trace steps.\n",
        config.mixture.mistake_rate * 100.0
    );
    let outcome = pretrain(&args.out, Some(config.clone()), false, None)?;
    println!(
        "pretrained: {} steps, {:.1}M tokens, {:.2e} FLOPs, final loss {:.3}\n",
        outcome.state.step,
        outcome.state.tokens as f64 / 1e6,
        outcome.state.flops,
        outcome.last_loss
    );

    let model = TinyReasoner::load(&args.out.join("model"), &candle_core::Device::Cpu)?;
    let mut examples = String::from("# One held-out problem per family\n\n");
    let greedy = SamplingParams { temperature: 0.0, max_new_tokens: MAX_TOKENS, ..SamplingParams::default() };
    for family in Family::ALL {
        let problem = family.problems(Split::Test, 1, args.seed)?.next().context("no held-out problem")?;
        let completion = model.complete(std::slice::from_ref(&problem.prompt), &[0], &greedy)?.remove(0);
        let verdict = problem.verify(&completion.text);
        let shown = format!(
            "## {family} (level 1) — {}\n\n{}\n\n```\n{}\n```\n\nreference answer: {} — {}\n\n",
            problem.id,
            problem.prompt,
            completion.text,
            problem.answer,
            if verdict.is_correct() { "correct" } else { "wrong" },
        );
        print!("{}", shown.replace("```\n", "").replace("## ", "── "));
        examples.push_str(&shown);
    }
    std::fs::write(args.out.join("examples.md"), &examples)?;

    let levels: Vec<u8> = vec![1, 2];
    let eval_config = EvalConfig {
        levels: Some(levels),
        n: args.n,
        samples: 4,
        max_new_tokens: 768,
        seed: args.seed,
        ..EvalConfig::default()
    };
    println!("accuracy on held-out problems (never seen in training):");
    let report = evaluate(&model, &eval_config)?;
    print!("{}", report.table());
    std::fs::write(args.out.join("eval.json"), serde_json::to_string_pretty(&report)?)?;
    let mut summary = String::new();
    let _ = writeln!(
        summary,
        "# ponder demo\n\n{} steps of pretraining, final loss {:.3}\n",
        outcome.state.step, outcome.last_loss
    );
    summary.push_str(&report.markdown());
    std::fs::write(args.out.join("summary.md"), summary)?;
    println!(
        "\nwrote {}/ (model/, log.jsonl, examples.md, eval.json, summary.md) in {:.1} minutes",
        args.out.display(),
        started.elapsed().as_secs_f64() / 60.0
    );
    println!("try: ponder ask \"How many r's are in strawberry?\"");
    Ok(())
}
