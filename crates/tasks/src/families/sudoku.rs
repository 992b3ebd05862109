//! Sudoku: fill a 4×4, 6×6 (boxes of 2 rows × 3 columns) or 9×9 grid so that every row,
//! column and box holds each digit once.
//!
//! A puzzle is made from a random full grid by blanking cells in random order, keeping a
//! blank only while the puzzle still has exactly one solution (no other digit in that
//! cell leads to a solution), or, for the easy 9×9 level, only while singles alone still
//! solve it. The hardest level keeps only puzzles that need at least one guess, and every
//! level only puzzles whose trace stays within `MAX_LINES` lines.
//!
//! The solver writes what a careful person does, one placement per line: naked singles
//! (naming the digits the cell's row, column and box already hold), hidden singles, and
//! when stuck a guess in a cell with the fewest candidates, undone on a contradiction.
//! On a 4×4 grid the cells are named by one capital letter each, `A` to `P` in reading
//! order. The trace copies each row and labels its cells (`4 . 1 3 -> A4 B. C1 D3`),
//! then walks the blanks in reading order, pass after pass: each reads the cells it sees,
//! key and value as the latest label says (`F: row E1 G2 H4, col B2 J4 N., box A4; has 1 2 4 -> F3`), and is
//! filled when one digit is left, else left for a later pass. Every read is a lookup of
//! the kind the lookup drills teach ([`crate::drill::lookup_drill`]).
//!
//! Answers are graded by reading the digits in order (any separators) and checking that
//! they form a valid grid that keeps every clue.

use rand::seq::SliceRandom;
use rand::Rng as _;
use serde::{Deserialize, Serialize};

use super::Task;
use crate::{Rng, Trace, Verdict};

/// One Sudoku puzzle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sudoku {
    /// Rows per box (2 for 4×4 and 6×6, 3 for 9×9).
    pub box_rows: u8,
    /// Columns per box (2 for 4×4, 3 for 6×6 and 9×9).
    pub box_cols: u8,
    /// The puzzle row by row, `0` for a blank.
    pub givens: Vec<u8>,
    /// The unique solution row by row.
    pub solution: Vec<u8>,
}

/// Which blanks the generator keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keep {
    /// Any blank that leaves exactly one solution.
    Unique,
    /// Only blanks that leave a puzzle solvable by naked and hidden singles alone.
    Singles,
}

/// What a difficulty level generates.
struct Level {
    box_rows: usize,
    box_cols: usize,
    /// How many blanks to aim for (fewer when no more cells can be blanked).
    blanks: (usize, usize),
    keep: Keep,
    /// Whether the puzzle must need a guess (singles alone do not solve it).
    needs_guess: bool,
}

fn level(difficulty: u8) -> Level {
    let (box_rows, box_cols, blanks, keep, needs_guess) = match difficulty {
        0 | 1 => (2, 2, (4, 6), Keep::Unique, false),
        2 => (2, 2, (8, 10), Keep::Unique, false),
        3 => (2, 3, (14, 20), Keep::Unique, false),
        4 => (3, 3, (32, 40), Keep::Singles, false),
        _ => (3, 3, (50, 58), Keep::Unique, true),
    };
    Level { box_rows, box_cols, blanks, keep, needs_guess }
}

/// The longest trace (in lines) a generated puzzle may take; longer ones are drawn again.
const MAX_LINES: usize = 110;

impl Task for Sudoku {
    const LEVELS: u8 = 5;
    const CHECKABLE_AT_TEST_TIME: bool = true;
    const ANSWER_FORMAT: &'static str =
        "the completed grid, one row per line, digits only, e.g. `1234\\n3412\\n2143\\n4321`; \
         any separators (spaces, |, commas, slashes, newlines) between the digits are read too";

    fn level_description(difficulty: u8) -> String {
        let l = level(difficulty);
        let n = l.box_rows * l.box_cols;
        let how = match (l.keep, l.needs_guess) {
            (Keep::Singles, _) => ", solvable by singles",
            (Keep::Unique, true) => ", needs a guess",
            (Keep::Unique, false) => "",
        };
        format!("{n}x{n}, {}-{} blanks{how}", l.blanks.0, l.blanks.1)
    }

    fn generate(rng: &mut Rng, difficulty: u8) -> Self {
        let l = level(difficulty);
        let geo = Geo { n: l.box_rows * l.box_cols, box_rows: l.box_rows, box_cols: l.box_cols };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let solution = full_grid(rng, geo);
            let givens = carve(rng, geo, &solution, &l);
            let fits = Board::new(geo, &givens).is_some_and(|board| {
                let mut solver = Solver { geo, trace: None, lines: 0 };
                let solved = solver.run(&mut board.clone());
                solved && solver.lines <= MAX_LINES && (!l.needs_guess || !singles_solve(board))
            });
            // After many misses (never seen in practice) the last draw is kept as it is.
            if fits || attempt >= 50 {
                return Self { box_rows: l.box_rows as u8, box_cols: l.box_cols as u8, givens, solution };
            }
        }
    }

    fn prompt(&self) -> String {
        let (r, c) = (self.box_rows, self.box_cols);
        let n = usize::from(r) * usize::from(c);
        let shape = if r == c { format!("{r}x{c} box") } else { format!("{r}x{c} box ({r} rows by {c} columns)") };
        format!(
            "Solve this {n}x{n} Sudoku: each row, column and {shape} holds 1-{n} once. Blanks are '.'.\n{}\n\
             Answer with the completed grid, one row per line.",
            show(&self.givens, n, " ", '.')
        )
    }

    fn answer(&self) -> String {
        show(&self.solution, self.n(), "", '.')
    }

    fn check(&self, answer: &str) -> Verdict {
        let Some(geo) = self.geo() else {
            return Verdict::unparsable("the puzzle itself is malformed");
        };
        let n = geo.n;
        let digits: Vec<u8> = answer.bytes().filter(u8::is_ascii_digit).map(|b| b - b'0').collect();
        if digits.len() != geo.cells() {
            return Verdict::unparsable(format!(
                "expected {} digits ({n} rows of {n}), found {}",
                geo.cells(),
                digits.len()
            ));
        }
        if let Some(&bad) = digits.iter().find(|&&d| d == 0 || usize::from(d) > n) {
            return Verdict::wrong(format!("contains {bad}, but a {n}x{n} grid holds only 1-{n}"));
        }
        for (i, (&given, &got)) in self.givens.iter().zip(&digits).enumerate() {
            if given != 0 && given != got {
                return Verdict::wrong(format!("{} is {got}, but the puzzle gives {given}", geo.name(i)));
            }
        }
        for unit in geo.units() {
            let mut seen = 0u16;
            for i in geo.unit_cells(unit) {
                let bit = 1u16 << digits[i];
                if seen & bit != 0 {
                    return Verdict::wrong(format!("{} has two {}s", unit.name(), digits[i]));
                }
                seen |= bit;
            }
        }
        Verdict::correct("a valid grid that keeps every clue")
    }

    fn canonical(&self, answer: &str) -> Option<String> {
        let digits: String = answer.chars().filter(char::is_ascii_digit).collect();
        let cells = self.geo()?.cells();
        (digits.len() == cells).then_some(digits)
    }

    fn solve(&self, trace: &mut Trace<'_>) -> String {
        let Some(geo) = self.geo() else {
            trace.line("The puzzle is malformed.");
            return show(&self.givens, self.n(), "", '.');
        };
        let Some(mut board) = Board::new(geo, &self.givens) else {
            trace.line("The clues already break the rules, so there is no solution.");
            return show(&self.givens, geo.n, "", '.');
        };
        let blanks = self.givens.iter().filter(|&&d| d == 0).count();
        trace.line(format!("{blanks} blank{} to fill.", if blanks == 1 { "" } else { "s" }));
        if geo.names_cells() {
            trace.line("cells:");
            trace.line(board.copied_rows());
        }
        let mut solver = Solver { geo, trace: Some(&mut *trace), lines: 0 };
        if solver.run(&mut board) {
            trace.line("Solved:");
            let grid = show(&board.cells, geo.n, "", '.');
            trace.line(if geo.names_cells() { board.labelled_rows() } else { grid.clone() });
            grid
        } else {
            trace.line("Every possibility fails: this puzzle has no solution.");
            show(&self.givens, geo.n, "", '.')
        }
    }
}

impl Sudoku {
    fn n(&self) -> usize {
        usize::from(self.box_rows) * usize::from(self.box_cols)
    }

    /// The grid's shape, when the stored data describes a real grid.
    fn geo(&self) -> Option<Geo> {
        let geo = Geo { n: self.n(), box_rows: usize::from(self.box_rows), box_cols: usize::from(self.box_cols) };
        let ok = (1..=9).contains(&geo.n)
            && self.givens.len() == geo.cells()
            && self.givens.iter().all(|&d| usize::from(d) <= geo.n);
        ok.then_some(geo)
    }
}

/// A grid as text: one row per line, cells joined by `sep`, blanks as `blank`.
fn show(cells: &[u8], n: usize, sep: &str, blank: char) -> String {
    cells
        .chunks(n.max(1))
        .map(|row| {
            row.iter().map(|&d| if d == 0 { blank.to_string() } else { d.to_string() }).collect::<Vec<_>>().join(sep)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The shape of a grid: `n × n` cells in boxes of `box_rows × box_cols`.
#[derive(Debug, Clone, Copy)]
struct Geo {
    n: usize,
    box_rows: usize,
    box_cols: usize,
}

/// A row, column or box, numbered from 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Row(usize),
    Col(usize),
    Box(usize),
}

impl Unit {
    /// `row 3`, `column 4`, `box 5` (1-based, boxes in reading order).
    fn name(self) -> String {
        match self {
            Unit::Row(k) => format!("row {}", k + 1),
            Unit::Col(k) => format!("column {}", k + 1),
            Unit::Box(k) => format!("box {}", k + 1),
        }
    }
}

impl Geo {
    fn cells(self) -> usize {
        self.n * self.n
    }
    fn row(self, i: usize) -> usize {
        i / self.n
    }
    fn col(self, i: usize) -> usize {
        i % self.n
    }
    fn box_of(self, i: usize) -> usize {
        (self.row(i) / self.box_rows) * (self.n / self.box_cols) + self.col(i) / self.box_cols
    }
    /// Bits 1..=n set.
    fn full(self) -> u16 {
        ((1u16 << self.n) - 1) << 1
    }
    /// `r3c4` (1-based).
    fn name(self, i: usize) -> String {
        format!("r{}c{}", self.row(i) + 1, self.col(i) + 1)
    }
    /// Whether traces name every cell by a letter and read cells by name: the 4×4 grids,
    /// small enough for it. A small byte-level model cannot find "column 2" in a grid by
    /// position, but it can write the names of the cells a cell sees (a fixed pattern per
    /// cell) and look each one up (`E1`: the latest label of `E` says 1). Fills are
    /// labelled the same way (`-> F3`, `Guess F3.`), so a cell's latest value is always one
    /// lookup away (except after an abandoned guess, which 4×4 puzzles seldom need).
    fn names_cells(self) -> bool {
        self.n == 4
    }
    /// The name of a cell in a trace: `F` on a 4×4 grid, else `r3c4`.
    fn label(self, i: usize) -> String {
        if self.names_cells() {
            char::from(b'A' + i as u8).to_string()
        } else {
            self.name(i)
        }
    }
    /// The cells `i` sees, in the order a 4×4 trace reads them: the rest of its row, the
    /// rest of its column, then the rest of its box outside both.
    fn peers(self, i: usize) -> [Vec<usize>; 3] {
        let (r, c) = (self.row(i), self.col(i));
        [
            self.unit_cells(Unit::Row(r)).filter(|&j| j != i).collect(),
            self.unit_cells(Unit::Col(c)).filter(|&j| j != i).collect(),
            self.unit_cells(Unit::Box(self.box_of(i))).filter(|&j| self.row(j) != r && self.col(j) != c).collect(),
        ]
    }
    /// Rows, then columns, then boxes.
    fn units(self) -> impl Iterator<Item = Unit> {
        (0..self.n).map(Unit::Row).chain((0..self.n).map(Unit::Col)).chain((0..self.n).map(Unit::Box))
    }
    /// The cells of a unit, in reading order.
    fn unit_cells(self, unit: Unit) -> impl Iterator<Item = usize> {
        let n = self.n;
        let per_band = n / self.box_cols;
        (0..n).map(move |k| match unit {
            Unit::Row(r) => r * n + k,
            Unit::Col(c) => k * n + c,
            Unit::Box(b) => {
                let (r0, c0) = ((b / per_band) * self.box_rows, (b % per_band) * self.box_cols);
                (r0 + k / self.box_cols) * n + c0 + k % self.box_cols
            }
        })
    }
}

/// The digits whose bits are set in `mask`, ascending.
fn bits(mask: u16) -> impl Iterator<Item = u8> {
    (1..=9u8).filter(move |d| mask & (1 << d) != 0)
}

/// The digits whose bits are set in `mask`, ascending, as a list.
fn digits_of(mask: u16) -> Vec<u8> {
    bits(mask).collect()
}

/// `3 or 7`, `3, 7 or 9`.
fn or_list(digits: &[u8]) -> String {
    let words: Vec<String> = digits.iter().map(u8::to_string).collect();
    match words.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => words.join(""),
    }
}

/// The article before a digit: `an 8`, `a 3`.
fn a(digit: u8) -> &'static str {
    if digit == 8 {
        "an"
    } else {
        "a"
    }
}

/// `1 3 4`.
fn spaced(digits: &[u8]) -> String {
    digits.iter().map(u8::to_string).collect::<Vec<_>>().join(" ")
}

/// A grid being filled, with the digits each row, column and box already holds.
#[derive(Debug, Clone)]
struct Board {
    geo: Geo,
    cells: Vec<u8>,
    rows: [u16; 9],
    cols: [u16; 9],
    boxes: [u16; 9],
}

impl Board {
    /// `F3`, or `F.` for a blank: a cell's trace name and value.
    fn labelled(&self, i: usize) -> String {
        format!("{}{}", self.geo.label(i), self.shown(i))
    }

    /// `A4 B. C1 D3` and so on: every cell labelled, one row per line.
    fn labelled_rows(&self) -> String {
        let row = |r| self.geo.unit_cells(Unit::Row(r)).map(|i| self.labelled(i)).collect::<Vec<_>>().join(" ");
        (0..self.geo.n).map(row).collect::<Vec<_>>().join("\n")
    }

    /// `4 2 1 3 -> A4 B2 C1 D3` and so on: each row of the grid as the prompt shows it, then
    /// its cells labelled. The 4-layer model, asked to label the prompt's grid directly,
    /// put digits under the wrong letters (`A. B. C1 D4` for `4 2 1 3`): the letter does
    /// not say where in the grid its digit is. Copying a row is plain copying, and labelling
    /// the row just written takes each digit two places after the last.
    fn copied_rows(&self) -> String {
        let g = self.geo;
        let row = |r| {
            let cells: Vec<usize> = g.unit_cells(Unit::Row(r)).collect();
            let plain = cells.iter().map(|&i| self.shown(i)).collect::<Vec<_>>().join(" ");
            let labelled = cells.iter().map(|&i| self.labelled(i)).collect::<Vec<_>>().join(" ");
            format!("{plain} -> {labelled}")
        };
        (0..g.n).map(row).collect::<Vec<_>>().join("\n")
    }

    /// `F: row E1 G2 H4, col B2 J4 N., box A4`: the cells `i` sees, labelled as they stand.
    fn peers_text(&self, i: usize) -> String {
        let [row, col, boxed] =
            self.geo.peers(i).map(|cells| cells.iter().map(|&j| self.labelled(j)).collect::<Vec<_>>().join(" "));
        format!("{}: row {row}, col {col}, box {boxed}", self.geo.label(i))
    }

    /// The digit in cell `i`, or `.` for a blank.
    fn shown(&self, i: usize) -> String {
        match self.cells[i] {
            0 => ".".to_string(),
            d => d.to_string(),
        }
    }

    /// The board for `cells` (0 = blank), or `None` when two clues clash.
    fn new(geo: Geo, cells: &[u8]) -> Option<Board> {
        let mut board = Board { geo, cells: vec![0; geo.cells()], rows: [0; 9], cols: [0; 9], boxes: [0; 9] };
        for (i, &d) in cells.iter().enumerate().take(geo.cells()) {
            if d != 0 {
                if board.candidates(i) & (1 << d) == 0 {
                    return None;
                }
                board.set(i, d);
            }
        }
        Some(board)
    }

    fn seen(&self, i: usize) -> u16 {
        let g = self.geo;
        self.rows[g.row(i)] | self.cols[g.col(i)] | self.boxes[g.box_of(i)]
    }

    fn candidates(&self, i: usize) -> u16 {
        self.geo.full() & !self.seen(i)
    }

    fn set(&mut self, i: usize, d: u8) {
        let (g, bit) = (self.geo, 1u16 << d);
        self.cells[i] = d;
        self.rows[g.row(i)] |= bit;
        self.cols[g.col(i)] |= bit;
        self.boxes[g.box_of(i)] |= bit;
    }

    fn unset(&mut self, i: usize) {
        let (g, bit) = (self.geo, !(1u16 << self.cells[i]));
        self.cells[i] = 0;
        self.rows[g.row(i)] &= bit;
        self.cols[g.col(i)] &= bit;
        self.boxes[g.box_of(i)] &= bit;
    }

    fn unit_mask(&self, unit: Unit) -> u16 {
        match unit {
            Unit::Row(k) => self.rows[k],
            Unit::Col(k) => self.cols[k],
            Unit::Box(k) => self.boxes[k],
        }
    }

    /// The blank with the fewest candidates (the first such), and its candidates;
    /// `None` when the grid is full.
    fn most_constrained(&self) -> Option<(usize, u16)> {
        let mut best: Option<(usize, u16)> = None;
        for i in 0..self.cells.len() {
            if self.cells[i] != 0 {
                continue;
            }
            let c = self.candidates(i);
            if best.is_none_or(|(_, b)| c.count_ones() < b.count_ones()) {
                best = Some((i, c));
                if c.count_ones() <= 1 {
                    break;
                }
            }
        }
        best
    }

    /// The next thing a careful solver sees: a contradiction, else a naked single (the
    /// first in reading order), else a hidden single (rows, then columns, then boxes).
    fn next_step(&self) -> Step {
        let g = self.geo;
        let cands: Vec<u16> =
            (0..self.cells.len()).map(|i| if self.cells[i] == 0 { self.candidates(i) } else { 0 }).collect();
        let blanks: Vec<usize> = (0..self.cells.len()).filter(|&i| self.cells[i] == 0).collect();
        if blanks.is_empty() {
            return Step::Done;
        }
        if let Some(&i) = blanks.iter().find(|&&i| cands[i] == 0) {
            return Step::NoCandidates(i);
        }
        let mut hidden = None;
        for unit in g.units() {
            let (mut once, mut twice) = (0u16, 0u16);
            for i in g.unit_cells(unit) {
                twice |= once & cands[i];
                once |= cands[i];
            }
            let missing = g.full() & !self.unit_mask(unit);
            if let Some(d) = bits(missing & !once).next() {
                return Step::NoPlace(d, unit);
            }
            if hidden.is_none() {
                if let Some(d) = bits(once & !twice).next() {
                    hidden = g.unit_cells(unit).find(|&i| cands[i] & (1 << d) != 0).map(|i| (i, d, unit));
                }
            }
        }
        if let Some(&i) = blanks.iter().find(|&&i| cands[i].count_ones() == 1) {
            return Step::Naked(i, digits_of(cands[i])[0]);
        }
        match hidden {
            Some((i, d, unit)) => Step::Hidden(i, d, unit),
            None => Step::Stuck,
        }
    }
}

/// What the solver sees next on a board.
enum Step {
    /// Every cell is filled.
    Done,
    /// A blank has no candidates left.
    NoCandidates(usize),
    /// A digit a unit still needs fits nowhere in it.
    NoPlace(u8, Unit),
    /// A blank with one candidate.
    Naked(usize, u8),
    /// The only place for a digit in a unit.
    Hidden(usize, u8, Unit),
    /// No single anywhere: time to guess.
    Stuck,
}

/// Counts the solutions of `board`, stopping at `limit`.
fn count_solutions(board: &mut Board, limit: usize) -> usize {
    let Some((i, cands)) = board.most_constrained() else { return 1 };
    let mut found = 0;
    for d in bits(cands) {
        board.set(i, d);
        found += count_solutions(board, limit - found);
        board.unset(i);
        if found >= limit {
            break;
        }
    }
    found
}

/// Blanks cells of `solution` in random order, keeping each blank the level allows,
/// until it has as many as it aims for.
fn carve(rng: &mut Rng, geo: Geo, solution: &[u8], l: &Level) -> Vec<u8> {
    let want = rng.random_range(l.blanks.0..=l.blanks.1);
    let mut givens = solution.to_vec();
    let mut order: Vec<usize> = (0..geo.cells()).collect();
    order.shuffle(rng);
    let mut blanks = 0;
    for i in order {
        if blanks == want {
            break;
        }
        let digit = givens[i];
        givens[i] = 0;
        let keep = Board::new(geo, &givens).is_some_and(|mut board| match l.keep {
            // The puzzle had one solution; it still has only that one when no other digit
            // in this cell leads to a solution.
            Keep::Unique => bits(board.candidates(i) & !(1 << digit)).all(|other| {
                board.set(i, other);
                let none = count_solutions(&mut board, 1) == 0;
                board.unset(i);
                none
            }),
            Keep::Singles => singles_solve(board),
        });
        if keep {
            blanks += 1;
        } else {
            givens[i] = digit;
        }
    }
    givens
}

/// A random full grid: randomized backtracking, most constrained cell first.
fn full_grid(rng: &mut Rng, geo: Geo) -> Vec<u8> {
    fn fill(board: &mut Board, rng: &mut Rng) -> bool {
        let Some((i, cands)) = board.most_constrained() else { return true };
        let mut digits = digits_of(cands);
        digits.shuffle(rng);
        for d in digits {
            board.set(i, d);
            if fill(board, rng) {
                return true;
            }
            board.unset(i);
        }
        false
    }
    let mut board = Board { geo, cells: vec![0; geo.cells()], rows: [0; 9], cols: [0; 9], boxes: [0; 9] };
    // An empty board of a valid shape always fills.
    fill(&mut board, rng);
    board.cells
}

/// Whether singles alone (naked and hidden) fill the whole board.
fn singles_solve(mut board: Board) -> bool {
    loop {
        match board.next_step() {
            Step::Done => return true,
            Step::Naked(i, d) | Step::Hidden(i, d, _) => board.set(i, d),
            Step::NoCandidates(_) | Step::NoPlace(..) | Step::Stuck => return false,
        }
    }
}

/// The solver; writes what it does when it has a trace, and counts its lines either way.
struct Solver<'a, 'r> {
    geo: Geo,
    trace: Option<&'a mut Trace<'r>>,
    /// Lines written (or that would have been, without a trace), slips left out.
    lines: usize,
}

impl Solver<'_, '_> {
    fn say(&mut self, line: impl FnOnce() -> String) {
        self.lines += 1;
        if let Some(trace) = self.trace.as_deref_mut() {
            trace.line(line());
        }
    }

    /// Fills `board`: on a 4×4 grid by passes over the blanks first, then (or on larger
    /// grids, only) by singles and guesses; false when it has no solution.
    fn run(&mut self, board: &mut Board) -> bool {
        if self.geo.names_cells() {
            self.passes(board);
        }
        self.solve(board, 0)
    }

    /// Walks the blanks in reading order, filling each that has one candidate left and
    /// leaving the others for the next pass (`blanks: B F K`, then `left: K`), until
    /// every cell is filled or a pass fills nothing.
    fn passes(&mut self, board: &mut Board) {
        let g = self.geo;
        let mut blanks: Vec<usize> = (0..g.cells()).filter(|&i| board.cells[i] == 0).collect();
        let mut heading = "blanks";
        while !blanks.is_empty() {
            let names: Vec<String> = blanks.iter().map(|&i| g.label(i)).collect();
            self.say(|| format!("{heading}: {}", names.join(" ")));
            let mut left = Vec::new();
            for &i in &blanks {
                let cands = digits_of(board.candidates(i));
                if let [d] = cands[..] {
                    self.naked(board, i, d, "");
                    board.set(i, d);
                } else {
                    let seen = || spaced(&digits_of(board.seen(i)));
                    self.say(|| format!("{}; has {} -> {}, later", board.peers_text(i), seen(), or_list(&cands)));
                    left.push(i);
                }
            }
            if left.len() == blanks.len() {
                return; // stuck: hidden singles and guesses take over
            }
            blanks = left;
            heading = "left";
        }
    }

    /// Fills `board` by singles, guessing when stuck; false on a contradiction.
    fn solve(&mut self, board: &mut Board, depth: usize) -> bool {
        let g = self.geo;
        let indent = "  ".repeat(depth);
        loop {
            match board.next_step() {
                Step::Done => return true,
                Step::NoCandidates(i) => {
                    self.say(|| format!("{indent}Contradiction: {} has no candidates.", g.label(i)));
                    return false;
                }
                Step::NoPlace(d, unit) => {
                    self.say(|| format!("{indent}Contradiction: no place for {d} in {}.", unit.name()));
                    return false;
                }
                Step::Naked(i, d) => {
                    self.naked(board, i, d, &indent);
                    board.set(i, d);
                }
                Step::Hidden(i, d, unit) => {
                    self.hidden(board, i, d, unit, &indent);
                    board.set(i, d);
                }
                Step::Stuck => break,
            }
        }
        let Some((i, cands)) = board.most_constrained() else { return true };
        let cands = digits_of(cands);
        let name = g.label(i);
        // A 4×4 guess is labelled like a fill (`Guess F3.`), so later reads find it.
        let guess = |d: u8| if g.names_cells() { format!("{name}{d}") } else { d.to_string() };
        let Some((&first, _)) = cands.split_first() else { return false };
        self.say(|| format!("{indent}Stuck. {name} can be {}. Guess {}.", or_list(&cands), guess(first)));
        for (k, &d) in cands.iter().enumerate() {
            let rest = &cands[k + 1..];
            if rest.is_empty() {
                // The last candidate is no guess: everything else failed.
                board.set(i, d);
                return self.solve(board, depth);
            }
            let mut child = board.clone();
            child.set(i, d);
            if self.solve(&mut child, depth + 1) {
                *board = child;
                return true;
            }
            self.say(|| {
                let next = if rest.len() == 1 {
                    format!("so {name} = {}.", rest[0])
                } else {
                    format!("{name} can be {}. Guess {}.", or_list(rest), guess(rest[0]))
                };
                format!("{indent}Undo guess {name} = {d}; {next}")
            });
        }
        false
    }

    /// `r1c2: row has 1 3 4, col adds 5 7, box adds 6 8 9 -> 2`, or on a 4×4 grid
    /// `F: row E1 G2 H4, col B2 J4 N., box A4; has 1 2 4 -> F3`; or a slip (one digit the
    /// cell sees overlooked and written in) and its fix.
    fn naked(&mut self, board: &Board, i: usize, d: u8, indent: &str) {
        self.lines += 1;
        let g = self.geo;
        let Some(trace) = self.trace.as_deref_mut() else { return };
        let units = [Unit::Row(g.row(i)), Unit::Col(g.col(i)), Unit::Box(g.box_of(i))];
        if g.names_cells() {
            let read = board.peers_text(i);
            let seen = digits_of(board.seen(i));
            let line = |has: &[u8], digit: u8| format!("{indent}{read}; has {} -> {}{digit}", spaced(has), g.label(i));
            if !seen.is_empty() && trace.slip() {
                // Overlook one of the digits the cell sees and write it in.
                let wrong = seen[trace.rng().random_range(0..seen.len())];
                let missed: Vec<u8> = seen.iter().copied().filter(|&x| x != wrong).collect();
                let fix = format!("{} sees {} {wrong} already, so it is {d}, not {wrong}.", g.label(i), a(wrong));
                trace.mistake(line(&missed, wrong), fix, line(&seen, d));
            } else {
                trace.line(line(&seen, d));
            }
            return;
        }
        let mut parts: Vec<(Unit, Vec<u8>)> = Vec::new();
        let mut covered = 0u16;
        for unit in units {
            let mask = board.unit_mask(unit) & !covered;
            covered |= mask;
            if mask != 0 {
                parts.push((unit, digits_of(mask)));
            }
        }
        let line = |parts: &[(Unit, Vec<u8>)], digit: u8| {
            let said: Vec<String> = parts
                .iter()
                .filter(|(_, ds)| !ds.is_empty())
                .enumerate()
                .map(|(k, (unit, ds))| {
                    let word = match unit {
                        Unit::Row(_) => "row",
                        Unit::Col(_) => "col",
                        Unit::Box(_) => "box",
                    };
                    let verb = if k == 0 { "has" } else { "adds" };
                    format!("{word} {verb} {}", spaced(ds))
                })
                .collect();
            format!("{indent}{}: {} -> {digit}", g.name(i), said.join(", "))
        };
        if !parts.is_empty() && trace.slip() {
            // Overlook one of the digits the cell sees and write it in.
            let all: Vec<(usize, u8)> =
                parts.iter().enumerate().flat_map(|(k, (_, ds))| ds.iter().map(move |&x| (k, x))).collect();
            let (k, wrong) = all[trace.rng().random_range(0..all.len())];
            let mut missed = parts.clone();
            missed[k].1.retain(|&x| x != wrong);
            let fix = format!(
                "{} already has {} {wrong}, so {} is {d}, not {wrong}.",
                parts[k].0.name(),
                a(wrong),
                g.name(i)
            );
            trace.mistake(line(&missed, wrong), fix, line(&parts, d));
        } else {
            trace.line(line(&parts, d));
        }
    }

    /// `r3c4: only place for 2 in row 3 -> 2` (`L: … -> L2` on a 4×4 grid), or a slip into
    /// another cell and its fix. A 4×4 trace never slips here: its wrong line would label
    /// a cell that stays blank.
    fn hidden(&mut self, board: &Board, i: usize, d: u8, unit: Unit, indent: &str) {
        self.lines += 1;
        let g = self.geo;
        let Some(trace) = self.trace.as_deref_mut() else { return };
        let line = |cell: usize| {
            let name = g.label(cell);
            let to = if g.names_cells() { format!("{name}{d}") } else { d.to_string() };
            format!("{indent}{name}: only place for {d} in {} -> {to}", unit.name())
        };
        let others: Vec<usize> = g.unit_cells(unit).filter(|&j| j != i && board.cells[j] == 0).collect();
        if !g.names_cells() && !others.is_empty() && trace.slip() {
            let j = others[trace.rng().random_range(0..others.len())];
            // `j` is blank and `d` is not among its candidates: one of its units holds `d`.
            let blocker = [Unit::Row(g.row(j)), Unit::Col(g.col(j)), Unit::Box(g.box_of(j))]
                .into_iter()
                .find(|&u| board.unit_mask(u) & (1 << d) != 0)
                .map_or_else(|| "its row, column or box".to_string(), Unit::name);
            let fix = format!(
                "{blocker} already has {} {d}, so the {d} in {} goes in {}, not {}.",
                a(d),
                unit.name(),
                g.name(i),
                g.name(j)
            );
            trace.mistake(line(j), fix, line(i));
        } else {
            trace.line(line(i));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Family, Outcome, Problem};
    use rand::SeedableRng;

    fn problems(level: u8, seeds: u64) -> impl Iterator<Item = Problem> {
        (0..seeds).map(move |seed| Family::Sudoku.generate(level, seed).expect("valid level"))
    }

    fn spec(p: &Problem) -> &Sudoku {
        match &p.spec {
            crate::Spec::Sudoku(s) => s,
            other => panic!("not a sudoku problem: {other:?}"),
        }
    }

    /// A plain solver, independent of the one above: counts solutions up to `limit`.
    fn plain_count(grid: &mut Vec<u8>, n: usize, br: usize, bc: usize, limit: usize) -> usize {
        let Some(i) = grid.iter().position(|&d| d == 0) else { return 1 };
        let (r, c) = (i / n, i % n);
        let mut found = 0;
        for d in 1..=n as u8 {
            let clash = (0..n).any(|k| {
                let (br0, bc0) = (r / br * br, c / bc * bc);
                grid[r * n + k] == d || grid[k * n + c] == d || grid[(br0 + k / bc) * n + bc0 + k % bc] == d
            });
            if !clash {
                grid[i] = d;
                found += plain_count(grid, n, br, bc, limit - found);
                grid[i] = 0;
                if found >= limit {
                    break;
                }
            }
        }
        found
    }

    fn example() -> Sudoku {
        Sudoku {
            box_rows: 2,
            box_cols: 2,
            givens: vec![1, 0, 3, 4, 3, 4, 0, 2, 2, 0, 4, 3, 4, 3, 2, 0],
            solution: vec![1, 2, 3, 4, 3, 4, 1, 2, 2, 1, 4, 3, 4, 3, 2, 1],
        }
    }

    #[test]
    fn the_solver_answer_verifies_at_every_level() {
        for level in 1..=Sudoku::LEVELS {
            for p in problems(level, 50) {
                let mut rng = Rng::seed_from_u64(p.seed);
                let s = p.solve(&mut rng, 0.0);
                assert_eq!(s.mistakes, 0);
                let v = p.verify(&s.completion());
                assert!(v.is_correct(), "{}: {v:?}\n{}", p.id, s.thinking);
                assert_eq!(s.answer, p.answer);
            }
        }
    }

    #[test]
    fn mistakes_are_corrected_and_the_answer_still_verifies() {
        for level in 1..=Sudoku::LEVELS {
            for p in problems(level, 50) {
                let mut rng = Rng::seed_from_u64(p.seed ^ 11);
                let s = p.solve(&mut rng, 1.0);
                assert!(s.mistakes > 0, "{}", p.id);
                assert!(p.verify(&s.completion()).is_correct(), "{}\n{}", p.id, s.thinking);
                assert_eq!(s.answer, p.answer);
            }
        }
    }

    #[test]
    fn every_puzzle_has_exactly_one_solution() {
        for level in 1..=Sudoku::LEVELS {
            let l = super::level(level);
            let seeds = if level >= 4 { 20 } else { 100 };
            for p in problems(level, seeds) {
                let s = spec(&p);
                let n = s.n();
                let mut grid = s.givens.clone();
                assert_eq!(plain_count(&mut grid, n, l.box_rows, l.box_cols, 2), 1, "{}", p.id);
                let blanks = s.givens.iter().filter(|&&d| d == 0).count();
                assert!(blanks <= l.blanks.1, "{}: {blanks} blanks", p.id);
                assert!(blanks >= l.blanks.0 || level == 5, "{}: {blanks} blanks", p.id);
                assert!(s.givens.iter().zip(&s.solution).all(|(&g, &x)| g == 0 || g == x));
                assert!(s.check(&s.answer()).is_correct());
            }
        }
    }

    #[test]
    fn generation_is_deterministic() {
        for level in 1..=Sudoku::LEVELS {
            for seed in 0..5 {
                let a = Family::Sudoku.generate(level, seed).expect("level");
                assert_eq!(a, Family::Sudoku.generate(level, seed).expect("level"));
                let (mut r1, mut r2) = (Rng::seed_from_u64(9), Rng::seed_from_u64(9));
                assert_eq!(a.solve(&mut r1, 0.2), a.solve(&mut r2, 0.2));
            }
        }
    }

    #[test]
    fn perturbed_answers_are_rejected() {
        for level in 1..=Sudoku::LEVELS {
            for p in problems(level, 30) {
                let s = spec(&p);
                let n = s.n();
                let sol = s.solution.clone();
                let as_text = |cells: &[u8]| show(cells, n, "", '.');
                // Two cells of one row swapped (one of them a blank, so no clue is broken
                // unless the other is a clue).
                let row_blank = s.givens.iter().position(|&d| d == 0).expect("a blank");
                let r = row_blank / n;
                let other = (r * n..r * n + n).find(|&j| j != row_blank && sol[j] != sol[row_blank]).expect("cell");
                let mut swapped = sol.clone();
                swapped.swap(row_blank, other);
                assert_eq!(s.check(&as_text(&swapped)).outcome, Outcome::Wrong, "{}", p.id);
                // One digit changed.
                let mut changed = sol.clone();
                changed[row_blank] = changed[row_blank] % n as u8 + 1;
                assert_eq!(s.check(&as_text(&changed)).outcome, Outcome::Wrong);
                // A digit missing or one too many.
                let text = as_text(&sol);
                assert_eq!(s.check(&text[1..]).outcome, Outcome::Unparsable);
                assert_eq!(s.check(&format!("{text}1")).outcome, Outcome::Unparsable);
                // A zero or an out-of-range digit.
                let mut zero = sol.clone();
                zero[row_blank] = 0;
                assert_eq!(s.check(&as_text(&zero).replace('.', "0")).outcome, Outcome::Wrong);
            }
        }
    }

    #[test]
    fn answers_are_read_with_any_separators() {
        let s = example();
        for ok in [
            "1234\n3412\n2143\n4321",
            "1 2 3 4\n3 4 1 2\n2 1 4 3\n4 3 2 1",
            "12|34/34|12, 21|43 / 43|21",
            "1234341221434321",
        ] {
            assert!(s.check(ok).is_correct(), "{ok}");
        }
        let v = s.check("1234\n3412\n2143");
        assert_eq!(v.outcome, Outcome::Unparsable);
        assert!(v.reason.contains("expected 16 digits"), "{}", v.reason);
        let v = s.check("1234\n3412\n2143\n4351");
        assert!(v.reason.contains("holds only 1-4"), "{}", v.reason);
        let v = s.check("2134\n3412\n1243\n4321");
        assert!(v.reason.contains("r1c1 is 2, but the puzzle gives 1"), "{}", v.reason);
        let v = s.check("1234\n3421\n2143\n4312");
        assert_eq!(v.outcome, Outcome::Wrong);
        for weird in ["", "é", "٣", "1234\n".repeat(10_000).as_str(), "(((", "\u{0}"] {
            assert_ne!(s.check(weird).outcome, Outcome::Correct);
        }
    }

    #[test]
    fn the_trace_names_its_steps() {
        let s = example();
        let mut rng = Rng::seed_from_u64(0);
        let mut trace = Trace::new(&mut rng, 0.0);
        let answer = s.solve(&mut trace);
        let (text, _) = trace.finish();
        assert!(s.check(&answer).is_correct(), "{text}");
        let want = "4 blanks to fill.\ncells:\n1 . 3 4 -> A1 B. C3 D4\n3 4 . 2 -> E3 F4 G. H2\n\
                    2 . 4 3 -> I2 J. K4 L3\n4 3 2 . -> M4 N3 O2 P.\n\
                    blanks: B G J P\n\
                    B: row A1 C3 D4, col F4 J. N3, box E3; has 1 3 4 -> B2\n\
                    G: row E3 F4 H2, col C3 K4 O2, box D4; has 2 3 4 -> G1\n\
                    J: row I2 K4 L3, col B2 F4 N3, box M4; has 2 3 4 -> J1\n\
                    P: row M4 N3 O2, col D4 H2 L3, box K4; has 2 3 4 -> P1\n\
                    Solved:\nA1 B2 C3 D4\nE3 F4 G1 H2\nI2 J1 K4 L3\nM4 N3 O2 P1";
        assert_eq!(text, want);
    }

    /// A blank that still has two or more candidates is left for the next pass, and the
    /// next pass walks exactly the cells left, in reading order.
    #[test]
    fn a_pass_leaves_undecided_blanks_for_the_next() {
        let mut passes_checked = 0;
        for p in problems(1, 200).chain(problems(2, 40)) {
            let s = p.solve(&mut Rng::seed_from_u64(3), 0.0);
            // The pass being walked: the cells it lists, how many it has visited, and the
            // ones it left for later.
            let mut pass: Option<(Vec<String>, usize, Vec<String>)> = None;
            for line in s.thinking.lines() {
                let listed = line.strip_prefix("blanks: ").or_else(|| line.strip_prefix("left: "));
                if let Some(listed) = listed {
                    let listed: Vec<String> = listed.split(' ').map(str::to_string).collect();
                    if let Some((before, visited, left)) = pass.take() {
                        assert_eq!(visited, before.len(), "{}: a pass stopped early\n{}", p.id, s.thinking);
                        assert_eq!(listed, left, "{}\n{}", p.id, s.thinking);
                        passes_checked += 1;
                    }
                    pass = Some((listed, 0, Vec::new()));
                } else if let (Some((name, _)), Some((listed, visited, left))) =
                    (line.split_once(": row "), pass.as_mut())
                {
                    // Each step is the next listed cell, in order.
                    assert_eq!(listed.get(*visited).map(String::as_str), Some(name), "{}: {line}", p.id);
                    *visited += 1;
                    if line.ends_with(", later") {
                        left.push(name.to_string());
                    }
                }
            }
            let (listed, visited, _) = pass.expect("a 4x4 trace walks its blanks");
            assert_eq!(visited, listed.len(), "{}: the last pass stopped early", p.id);
        }
        assert!(passes_checked > 10, "only {passes_checked} second passes seen");
    }

    /// On 4×4 grids every read names the cells the cell sees (rest of row, rest of column,
    /// the box's last cell), each with the value its latest label (`F.`, `-> F3`) gives.
    #[test]
    fn four_by_four_reads_agree_with_the_latest_labels() {
        let mut checked = 0;
        for level in 1..=2 {
            for p in problems(level, 40) {
                let s = p.solve(&mut Rng::seed_from_u64(7), 0.3);
                if s.thinking.contains("Guess") {
                    continue; // an abandoned branch leaves its labels behind
                }
                let mut value: std::collections::HashMap<u8, u8> = std::collections::HashMap::new();
                for line in s.thinking.lines() {
                    if let Some((name, rest)) = line.split_once(": row ") {
                        let (reads, _) = rest.split_once("; has").expect("a naked single names what it sees");
                        let i = usize::from(name.as_bytes()[0] - b'A');
                        let (r, c) = (i / 4, i % 4);
                        let mut want: Vec<usize> = (0..4).map(|k| r * 4 + k).filter(|&j| j != i).collect();
                        want.extend((0..4).map(|k| k * 4 + c).filter(|&j| j != i));
                        want.push((r ^ 1) * 4 + (c ^ 1));
                        let read: Vec<&[u8]> =
                            reads.split([' ', ',']).filter(|t| t.len() == 2).map(str::as_bytes).collect();
                        let keys: Vec<usize> = read.iter().map(|t| usize::from(t[0] - b'A')).collect();
                        assert_eq!(keys, want, "{}: {line}", p.id);
                        for t in read {
                            assert_eq!(Some(&t[1]), value.get(&t[0]), "{}: {line}\n{}", p.id, s.thinking);
                        }
                        checked += 1;
                    }
                    for token in line.split([' ', ',', ';']) {
                        if let [key @ b'A'..=b'P', v @ (b'.' | b'1'..=b'4')] = *token.as_bytes() {
                            value.insert(key, v);
                        }
                    }
                }
            }
        }
        assert!(checked > 300, "only {checked} reads checked");
    }

    #[test]
    fn a_puzzle_that_needs_a_guess_backtracks() {
        // Two solutions' worth of freedom removed by one clue far away: the solver must
        // guess; whichever guess it makes first, the trace ends solved.
        for p in problems(5, 20) {
            let mut rng = Rng::seed_from_u64(1);
            let s = p.solve(&mut rng, 0.0);
            if s.thinking.contains("Stuck.") {
                assert!(s.thinking.contains("Guess"));
                assert!(p.verify(&s.completion()).is_correct());
                return;
            }
        }
        panic!("no level-5 puzzle in 20 needed a guess");
    }
}
