//! The charts of the two o1 curves, built from what the runs write.

use std::collections::BTreeMap;

use ponder_eval::{Chart, Series};
use ponder_train::CurvePoint;

/// Mean pass@1 (in %) per family of one curve point (over the family's evaluated levels).
fn family_means(point: &CurvePoint) -> BTreeMap<String, f64> {
    let mut sums: BTreeMap<String, (f64, usize)> = BTreeMap::new();
    for (key, value) in &point.pass1 {
        let family = key.split('/').next().unwrap_or(key).to_string();
        let entry = sums.entry(family).or_default();
        entry.0 += value;
        entry.1 += 1;
    }
    sums.into_iter().map(|(k, (s, n))| (k, 100.0 * s / n.max(1) as f64)).collect()
}

/// Held-out pass@1 against cumulative RL compute (log x), one line per family plus the
/// mean, and the mean before RL as a dashed baseline: the o1 train-time chart.
pub fn train_compute(curve: &[CurvePoint]) -> Chart {
    let trained: Vec<&CurvePoint> = curve.iter().filter(|p| p.flops > 0.0).collect();
    let mut by_family: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for p in &trained {
        for (family, value) in family_means(p) {
            by_family.entry(family).or_default().push((p.flops, value));
        }
    }
    let mut series: Vec<Series> =
        by_family.into_iter().map(|(name, points)| Series { name, points, dashed: false }).collect();
    series.push(Series {
        name: "mean".into(),
        points: trained.iter().map(|p| (p.flops, 100.0 * p.mean_pass1)).collect(),
        dashed: false,
    });
    if let (Some(start), Some(first), Some(last)) =
        (curve.first().filter(|p| p.step == 0), trained.first(), trained.last())
    {
        let y = 100.0 * start.mean_pass1;
        series.push(Series {
            name: "mean before RL".into(),
            points: vec![(first.flops, y), (last.flops, y)],
            dashed: true,
        });
    }
    Chart {
        title: "Accuracy vs RL training compute".into(),
        x_label: "RL compute (FLOPs, log scale)".into(),
        y_label: "held-out pass@1 (%)".into(),
        log_x: true,
        y_range: Some((0.0, 100.0)),
        series,
    }
}

/// Mean thinking tokens per held-out completion against RL step (log x).
pub fn train_thinking(curve: &[CurvePoint]) -> Chart {
    Chart {
        title: "Thinking length during RL".into(),
        x_label: "RL step (log scale)".into(),
        y_label: "mean thinking tokens".into(),
        log_x: true,
        y_range: None,
        series: vec![Series {
            name: "thinking tokens".into(),
            points: curve.iter().filter(|p| p.step > 0).map(|p| (p.step as f64, p.thinking_tokens)).collect(),
            dashed: false,
        }],
    }
}

/// Share of held-out completions with a self-correction against RL step (log x).
pub fn train_corrections(curve: &[CurvePoint]) -> Chart {
    Chart {
        title: "Self-corrections during RL".into(),
        x_label: "RL step (log scale)".into(),
        y_label: "completions with a self-correction (%)".into(),
        log_x: true,
        y_range: Some((0.0, 100.0)),
        series: vec![Series {
            name: "self-correction rate".into(),
            points: curve
                .iter()
                .filter(|p| p.step > 0)
                .map(|p| (p.step as f64, 100.0 * p.self_correction_rate))
                .collect(),
            dashed: false,
        }],
    }
}
