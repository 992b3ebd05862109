//! A fixed held-out set evaluated during training: greedy pass@1 per family.

use std::collections::BTreeMap;

use ponder_model::{SamplingParams, TinyReasoner};
use ponder_tasks::{Family, Problem};
use ponder_think::{attempt_all, heldout_problems};

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
    let mut tally: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for s in &scored {
        let key = format!("{}/{}", s.problem.family(), s.problem.difficulty);
        for k in [key, "all".to_string()] {
            let entry = tally.entry(k).or_default();
            entry.0 += s.correct();
            entry.1 += 1;
        }
    }
    Ok(tally.into_iter().map(|(k, (c, n))| (k, c as f64 / n.max(1) as f64)).collect())
}
