//! Real benchmarks (GSM8K first): every item prompted through the engine, graded by the
//! benchmark's own grader, accuracy reported with a 95% Wilson interval, speed measured.

use indicatif::{ProgressBar, ProgressStyle};
use ponder_tasks::bench::{BenchItem, Benchmark};
use ponder_tasks::Outcome;
use ponder_think::{Engine, SamplingParams};
use serde::{Deserialize, Serialize};

use crate::Result;

/// One graded item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchRecord {
    /// The item id (`gsm8k-17`).
    pub id: String,
    /// The gold answer.
    pub gold: String,
    /// What the model wrote.
    pub completion: String,
    /// How it was graded.
    pub outcome: Outcome,
    /// Why.
    pub reason: String,
    /// Generated tokens.
    pub tokens: usize,
}

/// The result of a benchmark run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchReport {
    /// Which benchmark.
    pub benchmark: Benchmark,
    /// The engine's name.
    pub model: String,
    /// Items graded.
    pub n: usize,
    /// Items answered correctly.
    pub correct: usize,
    /// Items with no readable answer.
    pub unparsable: usize,
    /// correct / n.
    pub accuracy: f64,
    /// 95% Wilson score interval of the accuracy.
    pub ci95: (f64, f64),
    /// Generated tokens per second of wall time (prompt processing included in the time).
    pub tokens_per_second: f64,
    /// Mean generated tokens per item.
    pub mean_tokens: f64,
    /// The sampling settings.
    pub params: SamplingParams,
    /// Every item.
    pub records: Vec<BenchRecord>,
}

impl BenchReport {
    /// A short human-readable summary.
    pub fn summary(&self) -> String {
        format!(
            "{} on {}: {}/{} correct = {:.1}% (95% CI {:.1}–{:.1}%), {} without a readable answer; \
             {:.0} mean tokens, {:.1} tokens/s",
            self.model,
            self.benchmark,
            self.correct,
            self.n,
            100.0 * self.accuracy,
            100.0 * self.ci95.0,
            100.0 * self.ci95.1,
            self.unparsable,
            self.mean_tokens,
            self.tokens_per_second,
        )
    }
}

/// The 95% Wilson score interval for `successes` out of `n`.
pub fn wilson_interval(successes: usize, n: usize) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let (z, n_f) = (1.959_963_984_540_054, n as f64);
    let p = successes as f64 / n_f;
    let denominator = 1.0 + z * z / n_f;
    let centre = (p + z * z / (2.0 * n_f)) / denominator;
    let half = z * (p * (1.0 - p) / n_f + z * z / (4.0 * n_f * n_f)).sqrt() / denominator;
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// Runs `items` through `engine` in batches of `batch_size` prompts, grading each reply.
pub fn run_benchmark(
    engine: &dyn Engine,
    benchmark: Benchmark,
    items: &[BenchItem],
    params: &SamplingParams,
    batch_size: usize,
    seed: u64,
) -> Result<BenchReport> {
    let bar = ProgressBar::new(items.len() as u64);
    if let Ok(style) =
        ProgressStyle::with_template("{prefix} {bar:30} {pos}/{len} items  {msg}  [{elapsed} / ETA {eta}]")
    {
        bar.set_style(style);
    }
    bar.set_prefix(benchmark.to_string());
    let start = std::time::Instant::now();
    let (mut records, mut generated) = (Vec::with_capacity(items.len()), 0usize);
    for (b, batch) in items.chunks(batch_size.max(1)).enumerate() {
        let prompts: Vec<String> = batch.iter().map(|item| benchmark.prompt(item)).collect();
        let seeds: Vec<u64> = (0..batch.len()).map(|i| seed + (b * batch_size + i) as u64).collect();
        for (item, completion) in batch.iter().zip(engine.complete(&prompts, &seeds, params)?) {
            let verdict = benchmark.grade(item, &completion.text);
            generated += completion.tokens.len();
            records.push(BenchRecord {
                id: item.id.clone(),
                gold: item.gold.clone(),
                completion: completion.text,
                outcome: verdict.outcome,
                reason: verdict.reason,
                tokens: completion.tokens.len(),
            });
        }
        let correct = records.iter().filter(|r| r.outcome == Outcome::Correct).count();
        bar.set_message(format!(
            "{correct} correct, {:.1} tok/s",
            generated as f64 / start.elapsed().as_secs_f64().max(1e-9)
        ));
        bar.inc(batch.len() as u64);
    }
    bar.finish_and_clear();
    let n = records.len();
    let correct = records.iter().filter(|r| r.outcome == Outcome::Correct).count();
    Ok(BenchReport {
        benchmark,
        model: engine.name(),
        n,
        correct,
        unparsable: records.iter().filter(|r| r.outcome == Outcome::Unparsable).count(),
        accuracy: correct as f64 / n.max(1) as f64,
        ci95: wilson_interval(correct, n),
        tokens_per_second: generated as f64 / start.elapsed().as_secs_f64().max(1e-9),
        mean_tokens: generated as f64 / n.max(1) as f64,
        params: params.clone(),
        records,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_interval_matches_hand_computed_values() {
        // 1 of 100: p = 0.01 → (0.00177, 0.0545) (standard tables).
        let (lo, hi) = wilson_interval(1, 100);
        assert!((lo - 0.001_767).abs() < 1e-5 && (hi - 0.054_5).abs() < 1e-4, "{lo} {hi}");
        let (lo, hi) = wilson_interval(50, 100);
        assert!((lo - 0.403_8).abs() < 1e-4 && (hi - 0.596_2).abs() < 1e-4, "{lo} {hi}");
        assert_eq!(wilson_interval(0, 0), (0.0, 1.0));
        assert_eq!(wilson_interval(0, 10).0, 0.0);
    }
}
