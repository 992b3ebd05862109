//! Worked arithmetic: a multi-digit operation broken into steps a small model can follow.
//!
//! A byte-level model cannot look `19 * 13` up as one fact the way it can `9 * 3`. The
//! solver therefore writes the working out, splitting numbers into place-value parts
//! (`13 = 10 + 3`) so that every step is a one-digit fact, a shift by powers of ten, or a
//! sum of parts. This is the "break the problem into steps" habit of a reasoning trace.

/// The lines that work out `a op b` (op one of `+ - * /`), ending with a line that states
/// the result; empty when the operation is a single fact (both operands below 10, or one
/// of them a single digit for `+`/`-`). Negative operands and inexact divisions are not
/// worked out (empty). Example: `working(19, '*', 13)` gives
/// `["19 * 3 = 10 * 3 + 9 * 3 = 30 + 27 = 57", "19 * 13 = 19 * 10 + 19 * 3 = 190 + 57 = 247"]`.
pub fn working(a: i64, op: char, b: i64) -> Vec<String> {
    if a < 0 || b < 0 {
        return Vec::new();
    }
    let mut lines = Vec::new();
    match op {
        '+' | '-' if a >= 10 && b >= 10 => lines.push(add_or_sub(a, op, b)),
        '*' => multiply(a, b, &mut lines),
        '/' if b > 0 && a > 0 && a % b == 0 && (a / b >= 10 || b >= 10) => lines.push(divide(a, b)),
        _ => {}
    }
    lines
}

/// `n` as its place-value parts, largest first, zeros skipped: 305 -> [300, 5].
fn parts(n: i64) -> Vec<i64> {
    let digits = n.to_string();
    let len = digits.len() as u32;
    digits
        .chars()
        .enumerate()
        .map(|(i, c)| i64::from(c.to_digit(10).unwrap_or(0)) * 10i64.pow(len - 1 - i as u32))
        .filter(|&p| p != 0)
        .collect()
}

/// `47 + 38 = 47 + 30 + 8 = 77 + 8 = 85` (and the same with `-`).
fn add_or_sub(a: i64, op: char, b: i64) -> String {
    let parts = parts(b);
    let mut line = format!("{a} {op} {b} = {a}");
    for p in &parts {
        line.push_str(&format!(" {op} {p}"));
    }
    let mut acc = a;
    for (i, p) in parts.iter().enumerate() {
        acc = if op == '+' { acc + p } else { acc - p };
        line.push_str(&format!(" = {acc}"));
        for rest in &parts[i + 1..] {
            line.push_str(&format!(" {op} {rest}"));
        }
    }
    line
}

/// Pushes the lines for `a * b`: nothing for a one-digit fact; else the product of `a`
/// with each digit of `b` (worked out first when it is not a fact itself), shifted and summed.
fn multiply(a: i64, b: i64, lines: &mut Vec<String>) {
    // Keep the longer number on the left: 7 * 18 is worked as 18 * 7.
    let (a, b) = if b > a { (b, a) } else { (a, b) };
    if a < 10 || b <= 1 {
        return;
    }
    if b < 10 {
        // 18 * 7 = 10 * 7 + 8 * 7 = 70 + 56 = 126
        let parts = parts(a);
        if parts.len() == 1 {
            // 30 * 7 = 210 is a fact times a power of ten.
            return;
        }
        let terms: Vec<String> = parts.iter().map(|p| format!("{p} * {b}")).collect();
        let values: Vec<String> = parts.iter().map(|p| (p * b).to_string()).collect();
        lines.push(format!("{a} * {b} = {} = {} = {}", terms.join(" + "), values.join(" + "), a * b));
        return;
    }
    // 19 * 13 = 19 * 10 + 19 * 3 = 190 + 57 = 247
    let parts = parts(b);
    let mut terms = Vec::new();
    let mut values = Vec::new();
    for p in &parts {
        let scale = 10i64.pow(p.to_string().len() as u32 - 1);
        let digit = p / scale;
        multiply(a, digit, lines);
        terms.push(format!("{a} * {p}"));
        values.push((a * p).to_string());
    }
    if parts.len() == 1 {
        lines.push(format!("{a} * {b} = {} = {}", terms[0], a * b));
    } else {
        lines.push(format!("{a} * {b} = {} = {} = {}", terms.join(" + "), values.join(" + "), a * b));
    }
}

/// `126 / 7: 7 * 10 = 70, 126 - 70 = 56; 7 * 8 = 56, 56 - 56 = 0; so 126 / 7 = 10 + 8 = 18`.
fn divide(a: i64, b: i64) -> String {
    let q = a / b;
    let parts = parts(q);
    let mut line = format!("{a} / {b}:");
    let mut rest = a;
    for (i, p) in parts.iter().enumerate() {
        let take = b * p;
        let sep = if i == 0 { " " } else { "; " };
        line.push_str(&format!("{sep}{b} * {p} = {take}, {rest} - {take} = {}", rest - take));
        rest -= take;
    }
    let sum: Vec<String> = parts.iter().map(i64::to_string).collect();
    if parts.len() > 1 {
        line.push_str(&format!("; so {a} / {b} = {} = {q}", sum.join(" + ")));
    } else {
        line.push_str(&format!("; so {a} / {b} = {q}"));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_examples_read_as_intended() {
        assert_eq!(working(47, '+', 38), ["47 + 38 = 47 + 30 + 8 = 77 + 8 = 85"]);
        assert_eq!(working(85, '-', 38), ["85 - 38 = 85 - 30 - 8 = 55 - 8 = 47"]);
        assert_eq!(working(18, '*', 7), ["18 * 7 = 10 * 7 + 8 * 7 = 70 + 56 = 126"]);
        assert_eq!(working(7, '*', 18), ["18 * 7 = 10 * 7 + 8 * 7 = 70 + 56 = 126"]);
        assert_eq!(
            working(19, '*', 13),
            ["19 * 3 = 10 * 3 + 9 * 3 = 30 + 27 = 57", "19 * 13 = 19 * 10 + 19 * 3 = 190 + 57 = 247"]
        );
        assert_eq!(
            working(126, '/', 7),
            ["126 / 7: 7 * 10 = 70, 126 - 70 = 56; 7 * 8 = 56, 56 - 56 = 0; so 126 / 7 = 10 + 8 = 18"]
        );
        assert_eq!(working(108, '/', 12), ["108 / 12: 12 * 9 = 108, 108 - 108 = 0; so 108 / 12 = 9"]);
    }

    #[test]
    fn facts_need_no_working() {
        for (a, op, b) in
            [(9, '*', 3), (47, '+', 8), (5, '-', 3), (30, '*', 7), (56, '/', 7), (12, '*', 0), (-4, '+', 20)]
        {
            assert!(working(a, op, b).is_empty(), "{a} {op} {b}");
        }
    }

    /// Every `x op y = z` (two operands) and `a = b` in the working holds, and the last
    /// line ends with the true result.
    #[test]
    fn every_worked_equation_holds() {
        for a in 0..260 {
            for b in 0..60 {
                for op in ['+', '-', '*', '/'] {
                    if (op == '-' && b > a) || (op == '/' && (b == 0 || a % b != 0)) {
                        continue;
                    }
                    let truth = match op {
                        '+' => a + b,
                        '-' => a - b,
                        '*' => a * b,
                        _ => a / b,
                    };
                    let lines = working(a, op, b);
                    if let Some(last) = lines.last() {
                        assert!(last.ends_with(&format!("= {truth}")), "{a} {op} {b}: {last}");
                    }
                    for line in &lines {
                        let body = line.split(": ").last().unwrap_or(line);
                        for clause in body.split([';', ',']) {
                            let clause = clause.trim().trim_start_matches("so ");
                            let values: Vec<i64> = clause.split(" = ").map(|e| eval(e.trim())).collect();
                            assert!(values.windows(2).all(|w| w[0] == w[1]), "{a} {op} {b}: {clause}");
                        }
                    }
                }
            }
        }
    }

    /// Left-to-right for + and -, with * and / binding tighter: enough for the working's forms.
    fn eval(expr: &str) -> i64 {
        let tokens: Vec<&str> = expr.split(' ').collect();
        let mut terms: Vec<(char, i64)> = Vec::new();
        let mut i = 0;
        let mut sign = '+';
        while i < tokens.len() {
            let mut v: i64 = tokens[i].parse().unwrap_or_else(|_| panic!("bad number in {expr:?}"));
            while i + 2 < tokens.len() && (tokens[i + 1] == "*" || tokens[i + 1] == "/") {
                let w: i64 = tokens[i + 2].parse().unwrap_or_else(|_| panic!("bad number in {expr:?}"));
                v = if tokens[i + 1] == "*" { v * w } else { v / w };
                i += 2;
            }
            terms.push((sign, v));
            if i + 1 < tokens.len() {
                sign = tokens[i + 1].chars().next().unwrap_or('+');
            }
            i += 2;
        }
        terms.iter().fold(0, |acc, &(s, v)| if s == '+' { acc + v } else { acc - v })
    }
}
