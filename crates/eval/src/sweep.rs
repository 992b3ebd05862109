//! The test-time compute curve: held-out accuracy against compute per problem for
//! sequential scaling (a longer thinking budget) and parallel scaling (majority vote,
//! best-of-N, and pass@k as the upper bound), the compute-optimal strategy at each
//! compute level, and [`Strategy::Auto`] measured against every fixed strategy.
//!
//! Sampling is shared: the largest number of samples is drawn once per problem and every
//! smaller n is estimated from subsets of that pool, so the sweep costs no more than its
//! largest point.

use std::collections::BTreeMap;

use indicatif::{ProgressBar, ProgressStyle};
use ponder_tasks::{Family, Problem};
use ponder_think::{
    attempt_all, expected_solve_rate, heldout_problems, AutoTable, Budget, Engine, SamplingParams, Scored, Scorer,
    Strategy,
};
use serde::{Deserialize, Serialize};

use crate::plot::{Chart, Series};
use crate::{pass_at_k, Result};

/// What to sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepConfig {
    /// Families to run.
    pub families: Vec<Family>,
    /// Levels of each family.
    pub levels: Vec<u8>,
    /// Held-out problems per family and level.
    pub n: usize,
    /// Thinking budgets (max thinking tokens) of the sequential curve, greedy.
    pub budgets: Vec<usize>,
    /// Sample counts of the parallel curves.
    pub votes: Vec<usize>,
    /// Temperature of the parallel samples.
    pub temperature: f32,
    /// Most new tokens per completion (thinking + answer).
    pub max_new_tokens: usize,
    /// Seeds the samplers and the subset draws.
    pub seed: u64,
    /// Random subsets per problem when estimating a vote of n < pool size.
    pub subsets: usize,
    /// Sequences generated together.
    pub batch_size: usize,
}

impl Default for SweepConfig {
    fn default() -> Self {
        Self {
            families: Family::ALL.to_vec(),
            levels: vec![1, 2],
            n: 50,
            budgets: vec![16, 32, 64, 128, 256, 512],
            votes: vec![1, 2, 4, 8, 16, 32],
            temperature: 0.8,
            max_new_tokens: 640,
            seed: 0,
            subsets: 64,
            batch_size: 64,
        }
    }
}

/// The ways of spending test-time compute the sweep compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// One greedy completion with a thinking budget (the setting is the budget).
    LongerThinking,
    /// Majority vote over n samples.
    MajorityVote,
    /// Best of n samples by the verifier where one exists at test time, else by confidence.
    BestOfN,
    /// Solved if any of n samples is right: the upper bound of parallel sampling.
    PassAtK,
}

impl Method {
    /// A name for tables and legends.
    pub fn label(self) -> &'static str {
        match self {
            Method::LongerThinking => "longer thinking (budget)",
            Method::MajorityVote => "majority vote",
            Method::BestOfN => "best-of-N",
            Method::PassAtK => "pass@k (upper bound)",
        }
    }
}

/// One point of a curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepPoint {
    /// The method.
    pub method: Method,
    /// Its setting: the thinking budget, or the number of samples.
    pub setting: usize,
    /// Mean held-out accuracy over all problems.
    pub accuracy: f64,
    /// Accuracy per `family/level`.
    pub by_level: BTreeMap<String, f64>,
    /// Mean FLOPs per problem.
    pub flops: f64,
    /// Mean generated tokens per problem.
    pub tokens: f64,
}

/// Strategy::Auto against the fixed strategies of the same sample count, on problems the
/// table was not measured on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutoComparison {
    /// The sample count that sets the compute budget.
    pub votes: usize,
    /// The table Auto used (`family/level` → strategy).
    pub table: AutoTable,
    /// Auto's accuracy and mean FLOPs per problem.
    pub auto: (f64, f64),
    /// Each fixed strategy's name, accuracy and mean FLOPs per problem.
    pub fixed: Vec<(String, f64, f64)>,
}

/// Everything the sweep measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepReport {
    /// The engine's name.
    pub engine: String,
    /// The sweep settings.
    pub config: SweepConfig,
    /// Every point of every curve.
    pub points: Vec<SweepPoint>,
    /// For each point's compute level: the method with the best accuracy among the
    /// points that cost no more (compute-optimal, Snell et al. 2024).
    pub compute_optimal: Vec<(f64, Method, usize, f64)>,
    /// Strategy::Auto at each sample count.
    pub auto: Vec<AutoComparison>,
    /// Seconds the sweep took.
    pub seconds: f64,
}

/// Per-problem compute of a pool: mean FLOPs and tokens of one sample.
fn per_sample_cost(scored: &Scored) -> (f64, f64) {
    let n = scored.attempts.len().max(1) as f64;
    let flops = scored.attempts.iter().map(|a| a.completion.compute.flops).sum::<f64>() / n;
    let tokens = scored.attempts.iter().map(|a| a.completion.tokens.len() as f64).sum::<f64>() / n;
    (flops, tokens)
}

fn level_key(problem: &Problem) -> String {
    format!("{}/{}", problem.family(), problem.difficulty)
}

/// Mean of `value` over problems, overall and per level.
fn tally(items: &[(String, f64)]) -> (f64, BTreeMap<String, f64>) {
    let mut per: BTreeMap<String, (f64, usize)> = BTreeMap::new();
    for (k, v) in items {
        let e = per.entry(k.clone()).or_default();
        e.0 += v;
        e.1 += 1;
    }
    let overall = items.iter().map(|(_, v)| v).sum::<f64>() / items.len().max(1) as f64;
    (overall, per.into_iter().map(|(k, (s, n))| (k, s / n.max(1) as f64)).collect())
}

/// Accuracy and mean FLOPs per problem of `strategy` on `pool` (subset estimates).
fn strategy_score(strategy: &Strategy, pool: &[&Scored], config: &SweepConfig) -> (f64, f64) {
    let mut acc = 0.0;
    let mut flops = 0.0;
    for scored in pool {
        let chosen = match strategy {
            Strategy::Auto(table) => table.choose(&scored.problem).clone(),
            other => other.clone(),
        };
        acc += expected_solve_rate(&chosen, &scored.problem, &scored.attempts, config.subsets, config.seed);
        flops += per_sample_cost(scored).0 * chosen.samples() as f64;
    }
    let n = pool.len().max(1) as f64;
    (acc / n, flops / n)
}

/// Runs the sweep, showing a progress bar on the terminal.
pub fn sweep(engine: &dyn Engine, config: &SweepConfig) -> Result<SweepReport> {
    let start = std::time::Instant::now();
    let mut problems = Vec::new();
    for &family in &config.families {
        for &level in config.levels.iter().filter(|&&l| l >= 1 && l <= family.levels()) {
            problems.extend(heldout_problems(family, level, config.n)?);
        }
    }
    let pool_size = config.votes.iter().copied().max().unwrap_or(1).max(1);
    let bar = ProgressBar::new((problems.len() * (config.budgets.len() + pool_size)) as u64);
    if let Ok(style) = ProgressStyle::with_template("sweep {bar:30} {pos}/{len} completions  {msg}  [ETA {eta}]") {
        bar.set_style(style);
    }
    let mut points = Vec::new();

    // Sequential scaling: one greedy completion per problem under each thinking budget.
    for &budget in &config.budgets {
        bar.set_message(format!("thinking budget {budget}"));
        let params = SamplingParams {
            temperature: 0.0,
            max_new_tokens: config.max_new_tokens.max(budget + 32),
            budget: Budget { min_thinking: 0, max_thinking: Some(budget) },
            ..SamplingParams::default()
        };
        let scored = attempt_all(engine, &problems, 1, &params, config.seed, config.batch_size)?;
        bar.inc(problems.len() as u64);
        let items: Vec<(String, f64)> = scored.iter().map(|s| (level_key(&s.problem), s.correct() as f64)).collect();
        let (accuracy, by_level) = tally(&items);
        let n = scored.len().max(1) as f64;
        points.push(SweepPoint {
            method: Method::LongerThinking,
            setting: budget,
            accuracy,
            by_level,
            flops: scored.iter().map(|s| per_sample_cost(s).0).sum::<f64>() / n,
            tokens: scored.iter().map(|s| per_sample_cost(s).1).sum::<f64>() / n,
        });
    }

    // Parallel scaling: one shared pool of samples per problem.
    bar.set_message(format!("{pool_size} samples per problem"));
    let sampled = SamplingParams {
        temperature: config.temperature,
        max_new_tokens: config.max_new_tokens,
        ..SamplingParams::default()
    };
    let pools = attempt_all(engine, &problems, pool_size, &sampled, config.seed, config.batch_size)?;
    bar.inc((problems.len() * pool_size) as u64);
    bar.finish_and_clear();
    for &n in &config.votes {
        for method in [Method::MajorityVote, Method::BestOfN, Method::PassAtK] {
            let items: Vec<(String, f64)> = pools
                .iter()
                .map(|s| {
                    let value = match method {
                        Method::MajorityVote => expected_solve_rate(
                            &Strategy::MajorityVote { n },
                            &s.problem,
                            &s.attempts,
                            config.subsets,
                            config.seed,
                        ),
                        Method::BestOfN => expected_solve_rate(
                            &Strategy::BestOfN { n, scorer: Scorer::Verifier },
                            &s.problem,
                            &s.attempts,
                            config.subsets,
                            config.seed,
                        ),
                        _ => pass_at_k(s.attempts.len(), s.correct(), n),
                    };
                    (level_key(&s.problem), value)
                })
                .collect();
            let (accuracy, by_level) = tally(&items);
            let count = pools.len().max(1) as f64;
            points.push(SweepPoint {
                method,
                setting: n,
                accuracy,
                by_level,
                flops: pools.iter().map(|s| per_sample_cost(s).0 * n as f64).sum::<f64>() / count,
                tokens: pools.iter().map(|s| per_sample_cost(s).1 * n as f64).sum::<f64>() / count,
            });
        }
    }

    let compute_optimal = compute_optimal(&points);
    let auto = auto_comparisons(&pools, config);
    Ok(SweepReport {
        engine: engine.name(),
        config: config.clone(),
        points,
        compute_optimal,
        auto,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// At each point's compute level, the best accuracy among realisable points (pass@k is an
/// oracle, not a strategy) that cost no more.
fn compute_optimal(points: &[SweepPoint]) -> Vec<(f64, Method, usize, f64)> {
    let real: Vec<&SweepPoint> = points.iter().filter(|p| p.method != Method::PassAtK).collect();
    let mut levels: Vec<f64> = real.iter().map(|p| p.flops).collect();
    levels.sort_by(f64::total_cmp);
    levels.dedup();
    levels
        .into_iter()
        .filter_map(|c| {
            real.iter()
                .filter(|p| p.flops <= c * (1.0 + 1e-9))
                .max_by(|a, b| a.accuracy.total_cmp(&b.accuracy).then(b.flops.total_cmp(&a.flops)))
                .map(|p| (c, p.method, p.setting, p.accuracy))
        })
        .collect()
}

/// Builds Auto's table on half the problems of each level (calibration) and compares it
/// with the fixed strategies on the other half, at each sample count.
fn auto_comparisons(pools: &[Scored], config: &SweepConfig) -> Vec<AutoComparison> {
    let (mut calibration, mut evaluation): (Vec<&Scored>, Vec<&Scored>) = (Vec::new(), Vec::new());
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for s in pools {
        let i = seen.entry(level_key(&s.problem)).or_default();
        if i.is_multiple_of(2) {
            calibration.push(s)
        } else {
            evaluation.push(s)
        }
        *i += 1;
    }
    let mut comparisons = Vec::new();
    for &n in &config.votes {
        // Candidates that fit the budget of n samples.
        let candidates: Vec<Strategy> = config
            .votes
            .iter()
            .filter(|&&m| m <= n)
            .flat_map(|&m| {
                let single = (m == 1).then_some(Strategy::Single);
                let multi = (m > 1)
                    .then_some([Strategy::MajorityVote { n: m }, Strategy::BestOfN { n: m, scorer: Scorer::Verifier }]);
                single.into_iter().chain(multi.into_iter().flatten())
            })
            .collect();
        let mut choices = Vec::new();
        for key in seen.keys() {
            let level: Vec<&Scored> = calibration.iter().copied().filter(|s| level_key(&s.problem) == *key).collect();
            let best = candidates
                .iter()
                .map(|c| (c, strategy_score(c, &level, config)))
                // Best accuracy; among equals, the cheaper.
                .max_by(|a, b| a.1 .0.total_cmp(&b.1 .0).then(b.1 .1.total_cmp(&a.1 .1)))
                .map(|(c, _)| c.clone())
                .unwrap_or(Strategy::Single);
            choices.push((key.clone(), best));
        }
        let fallback = Box::new(if n > 1 { Strategy::MajorityVote { n } } else { Strategy::Single });
        let table = AutoTable { choices, fallback };
        let auto = strategy_score(&Strategy::Auto(table.clone()), &evaluation, config);
        let fixed: Vec<(String, f64, f64)> = if n == 1 {
            vec![("single sample".into(), strategy_score(&Strategy::Single, &evaluation, config))]
        } else {
            vec![
                ("majority vote".into(), strategy_score(&Strategy::MajorityVote { n }, &evaluation, config)),
                (
                    "best-of-N".into(),
                    strategy_score(&Strategy::BestOfN { n, scorer: Scorer::Verifier }, &evaluation, config),
                ),
            ]
        }
        .into_iter()
        .map(|(name, (acc, flops))| (name, acc, flops))
        .collect();
        comparisons.push(AutoComparison { votes: n, table, auto, fixed });
    }
    comparisons
}

impl SweepReport {
    /// Accuracy vs compute per problem, one line per method: the o1 test-time chart.
    pub fn chart(&self) -> Chart {
        let mut series = Vec::new();
        for method in [Method::LongerThinking, Method::MajorityVote, Method::BestOfN, Method::PassAtK] {
            let mut points: Vec<(f64, f64)> =
                self.points.iter().filter(|p| p.method == method).map(|p| (p.flops, 100.0 * p.accuracy)).collect();
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            if !points.is_empty() {
                series.push(Series { name: method.label().into(), points, dashed: method == Method::PassAtK });
            }
        }
        // Auto is scored on half the problems, so its line is drawn beside the best fixed
        // strategy scored on that same half: the full-set lines above are not its comparison.
        let auto: Vec<(f64, f64)> = self.auto.iter().map(|a| (a.auto.1, 100.0 * a.auto.0)).collect();
        let best_fixed: Vec<(f64, f64)> = self
            .auto
            .iter()
            .filter_map(|a| a.fixed.iter().max_by(|x, y| x.1.total_cmp(&y.1)))
            .map(|(_, accuracy, flops)| (*flops, 100.0 * accuracy))
            .collect();
        if !auto.is_empty() {
            series.push(Series { name: "auto (held-out half)".into(), points: auto, dashed: false });
            series.push(Series { name: "best fixed strategy (same half)".into(), points: best_fixed, dashed: true });
        }
        Chart {
            title: "Accuracy vs test-time compute".into(),
            x_label: "compute per problem (FLOPs, log scale)".into(),
            y_label: "held-out accuracy (%)".into(),
            log_x: true,
            y_range: Some((0.0, 100.0)),
            series,
        }
    }

    /// A plain-text table of every point.
    pub fn table(&self) -> String {
        let mut s = format!("{:<26} {:>8} {:>10} {:>9} {:>9}\n", "method", "setting", "FLOPs", "tokens", "accuracy");
        for p in &self.points {
            s.push_str(&format!(
                "{:<26} {:>8} {:>10.2e} {:>9.0} {:>8.1}%\n",
                p.method.label(),
                p.setting,
                p.flops,
                p.tokens,
                100.0 * p.accuracy
            ));
        }
        s.push_str("\ncompute-optimal (best realisable method at or below each compute level):\n");
        for (c, m, setting, acc) in &self.compute_optimal {
            s.push_str(&format!("  {c:>10.2e} FLOPs: {} {setting} → {:.1}%\n", m.label(), 100.0 * acc));
        }
        s.push_str("\nStrategy::Auto (table from half the problems, scored on the other half):\n");
        for a in &self.auto {
            let fixed: Vec<String> =
                a.fixed.iter().map(|(name, acc, f)| format!("{name} {:.1}% @ {f:.2e}", 100.0 * acc)).collect();
            s.push_str(&format!(
                "  n={:<3} auto {:.1}% @ {:.2e} | {}\n",
                a.votes,
                100.0 * a.auto.0,
                a.auto.1,
                fixed.join(" | ")
            ));
        }
        s
    }
}
