//! Running an engine on task problems and grading every sample.

use ponder_tasks::{seed_for, Family, Problem, Split, Verdict};
use serde::{Deserialize, Serialize};

use crate::{Completion, Engine, Result, SamplingParams};

/// One graded sample.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Attempt {
    /// What the engine produced.
    pub completion: Completion,
    /// How it was graded.
    pub verdict: Verdict,
}

/// A problem and every graded sample of it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Scored {
    /// The problem.
    pub problem: Problem,
    /// Its samples, in sample order.
    pub attempts: Vec<Attempt>,
}

impl Scored {
    /// Number of correct samples.
    pub fn correct(&self) -> usize {
        self.attempts.iter().filter(|a| a.verdict.is_correct()).count()
    }
}

/// The first `n` held-out problems of a family at one level: a fixed evaluation set.
pub fn heldout_problems(family: Family, difficulty: u8, n: usize) -> Result<Vec<Problem>> {
    Ok(family.problems(Split::Test, difficulty, 0).map_err(|e| crate::Error::Request(e.to_string()))?.take(n).collect())
}

/// Samples every problem `samples` times and grades each sample. Sample `j` of a problem
/// is seeded from (`seed`, problem id, `j`), so results do not depend on batching.
pub fn attempt_all(
    engine: &dyn Engine,
    problems: &[Problem],
    samples: usize,
    params: &SamplingParams,
    seed: u64,
    batch_size: usize,
) -> Result<Vec<Scored>> {
    let jobs: Vec<(usize, u64)> = (0..problems.len()).flat_map(|i| (0..samples).map(move |j| (i, j as u64))).collect();
    let mut scored: Vec<Scored> =
        problems.iter().map(|p| Scored { problem: p.clone(), attempts: Vec::with_capacity(samples) }).collect();
    for chunk in jobs.chunks(batch_size.max(1)) {
        let prompts: Vec<String> = chunk.iter().map(|&(i, _)| problems[i].prompt.clone()).collect();
        let seeds: Vec<u64> =
            chunk.iter().map(|&(i, j)| seed_for(seed, &[ponder_tasks::fnv1a(problems[i].id.as_bytes()), j])).collect();
        let completions = engine.complete(&prompts, &seeds, params)?;
        for (&(i, _), completion) in chunk.iter().zip(completions) {
            let verdict = problems[i].verify(&completion.text);
            scored[i].attempts.push(Attempt { completion, verdict });
        }
    }
    Ok(scored)
}
