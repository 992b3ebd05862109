//! `ponder demo`: the main job, the whole o1 recipe in minutes on a laptop CPU.
//!
//! 1. Pretrain the default tiny reasoner from scratch on solver traces (most of the budget).
//! 2. Show it thinking on one held-out problem per family.
//! 3. A short RL phase (GRPO) on count 2 and letters 2, where sampling already finds many
//!    answers that greedy decoding misses, anchored on the rest of the pretraining mixture;
//!    with the train-time curve and a before/after table.
//! 4. Held-out accuracy of the RL model, then a small test-time sweep.
//! 5. Everything into the run folder, and `report.html` with both o1 curves.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use ponder_eval::{evaluate, report_html, sweep, write_chart, EvalConfig, Section, SweepConfig, Table};
use ponder_model::{Preset, SamplingParams, TinyReasoner};
use ponder_tasks::{Family, Split};
use ponder_think::Engine;
use ponder_train::{pretrain, rl, CurvePoint, PretrainConfig, RlConfig};

use crate::charts;
use crate::rl_cmd::{anchor_replaying, curve_table, default_anchor_levels, trained_blind_guess, write_train_charts};

/// Longest completion in the demo: every level-1 trace fits (see `ponder tasks stats`).
const MAX_TOKENS: usize = 640;

/// Arguments of `ponder demo`.
#[derive(Args)]
pub struct DemoArgs {
    /// Run folder.
    #[arg(long, default_value = "runs/demo")]
    out: PathBuf,
    /// Minutes of training in all: about 3/4 pretraining, 1/4 RL (evaluations come on top).
    #[arg(long, default_value_t = 10.0)]
    minutes: f64,
    /// Model size (nano: the size that learns most in minutes on 2 cores).
    #[arg(long, default_value = "nano")]
    preset: Preset,
    /// Held-out problems per family and level in the accuracy table (levels 1-2).
    #[arg(short, default_value_t = 20)]
    n: usize,
    /// Seed of the run.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

/// Runs `ponder demo`.
pub fn run(args: DemoArgs) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let out = &args.out;

    // 1. Pretraining.
    let mut config = PretrainConfig::for_preset(args.preset);
    let pretraining_mixture = config.mixture.clone();
    config.minutes = Some(args.minutes * 0.75);
    config.seed = args.seed;
    config.eval_per_level = 0; // the demo evaluates after RL
    println!(
        "ponder demo: pretraining a tiny reasoner ({} parameters) from scratch for {:.1} minutes on solver traces",
        config.model.param_count(),
        args.minutes * 0.75
    );
    println!(
        "  of all six task families, with self-corrections in {:.0}% of trace steps.\n",
        config.mixture.mistake_rate * 100.0
    );
    let pretrained = pretrain(out, Some(config), false, None)?;
    println!(
        "pretrained: {} steps, {:.1}M tokens, {:.2e} FLOPs, final loss {:.3}\n",
        pretrained.state.step,
        pretrained.state.tokens as f64 / 1e6,
        pretrained.state.flops,
        pretrained.last_loss
    );

    // 2. One held-out problem per family.
    let model = TinyReasoner::load(&out.join("model"), &candle_core::Device::Cpu)?;
    let examples = show_examples(&model, args.seed)?;
    std::fs::write(out.join("examples.md"), &examples)?;

    // 3. RL on the harder levels, where sampling finds many answers greedy decoding misses:
    //    the tempered policy, and the rest of the pretraining mixture as anchor (see README,
    //    "RL from the default model").
    let rl_dir = out.join("rl");
    let mut rl_config = RlConfig::new(out.join("model"));
    rl_config.sources = vec![(Family::Count, vec![2]), (Family::Letters, vec![2])];
    rl_config.eval_pairs = vec![(Family::Count, 1), (Family::Count, 2), (Family::Letters, 1), (Family::Letters, 2)];
    rl_config.minutes = Some(args.minutes * 0.25);
    rl_config.seed = args.seed;
    rl_config.batch = 8;
    rl_config.temperature = 0.7;
    rl_config.optimizer.lr = 3e-4;
    rl_config.max_new_tokens = 384;
    rl_config.eval_per_level = args.n;
    let anchor_levels = default_anchor_levels(&pretraining_mixture.sources, &rl_config.sources);
    rl_config.anchor = Some(anchor_replaying(pretraining_mixture, anchor_levels, 1.0, 4));
    println!(
        "\nRL (GRPO at temperature 0.7, {} groups of {} per step, anchored on the other pretraining levels, \
         the learning rate falling to 0 over the last {:.0}% of the time) for {:.1} minutes on count 2 and letters 2:",
        rl_config.batch,
        rl_config.group,
        rl_config.decay_last * 100.0,
        args.minutes * 0.25
    );
    let rl_outcome = rl(&rl_dir, Some(rl_config), false, None)?;
    let curve = &rl_outcome.state.curve;
    println!("{}", curve_table(curve));
    let blind = trained_blind_guess(&rl_outcome.config)?;
    let train_chart = write_train_charts(&rl_dir, curve, &rl_outcome.config.trained_keys(), blind)?;

    // 4. Accuracy of the RL model, then the test-time sweep.
    let model = TinyReasoner::load(&rl_dir.join("model"), &candle_core::Device::Cpu)?;
    let eval_config = EvalConfig {
        levels: Some(vec![1, 2]),
        n: args.n,
        samples: 4,
        max_new_tokens: 768,
        seed: args.seed,
        ..EvalConfig::default()
    };
    println!("\naccuracy after RL on held-out problems (never seen in training):");
    let report = evaluate(&model, &eval_config)?;
    print!("{}", report.table());
    std::fs::write(out.join("eval.json"), serde_json::to_string_pretty(&report)?)?;

    let sweep_config = SweepConfig {
        families: vec![Family::Count, Family::Letters, Family::Word],
        levels: vec![1],
        n: args.n.min(12),
        budgets: vec![16, 32, 64, 128, 256],
        votes: vec![1, 2, 4, 8],
        max_new_tokens: 384,
        seed: args.seed,
        ..SweepConfig::default()
    };
    println!("\ntest-time compute sweep (count, letters, word level 1):");
    let swept = sweep(&model, &sweep_config)?;
    print!("{}", swept.table());
    std::fs::write(out.join("sweep.json"), serde_json::to_string_pretty(&swept)?)?;
    write_chart(&swept.chart(), &out.join("test_compute"))?;

    // 5. Summary and report.
    let mut summary = String::new();
    let _ = writeln!(
        summary,
        "# ponder demo\n\n{} steps of pretraining (final loss {:.3}), then {} RL steps\n",
        pretrained.state.step, pretrained.last_loss, rl_outcome.state.step
    );
    summary.push_str(&report.markdown());
    std::fs::write(out.join("summary.md"), summary)?;
    let minutes = started.elapsed().as_secs_f64() / 60.0;
    let html = demo_report(&pretrained, curve, train_chart, &report, &swept, &examples, minutes)?;
    std::fs::write(out.join("report.html"), html)?;
    println!(
        "\nwrote {}/ (model/, rl/, examples.md, eval.json, sweep.json, test_compute.svg/.png, report.html) in {minutes:.1} minutes",
        out.display(),
    );
    println!(
        "open {} in a browser; try: ponder ask --model {} \"How many r's are in strawberry?\"",
        out.join("report.html").display(),
        rl_dir.display()
    );
    Ok(())
}

/// Greedy completions of one held-out level-1 problem per family, printed and as Markdown.
fn show_examples(model: &TinyReasoner, seed: u64) -> anyhow::Result<String> {
    let mut examples = String::from("# One held-out problem per family\n\n");
    let greedy = SamplingParams { temperature: 0.0, max_new_tokens: MAX_TOKENS, ..SamplingParams::default() };
    for family in Family::ALL {
        let problem = family.problems(Split::Test, 1, seed)?.next().context("no held-out problem")?;
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
    Ok(examples)
}

/// Greedy pass@1 per family/level before and after RL, from the curve's first and last points.
fn before_after(curve: &[CurvePoint]) -> Table {
    let (Some(first), Some(last)) = (curve.first(), curve.last()) else { return Table::default() };
    let rows = first
        .pass1
        .iter()
        .map(|(key, before)| {
            let after = last.pass1.get(key).copied().unwrap_or(0.0);
            vec![
                key.clone(),
                format!("{:.0}%", 100.0 * before),
                format!("{:.0}%", 100.0 * after),
                format!("{:+.0}", 100.0 * (after - before)),
            ]
        })
        .collect();
    Table { header: ["family/level", "before RL", "after RL", "points"].map(String::from).to_vec(), rows }
}

/// The self-contained HTML page with both o1 curves.
fn demo_report(
    pretrained: &ponder_train::PretrainOutcome,
    curve: &[CurvePoint],
    train_chart: ponder_eval::Chart,
    report: &ponder_eval::EvalReport,
    swept: &ponder_eval::SweepReport,
    examples: &str,
    minutes: f64,
) -> anyhow::Result<String> {
    let (header, rows) = report.cells();
    let last = curve.last();
    let sections = vec![
        Section {
            heading: "Pretraining".into(),
            paragraphs: vec![format!(
                "{} steps on solver traces of six task families ({:.1}M tokens, {:.2e} FLOPs, {:.1} minutes), final loss {:.3}.",
                pretrained.state.step,
                pretrained.state.tokens as f64 / 1e6,
                pretrained.state.flops,
                pretrained.state.seconds / 60.0,
                pretrained.last_loss
            )],
            ..Section::default()
        },
        Section {
            heading: "Train-time compute: reinforcement learning".into(),
            paragraphs: vec![format!(
                "GRPO (token-mean loss, no KL, temperature 0.7, anchored on the other pretraining levels) on \
                 count 2 and letters 2, with count 1 and letters 1 watched (dashed): {} steps, {:.2e} FLOPs. \
                 Held-out greedy pass@1 is measured at steps {} on the same problems.",
                last.map_or(0, |p| p.step),
                last.map_or(0.0, |p| p.flops),
                curve.iter().map(|p| p.step.to_string()).collect::<Vec<_>>().join(", ")
            )],
            charts: vec![train_chart, charts::train_thinking(curve)],
            table: Some(before_after(curve)),
        },
        Section {
            heading: "Test-time compute".into(),
            paragraphs: vec![
                "Accuracy against compute per problem: a longer thinking budget (sequential), and majority vote \
                 or best-of-N over samples (parallel); pass@k is the upper bound. Smaller sample counts are \
                 estimated from subsets of one shared pool."
                    .into(),
                swept
                    .compute_optimal
                    .last()
                    .map(|(c, m, s, a)| {
                        format!("Best realisable at the top compute ({c:.2e} FLOPs): {} {s}, {:.0}%.", m.label(), 100.0 * a)
                    })
                    .unwrap_or_default(),
            ],
            charts: vec![swept.chart()],
            table: Some(Table {
                header: ["method", "setting", "FLOPs per problem", "accuracy"].map(String::from).to_vec(),
                rows: swept
                    .points
                    .iter()
                    .map(|p| {
                        vec![
                            p.method.label().to_string(),
                            p.setting.to_string(),
                            format!("{:.2e}", p.flops),
                            format!("{:.1}%", 100.0 * p.accuracy),
                        ]
                    })
                    .collect(),
            }),
        },
        Section {
            heading: "Held-out accuracy after RL".into(),
            paragraphs: vec![format!("{} ({:.0} generated tokens/s)", report.engine, report.tokens_per_second)],
            table: Some(Table { header, rows }),
            ..Section::default()
        },
        Section {
            heading: "The model thinking (after pretraining)".into(),
            paragraphs: examples.split("\n## ").skip(1).map(|e| e.replace("```", "").trim().to_string()).collect(),
            ..Section::default()
        },
    ];
    Ok(report_html(
        "ponder demo",
        &format!("pretraining → RL → test-time scaling of a tiny reasoner, {minutes:.1} minutes on this machine"),
        &sections,
    )?)
}
