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
//!
//! Public benchmarks loaded from files (GSM8K) live in [`bench`](mod@bench): [`bench::Benchmark`] loads,
//! prompts and grades their items under the same thinking protocol.

pub mod arithmetic;
pub mod bench;
mod blind;
pub mod drill;
mod english;
pub mod extract;
pub mod families;
mod problem;
mod split;
mod trace;
mod verdict;

pub use blind::BlindGuess;
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
    /// A benchmark name that is not one of the known benchmarks.
    #[error("unknown benchmark `{0}`; expected one of: gsm8k")]
    UnknownBenchmark(String),
    /// A benchmark file that does not exist.
    #[error(
        "benchmark file `{}` does not exist; GSM8K's test split is at `../shared/data/gsm8k/test.jsonl` \
         (relative to the workspace root): pass that file, or a data directory holding `gsm8k/test.jsonl`",
        path.display()
    )]
    BenchMissing {
        /// The path that was tried.
        path: std::path::PathBuf,
    },
    /// A benchmark file that exists but could not be read.
    #[error("cannot read benchmark file `{}`: {source}; check its permissions and that it is a file", path.display())]
    BenchIo {
        /// The file.
        path: std::path::PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// A line of a benchmark file that is not the JSON object expected.
    #[error(
        "{}:{line}: not a benchmark record ({source}); each line must be one JSON object with string fields \
         `question` and `answer` — fix or remove the line, or re-download the file",
        path.display()
    )]
    BenchLine {
        /// The file.
        path: std::path::PathBuf,
        /// The 1-based line number.
        line: usize,
        /// What the JSON parser said.
        source: serde_json::Error,
    },
    /// A benchmark record whose answer has no final answer marker.
    #[error(
        "{}:{line}: the `answer` field has no final answer: it must end with `#### N` (the gold answer after \
         `#### `, e.g. `#### 18`) — fix the line or re-download the file",
        path.display()
    )]
    BenchNoGold {
        /// The file.
        path: std::path::PathBuf,
        /// The 1-based line number.
        line: usize,
    },
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
