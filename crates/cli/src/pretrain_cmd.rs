//! `ponder pretrain`: train the tiny reasoner from scratch on solver traces.

use std::path::PathBuf;

use clap::Args;

use crate::model_path::model_dir;
use ponder_model::{Preset, TinyConfig};
use ponder_tasks::Family;
use ponder_train::{pretrain, MixtureConfig, PretrainConfig};

use crate::rl_cmd::parse_levels;

/// Arguments of `ponder pretrain`.
#[derive(Args)]
pub struct PretrainArgs {
    /// Run folder to create (checkpoints, log.jsonl, model/).
    #[arg(long, default_value = "runs/base")]
    out: PathBuf,
    /// Continue the run in this folder from its last checkpoint (after a crash or kill).
    #[arg(long, conflicts_with = "out")]
    resume: Option<PathBuf>,
    /// Model size: nano (~0.5M), micro (~3.5M) or small (~27M parameters). The default is
    /// nano, the size that pretrains, RL-trains and sweeps within minutes on 2 CPU cores.
    #[arg(long, default_value = "nano")]
    preset: Preset,
    /// Time budget in minutes (the step count is fixed after a few timed steps).
    #[arg(long, conflicts_with = "steps")]
    minutes: Option<f64>,
    /// Number of optimizer steps.
    #[arg(long)]
    steps: Option<u64>,
    /// Train only on these families (comma-separated; default: all six).
    #[arg(long, value_delimiter = ',')]
    families: Vec<Family>,
    /// Levels of a family in the mixture, e.g. `word:1-2` or `cipher:1,3` (repeatable;
    /// replaces that family's default levels, or adds the family). A family given twice
    /// is drawn twice as often.
    #[arg(long = "levels")]
    levels: Vec<String>,
    /// Model width, overriding the preset's (heads stay 32 wide; the MLP 3× wide).
    #[arg(long, conflicts_with = "init")]
    d_model: Option<usize>,
    /// Transformer blocks, overriding the preset's.
    #[arg(long, conflicts_with = "init")]
    layers: Option<usize>,
    /// Tokens per packed row (default 768; rows that hold fewer documents waste less
    /// attention on padding and cross-document masking, but drop longer documents).
    #[arg(long)]
    seq_len: Option<usize>,
    /// Seed of the initial weights and the data stream.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Rows per batch.
    #[arg(long)]
    batch: Option<usize>,
    /// Probability that a trace step contains a corrected mistake.
    #[arg(long)]
    mistake_rate: Option<f64>,
    /// Share of documents that are arithmetic drills (one-step facts such as `17 + 7 = 24`)
    /// instead of problems, e.g. 0.15 (default 0).
    #[arg(long, value_parser = parse_share)]
    drill_share: Option<f64>,
    /// Share of documents that are lookup drills (a letter table, then strings decoded
    /// through it: `tqv: Tl Qi Vn -> lin`), the step Caesar traces stand on (default 0).
    #[arg(long, value_parser = parse_share)]
    lookup_share: Option<f64>,
    /// Share of documents that are quote drills (a story, then each of its sentences quoted
    /// on its own line), the copy word and count traces stand on (default 0).
    #[arg(long, value_parser = parse_share)]
    quote_share: Option<f64>,
    /// Peak learning rate (default: the preset's).
    #[arg(long)]
    lr: Option<f64>,
    /// Continue training the weights of this model (a run or model folder) instead of
    /// starting from scratch: same data stream, a fresh optimizer, and a constant learning
    /// rate (default: a tenth of the preset's, where the base run's cosine ended). This is
    /// the "more supervised training at equal compute" baseline for RL.
    #[arg(long, conflicts_with = "resume")]
    init: Option<PathBuf>,
    /// Final learning rate as a fraction of the peak, reached by cosine decay (default: the
    /// preset's, 0.1; with --init 1.0, a constant rate). Give it with --init for a second
    /// pretraining stage that anneals, e.g. `--init runs/base --lr 2e-3 --min-lr-ratio 0.1`.
    #[arg(long, value_parser = parse_ratio)]
    min_lr_ratio: Option<f64>,
    /// Held-out problems per family evaluated during training (0: none).
    #[arg(long, default_value_t = 8)]
    heldout: usize,
}

/// A share of documents in [0, 1).
fn parse_share(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(r) if (0.0..1.0).contains(&r) => Ok(r),
        _ => Err(format!("{text:?}: expected a share in [0, 1), e.g. 0.15")),
    }
}

/// A learning-rate ratio in (0, 1].
fn parse_ratio(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(r) if r > 0.0 && r <= 1.0 => Ok(r),
        _ => Err(format!("{text:?}: expected a number in (0, 1], e.g. 0.1")),
    }
}

/// Applies `--levels` specs: the first spec of a family replaces its default levels, a
/// repeated family adds another source (drawn as often as any other).
fn apply_levels(mixture: &mut MixtureConfig, specs: &[String]) -> anyhow::Result<()> {
    let mut replaced = Vec::new();
    for spec in specs {
        let (family, levels) = parse_levels(spec)?;
        if !replaced.contains(&family) {
            mixture.sources.retain(|(f, _)| *f != family);
            replaced.push(family);
        }
        mixture.sources.push((family, levels));
    }
    Ok(())
}

/// Runs `ponder pretrain`.
pub fn run(args: PretrainArgs) -> anyhow::Result<()> {
    let outcome = if let Some(dir) = &args.resume {
        println!("resuming {}", dir.display());
        pretrain(dir, None, true, None)?
    } else {
        let mut config = PretrainConfig::for_preset(args.preset);
        config.seed = args.seed;
        config.steps = args.steps;
        config.minutes = if args.steps.is_some() { None } else { Some(args.minutes.unwrap_or(10.0)) };
        if !args.families.is_empty() {
            config.mixture = config.mixture.with_families(&args.families);
        }
        apply_levels(&mut config.mixture, &args.levels)?;
        if args.d_model.is_some() || args.layers.is_some() {
            let (d, layers) = (config.model.d_model, config.model.n_layers);
            config.model = TinyConfig::with_shape(args.d_model.unwrap_or(d), args.layers.unwrap_or(layers));
            config.model.validate()?;
        }
        if let Some(t) = args.seq_len {
            anyhow::ensure!(
                (32..=config.model.max_seq_len).contains(&t),
                "--seq-len {t}: expected 32 to {} (the model's max_seq_len)",
                config.model.max_seq_len
            );
            config.seq_len = t;
        }
        if let Some(b) = args.batch {
            config.batch_size = b;
        }
        if let Some(r) = args.mistake_rate {
            config.mixture.mistake_rate = r;
        }
        if let Some(share) = args.drill_share {
            config.mixture.drill_share = share;
        }
        if let Some(share) = args.lookup_share {
            config.mixture.lookup_share = share;
        }
        if let Some(share) = args.quote_share {
            config.mixture.quote_share = share;
        }
        config.eval_per_level = args.heldout;
        if let Some(init) = &args.init {
            let dir = model_dir(init)?;
            config.model = ponder_model::read_config(&dir)?;
            config.init = Some(dir);
            config.optimizer.lr *= config.min_lr_ratio;
            (config.warmup_steps, config.min_lr_ratio) = (0, 1.0);
        }
        if let Some(lr) = args.lr {
            config.optimizer.lr = lr;
        }
        if let Some(ratio) = args.min_lr_ratio {
            config.min_lr_ratio = ratio;
        }
        println!(
            "pretraining a {} tiny reasoner (d_model {}, {} layers, {} parameters) into {}",
            config.init.as_ref().map_or(format!("{:?}", args.preset), |d| format!("{} (continued)", d.display())),
            config.model.d_model,
            config.model.n_layers,
            config.model.param_count(),
            args.out.display()
        );
        pretrain(&args.out, Some(config), false, None)?
    };
    println!(
        "done: {} steps, {:.1}M tokens, {:.2e} FLOPs, {:.0} s, last loss {:.3}",
        outcome.state.step,
        outcome.state.tokens as f64 / 1e6,
        outcome.state.flops,
        outcome.state.seconds,
        outcome.last_loss
    );
    for (key, acc) in &outcome.heldout {
        println!("  held-out greedy {key}: {:.1}%", acc * 100.0);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_replace_a_family_once_then_add_sources() {
        let mut mixture = MixtureConfig::default();
        let before = mixture.sources.len();
        apply_levels(&mut mixture, &["word:1".into(), "word:1-4".into(), "cipher:1".into()]).expect("valid specs");
        let word: Vec<&Vec<u8>> = mixture.sources.iter().filter(|(f, _)| *f == Family::Word).map(|(_, l)| l).collect();
        assert_eq!(word, [&vec![1], &vec![1, 2, 3, 4]]);
        let cipher: Vec<&Vec<u8>> =
            mixture.sources.iter().filter(|(f, _)| *f == Family::Cipher).map(|(_, l)| l).collect();
        assert_eq!(cipher, [&vec![1]]);
        assert_eq!(mixture.sources.len(), before + 1);
        assert!(apply_levels(&mut mixture, &["word:9".into()]).is_err());
    }
}
