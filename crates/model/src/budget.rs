//! Thinking budgets enforced inside the sampling loop (budget forcing, as in s1:
//! Muennighoff et al. 2025).
//!
//! * At `max_thinking` thinking tokens the engine closes the block itself (`</think>`,
//!   then an answer cue) and lets the model answer.
//! * Before `min_thinking`, an early `</think>` is replaced by a continuation cue
//!   ("Wait,") and the model keeps thinking.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

/// Limits on the number of thinking tokens (those between `<think>` and `</think>`).
/// The default forces nothing: the model thinks as long as it wants.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Budget {
    /// Replace an earlier `</think>` by a continuation cue until this many thinking tokens.
    pub min_thinking: usize,
    /// Close the thinking block after this many thinking tokens (`None`: no limit).
    pub max_thinking: Option<usize>,
}

impl Budget {
    /// Whether this budget ever changes what the model emits.
    pub fn is_active(&self) -> bool {
        self.min_thinking > 0 || self.max_thinking.is_some()
    }
}

/// The tokens a budget uses, from the model's tokenizer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetTokens {
    /// `<think>`.
    pub open: u32,
    /// `</think>`.
    pub close: u32,
    /// Emitted after a forced `</think>`, to cue the answer (e.g. a newline).
    pub answer_cue: Vec<u32>,
    /// Emitted instead of an early `</think>` (e.g. "\nWait,").
    pub continue_cue: Vec<u32>,
}

/// Where a sequence is in the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Thinking,
    Answering,
}

/// The budget state of one sequence, fed every chosen token.
#[derive(Debug, Clone)]
pub struct BudgetState {
    budget: Budget,
    phase: Phase,
    thinking: usize,
    forced: VecDeque<u32>,
    /// The block was closed by the budget, not by the model.
    pub closed_by_budget: bool,
    /// How many early `</think>` were replaced by the continuation cue.
    pub extensions: usize,
}

impl BudgetState {
    /// A sequence about to start. When the budget is active and the prompt has not already
    /// opened the thinking block (`opened`), the engine opens it (the first token is forced
    /// to `<think>`).
    pub fn new(budget: Budget, tokens: &BudgetTokens, opened: bool) -> Self {
        let mut forced = VecDeque::new();
        if budget.is_active() && !opened {
            forced.push_back(tokens.open);
        }
        Self { budget, phase: Phase::Thinking, thinking: 0, forced, closed_by_budget: false, extensions: 0 }
    }

    /// The token the engine must emit next instead of sampling, if any.
    pub fn forced(&mut self) -> Option<u32> {
        self.forced.pop_front()
    }

    /// Takes the chosen (sampled or forced) token and returns the token to emit: the same,
    /// or the first token of the continuation cue when the model closed its thinking early.
    pub fn emit(&mut self, token: u32, tokens: &BudgetTokens) -> u32 {
        if self.phase == Phase::Answering || token == tokens.open {
            return token;
        }
        if token == tokens.close {
            if self.thinking < self.budget.min_thinking && !tokens.continue_cue.is_empty() {
                self.extensions += 1;
                self.forced.extend(tokens.continue_cue[1..].iter().copied());
                self.thinking += 1;
                return tokens.continue_cue[0];
            }
            self.phase = Phase::Answering;
            return token;
        }
        self.thinking += 1;
        if self.budget.max_thinking.is_some_and(|max| self.thinking >= max) {
            // Out of budget: close the block (cutting a continuation cue short) and cue the answer.
            self.closed_by_budget = true;
            self.phase = Phase::Answering;
            self.forced.clear();
            self.forced.push_back(tokens.close);
            self.forced.extend(tokens.answer_cue.iter().copied());
        }
        token
    }

    /// Thinking tokens emitted so far.
    pub fn thinking_tokens(&self) -> usize {
        self.thinking
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPEN: u32 = 100;
    const CLOSE: u32 = 101;

    fn tokens() -> BudgetTokens {
        BudgetTokens { open: OPEN, close: CLOSE, answer_cue: vec![10], continue_cue: vec![87, 97] }
    }

    /// Feeds `model` (what the model would sample at each step) through the state and
    /// returns what is emitted.
    fn run(budget: Budget, model: impl Fn(usize) -> u32, steps: usize) -> (Vec<u32>, BudgetState) {
        let t = tokens();
        let mut state = BudgetState::new(budget, &t, false);
        let mut out = Vec::new();
        for step in 0..steps {
            let chosen = state.forced().unwrap_or_else(|| model(step));
            out.push(state.emit(chosen, &t));
        }
        (out, state)
    }

    #[test]
    fn the_block_is_closed_at_the_maximum_and_an_answer_follows() {
        let budget = Budget { min_thinking: 0, max_thinking: Some(4) };
        let (out, state) = run(budget, |_| 7, 10);
        assert_eq!(out, vec![OPEN, 7, 7, 7, 7, CLOSE, 10, 7, 7, 7]);
        assert!(state.closed_by_budget);
        assert_eq!(state.thinking_tokens(), 4);
    }

    #[test]
    fn an_early_close_becomes_wait_until_the_minimum() {
        let budget = Budget { min_thinking: 5, max_thinking: None };
        // The model tries to close after one thinking token, every time.
        let (out, state) = run(budget, |step| if step % 2 == 0 { 7 } else { CLOSE }, 12);
        let closes = out.iter().position(|&t| t == CLOSE).expect("closed eventually");
        let thinking = out[1..closes].len();
        assert!(thinking >= 5, "{out:?}");
        assert!(state.extensions >= 1);
        assert!(!state.closed_by_budget);
        assert_eq!(&out[1..3], &[87, 97], "the continuation cue replaces </think>");
    }

    #[test]
    fn no_budget_changes_nothing() {
        let (out, state) = run(Budget::default(), |step| [OPEN, 7, CLOSE, 9][step % 4], 8);
        assert_eq!(out, vec![OPEN, 7, CLOSE, 9, 100, 7, 101, 9]);
        assert_eq!(state.extensions, 0);
    }

    #[test]
    fn the_maximum_is_never_exceeded_whatever_the_model_does() {
        for max in 1..12 {
            for seed in 0..20u32 {
                let model = |step: usize| [7, CLOSE, 8, OPEN, 9][(((step as u32 * 2654435761u32) ^ seed) % 5) as usize];
                let budget = Budget { min_thinking: max / 2, max_thinking: Some(max) };
                let (out, _) = run(budget, model, 40);
                let close = out.iter().position(|&t| t == CLOSE).expect("always closes");
                let thinking = out[1..close].iter().filter(|&&t| t != OPEN).count();
                assert!(thinking <= max, "max {max}: {thinking} thinking tokens in {out:?}");
            }
        }
    }
}
