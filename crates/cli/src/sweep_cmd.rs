//! `ponder sweep`: the test-time compute curve of a model.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use ponder_eval::{sweep, write_chart, SweepConfig, SweepReport};
use ponder_tasks::Family;

use crate::model_path::{families, is_pretrained, load_engine};

/// Arguments of `ponder sweep`.
#[derive(Args)]
pub struct SweepArgs {
    /// A run folder or model folder, a .gguf file or a Hugging Face model folder.
    #[arg(long, default_value = "runs/demo")]
    model: PathBuf,
    /// Families (comma-separated; default: all six).
    #[arg(long, value_delimiter = ',')]
    families: Vec<Family>,
    /// Levels of each family (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "1,2")]
    levels: Vec<u8>,
    /// Held-out problems per family and level.
    #[arg(short, default_value_t = 50)]
    n: usize,
    /// Thinking budgets of the sequential curve (max thinking tokens).
    #[arg(long, value_delimiter = ',', default_value = "16,32,64,128,256,512")]
    budgets: Vec<usize>,
    /// Sample counts of the parallel curves (the largest is drawn once and reused).
    #[arg(long, value_delimiter = ',', default_value = "1,2,4,8,16,32")]
    votes: Vec<usize>,
    /// Temperature of the parallel samples.
    #[arg(long, default_value_t = 0.8)]
    temperature: f32,
    /// Most new tokens per completion.
    #[arg(long, default_value_t = 640)]
    max_tokens: usize,
    /// Seed of the samplers.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output folder (sweep.json, test_compute.svg, test_compute.png); default: the run
    /// folder's sweep/, or runs/sweep-NAME for a model file.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Sample nothing: print the tables and redraw the charts of the sweep.json in this
    /// folder (e.g. after a change to the charts).
    #[arg(long, conflicts_with = "out")]
    replot: Option<PathBuf>,
}

/// Runs `ponder sweep`.
pub fn run(args: SweepArgs) -> anyhow::Result<()> {
    if let Some(dir) = &args.replot {
        let path = dir.join("sweep.json");
        let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let report: SweepReport = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a sweep report written by `ponder sweep`", path.display()))?;
        print!("{}", report.table());
        write_chart(&report.chart(), &dir.join("test_compute"))?;
        println!("redrew {}/test_compute.svg and .png", dir.display());
        return Ok(());
    }
    let (engine, thinks): (Box<dyn ponder_think::Engine>, bool) = if is_pretrained(&args.model) {
        let model = ponder_model::Pretrained::load(&args.model)?;
        let thinks = model.thinks();
        (Box::new(model), thinks)
    } else {
        (load_engine(&args.model)?, true)
    };
    let mut budgets = args.budgets;
    if !thinks {
        eprintln!("{} has no <think> tokens: skipping the thinking-budget curve", args.model.display());
        budgets.clear();
    }
    let out = args.out.clone().unwrap_or_else(|| match args.model.is_file() {
        true => PathBuf::from("runs")
            .join(format!("sweep-{}", args.model.file_stem().map_or("model".into(), |s| s.to_string_lossy()))),
        false => args.model.join("sweep"),
    });
    let config = SweepConfig {
        families: families(&args.families),
        levels: args.levels,
        n: args.n,
        budgets,
        votes: args.votes,
        temperature: args.temperature,
        max_new_tokens: args.max_tokens,
        seed: args.seed,
        ..SweepConfig::default()
    };
    let report = sweep(engine.as_ref(), &config)?;
    print!("{}", report.table());
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let json = serde_json::to_string_pretty(&report)?;
    std::fs::write(out.join("sweep.json"), json).with_context(|| format!("cannot write {}", out.display()))?;
    write_chart(&report.chart(), &out.join("test_compute"))?;
    println!("wrote {}/ (sweep.json, test_compute.svg, test_compute.png) in {:.0} s", out.display(), report.seconds);
    Ok(())
}
