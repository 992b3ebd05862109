//! The grade of one completion.

use serde::{Deserialize, Serialize};

/// What happened when a completion was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The answer is right.
    Correct,
    /// An answer was found and it is wrong.
    Wrong,
    /// No answer could be read (missing, thinking never closed, malformed).
    Unparsable,
    /// Checking ran out of time (code tasks, run in the sandbox).
    TimedOut,
}

/// The grade of one completion: an outcome, a scalar reward and a human-readable reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// What happened.
    pub outcome: Outcome,
    /// 1.0 for a correct answer, 0.0 otherwise (RL adds its own shaping terms on top).
    pub reward: f32,
    /// Why, in words: what was expected and what was read.
    pub reason: String,
}

impl Verdict {
    /// A correct answer.
    pub fn correct(reason: impl Into<String>) -> Self {
        Self { outcome: Outcome::Correct, reward: 1.0, reason: reason.into() }
    }
    /// A readable but wrong answer.
    pub fn wrong(reason: impl Into<String>) -> Self {
        Self { outcome: Outcome::Wrong, reward: 0.0, reason: reason.into() }
    }
    /// No answer could be read.
    pub fn unparsable(reason: impl Into<String>) -> Self {
        Self { outcome: Outcome::Unparsable, reward: 0.0, reason: reason.into() }
    }
    /// Correct when `ok`, wrong otherwise, with the same reason.
    pub fn judge(ok: bool, reason: impl Into<String>) -> Self {
        if ok {
            Self::correct(reason)
        } else {
            Self::wrong(reason)
        }
    }
    /// Whether the answer was right.
    pub fn is_correct(&self) -> bool {
        self.outcome == Outcome::Correct
    }
}
