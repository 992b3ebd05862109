//! Writing a thinking trace, with natural mistakes that are noticed and corrected.

use crate::Rng;
use rand::Rng as _;

/// The phrases a correction line starts with. Every mistake a [`Trace`] writes is
/// followed by a line that starts with one of these, before the trace goes on.
pub const CORRECTION_CUES: [&str; 4] = ["Wait, ", "Hmm, no: ", "Let me check that: ", "No, "];

/// A thinking trace being written, one step per line.
///
/// Solvers ask [`Trace::slip`] before a step; when it says yes they write the step with a
/// plausible error through [`Trace::mistake`], which also writes the correction right
/// after it, so a trace can never end with an uncorrected mistake.
pub struct Trace<'r> {
    text: String,
    rng: &'r mut Rng,
    mistake_rate: f64,
    mistakes: u32,
}

impl<'r> Trace<'r> {
    /// A new, empty trace; each step is wrong (then corrected) with probability `mistake_rate`.
    pub fn new(rng: &'r mut Rng, mistake_rate: f64) -> Self {
        Self { text: String::new(), rng, mistake_rate: mistake_rate.clamp(0.0, 1.0), mistakes: 0 }
    }

    /// Appends one line.
    pub fn line(&mut self, line: impl AsRef<str>) {
        self.text.push_str(line.as_ref());
        self.text.push('\n');
    }

    /// Rolls the dice for the next step: true when it should contain a mistake.
    pub fn slip(&mut self) -> bool {
        self.mistake_rate > 0.0 && self.rng.random_bool(self.mistake_rate)
    }

    /// Writes a wrong step, then the line that notices and fixes it: a correction cue
    /// followed by `fix` (e.g. `"29 × 7 is 203, not 193."`), then the right step.
    pub fn mistake(&mut self, wrong_line: impl AsRef<str>, fix: impl AsRef<str>, right_line: impl AsRef<str>) {
        self.mistakes += 1;
        self.line(wrong_line);
        let cue = CORRECTION_CUES[self.rng.random_range(0..CORRECTION_CUES.len())];
        self.line(format!("{cue}{}", fix.as_ref()));
        self.line(right_line);
    }

    /// The solver's random number generator (for choices such as which slip to make).
    pub fn rng(&mut self) -> &mut Rng {
        self.rng
    }

    /// How many mistakes (each corrected) the trace holds so far.
    pub fn mistakes(&self) -> u32 {
        self.mistakes
    }

    /// The finished text, without a trailing newline, and the number of mistakes in it.
    pub fn finish(mut self) -> (String, u32) {
        while self.text.ends_with('\n') {
            self.text.pop();
        }
        (self.text, self.mistakes)
    }
}

/// A plausible arithmetic slip for `correct`: off by one, off by ten, or two digits
/// swapped; never equal to `correct`, never negative when `correct` is not.
pub fn slip_number(rng: &mut Rng, correct: i64) -> i64 {
    let swapped = {
        let digits: Vec<char> = correct.abs().to_string().chars().collect();
        if digits.len() >= 2 {
            let i = rng.random_range(0..digits.len() - 1);
            let mut d = digits.clone();
            d.swap(i, i + 1);
            let s: String = d.into_iter().collect();
            s.parse::<i64>().ok().map(|v| v * correct.signum())
        } else {
            None
        }
    };
    let candidates =
        [correct + 1, correct - 1, correct + 10, correct - 10, correct + 2, swapped.unwrap_or(correct + 1)];
    loop {
        let v = candidates[rng.random_range(0..candidates.len())];
        if v != correct && (correct < 0 || v >= 0) {
            return v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn slips_differ_from_the_truth() {
        let mut rng = Rng::seed_from_u64(1);
        for correct in [0, 1, 7, 10, 55, 193, 1000, -4] {
            for _ in 0..50 {
                let v = slip_number(&mut rng, correct);
                assert_ne!(v, correct);
                assert!(correct < 0 || v >= 0);
            }
        }
    }

    #[test]
    fn a_mistake_is_followed_by_its_correction() {
        let mut rng = Rng::seed_from_u64(2);
        let mut trace = Trace::new(&mut rng, 1.0);
        assert!(trace.slip());
        trace.mistake("29 × 7 = 193", "29 × 7 is 203, not 193.", "29 × 7 = 203");
        let (text, mistakes) = trace.finish();
        assert_eq!(mistakes, 1);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "29 × 7 = 193");
        assert!(CORRECTION_CUES.iter().any(|c| lines[1].starts_with(c)));
        assert_eq!(lines[2], "29 × 7 = 203");
    }
}
