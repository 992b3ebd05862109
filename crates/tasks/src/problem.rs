//! One problem, and one solution to it.

use serde::{Deserialize, Serialize};

use crate::extract::{answer_text, THINK_CLOSE, THINK_OPEN};
use crate::families::{cipher, count, countdown, letters, sudoku, word, Family, Task};
use crate::{Rng, Trace, Verdict};

/// The family-specific data of a problem: everything needed to state, solve and check it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "family", rename_all = "snake_case")]
pub enum Spec {
    /// A multi-step arithmetic story.
    Word(word::Word),
    /// Counting items in a list.
    Count(count::Count),
    /// Counting or locating letters in words.
    Letters(letters::Letters),
    /// Decoding a message from one worked example.
    Cipher(cipher::Cipher),
    /// Reaching a target with + − × ÷.
    Countdown(countdown::Countdown),
    /// Filling a Sudoku grid.
    Sudoku(sudoku::Sudoku),
}

/// Calls the same [`Task`] method on whichever family a [`Spec`] holds.
macro_rules! each_family {
    ($spec:expr, $s:ident => $body:expr) => {
        match $spec {
            Spec::Word($s) => $body,
            Spec::Count($s) => $body,
            Spec::Letters($s) => $body,
            Spec::Cipher($s) => $body,
            Spec::Countdown($s) => $body,
            Spec::Sudoku($s) => $body,
        }
    };
}

impl Spec {
    /// The family this problem belongs to.
    pub fn family(&self) -> Family {
        match self {
            Spec::Word(_) => Family::Word,
            Spec::Count(_) => Family::Count,
            Spec::Letters(_) => Family::Letters,
            Spec::Cipher(_) => Family::Cipher,
            Spec::Countdown(_) => Family::Countdown,
            Spec::Sudoku(_) => Family::Sudoku,
        }
    }
    /// The question as the model sees it.
    pub fn prompt(&self) -> String {
        each_family!(self, s => s.prompt())
    }
    /// The reference answer, in the family's answer format.
    pub fn answer(&self) -> String {
        each_family!(self, s => s.answer())
    }
    /// Grades an already extracted answer text.
    pub fn check(&self, answer: &str) -> Verdict {
        each_family!(self, s => s.check(answer))
    }
    /// Writes the solver's thinking into `trace` and returns its answer.
    pub fn solve(&self, trace: &mut Trace<'_>) -> String {
        each_family!(self, s => s.solve(trace))
    }
    /// The canonical form of an extracted answer (for voting).
    pub fn canonical(&self, answer: &str) -> Option<String> {
        each_family!(self, s => s.canonical(answer))
    }
    /// Whether the verifier uses nothing hidden, so it may be used at test time.
    pub fn checkable_at_test_time(&self) -> bool {
        fn of<T: Task>(_: &T) -> bool {
            T::CHECKABLE_AT_TEST_TIME
        }
        each_family!(self, s => of(s))
    }
}

/// One generated problem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    /// `FAMILY-DIFFICULTY-SEED`: enough to generate the same problem again.
    pub id: String,
    /// Difficulty level, from 1 (easiest) to the family's number of levels.
    pub difficulty: u8,
    /// The seed it was generated from.
    pub seed: u64,
    /// The question as the model sees it.
    pub prompt: String,
    /// The reference answer, in the family's answer format.
    pub answer: String,
    /// The family-specific data.
    pub spec: Spec,
}

impl Problem {
    /// Wraps a family's problem data, filling in id, prompt and reference answer.
    pub fn new(spec: Spec, difficulty: u8, seed: u64) -> Self {
        Self {
            id: format!("{}-{difficulty}-{seed}", spec.family()),
            difficulty,
            seed,
            prompt: spec.prompt(),
            answer: spec.answer(),
            spec,
        }
    }

    /// The family this problem belongs to.
    pub fn family(&self) -> Family {
        self.spec.family()
    }

    /// Grades any completion text: the answer is read after the last `</think>` (or the
    /// whole text when there are no thinking tags). Never panics; a missing or malformed
    /// answer is an unparsable verdict.
    pub fn verify(&self, completion: &str) -> Verdict {
        match answer_text(completion) {
            Ok(answer) => self.spec.check(answer),
            Err(why) => Verdict::unparsable(why),
        }
    }

    /// Whether the verifier uses nothing hidden (countdown, sudoku), so test-time
    /// strategies may use it to filter or pick samples.
    pub fn checkable_at_test_time(&self) -> bool {
        self.spec.checkable_at_test_time()
    }

    /// The canonical form of a completion's answer, for voting; `None` when it has none.
    pub fn canonical_answer(&self, completion: &str) -> Option<String> {
        answer_text(completion).ok().and_then(|a| self.spec.canonical(a))
    }

    /// The solver's worked solution. Each step is wrong (and then corrected in words) with
    /// probability `mistake_rate`; use 0 for evaluation data.
    pub fn solve(&self, rng: &mut Rng, mistake_rate: f64) -> Solution {
        let mut trace = Trace::new(rng, mistake_rate);
        let answer = self.spec.solve(&mut trace);
        let (thinking, mistakes) = trace.finish();
        Solution { thinking, answer, mistakes }
    }
}

/// A worked solution: the thinking trace and the final answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Solution {
    /// The thinking, one step per line, without the tags.
    pub thinking: String,
    /// The final answer, in the family's answer format.
    pub answer: String,
    /// How many mistakes the thinking makes (each one noticed and corrected).
    pub mistakes: u32,
}

impl Solution {
    /// The completion text in the thinking protocol: `<think>\n…\n</think>\nanswer`.
    pub fn completion(&self) -> String {
        format!("{THINK_OPEN}\n{}\n{THINK_CLOSE}\n{}", self.thinking, self.answer)
    }
}
