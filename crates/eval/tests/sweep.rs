//! The sweep on a scripted engine whose behaviour is known: thinking below 40 tokens
//! never solves; greedy solves a fixed half of the problems; each sample solves with
//! probability about 1/3.

use ponder_eval::{sweep, Method, SweepConfig};
use ponder_tasks::{fnv1a, Family, Split};
use ponder_think::{Completion, Compute, Engine, FinishReason, SamplingParams};

struct Scripted {
    answers: Vec<(String, String)>,
}

impl Engine for Scripted {
    fn name(&self) -> String {
        "scripted".into()
    }

    fn complete(
        &self,
        prompts: &[String],
        seeds: &[u64],
        params: &SamplingParams,
    ) -> ponder_think::Result<Vec<Completion>> {
        Ok(prompts
            .iter()
            .zip(seeds)
            .map(|(prompt, &seed)| {
                let right = &self.answers.iter().find(|(p, _)| p == prompt).expect("known prompt").1;
                let thinking = params.budget.max_thinking.unwrap_or(usize::MAX).min(40);
                let lucky = if params.temperature <= 0.0 {
                    fnv1a(prompt.as_bytes()).is_multiple_of(2)
                } else {
                    seed.is_multiple_of(3)
                };
                let answer = if thinking >= 40 && lucky { right.clone() } else { "999999".into() };
                Completion {
                    text: format!("<think>{}</think>{answer}", "x".repeat(thinking)),
                    tokens: vec![0; thinking + 2],
                    logprobs: vec![-0.5; thinking + 2],
                    finish: FinishReason::Stop,
                    closed_by_budget: false,
                    compute: Compute {
                        prompt_tokens: 10,
                        thinking_tokens: thinking,
                        answer_tokens: 2,
                        flops: 1e6 * (thinking + 12) as f64,
                        wall_seconds: 0.0,
                    },
                }
            })
            .collect())
    }
}

#[test]
fn the_sweep_measures_both_kinds_of_scaling() {
    let problems: Vec<_> = Family::Count.problems(Split::Test, 1, 0).expect("problems").take(12).collect();
    let engine = Scripted { answers: problems.iter().map(|p| (p.prompt.clone(), p.answer.clone())).collect() };
    let config = SweepConfig {
        families: vec![Family::Count],
        levels: vec![1],
        n: 12,
        budgets: vec![16, 64],
        votes: vec![1, 2, 4, 8],
        subsets: 200,
        ..SweepConfig::default()
    };
    let report = sweep(&engine, &config).expect("sweep");
    let at = |m: Method, s: usize| report.points.iter().find(|p| p.method == m && p.setting == s).expect("point");

    // Sequential: a budget below what the problem needs never solves; enough budget does.
    assert_eq!(at(Method::LongerThinking, 16).accuracy, 0.0);
    let greedy_expected =
        problems.iter().filter(|p| fnv1a(p.prompt.as_bytes()).is_multiple_of(2)).count() as f64 / problems.len() as f64;
    assert!((at(Method::LongerThinking, 64).accuracy - greedy_expected).abs() < 1e-9);
    assert!(at(Method::LongerThinking, 64).flops > at(Method::LongerThinking, 16).flops);

    // Parallel: compute doubles with n; pass@k grows and bounds the realisable strategies.
    for pair in [1usize, 2, 4, 8].windows(2) {
        let (a, b) = (at(Method::PassAtK, pair[0]), at(Method::PassAtK, pair[1]));
        assert!(b.accuracy >= a.accuracy && (b.flops / a.flops - 2.0).abs() < 1e-9);
    }
    for n in [1, 2, 4, 8] {
        let bound = at(Method::PassAtK, n).accuracy + 1e-9;
        assert!(at(Method::MajorityVote, n).accuracy <= bound && at(Method::BestOfN, n).accuracy <= bound);
    }
    // Wrong samples all agree on "999999", so with 1/3 right answers the vote picks the
    // wrong one more often as n grows: voting does not help this engine.
    assert!(at(Method::MajorityVote, 8).accuracy < at(Method::MajorityVote, 1).accuracy + 0.05);

    // Compute-optimal picks are sorted by compute, with accuracy never falling.
    assert!(report.compute_optimal.windows(2).all(|w| w[0].0 <= w[1].0 && w[0].3 <= w[1].3));
    assert_eq!(report.auto.len(), 4);
    assert!(report.table().contains("Strategy::Auto"));
    // Auto's line has its own comparison: the best fixed strategy on the same half of the
    // problems (the full-set lines are not scored on those problems).
    let chart = report.chart();
    assert_eq!(chart.series.len(), 6);
    let best_fixed = chart.series.iter().find(|s| s.name == "best fixed strategy (same half)").expect("series");
    for (a, &(flops, accuracy)) in report.auto.iter().zip(&best_fixed.points) {
        let best = a.fixed.iter().map(|f| f.1).fold(f64::MIN, f64::max);
        assert!((accuracy - 100.0 * best).abs() < 1e-9);
        assert!(a.fixed.iter().any(|f| f.2 == flops));
    }
}
