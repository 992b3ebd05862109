//! Strategy semantics on hand-made samples: vote tie-breaking, best-of-N scorers, SelectK.

use ponder_tasks::{Family, Problem};
use ponder_think::{decide, Attempt, Completion, Compute, FinishReason, Scorer, Strategy};

fn attempt(problem: &Problem, answer: &str, logprob: f32) -> Attempt {
    let completion = Completion {
        text: format!("<think>\nhm\n</think>\n{answer}"),
        tokens: Vec::new(),
        logprobs: vec![logprob; 4],
        finish: FinishReason::Stop,
        closed_by_budget: false,
        compute: Compute { prompt_tokens: 10, thinking_tokens: 3, answer_tokens: 1, flops: 100.0, wall_seconds: 0.1 },
    };
    Attempt { verdict: problem.verify(&completion.text), completion }
}

fn word_problem() -> (Problem, i64) {
    let p = Family::Word.generate(1, 7).expect("problem");
    let right: i64 = p.answer.parse().expect("integer");
    (p, right)
}

#[test]
fn majority_vote_takes_the_largest_cluster_and_breaks_ties_by_first_seen() {
    let (p, r) = word_problem();
    let (a, b) = ((r + 1).to_string(), r.to_string());
    // Tie 2-2 between a (seen first) and b: a wins.
    let samples: Vec<Attempt> = [&a, &b, &b, &a].iter().map(|x| attempt(&p, x, -1.0)).collect();
    let d = decide(&Strategy::MajorityVote { n: 4 }, &p, &samples);
    assert_eq!(d.answer.as_deref(), Some(a.as_str()));
    assert!(!d.solved);
    // Three samples: b has the majority, and "b units" votes with "b".
    let samples = vec![attempt(&p, &a, -1.0), attempt(&p, &b, -1.0), attempt(&p, &format!("{b} units"), -1.0)];
    let d = decide(&Strategy::MajorityVote { n: 3 }, &p, &samples);
    assert_eq!(d.submitted, vec![1]);
    assert!(d.solved);
    assert_eq!(d.compute.flops, 300.0);
    // Unreadable samples do not vote.
    let samples = vec![attempt(&p, "no idea", -1.0), attempt(&p, &b, -1.0)];
    assert_eq!(decide(&Strategy::MajorityVote { n: 2 }, &p, &samples).submitted, vec![1]);
    // Only the first n samples count.
    let samples = vec![attempt(&p, &a, -1.0), attempt(&p, &b, -1.0), attempt(&p, &b, -1.0)];
    assert_eq!(decide(&Strategy::MajorityVote { n: 1 }, &p, &samples).answer.as_deref(), Some(a.as_str()));
}

#[test]
fn best_of_n_uses_the_checker_only_where_it_needs_nothing_hidden() {
    // Countdown: the checker needs only the numbers and the target.
    let p = Family::Countdown.generate(1, 3).expect("problem");
    let samples = vec![attempt(&p, "1 + 1", -0.1), attempt(&p, &p.answer, -3.0), attempt(&p, "2 + 2", -0.5)];
    let by_check = decide(&Strategy::BestOfN { n: 3, scorer: Scorer::Verifier }, &p, &samples);
    assert_eq!(by_check.submitted, vec![1]);
    assert!(by_check.solved);
    let by_confidence = decide(&Strategy::BestOfN { n: 3, scorer: Scorer::MeanLogprob }, &p, &samples);
    assert_eq!(by_confidence.submitted, vec![0]);
    assert!(!by_confidence.solved);
    // Word problems have no test-time checker: the verifier scorer falls back to confidence.
    let (p, r) = word_problem();
    let samples = vec![attempt(&p, &r.to_string(), -2.0), attempt(&p, &(r + 1).to_string(), -0.2)];
    assert_eq!(decide(&Strategy::BestOfN { n: 2, scorer: Scorer::Verifier }, &p, &samples).submitted, vec![1]);
}

#[test]
fn select_k_filters_by_test_time_checks_then_submits_the_k_largest_clusters() {
    let (p, r) = word_problem();
    let (x, y, right) = ((r + 1).to_string(), (r + 2).to_string(), r.to_string());
    let samples: Vec<Attempt> = [&x, &x, &x, &y, &y, &right].iter().map(|s| attempt(&p, s, -1.0)).collect();
    let two = decide(&Strategy::SelectK { n: 6, k: 2 }, &p, &samples);
    assert_eq!(two.submitted, vec![0, 3]);
    assert!(!two.solved);
    let three = decide(&Strategy::SelectK { n: 6, k: 3 }, &p, &samples);
    assert_eq!(three.submitted, vec![0, 3, 5]);
    assert!(three.solved, "solved when any submission is right");
    // Countdown: samples failing the available check are filtered out first.
    let p = Family::Countdown.generate(1, 3).expect("problem");
    let samples = vec![attempt(&p, "1 + 1", -1.0), attempt(&p, "1 + 1", -1.0), attempt(&p, &p.answer, -1.0)];
    let one = decide(&Strategy::SelectK { n: 3, k: 1 }, &p, &samples);
    assert_eq!(one.submitted, vec![2]);
    assert!(one.solved);
}

#[test]
fn subset_estimates_match_the_exact_cases() {
    use ponder_think::expected_solve_rate;
    let (p, r) = word_problem();
    let (wrong, right) = ((r + 1).to_string(), r.to_string());
    let pool: Vec<Attempt> =
        [&right, &wrong, &wrong, &right, &wrong, &wrong, &wrong, &right].iter().map(|s| attempt(&p, s, -1.0)).collect();
    // One sample: exactly the fraction correct.
    assert_eq!(expected_solve_rate(&Strategy::Single, &p, &pool, 10, 0), 3.0 / 8.0);
    // The whole pool: exactly the decision on the pool (5 wrong beat 3 right).
    assert_eq!(expected_solve_rate(&Strategy::MajorityVote { n: 8 }, &p, &pool, 10, 0), 0.0);
    // SelectK with k = n keeps every cluster: solved whenever a right sample is drawn,
    // which is pass@n; for n = 2 of 8 with 3 right: 1 − C(5,2)/C(8,2) = 1 − 10/28.
    let estimate = expected_solve_rate(&Strategy::SelectK { n: 2, k: 2 }, &p, &pool, 20_000, 1);
    assert!((estimate - 18.0 / 28.0).abs() < 0.01, "{estimate}");
}

#[test]
fn a_smaller_run_draws_the_first_samples_of_a_larger_one() {
    use candle_core::{DType, Device};
    use ponder_model::{init_weights, SamplingParams, TinyConfig, TinyReasoner};
    use ponder_think::attempt_all;
    let config = TinyConfig {
        d_model: 32,
        n_layers: 1,
        n_heads: 2,
        n_kv_heads: 2,
        d_ff: 32,
        max_seq_len: 256,
        ..TinyConfig::preset(ponder_model::Preset::Nano)
    };
    let varmap = init_weights(&config, 1, &Device::Cpu).expect("init");
    let model = TinyReasoner::new(config, candle_nn::VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu))
        .expect("model");
    let problems: Vec<Problem> = (0..3).map(|s| Family::Count.generate(1, s).expect("problem")).collect();
    let params = SamplingParams { max_new_tokens: 12, ..SamplingParams::default() };
    let big = attempt_all(&model, &problems, 6, &params, 9, 7).expect("6 samples");
    let small = attempt_all(&model, &problems, 3, &params, 9, 2).expect("3 samples");
    for (b, s) in big.iter().zip(&small) {
        let texts = |x: &ponder_think::Scored, n: usize| {
            x.attempts[..n].iter().map(|a| a.completion.text.clone()).collect::<Vec<_>>()
        };
        assert_eq!(texts(b, 3), texts(s, 3), "subset reuse must equal a separate run");
    }
}

#[test]
fn auto_uses_the_table_entry_for_the_problem_difficulty() {
    use ponder_think::AutoTable;
    let (p, r) = word_problem(); // a word problem of level 1
    let (a, b) = ((r + 1).to_string(), r.to_string());
    let samples: Vec<Attempt> = [&a, &b, &b].iter().map(|x| attempt(&p, x, -1.0)).collect();
    let voting = AutoTable {
        choices: vec![("word/1".into(), Strategy::MajorityVote { n: 3 })],
        fallback: Box::new(Strategy::Single),
    };
    let d = decide(&Strategy::Auto(voting.clone()), &p, &samples);
    assert!(d.solved, "the vote of 3 finds the right answer");
    assert_eq!(d.compute.flops, 300.0);
    // A table without this difficulty falls back: one sample, the wrong one.
    let other = AutoTable { choices: vec![("word/2".into(), Strategy::MajorityVote { n: 3 })], ..voting.clone() };
    let d = decide(&Strategy::Auto(other), &p, &samples);
    assert!(!d.solved);
    assert_eq!(d.compute.flops, 100.0);
    assert_eq!(Strategy::Auto(voting).samples(), 3);
}
