//! PLACEHOLDER (being written): count family.
use serde::{Deserialize, Serialize};
use super::Task;
use crate::{Rng, Trace, Verdict};

/// PLACEHOLDER.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Count {}

impl Task for Count {
    const LEVELS: u8 = 3;
    const ANSWER_FORMAT: &'static str = "";
    fn level_description(_difficulty: u8) -> String { todo!() }
    fn generate(_rng: &mut Rng, _difficulty: u8) -> Self { todo!() }
    fn prompt(&self) -> String { todo!() }
    fn answer(&self) -> String { todo!() }
    fn check(&self, _answer: &str) -> Verdict { todo!() }
    fn solve(&self, _trace: &mut Trace<'_>) -> String { todo!() }
}
