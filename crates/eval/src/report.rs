//! `ponder eval`: per family and level, pass@1 (greedy and sampled), unbiased pass@k and
//! mean thinking tokens on the held-out split.

use indicatif::{ProgressBar, ProgressStyle};
use ponder_tasks::{BlindGuess, Family};
use ponder_think::{attempt_all, heldout_problems, Engine, SamplingParams, Scored};
use serde::{Deserialize, Serialize};

use crate::{pass_at_k, Result};

/// What to evaluate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalConfig {
    /// Families to run.
    pub families: Vec<Family>,
    /// Levels to run (`None`: every level of each family).
    pub levels: Option<Vec<u8>>,
    /// Held-out problems per family and level.
    pub n: usize,
    /// Sampled completions per problem for sampled pass@1 and pass@k (0: greedy only).
    pub samples: usize,
    /// Sampling temperature of those samples.
    pub temperature: f32,
    /// Most new tokens per completion.
    pub max_new_tokens: usize,
    /// Seeds the samplers.
    pub seed: u64,
    /// Sequences generated together.
    pub batch_size: usize,
}

impl Default for EvalConfig {
    fn default() -> Self {
        Self {
            families: Family::ALL.to_vec(),
            levels: None,
            n: 200,
            samples: 8,
            temperature: 1.0,
            max_new_tokens: 768,
            seed: 0,
            batch_size: 64,
        }
    }
}

/// Results for one family and level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalRow {
    /// The family.
    pub family: Family,
    /// The level.
    pub difficulty: u8,
    /// Problems evaluated.
    pub n: usize,
    /// Greedy pass@1.
    pub pass1_greedy: f64,
    /// Mean fraction of correct samples (sampled pass@1), when sampling.
    pub pass1_sampled: Option<f64>,
    /// Unbiased pass@k with k = samples, when sampling.
    pub pass_at_k: Option<f64>,
    /// k of `pass_at_k`.
    pub k: usize,
    /// Mean thinking tokens of the greedy completions.
    pub mean_thinking_tokens: f64,
    /// Greedy completions whose thinking never closed (no answer).
    pub unanswered: usize,
    /// Accuracy of blind guessing on the same problems: per question form, the answer
    /// most often right in training ([`BlindGuess`]). A score near it is no evidence of
    /// reasoning. `None` in reports written before it, which print it as `-`.
    #[serde(default)]
    pub blind_guess: Option<f64>,
}

/// A whole evaluation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvalReport {
    /// The engine evaluated.
    pub engine: String,
    /// What was run.
    pub config: EvalConfig,
    /// One row per family and level.
    pub rows: Vec<EvalRow>,
    /// Generated tokens per second over the whole run.
    pub tokens_per_second: f64,
}

impl EvalReport {
    /// Header and one row of cells per family and level; a greedy-only run (no samples)
    /// has no sampled pass@1 and pass@k columns.
    pub fn cells(&self) -> (Vec<String>, Vec<Vec<String>>) {
        let sampled = self.config.samples > 0;
        let mut header: Vec<String> = ["family", "level", "n", "greedy pass@1"].map(String::from).into();
        if sampled {
            header.extend(["sampled pass@1".to_string(), format!("pass@{}", self.config.samples)]);
        }
        header.extend(["thinking tokens".to_string(), "blind guess".to_string()]);
        let pct = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{:.1}%", v * 100.0));
        let rows = self
            .rows
            .iter()
            .map(|r| {
                let mut cells = vec![
                    r.family.name().to_string(),
                    r.difficulty.to_string(),
                    r.n.to_string(),
                    pct(Some(r.pass1_greedy)),
                ];
                if sampled {
                    cells.extend([pct(r.pass1_sampled), pct(r.pass_at_k)]);
                }
                cells.extend([format!("{:.0}", r.mean_thinking_tokens), pct(r.blind_guess)]);
                cells
            })
            .collect();
        (header, rows)
    }

    /// A plain-text table of the rows, columns aligned.
    pub fn table(&self) -> String {
        let (header, rows) = self.cells();
        let widths: Vec<usize> = (0..header.len())
            .map(|c| rows.iter().map(|r| r[c].len()).chain([header[c].len()]).max().unwrap_or(0))
            .collect();
        let line = |cells: &[String]| {
            let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:>w$}")).collect();
            format!("{}\n", padded.join("  "))
        };
        std::iter::once(line(&header)).chain(rows.iter().map(|r| line(r))).collect()
    }

    /// The same rows as a Markdown table.
    pub fn markdown(&self) -> String {
        let (header, rows) = self.cells();
        let line = |cells: &[String]| format!("| {} |\n", cells.join(" | "));
        let rule = format!("|{}\n", "---|".repeat(header.len()));
        std::iter::once(line(&header)).chain([rule]).chain(rows.iter().map(|r| line(r))).collect()
    }
}

/// Runs the evaluation, showing a progress bar on the terminal.
pub fn evaluate(engine: &dyn Engine, config: &EvalConfig) -> Result<EvalReport> {
    let mut sets = Vec::new();
    for &family in &config.families {
        let levels: Vec<u8> = match &config.levels {
            Some(levels) => levels.iter().copied().filter(|&l| l >= 1 && l <= family.levels()).collect(),
            None => (1..=family.levels()).collect(),
        };
        for level in levels {
            sets.push((family, level, heldout_problems(family, level, config.n)?));
        }
    }
    let sequences: usize = sets.iter().map(|(_, _, p)| p.len() * (1 + config.samples)).sum();
    let bar = ProgressBar::new(sequences as u64);
    if let Ok(style) = ProgressStyle::with_template("eval {bar:30} {pos}/{len} completions  {msg}  [ETA {eta}]") {
        bar.set_style(style);
    }
    let greedy =
        SamplingParams { temperature: 0.0, max_new_tokens: config.max_new_tokens, ..SamplingParams::default() };
    let sampled = SamplingParams {
        temperature: config.temperature,
        max_new_tokens: config.max_new_tokens,
        ..SamplingParams::default()
    };
    let start = std::time::Instant::now();
    let mut generated = 0usize;
    let mut rows = Vec::new();
    for (family, level, problems) in sets {
        bar.set_message(format!("{family} level {level}"));
        let g: Vec<Scored> = attempt_all(engine, &problems, 1, &greedy, config.seed, config.batch_size)?;
        bar.inc(problems.len() as u64);
        let s: Option<Vec<Scored>> = if config.samples > 0 {
            let s = attempt_all(engine, &problems, config.samples, &sampled, config.seed, config.batch_size)?;
            bar.inc((problems.len() * config.samples) as u64);
            Some(s)
        } else {
            None
        };
        let n = problems.len().max(1) as f64;
        let attempts = g.iter().chain(s.iter().flatten()).flat_map(|x| &x.attempts);
        generated += attempts.map(|a| a.completion.tokens.len()).sum::<usize>();
        rows.push(EvalRow {
            family,
            difficulty: level,
            n: problems.len(),
            pass1_greedy: g.iter().map(|x| x.correct() as f64).sum::<f64>() / n,
            pass1_sampled: s
                .as_ref()
                .map(|s| s.iter().map(|x| x.correct() as f64 / config.samples as f64).sum::<f64>() / n),
            pass_at_k: s
                .as_ref()
                .map(|s| s.iter().map(|x| pass_at_k(config.samples, x.correct(), config.samples)).sum::<f64>() / n),
            k: config.samples,
            mean_thinking_tokens: g
                .iter()
                .map(|x| x.attempts[0].completion.compute.thinking_tokens as f64)
                .sum::<f64>()
                / n,
            unanswered: g.iter().filter(|x| x.attempts[0].completion.answer().is_none()).count(),
            blind_guess: Some(BlindGuess::fit(family, level)?.accuracy(&problems)),
        });
    }
    bar.finish_and_clear();
    Ok(EvalReport {
        engine: engine.name(),
        config: config.clone(),
        rows,
        tokens_per_second: generated as f64 / start.elapsed().as_secs_f64().max(1e-9),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(samples: usize) -> EvalReport {
        let sampled = (samples > 0).then_some(0.25);
        let row = EvalRow {
            family: Family::Count,
            difficulty: 1,
            n: 4,
            pass1_greedy: 0.5,
            pass1_sampled: sampled,
            pass_at_k: sampled,
            k: samples,
            mean_thinking_tokens: 12.0,
            unanswered: 0,
            blind_guess: Some(0.375),
        };
        let config = EvalConfig { samples, ..EvalConfig::default() };
        EvalReport { engine: "test".into(), config, rows: vec![row], tokens_per_second: 1.0 }
    }

    #[test]
    fn greedy_only_tables_have_no_sampled_columns() {
        let table = report(0).table();
        assert!(!table.contains("pass@0") && !table.contains("sampled"), "{table}");
        assert!(table.contains("greedy pass@1") && table.contains("50.0%"), "{table}");
        let table = report(8).table();
        assert!(table.contains("pass@8") && table.contains("25.0%"), "{table}");
        assert!(table.contains("blind guess") && table.contains("37.5%"), "{table}");
    }

    #[test]
    fn reports_written_before_the_blind_guess_still_load() {
        let mut json = serde_json::to_value(report(0)).expect("json");
        json["rows"][0].as_object_mut().expect("row").remove("blind_guess");
        let back: EvalReport = serde_json::from_value(json).expect("old report");
        assert_eq!(back.rows[0].blind_guess, None);
        assert_eq!(back.cells().1[0].last().map(String::as_str), Some("-"), "{}", back.table());
    }
}
