//! Verifiable reasoning tasks for ponder.
//!
//! A *family* (word problems, counting, letters, ciphers, countdown, sudoku) generates
//! [`Problem`]s from a seed and a difficulty level, writes the thinking trace a careful
//! person would write ([`Problem::solve`]), and grades any completion text
//! ([`Problem::verify`]) into a [`Verdict`]. Completions follow the thinking protocol:
//! `<think>` trace `</think>` answer; only the text after the last `</think>` is graded.
//!
//! Everything is deterministic for a seed, and problems fall into a training or a
//! held-out [`Split`] by a hash of their prompt text, so evaluation never sees a
//! training prompt.

pub mod arithmetic;
mod english;
pub mod extract;
pub mod families;
mod problem;
mod split;
mod trace;
mod verdict;

pub use families::Family;
pub use problem::{Problem, Solution, Spec};
pub use split::{fnv1a, seed_for, Split};
pub use trace::{slip_number, Trace, CORRECTION_CUES};
pub use verdict::{Outcome, Verdict};

/// The seeded random number generator every generator and solver takes.
pub type Rng = rand_chacha::ChaCha8Rng;

/// Everything that can go wrong in this crate (a wrong answer is a [`Verdict`], not an error).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A family name that is not one of the six.
    #[error("unknown task family `{0}`; expected one of: word, count, letters, cipher, countdown, sudoku")]
    UnknownFamily(String),
    /// A difficulty outside the family's levels.
    #[error("family `{family}` has difficulty levels 1..={levels}, got {got}")]
    BadDifficulty {
        /// The family asked for.
        family: Family,
        /// How many levels it has.
        levels: u8,
        /// The level requested.
        got: u8,
    },
    /// A problem id that does not have the form `FAMILY-DIFFICULTY-SEED`.
    #[error("malformed problem id `{0}`: expected FAMILY-DIFFICULTY-SEED, e.g. `word-2-17`")]
    BadId(String),
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
