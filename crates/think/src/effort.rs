//! Reasoning effort: `low | medium | high` (or a number of thinking tokens) as a thinking
//! budget, the way reasoning APIs expose it.

use std::str::FromStr;

use ponder_model::Budget;
use serde::{Deserialize, Serialize};

/// How hard the model may think.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effort {
    /// A short budget: quick answers, some accuracy lost on long problems.
    Low,
    /// Room for every easy and medium trace.
    Medium,
    /// No cap: the model thinks as long as it wants (up to the token limit).
    High,
    /// At most this many thinking tokens.
    Tokens(usize),
}

impl Effort {
    /// The thinking budget of this effort for the tiny reasoner (byte tokens; its solver
    /// traces are 100-700 bytes at levels 1-3, see `ponder tasks stats`):
    ///
    /// | effort | max thinking tokens |
    /// |---|---|
    /// | low | 128 |
    /// | medium | 512 |
    /// | high | no cap |
    /// | N | N |
    pub fn tiny_budget(self) -> Budget {
        let max_thinking = match self {
            Effort::Low => Some(128),
            Effort::Medium => Some(512),
            Effort::High => None,
            Effort::Tokens(n) => Some(n),
        };
        Budget { min_thinking: 0, max_thinking }
    }

    /// The thinking budget of this effort for real reasoning models (BPE tokens;
    /// DeepSeek-R1-Distill and Qwen3 think for one to several thousand tokens on math):
    ///
    /// | effort | max thinking tokens |
    /// |---|---|
    /// | low | 1,024 |
    /// | medium | 4,096 |
    /// | high | no cap |
    /// | N | N |
    pub fn pretrained_budget(self) -> Budget {
        let max_thinking = match self {
            Effort::Low => Some(1024),
            Effort::Medium => Some(4096),
            Effort::High => None,
            Effort::Tokens(n) => Some(n),
        };
        Budget { min_thinking: 0, max_thinking }
    }
}

impl FromStr for Effort {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "low" => Ok(Effort::Low),
            "medium" => Ok(Effort::Medium),
            "high" => Ok(Effort::High),
            other => other.parse::<usize>().map(Effort::Tokens).map_err(|_| {
                format!("unknown reasoning effort {s:?}: expected low, medium, high or a number of thinking tokens")
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn efforts_parse_and_map_to_budgets() {
        assert_eq!("LOW".parse::<Effort>(), Ok(Effort::Low));
        assert_eq!("300".parse::<Effort>(), Ok(Effort::Tokens(300)));
        assert!("lots".parse::<Effort>().is_err_and(|e| e.contains("low, medium, high")));
        assert_eq!(Effort::Low.tiny_budget().max_thinking, Some(128));
        assert_eq!(Effort::High.tiny_budget(), Budget::default());
        assert_eq!(Effort::Tokens(40).tiny_budget().max_thinking, Some(40));
    }
}
