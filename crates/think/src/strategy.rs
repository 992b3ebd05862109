//! How test-time compute is spent on one problem: one sample, a majority vote, the best
//! of N by a scorer, or IOI-style selection of k submissions from n samples.
//!
//! Deciding is a pure function of already-drawn samples, so a sweep draws the largest
//! number of samples once and evaluates every smaller setting on subsets of them.

use ponder_tasks::Problem;
use serde::{Deserialize, Serialize};

use crate::{Attempt, Compute};

/// How best-of-N ranks samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scorer {
    /// The task's checker where it needs nothing hidden (countdown, sudoku); elsewhere it
    /// falls back to the mean log-probability.
    Verifier,
    /// The model's own confidence: mean log-probability per generated token.
    MeanLogprob,
}

/// A way to spend test-time compute on one problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Strategy {
    /// One sample.
    Single,
    /// The most common answer among n samples (ties: the answer seen first).
    MajorityVote {
        /// Samples.
        n: usize,
    },
    /// The highest-scoring of n samples.
    BestOfN {
        /// Samples.
        n: usize,
        /// How samples are ranked.
        scorer: Scorer,
    },
    /// IOI-style: sample n, keep those that pass the checks available at test time, cluster
    /// identical answers, submit a representative of each of the k largest clusters;
    /// solved if any submission is right.
    SelectK {
        /// Samples.
        n: usize,
        /// Submissions.
        k: usize,
    },
}

impl Strategy {
    /// Samples the strategy draws.
    pub fn samples(&self) -> usize {
        match *self {
            Strategy::Single => 1,
            Strategy::MajorityVote { n } | Strategy::BestOfN { n, .. } | Strategy::SelectK { n, .. } => n,
        }
    }
}

/// What a strategy chose for one problem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// The chosen answer text (the first submission's), `None` when no sample answered.
    pub answer: Option<String>,
    /// Indices of the submitted samples (one, or up to k for `SelectK`).
    pub submitted: Vec<usize>,
    /// Whether a submission is correct.
    pub solved: bool,
    /// Everything the samples cost.
    pub compute: Compute,
}

/// Groups samples by canonical answer: (canonical form, member indices), largest first,
/// ties broken by the earliest first member. Samples with no readable answer are left out.
fn clusters(problem: &Problem, attempts: &[Attempt], keep: impl Fn(usize) -> bool) -> Vec<(String, Vec<usize>)> {
    let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
    for (i, a) in attempts.iter().enumerate().filter(|&(i, _)| keep(i)) {
        let Some(form) = problem.canonical_answer(&a.completion.text) else { continue };
        match groups.iter_mut().find(|(f, _)| *f == form) {
            Some((_, members)) => members.push(i),
            None => groups.push((form, vec![i])),
        }
    }
    // Stable sort: equal sizes keep first-seen order.
    groups.sort_by(|a, b| b.1.len().cmp(&a.1.len()));
    groups
}

/// Applies `strategy` to the first `strategy.samples()` of `attempts` (which must hold at
/// least that many).
pub fn decide(strategy: &Strategy, problem: &Problem, attempts: &[Attempt]) -> Decision {
    let n = strategy.samples().min(attempts.len());
    let attempts = &attempts[..n];
    let mut compute = Compute::default();
    for a in attempts {
        compute += a.completion.compute;
    }
    let checked = |i: usize| problem.checkable_at_test_time() && attempts[i].verdict.is_correct();
    let submitted: Vec<usize> = match *strategy {
        Strategy::Single => (n > 0).then_some(0).into_iter().collect(),
        Strategy::MajorityVote { .. } => {
            let groups = clusters(problem, attempts, |_| true);
            groups.first().map(|(_, members)| members[0]).or((n > 0).then_some(0)).into_iter().collect()
        }
        Strategy::BestOfN { scorer, .. } => {
            let by_check = (scorer == Scorer::Verifier).then(|| (0..n).find(|&i| checked(i))).flatten();
            let by_confidence = (0..n).reduce(|best, i| {
                if attempts[i].completion.mean_logprob() > attempts[best].completion.mean_logprob() {
                    i
                } else {
                    best
                }
            });
            by_check.or(by_confidence).into_iter().collect()
        }
        Strategy::SelectK { k, .. } => {
            let any_pass = (0..n).any(checked);
            let groups = clusters(problem, attempts, |i| !any_pass || checked(i));
            groups.iter().take(k).map(|(_, members)| members[0]).collect()
        }
    };
    Decision {
        answer: submitted.first().and_then(|&i| attempts[i].completion.answer().map(str::to_string)),
        solved: submitted.iter().any(|&i| attempts[i].verdict.is_correct()),
        submitted,
        compute,
    }
}
