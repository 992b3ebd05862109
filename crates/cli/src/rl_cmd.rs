//! `ponder rl`: reinforcement learning on verifiable rewards from a pretrained model, and
//! the train-time compute curve.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use ponder_tasks::{BlindGuess, Family};
use ponder_think::heldout_problems;
use ponder_train::grpo::{AdvantageNorm, LossAggregation};
use ponder_train::noise::NoiseScale;
use ponder_train::rl::MAX_ANCHOR_ROWS;
use ponder_train::{
    measure_noise, rl, AnchorConfig, AnchorMoments, CurvePoint, MixtureConfig, RlConfig, RlOutcome, RunDir,
};

use crate::charts;
use crate::model_path::model_dir;

/// How advantages are normalised.
#[derive(Clone, Copy, ValueEnum)]
enum Advantage {
    /// (r − mean) / std: GRPO.
    GroupStd,
    /// r − mean: Dr. GRPO (the default).
    MeanOnly,
}

/// How the loss is averaged.
#[derive(Clone, Copy, ValueEnum)]
enum Aggregation {
    /// Over all completion tokens of the batch: DAPO (the default).
    TokenMean,
    /// Per sequence, then over sequences: GRPO.
    SequenceMean,
}

/// How the anchor's gradient reaches the weights (see [`AnchorMoments`]).
#[derive(Clone, Copy, ValueEnum)]
enum Moments {
    /// Added to the policy gradient: one AdamW step (the default).
    Shared,
    /// A second step with the anchor's own AdamW moments.
    Own,
}

/// Arguments of `ponder rl`.
#[derive(Args)]
pub struct RlArgs {
    /// The pretrained model: a run folder (e.g. runs/base) or a model folder.
    #[arg(long, required_unless_present = "resume")]
    init: Option<PathBuf>,
    /// Run folder.
    #[arg(long, default_value = "runs/rl")]
    out: PathBuf,
    /// Continue the RL run in this folder from its last checkpoint.
    #[arg(long, conflicts_with_all = ["init"])]
    resume: Option<PathBuf>,
    /// Train on these families only (comma-separated), at their default RL levels.
    #[arg(long, value_delimiter = ',')]
    families: Vec<Family>,
    /// Curriculum levels of a family, easiest first, e.g. `countdown:1-3` or `word:2,4`
    /// (repeatable; replaces the default levels of that family).
    #[arg(long = "levels")]
    levels: Vec<String>,
    /// Relative weight of a trained family in the problems drawn, e.g. `word:0.25` next to
    /// count's default 1 makes a fifth of the groups word problems (repeatable).
    #[arg(long = "family-weight")]
    family_weights: Vec<String>,
    /// Time budget in minutes (evaluations excluded).
    #[arg(long, conflicts_with = "steps")]
    minutes: Option<f64>,
    /// Number of RL steps.
    #[arg(long)]
    steps: Option<u64>,
    /// Completions per problem.
    #[arg(long, default_value_t = 8)]
    group: usize,
    /// Problems (groups) per step.
    #[arg(long, default_value_t = 16)]
    batch: usize,
    /// Learning rate.
    #[arg(long)]
    lr: Option<f64>,
    /// Let the learning rate fall linearly to 0 over this last fraction of the run (of its
    /// steps or minutes); 0 keeps it constant.
    #[arg(long, default_value_t = 0.33)]
    lr_decay_last: f64,
    /// Completion length cap (tokens).
    #[arg(long, default_value_t = 640)]
    max_new_tokens: usize,
    /// Temperature of the trained policy: completions are sampled, and their log-probs and
    /// gradient computed, at the model's logits / T. Greedy answers do not depend on T;
    /// below 1 the samples stay near the greedy path, above 1 they explore wider.
    #[arg(long, default_value_t = 1.0)]
    temperature: f32,
    /// KL penalty coefficient toward the starting model (0: off).
    #[arg(long, default_value_t = 0.0)]
    kl: f64,
    /// Advantage normalisation.
    #[arg(long, value_enum, default_value = "mean-only")]
    advantage: Advantage,
    /// Loss aggregation.
    #[arg(long, value_enum, default_value = "token-mean")]
    aggregation: Aggregation,
    /// Policy updates per sampled batch (with more than 1, ratio clipping matters).
    #[arg(long, default_value_t = 1)]
    updates: usize,
    /// Held-out problems per (family, level) at each curve point.
    #[arg(long, default_value_t = 32)]
    eval_n: usize,
    /// Levels evaluated on the curve, e.g. `count:1-3` to watch the easy levels too
    /// (repeatable; default: the training levels).
    #[arg(long = "eval-levels")]
    eval_levels: Vec<String>,
    /// Weight of a supervised anchor: every step also lowers the pretraining loss on a
    /// batch of solver traces from `--anchor-levels`, so RL on the hard levels does not
    /// unlearn the easy ones (0: off).
    #[arg(long)]
    anchor: Option<f64>,
    /// Levels of the anchor's traces, e.g. `count:1` (repeatable; default: the levels of
    /// the model's own last pretraining mixture that RL does not reach: below the lowest
    /// trained level of each trained family, and every level of the other families).
    #[arg(long = "anchor-levels", requires = "anchor")]
    anchor_levels: Vec<String>,
    /// Packed 768-token rows of traces in the anchor's batch each step (1 to 64).
    #[arg(long, default_value_t = 4, requires = "anchor")]
    anchor_rows: usize,
    /// Whether the anchor's gradient shares the policy's AdamW moments or takes its own
    /// step, at `--anchor` × the learning rate, so that it does not shrink RL's steps.
    #[arg(long, value_enum, default_value_t = Moments::Shared, requires = "anchor")]
    anchor_moments: Moments,
    /// Seed of problems and sampling.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Instead of training, measure the gradient noise scale of this run's updates at the
    /// starting policy from this many independent batches (2 or more), print it and write
    /// `noise.json` into the run folder.
    #[arg(long, conflicts_with = "resume")]
    noise_batches: Option<usize>,
}

/// The anchor of `ponder rl`, from its flags; `None` without `--anchor` or with 0.
fn anchor_config(args: &RlArgs, init: &Path, trained: &[(Family, Vec<u8>)]) -> anyhow::Result<Option<AnchorConfig>> {
    let coef = match args.anchor {
        None | Some(0.0) => return Ok(None),
        Some(w) if w > 0.0 && w.is_finite() => w,
        Some(w) => bail!("--anchor {w}: expected a positive weight such as 0.5, or 0 for none"),
    };
    if !(1..=MAX_ANCHOR_ROWS).contains(&args.anchor_rows) {
        bail!("--anchor-rows {}: expected 1 to {MAX_ANCHOR_ROWS}", args.anchor_rows);
    }
    let pretrained = pretraining_mixture(init, 8).unwrap_or_default();
    let sources: Vec<(Family, Vec<u8>)> = if args.anchor_levels.is_empty() {
        default_anchor_levels(&pretrained.sources, trained)
    } else {
        args.anchor_levels.iter().map(|spec| parse_levels(spec)).collect::<anyhow::Result<_>>()?
    };
    if sources.is_empty() {
        bail!(
            "--anchor: RL trains every family from level 1, so there are no other levels to hold; \
             name them with --anchor-levels, e.g. count:1"
        );
    }
    let moments = match args.anchor_moments {
        Moments::Shared => AnchorMoments::Shared,
        Moments::Own => AnchorMoments::Own,
    };
    Ok(Some(AnchorConfig { moments, ..anchor_replaying(pretrained, sources, coef, args.anchor_rows) }))
}

/// An anchor of weight `coef` and `rows` rows a step on the traces of `sources`, drawn as
/// the `pretrained` mixture draws them (its mistake rate and drill shares).
pub(crate) fn anchor_replaying(
    pretrained: MixtureConfig,
    sources: Vec<(Family, Vec<u8>)>,
    coef: f64,
    rows: usize,
) -> AnchorConfig {
    AnchorConfig {
        mixture: MixtureConfig { sources, ..pretrained },
        coef,
        rows,
        seq_len: 768,
        moments: AnchorMoments::default(),
    }
}

/// The pretraining mixture the model in `model_dir` was last trained on: the one in
/// `pretrain.json` beside it, or, for a model from RL, that of the model RL started from
/// (following at most `depth` RL runs back). `None` when no run folder says.
fn pretraining_mixture(model_dir: &Path, depth: usize) -> Option<MixtureConfig> {
    let run = model_dir.parent()?;
    if let Ok(text) = std::fs::read_to_string(run.join(ponder_train::pretrain::CONFIG_NAME)) {
        return serde_json::from_str::<ponder_train::PretrainConfig>(&text).ok().map(|c| c.mixture);
    }
    let text = std::fs::read_to_string(run.join(ponder_train::rl::RL_CONFIG_NAME)).ok()?;
    let before = serde_json::from_str::<RlConfig>(&text).ok()?.init;
    (depth > 0 && before != model_dir).then(|| pretraining_mixture(&before, depth - 1)).flatten()
}

/// What the anchor holds by default: every level of the model's pretraining mixture
/// (`pretrained`, its sources in order, repeats kept as weights) that RL does not reach.
/// For a trained family that is the levels below its lowest trained one (the higher ones
/// are RL's to improve, and supervised traces there would blur whose gain it is); every
/// other family keeps all its pretraining levels. Anchoring the trained family alone was
/// not enough: 16 steps of RL on count 2 with count 1 and word 1 anchored cost word 2 17
/// points (of 100 problems). And the default mixture is not the model's: anchoring
/// `l4-stage5` on it meant supervised traces of levels it never learned (word 3–4,
/// cipher 3), an anchor loss of 0.3–1.0 instead of 0.01–0.07, whose gradient swamped
/// RL's, and count 2 fell 81 → 76 in 8 steps.
pub(crate) fn default_anchor_levels(
    pretrained: &[(Family, Vec<u8>)],
    trained: &[(Family, Vec<u8>)],
) -> Vec<(Family, Vec<u8>)> {
    pretrained
        .iter()
        .cloned()
        .filter_map(|(family, levels)| {
            let kept: Vec<u8> = match trained.iter().find(|(f, _)| *f == family) {
                Some((_, trained_levels)) => {
                    let lowest = trained_levels.iter().copied().min().unwrap_or(1);
                    levels.into_iter().filter(|&l| l < lowest).collect()
                }
                None => levels,
            };
            (!kept.is_empty()).then_some((family, kept))
        })
        .collect()
}

/// Parses `family:1-3` or `family:2,4`.
pub(crate) fn parse_levels(spec: &str) -> anyhow::Result<(Family, Vec<u8>)> {
    let (family, levels) = family_and_value(spec, "FAMILY:LEVELS, e.g. countdown:1-3")?;
    let number = |l: &str| l.trim().parse::<u8>().with_context(|| format!("{spec:?}: {l:?} is not a level number"));
    let levels: Vec<u8> = if let Some((a, b)) = levels.split_once('-') {
        (number(a)?..=number(b)?).collect()
    } else {
        levels.split(',').map(number).collect::<anyhow::Result<_>>()?
    };
    if levels.is_empty() {
        bail!("{spec:?}: the range is empty (write the lower level first, e.g. countdown:1-3)");
    }
    if let Some(bad) = levels.iter().find(|&&l| l == 0 || l > family.levels()) {
        bail!("{spec:?}: {family} has levels 1-{}, not {bad}", family.levels());
    }
    Ok((family, levels))
}

/// The family and the rest of a `FAMILY:VALUE` flag; `expected` describes the form.
fn family_and_value<'a>(spec: &'a str, expected: &str) -> anyhow::Result<(Family, &'a str)> {
    let (family, value) = spec.split_once(':').with_context(|| format!("{spec:?}: expected {expected}"))?;
    Ok((family.parse()?, value))
}

/// A `--family-weight` such as `word:0.25`, for one of the `trained` families.
fn parse_weight(spec: &str, trained: &[(Family, Vec<u8>)]) -> anyhow::Result<(Family, f64)> {
    let (family, weight) = family_and_value(spec, "FAMILY:WEIGHT, e.g. word:0.25")?;
    let weight: f64 = weight.trim().parse().with_context(|| format!("{spec:?}: {weight:?} is not a number"))?;
    if !(weight > 0.0 && weight.is_finite()) {
        bail!("{spec:?}: the weight must be a positive number");
    }
    if !trained.iter().any(|(f, _)| *f == family) {
        bail!("{spec:?}: RL does not train {family}; add it with --families or --levels");
    }
    Ok((family, weight))
}

/// Runs `ponder rl`.
pub fn run(args: RlArgs) -> anyhow::Result<()> {
    let (out, outcome) = if let Some(dir) = &args.resume {
        println!("resuming {}", dir.display());
        (dir.clone(), rl(dir, None, true, None)?)
    } else {
        let init = model_dir(args.init.as_deref().context("--init is required")?)?;
        let mut config = RlConfig::new(init);
        if !args.families.is_empty() {
            config.sources.retain(|(f, _)| args.families.contains(f));
        }
        for spec in &args.levels {
            let (family, levels) = parse_levels(spec)?;
            match config.sources.iter_mut().find(|(f, _)| *f == family) {
                Some(source) => source.1 = levels,
                None => config.sources.push((family, levels)),
            }
        }
        for spec in &args.family_weights {
            config.curriculum.weights.push(parse_weight(spec, &config.sources)?);
        }
        config.seed = args.seed;
        config.steps = args.steps;
        config.minutes = if args.steps.is_some() { None } else { Some(args.minutes.unwrap_or(10.0)) };
        config.group = args.group;
        config.batch = args.batch;
        config.max_new_tokens = args.max_new_tokens;
        if !(args.temperature > 0.0 && args.temperature.is_finite()) {
            bail!("--temperature {}: RL samples, so it must be a positive number", args.temperature);
        }
        config.temperature = args.temperature;
        if !(0.0..=1.0).contains(&args.lr_decay_last) {
            bail!("--lr-decay-last {}: expected a fraction of the run from 0 to 1, e.g. 0.33", args.lr_decay_last);
        }
        config.decay_last = args.lr_decay_last;
        config.kl_beta = args.kl;
        config.updates_per_batch = args.updates.max(1);
        config.eval_per_level = args.eval_n;
        config.anchor = anchor_config(&args, &config.init, &config.sources)?;
        for spec in &args.eval_levels {
            let (family, levels) = parse_levels(spec)?;
            config.eval_pairs.extend(levels.into_iter().map(|l| (family, l)));
        }
        config.advantage = match args.advantage {
            Advantage::GroupStd => AdvantageNorm::GroupStd,
            Advantage::MeanOnly => AdvantageNorm::MeanOnly,
        };
        config.aggregation = match args.aggregation {
            Aggregation::TokenMean => LossAggregation::TokenMean,
            Aggregation::SequenceMean => LossAggregation::SequenceMean,
        };
        if let Some(lr) = args.lr {
            config.optimizer.lr = lr;
        }
        let sources: Vec<String> = config
            .sources
            .iter()
            .map(|(f, l)| format!("{f} {}", l.iter().map(u8::to_string).collect::<Vec<_>>().join(",")))
            .collect();
        println!(
            "RL from {}: {} groups of {} per step, levels {}",
            config.init.display(),
            config.batch,
            config.group,
            sources.join(" | ")
        );
        if let Some(batches) = args.noise_batches {
            return noise_report(&args.out, &config, batches);
        }
        (args.out.clone(), rl(&args.out, Some(config), false, None)?)
    };
    report(&out, &outcome)
}

/// Measures and prints the gradient noise scale of `config`'s updates (`--noise-batches`).
fn noise_report(out: &Path, config: &RlConfig, batches: usize) -> anyhow::Result<()> {
    if batches < 2 {
        bail!("--noise-batches {batches}: the noise scale needs at least 2 independent batches");
    }
    let report = measure_noise(config, batches)?;
    let line = |what: &str, unit: &str, s: &NoiseScale| {
        println!(
            "{what:<8} {:>6.1} {unit} a batch: noise scale B_simple = {:>8.1} {unit}, signal/noise of one batch = {:.3}, \
             cosine between batches {:.3}, |mean gradient| {:.4}",
            s.batch_size,
            s.critical_batch,
            s.batch_size / s.critical_batch,
            s.cosine,
            s.mean_norm
        )
    };
    println!("sampled accuracy {:.1}% over {batches} batches", 100.0 * report.sampled_accuracy);
    line("policy", "groups", &report.policy);
    if let Some(anchor) = &report.anchor {
        line("anchor", "rows", anchor);
    }
    if let Some(c) = report.policy_anchor_cosine {
        println!("cosine(policy gradient, anchor gradient) = {c:.3}");
    }
    RunDir::create(out)?.write_json("noise.json", &report)?;
    println!("wrote {}/noise.json", out.display());
    Ok(())
}

/// Prints the curve and writes its charts.
fn report(out: &Path, outcome: &RlOutcome) -> anyhow::Result<()> {
    let curve = &outcome.state.curve;
    println!("\ntrain-time curve (held-out greedy pass@1):");
    println!("{}", curve_table(curve));
    let blind = trained_blind_guess(&outcome.config)?;
    if let Some(blind) = blind {
        println!("blind guessing scores {blind:.1}% on the trained levels' held-out problems (no reasoning)");
    }
    write_train_charts(out, curve, &outcome.config.trained_keys(), blind)?;
    println!(
        "wrote {}/ (model/, log.jsonl, curve.json, train_compute.svg/.png, train_thinking.svg/.png, train_corrections.svg/.png)",
        out.display()
    );
    Ok(())
}

/// Writes the three train-time charts into `out` and returns the first, the accuracy
/// chart; `trained` names the trained levels as curve keys (`count/2`) and `blind` is
/// their blind-guess baseline ([`trained_blind_guess`]).
pub fn write_train_charts(
    out: &Path,
    curve: &[CurvePoint],
    trained: &[String],
    blind: Option<f64>,
) -> anyhow::Result<ponder_eval::Chart> {
    let chart = charts::train_compute(curve, trained, blind);
    ponder_eval::write_chart(&chart, &out.join("train_compute"))?;
    ponder_eval::write_chart(&charts::train_thinking(curve), &out.join("train_thinking"))?;
    ponder_eval::write_chart(&charts::train_corrections(curve), &out.join("train_corrections"))?;
    Ok(chart)
}

/// The blind-guess baseline of the trained levels on the curve: the mean accuracy, in %,
/// of [`BlindGuess`] on the curve's own held-out problems; `None` when the curve evaluates
/// no trained level.
pub fn trained_blind_guess(config: &RlConfig) -> anyhow::Result<Option<f64>> {
    let trained = config.trained_keys();
    let mut scores = Vec::new();
    for (family, level) in config.evaluated_pairs() {
        if trained.contains(&format!("{family}/{level}")) {
            let problems = heldout_problems(family, level, config.eval_per_level)?;
            scores.push(BlindGuess::fit(family, level)?.accuracy(&problems));
        }
    }
    Ok((!scores.is_empty()).then(|| 100.0 * scores.iter().sum::<f64>() / scores.len() as f64))
}

/// The curve as a text table: one row per point, one column per family/level.
pub fn curve_table(curve: &[CurvePoint]) -> String {
    let Some(first) = curve.first() else { return String::from("(no points)") };
    let keys: Vec<&String> = first.pass1.keys().collect();
    let mut s = format!("{:>6} {:>10} {:>7} {:>8}", "step", "FLOPs", "mean", "think");
    for k in &keys {
        s.push_str(&format!(" {k:>12}"));
    }
    for p in curve {
        s.push_str(&format!(
            "\n{:>6} {:>10.2e} {:>6.1}% {:>8.0}",
            p.step,
            p.flops,
            100.0 * p.mean_pass1,
            p.thinking_tokens
        ));
        for k in &keys {
            s.push_str(&format!(" {:>11.1}%", 100.0 * p.pass1.get(*k).copied().unwrap_or(0.0)));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The blind baseline averages the trained levels the curve evaluates, on the curve's
    /// own problems; watched levels do not count, and a curve of watched levels has none.
    #[test]
    fn the_blind_baseline_covers_the_trained_levels_on_the_curve() {
        let mut config = RlConfig::new(PathBuf::from("x"));
        config.sources = vec![(Family::Letters, vec![2]), (Family::Cipher, vec![1])];
        config.eval_pairs = vec![(Family::Letters, 1), (Family::Letters, 2), (Family::Cipher, 1)];
        config.eval_per_level = 100;
        let letters2 = BlindGuess::fit(Family::Letters, 2)
            .expect("fit")
            .accuracy(&heldout_problems(Family::Letters, 2, 100).expect("problems"));
        let blind = trained_blind_guess(&config).expect("baseline").expect("trained levels on the curve");
        assert!(letters2 > 0.2, "{letters2}");
        assert!((blind - 100.0 * letters2 / 2.0).abs() < 1e-9, "{blind} vs letters 2 {letters2} and cipher 0");
        config.eval_pairs = vec![(Family::Letters, 1)];
        assert_eq!(trained_blind_guess(&config).expect("baseline"), None);
    }

    #[test]
    fn level_specs_parse_ranges_and_lists() {
        assert_eq!(parse_levels("countdown:1-3").expect("range"), (Family::Countdown, vec![1, 2, 3]));
        assert_eq!(parse_levels("word:2,4").expect("list"), (Family::Word, vec![2, 4]));
        assert!(parse_levels("word").is_err());
        assert!(parse_levels("sudoku:1-9").expect_err("too high").to_string().contains("levels 1-5"));
        assert!(parse_levels("nonsense:1").is_err());
        assert!(parse_levels("word:2-x").expect_err("not a number").to_string().contains("\"x\" is not a level"));
        assert!(parse_levels("word:3-1").expect_err("empty").to_string().contains("range is empty"));
    }

    #[test]
    fn family_weights_name_a_trained_family_and_a_positive_number() {
        let trained = vec![(Family::Count, vec![2]), (Family::Word, vec![1, 2])];
        assert_eq!(parse_weight("word:0.25", &trained).expect("ok"), (Family::Word, 0.25));
        assert!(parse_weight("word", &trained).is_err());
        assert!(parse_weight("word:-1", &trained).expect_err("negative").to_string().contains("positive"));
        assert!(parse_weight("word:x", &trained).expect_err("not a number").to_string().contains("not a number"));
        assert!(parse_weight("letters:1", &trained).expect_err("untrained").to_string().contains("does not train"));
    }

    /// `ponder rl` arguments from a command line.
    fn args(line: &[&str]) -> RlArgs {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            rl: RlArgs,
        }
        <Cli as clap::Parser>::try_parse_from(std::iter::once("rl").chain(line.iter().copied()))
            .expect("valid flags")
            .rl
    }

    #[test]
    fn the_anchor_holds_every_pretraining_level_rl_does_not_reach_by_default() {
        let trained = vec![(Family::Count, vec![3]), (Family::Word, vec![2, 4]), (Family::Letters, vec![1, 2])];
        let a = anchor_config(&args(&["--init", "x", "--anchor", "0.5"]), Path::new("x"), &trained)
            .expect("ok")
            .expect("an anchor");
        // With no run folder beside the model, the default mixture stands in for its own.
        // Below the trained levels of count and word, nothing of letters (trained from 1),
        // and every pretraining level of the families RL leaves alone.
        let want = [
            (Family::Word, vec![1]),
            (Family::Count, vec![1, 2]),
            (Family::Cipher, vec![1, 3]),
            (Family::Countdown, vec![1, 2]),
            (Family::Sudoku, vec![1]),
        ];
        assert_eq!(a.mixture.sources, want);
        assert_eq!((a.coef, a.rows, a.seq_len, a.moments), (0.5, 4, 768, AnchorMoments::Shared));
        let named = args(&[
            "--init",
            "x",
            "--anchor",
            "1",
            "--anchor-levels",
            "letters:1",
            "--anchor-rows",
            "2",
            "--anchor-moments",
            "own",
        ]);
        let a = anchor_config(&named, Path::new("x"), &trained).expect("ok").expect("an anchor");
        assert_eq!((a.mixture.sources, a.rows, a.moments), (vec![(Family::Letters, vec![1])], 2, AnchorMoments::Own));
        assert!(anchor_config(&args(&["--init", "x"]), Path::new("x"), &trained).expect("ok").is_none());
        assert!(anchor_config(&args(&["--init", "x", "--anchor", "0"]), Path::new("x"), &trained)
            .expect("ok")
            .is_none());
        let from_one: Vec<(Family, Vec<u8>)> = Family::ALL.iter().map(|&f| (f, vec![1, 2])).collect();
        let err = anchor_config(&args(&["--init", "x", "--anchor", "1"]), Path::new("x"), &from_one)
            .expect_err("nothing to hold");
        assert!(err.to_string().contains("--anchor-levels"), "{err}");
        assert!(anchor_config(&args(&["--init", "x", "--anchor=-1"]), Path::new("x"), &trained).is_err());
        assert!(anchor_config(
            &args(&["--init", "x", "--anchor", "1", "--anchor-rows", "65"]),
            Path::new("x"),
            &trained
        )
        .is_err());
    }

    /// The default anchor replays the model's own last pretraining mixture (its sources,
    /// repeats and drill shares), found beside the model or, for a model from RL, beside
    /// the model RL started from.
    #[test]
    fn the_default_anchor_replays_the_models_own_pretraining_mixture() {
        let root = std::env::temp_dir().join(format!("ponder-anchor-mixture-{}", std::process::id()));
        let (base, rl_run) = (root.join("base"), root.join("rl"));
        std::fs::create_dir_all(&base).expect("dir");
        std::fs::create_dir_all(&rl_run).expect("dir");
        let mut pretrained = ponder_train::PretrainConfig::for_preset(ponder_model::Preset::Nano);
        pretrained.mixture = MixtureConfig {
            sources: vec![(Family::Word, vec![1]), (Family::Word, vec![1, 2]), (Family::Count, vec![1, 2])],
            mistake_rate: 0.2,
            drill_share: 0.1,
            lookup_share: 0.15,
            quote_share: 0.05,
        };
        let rl_config = RlConfig::new(base.join("model"));
        let write = |path: PathBuf, text: serde_json::Result<String>| std::fs::write(path, text.expect("json"));
        write(base.join(ponder_train::pretrain::CONFIG_NAME), serde_json::to_string(&pretrained)).expect("write");
        write(rl_run.join(ponder_train::rl::RL_CONFIG_NAME), serde_json::to_string(&rl_config)).expect("write");
        let trained = vec![(Family::Count, vec![2])];
        for init in [base.join("model"), rl_run.join("model")] {
            let a =
                anchor_config(&args(&["--init", "x", "--anchor", "1"]), &init, &trained).expect("ok").expect("some");
            let want = [(Family::Word, vec![1]), (Family::Word, vec![1, 2]), (Family::Count, vec![1])];
            assert_eq!(a.mixture.sources, want, "from {}", init.display());
            let m = &a.mixture;
            assert_eq!((m.mistake_rate, m.drill_share, m.lookup_share, m.quote_share), (0.2, 0.1, 0.15, 0.05));
        }
        let _ = std::fs::remove_dir_all(&root);
    }
}
