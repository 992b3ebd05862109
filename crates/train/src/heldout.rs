//! A fixed held-out set evaluated during training: greedy pass@1 per family.

use std::collections::BTreeMap;

use ponder_model::{SamplingParams, TinyReasoner};
use ponder_tasks::{Family, Problem};
use ponder_think::{attempt_all, heldout_problems, Scored};

use crate::Result;

/// The first `per_level` held-out problems of every (family, level) pair.
pub fn heldout_set(pairs: &[(Family, u8)], per_level: usize) -> Result<Vec<Problem>> {
    let mut problems = Vec::new();
    for &(family, level) in pairs {
        problems.extend(heldout_problems(family, level, per_level)?);
    }
    Ok(problems)
}

/// Greedy pass@1 of `model` on `problems`, keyed `family/level`, plus `"all"`.
pub fn greedy_accuracy(
    model: &TinyReasoner,
    problems: &[Problem],
    max_new_tokens: usize,
) -> Result<BTreeMap<String, f64>> {
    let params = SamplingParams { temperature: 0.0, max_new_tokens, ..SamplingParams::default() };
    let scored = attempt_all(model, problems, 1, &params, 0, 64)?;
    let mut accuracy = pass1_by_level(&scored);
    let all = scored.iter().map(|s| s.correct() as f64 / s.attempts.len().max(1) as f64).sum::<f64>();
    accuracy.insert("all".to_string(), all / scored.len().max(1) as f64);
    Ok(accuracy)
}

/// Mean fraction of correct attempts per `family/level`.
pub fn pass1_by_level(scored: &[Scored]) -> BTreeMap<String, f64> {
    let mut tally: BTreeMap<String, (f64, usize)> = BTreeMap::new();
    for s in scored {
        let entry = tally.entry(format!("{}/{}", s.problem.family(), s.problem.difficulty)).or_default();
        entry.0 += s.correct() as f64 / s.attempts.len().max(1) as f64;
        entry.1 += 1;
    }
    tally.into_iter().map(|(k, (c, n))| (k, c / n.max(1) as f64)).collect()
}
