//! The contract every task family keeps: determinism, disjoint splits, solver answers
//! that verify, mistakes corrected before the answer, perturbed answers rejected, and
//! verifiers that never panic on arbitrary text.

use ponder_tasks::extract::{answer_text, thinking_text};
use ponder_tasks::{Family, Outcome, Problem, Rng, Split, CORRECTION_CUES};
use proptest::prelude::*;
use rand::SeedableRng;

/// Seeds per family and level for the exhaustive checks (keep the suite fast).
const SEEDS: u64 = 40;

fn every_problem() -> impl Iterator<Item = Problem> {
    Family::ALL.into_iter().flat_map(|family| {
        (1..=family.levels()).flat_map(move |level| {
            (0..SEEDS).map(move |seed| family.generate(level, seed).expect("levels come from the family"))
        })
    })
}

#[test]
fn every_family_has_at_least_three_levels() {
    for family in Family::ALL {
        assert!(family.levels() >= 3, "{family} has {} levels", family.levels());
        assert!(!family.answer_format().is_empty());
        for level in 1..=family.levels() {
            assert!(!family.level_description(level).is_empty());
        }
        assert!(family.generate(0, 1).is_err());
        assert!(family.generate(family.levels() + 1, 1).is_err());
    }
}

#[test]
fn generation_is_deterministic_and_ids_rebuild_the_problem() {
    for problem in every_problem() {
        let again = problem.family().generate(problem.difficulty, problem.seed).expect("valid");
        assert_eq!(problem, again);
        assert_eq!(Family::problem_from_id(&problem.id).expect("id parses"), problem);
        let json = serde_json::to_string(&problem).expect("serializes");
        let back: Problem = serde_json::from_str(&json).expect("deserializes");
        assert_eq!(back, problem);
    }
}

#[test]
fn solutions_are_deterministic_for_a_seed() {
    for problem in every_problem().step_by(7) {
        let a = problem.solve(&mut Rng::seed_from_u64(3), 0.3);
        let b = problem.solve(&mut Rng::seed_from_u64(3), 0.3);
        assert_eq!(a, b);
    }
}

#[test]
fn the_solver_answer_verifies_and_clean_traces_have_no_mistakes() {
    for problem in every_problem() {
        let solution = problem.solve(&mut Rng::seed_from_u64(problem.seed), 0.0);
        let completion = solution.completion();
        let verdict = problem.verify(&completion);
        assert!(verdict.is_correct(), "{}: {}\n{completion}", problem.id, verdict.reason);
        assert_eq!(solution.mistakes, 0);
        assert_eq!(solution.answer, problem.answer, "{}", problem.id);
        assert!(problem.verify(&problem.answer).is_correct(), "{}", problem.id);
        assert_eq!(thinking_text(&completion), solution.thinking.trim());
        // Regression: count's "a couch: furniture, not an animal" read as a self-correction.
        let seen = ponder_tasks::extract::self_corrections(&solution.thinking);
        assert_eq!(seen, 0, "{}: the detector sees {seen} self-correction(s) in\n{}", problem.id, solution.thinking);
    }
}

#[test]
fn mistakes_are_always_corrected_before_the_answer() {
    for problem in every_problem() {
        let solution = problem.solve(&mut Rng::seed_from_u64(problem.seed ^ 0xbad), 1.0);
        assert!(solution.mistakes > 0, "{} made no mistake at rate 1", problem.id);
        let completion = solution.completion();
        assert!(problem.verify(&completion).is_correct(), "{}\n{completion}", problem.id);
        let corrections =
            solution.thinking.lines().filter(|line| CORRECTION_CUES.iter().any(|cue| line.starts_with(cue))).count();
        assert!(
            corrections >= solution.mistakes as usize,
            "{}: {} mistakes, {corrections} corrections",
            problem.id,
            solution.mistakes
        );
        // The thinking does not end on a correction cue: the right step follows it.
        let last = solution.thinking.lines().last().unwrap_or_default();
        assert!(!CORRECTION_CUES.iter().any(|cue| last.starts_with(cue)), "{}", problem.id);
    }
}

#[test]
fn perturbed_and_missing_answers_are_rejected() {
    for problem in every_problem() {
        let right = &problem.answer;
        for wrong in perturbations(right) {
            if wrong == *right {
                continue;
            }
            let verdict = problem.verify(&format!("<think>\nhmm\n</think>\n{wrong}"));
            // A perturbation can by chance be another valid answer (e.g. another countdown
            // expression); then it must really be valid, which the family tests check.
            if verdict.is_correct() {
                assert!(
                    matches!(problem.family(), Family::Countdown),
                    "{}: {wrong:?} accepted for {right:?}",
                    problem.id
                );
            }
        }
        assert_eq!(problem.verify(&format!("<think>{right}")).outcome, Outcome::Unparsable, "{}", problem.id);
        assert_eq!(problem.verify("<think>x</think>").outcome, Outcome::Unparsable);
        assert_ne!(problem.verify("<think>x</think>\nbanana").outcome, Outcome::Correct);
    }
}

/// Small edits of a right answer: each digit or letter changed, one character dropped.
fn perturbations(answer: &str) -> Vec<String> {
    let chars: Vec<char> = answer.chars().collect();
    let mut out = Vec::new();
    for (i, &c) in chars.iter().enumerate().take(12) {
        let replacement = match c {
            '0'..='8' => char::from(c as u8 + 1),
            '9' => '1',
            'a'..='y' => char::from(c as u8 + 1),
            'z' => 'a',
            _ => continue,
        };
        let mut changed = chars.clone();
        changed[i] = replacement;
        out.push(changed.into_iter().collect());
    }
    out.push(chars[..chars.len().saturating_sub(1)].iter().collect());
    out
}

#[test]
fn canonical_forms_agree_with_the_verifier() {
    for problem in every_problem() {
        let right =
            problem.canonical_answer(&problem.answer).unwrap_or_else(|| panic!("{}: no canonical form", problem.id));
        let padded = format!("<think>\nx\n</think>\n  {}  ", problem.answer);
        assert_eq!(problem.canonical_answer(&padded).as_deref(), Some(right.as_str()), "{}", problem.id);
        for wrong in perturbations(&problem.answer) {
            let verdict = problem.verify(&wrong);
            if let (false, Some(form)) = (verdict.is_correct(), problem.canonical_answer(&wrong)) {
                assert_ne!(form, right, "{}: wrong answer {wrong:?} votes with the right one", problem.id);
            }
        }
        assert_eq!(problem.checkable_at_test_time(), matches!(problem.family(), Family::Countdown | Family::Sudoku));
    }
}

#[test]
fn the_splits_are_disjoint_and_streams_stay_in_their_split() {
    for family in Family::ALL {
        for level in 1..=family.levels() {
            let test: Vec<Problem> = family.problems(Split::Test, level, 0).expect("valid").take(20).collect();
            let train: Vec<Problem> = family.problems(Split::Train, level, 0).expect("valid").take(60).collect();
            assert!(test.iter().all(|p| Split::of_prompt(&p.prompt) == Split::Test));
            assert!(train.iter().all(|p| Split::of_prompt(&p.prompt) == Split::Train));
            for t in &test {
                assert!(train.iter().all(|p| p.prompt != t.prompt), "{} leaks into training", t.id);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn verifiers_never_panic_on_random_text(text in ".{0,200}", family in 0usize..6, level in 1u8..=3, seed in 0u64..1000) {
        let problem = Family::ALL[family].generate(level, seed).expect("valid");
        let _ = problem.verify(&text);
        let _ = problem.verify(&format!("<think>{text}</think>{text}"));
    }

    #[test]
    fn verifiers_never_panic_on_adversarial_text(
        piece in prop::sample::select(vec![
            "(", ")", "</think>", "<think>", "9999999999999999999999", "-", "*", "/", "0", " ", "\n", "=",
            ",", "÷", "×", "−", "1", "7", "a", "Z", "é", "😀", "\\boxed{", "}", "answer:", ".", "|",
        ]),
        repeat in 0usize..3000,
        family in 0usize..6,
        seed in 0u64..50,
    ) {
        let problem = Family::ALL[family].generate(Family::ALL[family].levels(), seed).expect("valid");
        let text = piece.repeat(repeat);
        let _ = problem.verify(&text);
        let _ = problem.verify(&format!("<think>x</think>{text}"));
        let _ = answer_text(&text);
    }
}
