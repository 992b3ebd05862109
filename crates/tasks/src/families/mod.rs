//! The six task families and what they share.

use std::fmt;
use std::str::FromStr;

use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use crate::{seed_for, Error, Problem, Result, Rng, Spec, Split, Trace, Verdict};

pub mod cipher;
pub mod count;
pub mod countdown;
pub mod letters;
pub mod sudoku;
pub mod word;

/// What every family implements on its own problem type.
pub trait Task: Sized {
    /// Difficulty levels run from 1 to `LEVELS`.
    const LEVELS: u8;
    /// How answers are written, for the documentation and `ponder tasks list`.
    const ANSWER_FORMAT: &'static str;
    /// What a difficulty level means, in a few words.
    fn level_description(difficulty: u8) -> String;
    /// A new problem at `difficulty` (already checked to be in `1..=LEVELS`).
    fn generate(rng: &mut Rng, difficulty: u8) -> Self;
    /// The question as the model sees it.
    fn prompt(&self) -> String;
    /// The reference answer, in the answer format.
    fn answer(&self) -> String;
    /// Grades an extracted answer text. Must never panic, whatever the text.
    fn check(&self, answer: &str) -> Verdict;
    /// Whether [`Task::check`] uses nothing hidden from the solver (a countdown target, the
    /// rules of Sudoku), so test-time strategies may use it to filter or pick samples.
    const CHECKABLE_AT_TEST_TIME: bool = false;
    /// The answer in a canonical form for voting: two answers that mean the same thing
    /// have the same form. `None` when nothing can be read.
    fn canonical(&self, answer: &str) -> Option<String>;
    /// Writes the thinking a careful person would write into `trace`, returns the answer.
    fn solve(&self, trace: &mut Trace<'_>) -> String;
}

/// A family of problems.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// Multi-step arithmetic stories.
    Word,
    /// Counting the items of a list, or those of one category.
    Count,
    /// Counting or locating letters in words.
    Letters,
    /// Decoding a message given one worked example.
    Cipher,
    /// Reaching a target from given numbers with + − × ÷.
    Countdown,
    /// Filling a 4×4, 6×6 or 9×9 Sudoku.
    Sudoku,
}

impl Family {
    /// All six families, in a fixed order.
    pub const ALL: [Family; 6] =
        [Family::Word, Family::Count, Family::Letters, Family::Cipher, Family::Countdown, Family::Sudoku];

    /// The family's name, as used on the command line and in ids.
    pub fn name(self) -> &'static str {
        match self {
            Family::Word => "word",
            Family::Count => "count",
            Family::Letters => "letters",
            Family::Cipher => "cipher",
            Family::Countdown => "countdown",
            Family::Sudoku => "sudoku",
        }
    }

    /// Number of difficulty levels (they run from 1).
    pub fn levels(self) -> u8 {
        match self {
            Family::Word => word::Word::LEVELS,
            Family::Count => count::Count::LEVELS,
            Family::Letters => letters::Letters::LEVELS,
            Family::Cipher => cipher::Cipher::LEVELS,
            Family::Countdown => countdown::Countdown::LEVELS,
            Family::Sudoku => sudoku::Sudoku::LEVELS,
        }
    }

    /// What a difficulty level means.
    pub fn level_description(self, difficulty: u8) -> String {
        match self {
            Family::Word => word::Word::level_description(difficulty),
            Family::Count => count::Count::level_description(difficulty),
            Family::Letters => letters::Letters::level_description(difficulty),
            Family::Cipher => cipher::Cipher::level_description(difficulty),
            Family::Countdown => countdown::Countdown::level_description(difficulty),
            Family::Sudoku => sudoku::Sudoku::level_description(difficulty),
        }
    }

    /// How answers are written.
    pub fn answer_format(self) -> &'static str {
        match self {
            Family::Word => word::Word::ANSWER_FORMAT,
            Family::Count => count::Count::ANSWER_FORMAT,
            Family::Letters => letters::Letters::ANSWER_FORMAT,
            Family::Cipher => cipher::Cipher::ANSWER_FORMAT,
            Family::Countdown => countdown::Countdown::ANSWER_FORMAT,
            Family::Sudoku => sudoku::Sudoku::ANSWER_FORMAT,
        }
    }

    /// The problem with this difficulty and seed: the same arguments always give the same
    /// problem, whose id is `FAMILY-DIFFICULTY-SEED`.
    pub fn generate(self, difficulty: u8, seed: u64) -> Result<Problem> {
        if difficulty == 0 || difficulty > self.levels() {
            return Err(Error::BadDifficulty { family: self, levels: self.levels(), got: difficulty });
        }
        let mut rng = Rng::seed_from_u64(seed_for(seed, &[self as u64, u64::from(difficulty)]));
        let spec = match self {
            Family::Word => Spec::Word(word::Word::generate(&mut rng, difficulty)),
            Family::Count => Spec::Count(count::Count::generate(&mut rng, difficulty)),
            Family::Letters => Spec::Letters(letters::Letters::generate(&mut rng, difficulty)),
            Family::Cipher => Spec::Cipher(cipher::Cipher::generate(&mut rng, difficulty)),
            Family::Countdown => Spec::Countdown(countdown::Countdown::generate(&mut rng, difficulty)),
            Family::Sudoku => Spec::Sudoku(sudoku::Sudoku::generate(&mut rng, difficulty)),
        };
        Ok(Problem::new(spec, difficulty, seed))
    }

    /// An endless stream of problems of one split, trying seeds `first_seed`,
    /// `first_seed + 1`, … and keeping those whose prompt hashes into `split`.
    pub fn problems(self, split: Split, difficulty: u8, first_seed: u64) -> Result<impl Iterator<Item = Problem>> {
        self.generate(difficulty, first_seed)?; // checks the difficulty once
        Ok((first_seed..)
            .filter_map(move |seed| self.generate(difficulty, seed).ok())
            .filter(move |p| Split::of_prompt(&p.prompt) == split))
    }

    /// Re-creates a problem from its id (`FAMILY-DIFFICULTY-SEED`).
    pub fn problem_from_id(id: &str) -> Result<Problem> {
        let bad = || Error::BadId(id.to_string());
        let mut parts = id.trim().rsplitn(3, '-');
        let seed = parts.next().and_then(|s| s.parse().ok()).ok_or_else(bad)?;
        let difficulty = parts.next().and_then(|s| s.parse().ok()).ok_or_else(bad)?;
        let family: Family = parts.next().ok_or_else(bad)?.parse()?;
        family.generate(difficulty, seed)
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Family {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Family::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| Error::UnknownFamily(s.to_string()))
    }
}
