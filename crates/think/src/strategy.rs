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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Compute-optimal choice per problem difficulty (Snell et al. 2024): the strategy
    /// the table measured best for the problem's `family/level` at the table's compute
    /// budget, or `fallback` for difficulties the table has not seen.
    Auto(AutoTable),
}

/// The measured table behind [`Strategy::Auto`]: for each `family/level`, the strategy
/// with the best accuracy (on calibration problems) among those whose mean compute fits
/// the budget.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoTable {
    /// `family/level` → chosen strategy (never itself `Auto`).
    pub choices: Vec<(String, Strategy)>,
    /// Used for difficulties not in `choices`.
    pub fallback: Box<Strategy>,
}

impl AutoTable {
    /// The strategy for `problem`.
    pub fn choose(&self, problem: &Problem) -> &Strategy {
        let key = format!("{}/{}", problem.family(), problem.difficulty);
        self.choices.iter().find(|(k, _)| *k == key).map_or(&self.fallback, |(_, s)| s)
    }
}

impl Strategy {
    /// Samples the strategy draws.
    pub fn samples(&self) -> usize {
        match self {
            Strategy::Single => 1,
            Strategy::MajorityVote { n } | Strategy::BestOfN { n, .. } | Strategy::SelectK { n, .. } => *n,
            Strategy::Auto(table) => {
                table.choices.iter().map(|(_, s)| s.samples()).chain([table.fallback.samples()]).max().unwrap_or(1)
            }
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
    groups.sort_by_key(|g| std::cmp::Reverse(g.1.len()));
    groups
}

/// Applies `strategy` to the first `strategy.samples()` of `attempts` (which must hold at
/// least that many).
pub fn decide(strategy: &Strategy, problem: &Problem, attempts: &[Attempt]) -> Decision {
    if let Strategy::Auto(table) = strategy {
        return decide(table.choose(problem), problem, attempts);
    }
    let n = strategy.samples().min(attempts.len());
    let attempts = &attempts[..n];
    let mut compute = Compute::default();
    for a in attempts {
        compute += a.completion.compute;
    }
    let checked = |i: usize| problem.checkable_at_test_time() && attempts[i].verdict.is_correct();
    let submitted: Vec<usize> = match *strategy {
        Strategy::Auto(_) => unreachable!("resolved above"),
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

/// The expected solve rate of `strategy` on one problem, estimated from a pool of samples
/// larger than the strategy needs: the mean over `subsets` random subsets of the pool
/// (each an unbiased draw of the strategy's n samples), or exactly when every subset is
/// taken (n equal to the pool, or a single sample: the mean over the pool).
pub fn expected_solve_rate(strategy: &Strategy, problem: &Problem, pool: &[Attempt], subsets: usize, seed: u64) -> f64 {
    use rand::seq::index::sample;
    use rand::SeedableRng;
    let n = strategy.samples();
    if pool.is_empty() || n == 0 {
        return 0.0;
    }
    if n >= pool.len() {
        return f64::from(u8::from(decide(strategy, problem, pool).solved));
    }
    if n == 1 {
        return pool.iter().filter(|a| a.verdict.is_correct()).count() as f64 / pool.len() as f64;
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let solved = (0..subsets.max(1))
        .filter(|_| {
            let mut picked = sample(&mut rng, pool.len(), n).into_vec();
            picked.sort_unstable(); // keep sample order: ties in votes go to the earlier sample
            let subset: Vec<Attempt> = picked.into_iter().map(|i| pool[i].clone()).collect();
            decide(strategy, problem, &subset).solved
        })
        .count();
    solved as f64 / subsets.max(1) as f64
}
