//! Blind guessing: how far answers that ignore the problem get on a level.
//!
//! A policy can raise held-out accuracy without reasoning by learning which answers are
//! common. RL from the 2-layer nano reasoner did exactly that: it answered `e` to every
//! letter-position question and `2` to every letter count, and letters level 2 rose from
//! 17% to 47% while the model still misspelled every word. The blind baseline says how
//! much of a score such guessing explains: per question form (the prompt's first word, so
//! "How many …" and "Which letter …" are told apart), the answer that is right most often
//! on training problems of that form, scored on the problems given.

use std::collections::{BTreeMap, HashMap};

use crate::{Family, Outcome, Problem, Result, Split};

/// Training problems the guesser is fitted on.
const TRAIN_PROBLEMS: usize = 1000;
/// The most frequent reference answers of a form tried as its guess.
const CANDIDATES: usize = 10;
/// Fewest training problems a form needs to get its own guess.
const MIN_FORM: usize = 30;

/// The blind guesser of one family and level.
#[derive(Debug, Clone, PartialEq)]
pub struct BlindGuess {
    by_form: BTreeMap<String, String>,
    fallback: String,
}

impl BlindGuess {
    /// Fits the guesser on the level's first training problems.
    pub fn fit(family: Family, level: u8) -> Result<Self> {
        let train: Vec<Problem> = family.problems(Split::Train, level, 0)?.take(TRAIN_PROBLEMS).collect();
        let mut forms: BTreeMap<String, Vec<&Problem>> = BTreeMap::new();
        for problem in &train {
            forms.entry(form(&problem.prompt)).or_default().push(problem);
        }
        let by_form = forms
            .into_iter()
            .filter(|(_, problems)| problems.len() >= MIN_FORM)
            .map(|(form, problems)| (form, best_answer(&problems)))
            .collect();
        Ok(Self { by_form, fallback: best_answer(&train.iter().collect::<Vec<_>>()) })
    }

    /// The guess for a prompt: its form's answer, or the level's.
    pub fn answer(&self, prompt: &str) -> &str {
        self.by_form.get(&form(prompt)).unwrap_or(&self.fallback)
    }

    /// The share of `problems` the guesses get right.
    pub fn accuracy(&self, problems: &[Problem]) -> f64 {
        let right = problems.iter().filter(|p| is_right(p, self.answer(&p.prompt))).count();
        right as f64 / problems.len().max(1) as f64
    }
}

/// Whether `answer` solves `problem`, by the family's own verifier.
fn is_right(problem: &Problem, answer: &str) -> bool {
    problem.spec.check(answer).outcome == Outcome::Correct
}

/// A prompt's question form: its first word, lowercased.
fn form(prompt: &str) -> String {
    prompt.split_whitespace().next().unwrap_or("").to_lowercase()
}

/// Of the most frequent reference answers, the one right on the most of `problems` when
/// given to all of them (ties: the more frequent answer).
fn best_answer(problems: &[&Problem]) -> String {
    let mut frequency: HashMap<&str, usize> = HashMap::new();
    for problem in problems {
        *frequency.entry(problem.answer.as_str()).or_default() += 1;
    }
    let mut common: Vec<(&str, usize)> = frequency.into_iter().collect();
    common.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let right = |answer: &str| problems.iter().filter(|p| is_right(p, answer)).count();
    // `max_by_key` keeps the last of equal keys, so walk from the least frequent up.
    common[..common.len().min(CANDIDATES)]
        .iter()
        .rev()
        .max_by_key(|(answer, _)| right(answer))
        .map_or_else(String::new, |(answer, _)| answer.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heldout(family: Family, level: u8) -> Vec<Problem> {
        family.problems(Split::Test, level, 0).expect("level").take(200).collect()
    }

    #[test]
    fn letter_counts_and_positions_get_their_own_guesses() {
        let guess = BlindGuess::fit(Family::Letters, 2).expect("fit");
        assert_eq!(guess.answer("How many s's are in \"mississippi\"?"), "2");
        let position = guess.answer("Which letter is 5th in the word \"minimize\"?");
        assert_eq!(position.len(), 1);
        assert!(position.chars().all(|c| c.is_ascii_lowercase()), "{position}");
        // Level 2 favours repeated letters, so blind guessing scores far above zero.
        let accuracy = guess.accuracy(&heldout(Family::Letters, 2));
        assert!((0.25..0.6).contains(&accuracy), "{accuracy}");
    }

    #[test]
    fn levels_with_unique_answers_cannot_be_guessed() {
        for family in [Family::Sudoku, Family::Cipher] {
            let guess = BlindGuess::fit(family, 1).expect("fit");
            assert_eq!(guess.accuracy(&heldout(family, 1)), 0.0, "{family}");
        }
    }

    #[test]
    fn the_guess_is_the_answer_right_most_often() {
        let problems: Vec<Problem> = Family::Count.problems(Split::Train, 1, 0).expect("level").take(300).collect();
        let refs: Vec<&Problem> = problems.iter().collect();
        let best = best_answer(&refs);
        let right = |a: &str| problems.iter().filter(|p| is_right(p, a)).count();
        for other in ["1", "2", "3", "4", "5"] {
            assert!(right(&best) >= right(other), "{best} vs {other}");
        }
        assert_eq!(form("  How many  "), "how");
    }
}
