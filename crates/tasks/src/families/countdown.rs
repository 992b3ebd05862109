//! Countdown: reach a target number from a few given numbers with + − × ÷.
//!
//! Every problem is generated from a random expression over (some of) its numbers, with
//! positive whole intermediate results, so it is solvable; the generator keeps it only
//! when the solver's bounded search finds a way too, and that way is the reference
//! answer. The target is never one of the numbers, nor one operation away.
//!
//! The solver is a depth-first search in the style of *Stream of Search* (Gandhi et al.
//! 2024). At each node it orders the moves by promise (with five or more numbers: how
//! close one more operation could then get to the target; then how close the closest
//! number left is), tries only the first few (the beam), writes every move it makes and
//! its result, combines the last two numbers every way on one line, says when a branch
//! is a dead end and backs up. A cap on the number of tries keeps traces to a few KB.
//!
//! Answers are checked by parsing the expression, checking that it uses only the given
//! numbers (each at most once) and evaluating it exactly with rationals.

use std::collections::HashSet;
use std::fmt;

use rand::seq::SliceRandom;
use rand::Rng as _;
use serde::{Deserialize, Serialize};

use super::Task;
use crate::{slip_number, Rng, Trace, Verdict};

/// One countdown problem: make `target` from `numbers`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Countdown {
    /// The numbers that may be used, each at most once, largest first.
    pub numbers: Vec<i64>,
    /// The number to make.
    pub target: i64,
    /// A way to make the target: the expression the solver finds.
    pub solution: String,
}

/// What a difficulty level draws.
struct Level {
    /// How many numbers are given.
    count: usize,
    /// How many of them are large (25, 50, 75, 100); the rest are small.
    large: (usize, usize),
    /// Small numbers are drawn from `1..=small_max`, at most twice each.
    small_max: i64,
    /// The range the target lies in.
    targets: (i64, i64),
    /// How many of the given numbers the generating expression uses, at least.
    min_used: usize,
}

fn level(difficulty: u8) -> Level {
    match difficulty {
        0 | 1 => Level { count: 3, large: (0, 0), small_max: 25, targets: (10, 100), min_used: 3 },
        2 => Level { count: 4, large: (0, 1), small_max: 10, targets: (10, 200), min_used: 3 },
        3 => Level { count: 5, large: (1, 2), small_max: 10, targets: (50, 500), min_used: 3 },
        _ => Level { count: 6, large: (1, 2), small_max: 10, targets: (100, 999), min_used: 4 },
    }
}

/// How far the search goes for a problem with `count` numbers.
#[derive(Debug, Clone, Copy)]
struct Limits {
    /// How many moves it tries at a node holding 3, 4, 5, 6 numbers (the beam).
    beam: [usize; 4],
    /// How many tries (a move, or the last two numbers combined every way) in all.
    tries: usize,
}

fn limits(count: usize) -> Limits {
    match count {
        0..=3 => Limits { beam: [usize::MAX; 4], tries: usize::MAX },
        4 => Limits { beam: [4, 4, 0, 0], tries: 30 },
        5 => Limits { beam: [3, 3, 3, 0], tries: 50 },
        _ => Limits { beam: [3, 3, 2, 2], tries: 70 },
    }
}

impl Limits {
    fn beam(&self, size: usize) -> usize {
        self.beam.get(size.saturating_sub(3)).copied().unwrap_or(usize::MAX)
    }
}

/// The large numbers of the game.
const LARGE: [i64; 4] = [25, 50, 75, 100];

impl Task for Countdown {
    const LEVELS: u8 = 4;
    const CHECKABLE_AT_TEST_TIME: bool = true;
    const ANSWER_FORMAT: &'static str = "an arithmetic expression over the given numbers, each used at most once, \
         with + - * / and brackets, e.g. `(25 - 5) * 4`; an `= 80` suffix is allowed, and x, ×, ÷ and − are read too";

    fn level_description(difficulty: u8) -> String {
        let l = level(difficulty);
        let numbers = if l.large.1 == 0 {
            format!("{} numbers from 1-{}", l.count, l.small_max)
        } else {
            let large =
                if l.large.0 == l.large.1 { format!("{}", l.large.0) } else { format!("{}-{}", l.large.0, l.large.1) };
            format!("{} numbers ({large} of 25/50/75/100, the rest 1-{})", l.count, l.small_max)
        };
        format!("{numbers}, targets {}-{}", l.targets.0, l.targets.1)
    }

    fn generate(rng: &mut Rng, difficulty: u8) -> Self {
        let l = level(difficulty);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let numbers = draw_numbers(rng, &l);
            if attempt > 1000 {
                // Never reached in practice: a sum of the two largest numbers is found at once.
                let target = numbers[0] + numbers[1];
                let solution = Search::new(target, limits(numbers.len()), None)
                    .run(&numbers)
                    .map_or_else(|| format!("{} + {}", numbers[0], numbers[1]), |found| found.text);
                return Self { numbers, target, solution };
            }
            let Some(target) = random_target(rng, &numbers, &l) else { continue };
            if let Some(found) = Search::new(target, limits(numbers.len()), None).run(&numbers) {
                return Self { numbers, target, solution: found.text };
            }
        }
    }

    fn prompt(&self) -> String {
        format!(
            "Using the numbers {}, make {}. You may use + - * / and each number at most once \
             (not all need be used). Answer with an expression.",
            join(&self.numbers),
            self.target
        )
    }

    fn answer(&self) -> String {
        self.solution.clone()
    }

    fn check(&self, answer: &str) -> Verdict {
        check_expression(answer, &self.numbers, self.target)
    }

    fn canonical(&self, answer: &str) -> Option<String> {
        let left = answer.split('=').next().unwrap_or_default();
        parse(left).ok()?;
        Some(left.chars().filter(|c| !c.is_whitespace()).collect())
    }

    fn solve(&self, trace: &mut Trace<'_>) -> String {
        trace.line(format!("Numbers: {}. Target: {}.", join(&self.numbers), self.target));
        if self.numbers.contains(&self.target) {
            trace.line(format!("{} is one of the numbers already.", self.target));
            return self.target.to_string();
        }
        let target = self.target;
        let mut search = Search::new(target, limits(self.numbers.len()), Some(trace));
        let found = search.run(&self.numbers);
        let closest = search.closest.take();
        match (found, closest) {
            (Some(found), _) => {
                trace.line(format!("So {} = {target}.", found.text));
                found.text
            }
            (None, Some(best)) => {
                trace.line(format!("No way to make {target} found. The closest is {} = {}.", best.text, best.value));
                best.text
            }
            (None, None) => {
                trace.line(format!("No way to make {target} found."));
                join(&self.numbers)
            }
        }
    }
}

/// The numbers as the prompt and trace write them: `25, 5, 4`.
fn join(numbers: &[i64]) -> String {
    numbers.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
}

/// Draws the level's numbers, largest first.
fn draw_numbers(rng: &mut Rng, l: &Level) -> Vec<i64> {
    let large = rng.random_range(l.large.0..=l.large.1);
    let mut pool = LARGE.to_vec();
    pool.shuffle(rng);
    let mut numbers: Vec<i64> = pool.into_iter().take(large).collect();
    while numbers.len() < l.count {
        let n = rng.random_range(1..=l.small_max);
        if numbers.iter().filter(|&&m| m == n).count() < 2 {
            numbers.push(n);
        }
    }
    numbers.sort_unstable_by(|a, b| b.cmp(a));
    numbers
}

/// A target made by a random expression over a random subset of `numbers` with positive
/// integer intermediate results, or `None` when this draw is out of range or trivial.
fn random_target(rng: &mut Rng, numbers: &[i64], l: &Level) -> Option<i64> {
    let used = rng.random_range(l.min_used..=numbers.len());
    let mut items = numbers.to_vec();
    items.shuffle(rng);
    items.truncate(used);
    while items.len() > 1 {
        let i = rng.random_range(0..items.len());
        let a = items.swap_remove(i);
        let j = rng.random_range(0..items.len());
        let b = items.swap_remove(j);
        let (a, b) = if a >= b { (a, b) } else { (b, a) };
        let results: Vec<i64> = Op::ALL.iter().filter_map(|op| op.apply(a, b)).collect();
        let r = *results.get(rng.random_range(0..results.len().max(1)))?;
        items.push(r);
    }
    let target = items.first().copied()?;
    let in_range = (l.targets.0..=l.targets.1).contains(&target);
    // Not one of the numbers, and not a single operation away.
    let trivial = numbers.contains(&target)
        || numbers
            .iter()
            .enumerate()
            .any(|(i, &a)| numbers[i + 1..].iter().any(|&b| Op::ALL.iter().any(|op| op.apply(a, b) == Some(target))));
    (in_range && !trivial).then_some(target)
}

/// An arithmetic operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
}

impl Op {
    const ALL: [Op; 4] = [Op::Add, Op::Sub, Op::Mul, Op::Div];

    fn symbol(self) -> char {
        match self {
            Op::Add => '+',
            Op::Sub => '-',
            Op::Mul => '*',
            Op::Div => '/',
        }
    }

    /// Binding strength: 1 for + and -, 2 for * and /.
    fn precedence(self) -> u8 {
        match self {
            Op::Add | Op::Sub => 1,
            Op::Mul | Op::Div => 2,
        }
    }

    /// `a op b` for `a >= b` under the game's rules (a positive integer result), leaving
    /// out the moves that change nothing (multiplying or dividing by 1).
    fn apply(self, a: i64, b: i64) -> Option<i64> {
        match self {
            Op::Add => a.checked_add(b),
            Op::Sub => (a > b).then(|| a.checked_sub(b)).flatten(),
            Op::Mul => (a > 1 && b > 1).then(|| a.checked_mul(b)).flatten(),
            Op::Div => (b > 1 && a % b == 0).then(|| a / b),
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.symbol())
    }
}

/// A number in the search, with the expression that made it.
#[derive(Debug, Clone)]
struct Item {
    value: i64,
    text: String,
    /// 3 for a plain number, otherwise the precedence of its last operation.
    precedence: u8,
}

impl Item {
    fn number(value: i64) -> Self {
        Self { value, text: value.to_string(), precedence: 3 }
    }

    /// `self op other` with as few brackets as keep the meaning.
    fn combine(&self, op: Op, other: &Item, value: i64) -> Item {
        let p = op.precedence();
        let left = if self.precedence < p { format!("({})", self.text) } else { self.text.clone() };
        let right_needs = other.precedence < p || (other.precedence == p && matches!(op, Op::Sub | Op::Div));
        let right = if right_needs { format!("({})", other.text) } else { other.text.clone() };
        Item { value, text: format!("{left} {op} {right}"), precedence: p }
    }
}

/// A move: combine the numbers at `i` and `j` (`i < j`, so the first is the larger).
#[derive(Debug, Clone, Copy)]
struct Move {
    i: usize,
    j: usize,
    op: Op,
    value: i64,
}

/// The state after a move: the other numbers and the result, largest first.
fn after(state: &[Item], m: Move) -> Vec<Item> {
    let made = state[m.i].combine(m.op, &state[m.j], m.value);
    let mut next: Vec<Item> =
        state.iter().enumerate().filter(|&(k, _)| k != m.i && k != m.j).map(|(_, it)| it.clone()).collect();
    let at = next.iter().position(|it| it.value < made.value).unwrap_or(next.len());
    next.insert(at, made);
    next
}

/// How close to the target one more operation on `numbers` can get.
fn one_more(numbers: &[i64], target: i64) -> u64 {
    let mut best = numbers.iter().map(|v| v.abs_diff(target)).min().unwrap_or(u64::MAX);
    for (i, &a) in numbers.iter().enumerate() {
        for &b in &numbers[i + 1..] {
            for op in Op::ALL {
                if let Some(v) = op.apply(a.max(b), a.min(b)) {
                    best = best.min(v.abs_diff(target));
                }
            }
        }
    }
    best
}

fn values(state: &[Item]) -> Vec<i64> {
    state.iter().map(|it| it.value).collect()
}

/// The depth-first search; prints what it does when it has a trace.
struct Search<'a, 'r> {
    target: i64,
    trace: Option<&'a mut Trace<'r>>,
    /// States already explored (by their numbers), so a state reached twice is skipped.
    seen: HashSet<Vec<i64>>,
    /// The number closest to the target made so far.
    closest: Option<Item>,
    limits: Limits,
    /// Tries made so far.
    tries: usize,
}

impl<'a, 'r> Search<'a, 'r> {
    fn new(target: i64, limits: Limits, trace: Option<&'a mut Trace<'r>>) -> Self {
        Self { target, trace, seen: HashSet::new(), closest: None, limits, tries: 0 }
    }

    /// Whether the search has used up its tries.
    fn exhausted(&self) -> bool {
        self.tries >= self.limits.tries
    }

    /// Searches from the given numbers (largest first); the expression found, if any.
    fn run(&mut self, numbers: &[i64]) -> Option<Item> {
        let mut state: Vec<Item> = numbers.iter().map(|&n| Item::number(n)).collect();
        state.sort_by_key(|it| std::cmp::Reverse(it.value));
        if let Some(it) = state.iter().find(|it| it.value == self.target) {
            return Some(it.clone());
        }
        if state.len() < 2 {
            return None;
        }
        let found = self.node(&state, 0);
        if found.is_none() && self.exhausted() {
            self.say(|| "That is enough tries.".to_string());
        } else if found.is_none() {
            self.say(|| "None of those work.".to_string());
        }
        found
    }

    fn say(&mut self, line: impl FnOnce() -> String) {
        if let Some(t) = self.trace.as_deref_mut() {
            t.line(line());
        }
    }

    fn note(&mut self, it: &Item) {
        let better = match &self.closest {
            None => true,
            Some(c) => it.value.abs_diff(self.target) < c.value.abs_diff(self.target),
        };
        if better {
            self.closest = Some(it.clone());
        }
    }

    /// Explores a state of two or more numbers, none of them the target.
    fn node(&mut self, state: &[Item], depth: usize) -> Option<Item> {
        if state.len() == 2 {
            return self.leaf(state, depth);
        }
        let target = self.target;
        let mut moves: Vec<(Move, Vec<i64>)> = Vec::new();
        for i in 0..state.len() {
            for j in i + 1..state.len() {
                for op in Op::ALL {
                    let Some(value) = op.apply(state[i].value, state[j].value) else { continue };
                    let m = Move { i, j, op, value };
                    let key = values(&after(state, m));
                    if !moves.iter().any(|(_, k)| *k == key) {
                        moves.push((m, key));
                    }
                }
            }
        }
        // The most promising first. With five or more numbers: the move after which one
        // more operation gets closest to the target; then (and with fewer numbers, first)
        // the move that leaves a number closest to the target; then the one whose result
        // best fills the gap left now. (With fewer numbers the look-ahead would all but
        // give the answer away, and the search there is the point.) The sort is stable,
        // so ties keep the order above.
        let gap = state.iter().map(|it| it.value.abs_diff(target)).min().unwrap_or(0);
        let look_ahead = state.len() >= 5;
        moves.sort_by_key(|(m, key)| {
            let closest = key.iter().map(|v| v.abs_diff(target)).min().unwrap_or(u64::MAX);
            let ahead = if look_ahead { one_more(key, target) } else { 0 };
            (ahead, closest, m.value.unsigned_abs().abs_diff(gap))
        });
        let indent = "  ".repeat(depth);
        let mut tried = 0;
        for (m, key) in moves {
            if tried >= self.limits.beam(state.len()) || self.exhausted() {
                break;
            }
            if !self.seen.insert(key) {
                continue;
            }
            tried += 1;
            self.tries += 1;
            let next = after(state, m);
            self.try_line(state, m, &next, &indent);
            if m.value == target {
                return next.into_iter().find(|it| it.value == target);
            }
            if let Some(made) = next.iter().find(|it| it.value == m.value) {
                let made = made.clone();
                self.note(&made);
            }
            if let Some(found) = self.node(&next, depth + 1) {
                return Some(found);
            }
        }
        if depth > 0 && !self.exhausted() {
            self.say(|| format!("{indent}Dead end, back up."));
        }
        None
    }

    /// Writes `Try a op b = r. Left: …` (or `Found it.`), maybe with a slip first.
    fn try_line(&mut self, state: &[Item], m: Move, next: &[Item], indent: &str) {
        let Some(trace) = self.trace.as_deref_mut() else { return };
        let (a, b, op, target) = (state[m.i].value, state[m.j].value, m.op, self.target);
        let line = |value: i64| {
            let rest = if value == target {
                "Found it.".to_string()
            } else {
                let mut left: Vec<i64> = values(next);
                if let Some(k) = left.iter().position(|&v| v == m.value) {
                    left.remove(k);
                }
                let at = left.iter().position(|&v| v < value).unwrap_or(left.len());
                left.insert(at, value);
                format!("Left: {}.", join(&left))
            };
            format!("{indent}Try {a} {op} {b} = {value}. {rest}")
        };
        if trace.slip() {
            let wrong = slip_number(trace.rng(), m.value);
            trace.mistake(line(wrong), format!("{a} {op} {b} is {}, not {wrong}.", m.value), line(m.value));
        } else {
            trace.line(line(m.value));
        }
    }

    /// The last two numbers: tries every operation on one line.
    fn leaf(&mut self, state: &[Item], depth: usize) -> Option<Item> {
        let (x, y) = (&state[0], &state[1]);
        let target = self.target;
        self.tries += 1;
        let mut ops: Vec<(Op, i64)> = Vec::new();
        for op in Op::ALL {
            if let Some(v) = op.apply(x.value, y.value) {
                ops.push((op, v));
                if v == target {
                    break;
                }
            }
        }
        let hit = ops.last().filter(|(_, v)| *v == target).map(|&(op, v)| x.combine(op, y, v));
        for &(op, v) in &ops {
            let made = x.combine(op, y, v);
            self.note(&made);
        }
        let Some(trace) = self.trace.as_deref_mut() else { return hit };
        let indent = "  ".repeat(depth);
        let (a, b) = (x.value, y.value);
        let line = |values: &[(Op, i64)]| {
            let mut parts = Vec::new();
            let mut found = false;
            for &(op, v) in values {
                parts.push(format!("{a} {op} {b} = {v}"));
                if v == target {
                    found = true;
                    break;
                }
            }
            let end = if found { "Found it." } else { "No." };
            format!("{indent}{}. {end}", parts.join(", "))
        };
        if !ops.is_empty() && trace.slip() {
            let k = trace.rng().random_range(0..ops.len());
            let (op, v) = ops[k];
            let wrong = slip_number(trace.rng(), v);
            let mut slipped = ops.clone();
            slipped[k].1 = wrong;
            trace.mistake(line(&slipped), format!("{a} {op} {b} is {v}, not {wrong}."), line(&ops));
        } else {
            trace.line(line(&ops));
        }
        hit
    }
}

// ---------------------------------------------------------------------------------------
// Checking an answer.

/// Grades an expression answer: parse, check the numbers used, evaluate exactly.
fn check_expression(answer: &str, numbers: &[i64], target: i64) -> Verdict {
    // `= 80` may follow the expression; the left side decides.
    let left = answer.split('=').next().unwrap_or_default();
    if left.trim().is_empty() {
        return Verdict::unparsable("no expression before '='");
    }
    let parsed = match parse(left) {
        Ok(p) => p,
        Err(why) => return Verdict::unparsable(format!("could not parse the expression: {why}")),
    };
    // Every number used must be given, each at most as often as it is given.
    let mut available = numbers.to_vec();
    for literal in &parsed.literals {
        let value = literal.parse::<i64>().ok();
        match value.and_then(|v| available.iter().position(|&n| n == v)) {
            Some(k) => {
                available.swap_remove(k);
            }
            None => {
                let shown = match value {
                    Some(v) => v.to_string(),
                    None if literal.len() > 20 => format!("{}… ({} digits)", &literal[..12], literal.len()),
                    None => literal.clone(),
                };
                let given = value.map_or(0, |v| numbers.iter().filter(|&&n| n == v).count());
                let used = parsed.literals.iter().filter(|l| l.parse::<i64>().ok() == value).count();
                return Verdict::wrong(match given {
                    0 => format!("uses {shown}, which is not among the given numbers"),
                    g => format!("uses {shown} {}, but it is given only {}", times(used), times(g)),
                });
            }
        }
    }
    match parsed.value {
        Err(EvalError::DivisionByZero) => Verdict::wrong("divides by zero"),
        Err(EvalError::Overflow) => Verdict::wrong("the value is too large to compute"),
        Ok(v) if v == Rational::integer(i128::from(target)) => {
            Verdict::correct(format!("uses only given numbers and evaluates to {target}"))
        }
        Ok(v) => Verdict::wrong(format!("evaluates to {v}, not {target}")),
    }
}

/// `once`, `twice`, `3 times`.
fn times(n: usize) -> String {
    match n {
        1 => "once".to_string(),
        2 => "twice".to_string(),
        n => format!("{n} times"),
    }
}

/// An exact rational number: `num / den`, `den > 0`, in lowest terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rational {
    num: i128,
    den: i128,
}

/// Why an expression has no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EvalError {
    DivisionByZero,
    Overflow,
}

fn gcd(a: i128, b: i128) -> u128 {
    let (mut a, mut b) = (a.unsigned_abs(), b.unsigned_abs());
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl Rational {
    fn integer(n: i128) -> Self {
        Self { num: n, den: 1 }
    }

    fn new(num: i128, den: i128) -> Result<Self, EvalError> {
        if den == 0 {
            return Err(EvalError::DivisionByZero);
        }
        let g = i128::try_from(gcd(num, den).max(1)).map_err(|_| EvalError::Overflow)?;
        let (num, den) = (num / g, den / g);
        if den < 0 {
            Ok(Self {
                num: num.checked_neg().ok_or(EvalError::Overflow)?,
                den: den.checked_neg().ok_or(EvalError::Overflow)?,
            })
        } else {
            Ok(Self { num, den })
        }
    }

    fn apply(self, op: Op, o: Self) -> Result<Self, EvalError> {
        let mul = |a: i128, b: i128| a.checked_mul(b).ok_or(EvalError::Overflow);
        match op {
            Op::Add | Op::Sub => {
                let (l, r) = (mul(self.num, o.den)?, mul(o.num, self.den)?);
                let num = if op == Op::Add { l.checked_add(r) } else { l.checked_sub(r) };
                Self::new(num.ok_or(EvalError::Overflow)?, mul(self.den, o.den)?)
            }
            Op::Mul => Self::new(mul(self.num, o.num)?, mul(self.den, o.den)?),
            Op::Div => {
                if o.num == 0 {
                    return Err(EvalError::DivisionByZero);
                }
                Self::new(mul(self.num, o.den)?, mul(self.den, o.num)?)
            }
        }
    }
}

impl fmt::Display for Rational {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.den == 1 {
            write!(f, "{}", self.num)
        } else {
            write!(f, "{}/{}", self.num, self.den)
        }
    }
}

/// A token of an answer expression.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    Number(String),
    Op(Op),
    Open,
    Close,
}

/// Splits an expression into tokens, reading the usual ways of writing the operations.
fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let text = text.replace("\\times", "*").replace("\\cdot", "*").replace("\\div", "/");
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let token = match c {
            c if c.is_whitespace() => continue,
            '0'..='9' => {
                let mut digits = String::from(c);
                while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(d);
                    chars.next();
                }
                let digits = digits.trim_start_matches('0');
                Token::Number(if digits.is_empty() { "0".to_string() } else { digits.to_string() })
            }
            '+' => Token::Op(Op::Add),
            '-' | '−' | '–' => Token::Op(Op::Sub),
            '*' | 'x' | 'X' | '×' | '·' | '⋅' | '∙' => Token::Op(Op::Mul),
            '/' | '÷' => Token::Op(Op::Div),
            '(' | '[' | '{' => Token::Open,
            ')' | ']' | '}' => Token::Close,
            other => return Err(format!("unexpected character '{other}'")),
        };
        tokens.push(token);
    }
    Ok(tokens)
}

/// A parsed expression: the number literals it uses and its exact value.
struct Parsed {
    literals: Vec<String>,
    value: Result<Rational, EvalError>,
}

/// How deeply brackets may nest before the expression is refused.
const MAX_DEPTH: usize = 64;

/// Parses (and evaluates) an expression with the usual precedence.
fn parse(text: &str) -> Result<Parsed, String> {
    let tokens = tokenize(text)?;
    let mut p = Parser { tokens: &tokens, at: 0, literals: Vec::new() };
    let value = p.expr(0)?;
    if let Some(t) = p.tokens.get(p.at) {
        return Err(match t {
            Token::Close => "a ')' without its '('".to_string(),
            _ => "something follows the end of the expression".to_string(),
        });
    }
    Ok(Parsed { literals: p.literals, value })
}

struct Parser<'t> {
    tokens: &'t [Token],
    at: usize,
    literals: Vec<String>,
}

type Value = Result<Rational, EvalError>;

impl Parser<'_> {
    fn peek_op(&self, ops: [Op; 2]) -> Option<Op> {
        match self.tokens.get(self.at) {
            Some(Token::Op(op)) if ops.contains(op) => Some(*op),
            _ => None,
        }
    }

    /// expr := term (('+' | '-') term)*
    fn expr(&mut self, depth: usize) -> Result<Value, String> {
        let mut value = self.term(depth)?;
        while let Some(op) = self.peek_op([Op::Add, Op::Sub]) {
            self.at += 1;
            let right = self.term(depth)?;
            value = value.and_then(|l| right.and_then(|r| l.apply(op, r)));
        }
        Ok(value)
    }

    /// term := factor (('*' | '/') factor)*
    fn term(&mut self, depth: usize) -> Result<Value, String> {
        let mut value = self.factor(depth)?;
        while let Some(op) = self.peek_op([Op::Mul, Op::Div]) {
            self.at += 1;
            let right = self.factor(depth)?;
            value = value.and_then(|l| right.and_then(|r| l.apply(op, r)));
        }
        Ok(value)
    }

    /// factor := number | '(' expr ')'
    fn factor(&mut self, depth: usize) -> Result<Value, String> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        match token {
            Some(Token::Number(digits)) => {
                self.literals.push(digits.clone());
                // Too long for an i128: not a given number anyway, so any value will do.
                Ok(Ok(Rational::integer(digits.parse::<i128>().unwrap_or(i128::MAX))))
            }
            Some(Token::Open) => {
                if depth >= MAX_DEPTH {
                    return Err("brackets nested too deeply".to_string());
                }
                let value = self.expr(depth + 1)?;
                match self.tokens.get(self.at) {
                    Some(Token::Close) => {
                        self.at += 1;
                        Ok(value)
                    }
                    _ => Err("a '(' is never closed".to_string()),
                }
            }
            Some(Token::Op(op)) => Err(format!("'{op}' where a number should be")),
            Some(Token::Close) => Err("')' where a number should be".to_string()),
            None => Err("the expression ends where a number should be".to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Family, Outcome, Problem};
    use rand::SeedableRng;

    fn problems(level: u8, seeds: u64) -> impl Iterator<Item = Problem> {
        (0..seeds).map(move |seed| Family::Countdown.generate(level, seed).expect("valid level"))
    }

    fn spec(p: &Problem) -> &Countdown {
        match &p.spec {
            crate::Spec::Countdown(c) => c,
            other => panic!("not a countdown problem: {other:?}"),
        }
    }

    fn example() -> Countdown {
        Countdown { numbers: vec![25, 5, 4], target: 80, solution: "(25 - 5) * 4".into() }
    }

    #[test]
    fn the_solver_answer_verifies_at_every_level() {
        for level in 1..=Countdown::LEVELS {
            for p in problems(level, 50) {
                let mut rng = Rng::seed_from_u64(p.seed);
                let s = p.solve(&mut rng, 0.0);
                assert_eq!(s.mistakes, 0);
                let v = p.verify(&s.completion());
                assert!(v.is_correct(), "{}: {} -> {v:?}\n{}", p.id, s.answer, s.thinking);
                assert_eq!(s.answer, p.answer, "{}: the trace finds the reference answer", p.id);
                assert!(s.thinking.ends_with(&format!("So {} = {}.", s.answer, spec(&p).target)));
            }
        }
    }

    #[test]
    fn mistakes_are_corrected_and_the_answer_still_verifies() {
        for level in 1..=Countdown::LEVELS {
            for p in problems(level, 50) {
                let mut rng = Rng::seed_from_u64(p.seed ^ 7);
                let s = p.solve(&mut rng, 1.0);
                assert!(s.mistakes > 0, "{}", p.id);
                assert!(p.verify(&s.completion()).is_correct(), "{}\n{}", p.id, s.thinking);
                assert_eq!(s.answer, p.answer);
            }
        }
    }

    #[test]
    fn generated_problems_are_well_formed() {
        for level in 1..=Countdown::LEVELS {
            let l = super::level(level);
            for p in problems(level, 200) {
                let c = spec(&p);
                assert_eq!(c.numbers.len(), l.count, "{}", p.id);
                assert!(!c.numbers.contains(&c.target), "{}: trivial target", p.id);
                assert!((l.targets.0..=l.targets.1).contains(&c.target), "{}", p.id);
                assert!(c.numbers.windows(2).all(|w| w[0] >= w[1]));
                assert!(c.check(&c.solution).is_correct(), "{}", p.id);
            }
        }
    }

    #[test]
    fn generation_is_deterministic() {
        for level in 1..=Countdown::LEVELS {
            for seed in 0..10 {
                let a = Family::Countdown.generate(level, seed).expect("level");
                let b = Family::Countdown.generate(level, seed).expect("level");
                assert_eq!(a, b);
                let mut r1 = Rng::seed_from_u64(3);
                let mut r2 = Rng::seed_from_u64(3);
                assert_eq!(a.solve(&mut r1, 0.3), b.solve(&mut r2, 0.3));
            }
        }
    }

    #[test]
    fn perturbed_answers_are_rejected() {
        for level in 1..=Countdown::LEVELS {
            for p in problems(level, 50) {
                let c = spec(&p);
                let answer = &c.solution;
                // A number not given.
                let foreign = (1..).find(|n| !c.numbers.contains(n)).expect("some number is not given");
                let first_number = answer.split(|ch: char| !ch.is_ascii_digit()).find(|s| !s.is_empty());
                let first_number = first_number.expect("the answer has a number");
                let changed = answer.replacen(first_number, &foreign.to_string(), 1);
                assert_eq!(c.check(&changed).outcome, Outcome::Wrong, "{changed}");
                // A number used twice (or one more time than given).
                let twice = format!("{answer} + {first_number} - {first_number}");
                let v = c.check(&twice);
                assert_eq!(v.outcome, Outcome::Wrong, "{twice}");
                // Each operator changed to another one: never silently still the target
                // unless the value really is the target.
                for (k, ch) in answer.char_indices().filter(|(_, ch)| "+-*/".contains(*ch)) {
                    for other in ['+', '-', '*', '/'].into_iter().filter(|o| *o != ch) {
                        let mut s = answer.clone();
                        s.replace_range(k..k + 1, &other.to_string());
                        let v = c.check(&s);
                        let value = parse(&s).expect("parses").value;
                        let hits = value == Ok(Rational::integer(i128::from(c.target)));
                        assert_eq!(v.is_correct(), hits, "{s}: {v:?}");
                    }
                }
                // An off-by-one target.
                assert_eq!(c.check(&format!("{answer} + 1")).outcome, Outcome::Wrong);
            }
        }
    }

    #[test]
    fn answers_are_read_tolerantly() {
        let c = example();
        for ok in [
            "(25 - 5) * 4",
            "(25 − 5) × 4 = 80",
            "(25-5)x4",
            "[25 - 5] · 4",
            "4 * (25 - 5)",
            "(25 - 5) \\times 4",
            "(25 - 5) * 4 = 81",
        ] {
            assert!(c.check(ok).is_correct(), "{ok}: {:?}", c.check(ok));
        }
        assert_eq!(c.check("25-5)*4").outcome, Outcome::Unparsable);
        assert_eq!(c.check("(25-5*4").outcome, Outcome::Unparsable);
        assert_eq!(c.check("").outcome, Outcome::Unparsable);
        assert_eq!(c.check("= 80").outcome, Outcome::Unparsable);
        assert_eq!(c.check("twenty").outcome, Outcome::Unparsable);
        assert_eq!(c.check("-5 + 85").outcome, Outcome::Unparsable);
        assert_eq!(c.check("2(25 - 5)").outcome, Outcome::Unparsable);
        let v = c.check("(25 - 7) * 4");
        assert_eq!(v.outcome, Outcome::Wrong);
        assert!(v.reason.contains("uses 7, which is not among the given numbers"), "{}", v.reason);
        let v = c.check("25 * 4 - 5 * 5");
        assert!(v.reason.contains("uses 5 twice, but it is given only once"), "{}", v.reason);
        let v = c.check("25 * 4 - 25");
        assert!(v.reason.contains("uses 25 twice"), "{}", v.reason);
        let v = c.check("(25 - 5) * 4 - 5");
        assert_eq!(v.outcome, Outcome::Wrong);
        let v = c.check("25 * 4 - 25");
        assert_eq!(v.outcome, Outcome::Wrong);
        let v = c.check("(25 + 5) * 4");
        assert!(v.reason.contains("evaluates to 120, not 80"), "{}", v.reason);
        let v = c.check("25 / 4 * 5");
        assert!(v.reason.contains("evaluates to 125/4, not 80"), "{}", v.reason);
        let v = c.check("25 / (5 - 5)");
        assert_eq!(v.outcome, Outcome::Wrong);
    }

    #[test]
    fn adversarial_answers_never_panic() {
        let c = example();
        let deep = "(".repeat(10_000) + "25" + &")".repeat(10_000);
        assert_eq!(c.check(&deep).outcome, Outcome::Unparsable);
        let long = "1+".repeat(50_000) + "1";
        assert_eq!(c.check(&long).outcome, Outcome::Wrong);
        let huge = "9".repeat(100);
        assert_eq!(c.check(&huge).outcome, Outcome::Wrong);
        let big = Countdown { numbers: vec![i64::MAX, i64::MAX, i64::MAX, 2], target: 80, solution: String::new() };
        assert_eq!(big.check(&format!("{0} * {0} * {0} * 2", i64::MAX)).outcome, Outcome::Wrong);
        assert_eq!(big.check(&format!("{0} / ({0} - {0})", i64::MAX)).outcome, Outcome::Wrong);
        for s in ["", "=", "((", "))", "+", "5 5", "é", "25 - 5 * 4 ** 2", "١٢", "\u{0}", "(25-5)*4=80=80"] {
            let _ = c.check(s);
        }
    }

    #[test]
    fn the_example_trace_reads_like_a_search() {
        let c = example();
        let mut rng = Rng::seed_from_u64(0);
        let mut trace = Trace::new(&mut rng, 0.0);
        let answer = c.solve(&mut trace);
        let (text, _) = trace.finish();
        assert!(c.check(&answer).is_correct(), "{text}");
        assert!(text.starts_with("Numbers: 25, 5, 4. Target: 80."), "{text}");
        assert!(text.contains(". No.\n"), "{text}");
        assert!(text.ends_with("So (25 - 5) * 4 = 80."), "{text}");
    }

    #[test]
    fn unsolvable_problems_end_with_the_closest_try() {
        let c = Countdown { numbers: vec![2, 1, 1], target: 100, solution: String::new() };
        let mut rng = Rng::seed_from_u64(0);
        let mut trace = Trace::new(&mut rng, 0.0);
        let answer = c.solve(&mut trace);
        let (text, _) = trace.finish();
        assert!(text.contains("No way to make 100 found"), "{text}");
        assert_eq!(c.check(&answer).outcome, Outcome::Wrong);
    }
}
