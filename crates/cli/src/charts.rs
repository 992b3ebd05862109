//! The charts of the two o1 curves, built from what the runs write.

use ponder_eval::{Chart, Series};
use ponder_train::CurvePoint;

/// Mean pass@1 (in %) of one curve point over `keys` (`count/2`, ...) that it holds.
fn mean_over(point: &CurvePoint, keys: &[&String]) -> Option<f64> {
    let values: Vec<f64> = keys.iter().filter_map(|k| point.pass1.get(*k)).copied().collect();
    (!values.is_empty()).then(|| 100.0 * values.iter().sum::<f64>() / values.len() as f64)
}

/// `count/2` as a legend label: `count 2`.
fn level_label(key: &str) -> String {
    key.replace('/', " ")
}

/// Held-out pass@1 against cumulative RL compute (log x): the o1 train-time chart. One
/// line per evaluated level, solid for the levels RL trains (`trained`, as curve keys
/// like `count/2`) and dashed for the levels it only watches (`word 1 (watched)`), the
/// mean of the trained levels, that mean before RL as a dashed baseline, and, when given,
/// the trained levels' blind-guess baseline (`blind`, in %: what answers that ignore the
/// problem score, [`ponder_tasks::BlindGuess`]) as a dashed line, since a mean that only
/// reaches it shows no reasoning. With no trained level among the evaluated ones, every
/// level counts as trained.
pub fn train_compute(curve: &[CurvePoint], trained: &[String], blind: Option<f64>) -> Chart {
    let points: Vec<&CurvePoint> = curve.iter().filter(|p| p.flops > 0.0).collect();
    let keys: Vec<&String> = curve.first().map(|p| p.pass1.keys().collect()).unwrap_or_default();
    let none_named = !keys.iter().any(|k| trained.contains(k));
    let is_trained = |key: &String| none_named || trained.contains(key);
    let mut series: Vec<Series> = keys
        .iter()
        .map(|&key| {
            let watched = !is_trained(key);
            Series {
                name: if watched { format!("{} (watched)", level_label(key)) } else { level_label(key) },
                points: points.iter().filter_map(|p| p.pass1.get(key).map(|v| (p.flops, 100.0 * v))).collect(),
                dashed: watched,
            }
        })
        .collect();
    let trained_keys: Vec<&String> = keys.iter().copied().filter(|k| is_trained(k)).collect();
    series.push(Series {
        name: "trained mean".into(),
        points: points.iter().filter_map(|p| mean_over(p, &trained_keys).map(|y| (p.flops, y))).collect(),
        dashed: false,
    });
    let before = curve.first().filter(|p| p.step == 0).and_then(|p| mean_over(p, &trained_keys));
    if let (Some(first), Some(last)) = (points.first(), points.last()) {
        let baselines = [("trained mean before RL", before), ("trained mean by blind guessing", blind)];
        for (name, y) in baselines.into_iter().filter_map(|(name, y)| y.map(|y| (name, y))) {
            series.push(Series { name: name.into(), points: vec![(first.flops, y), (last.flops, y)], dashed: true });
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn point(step: u64, flops: f64, count2: f64, word1: f64) -> CurvePoint {
        CurvePoint {
            step,
            flops,
            seconds: step as f64,
            pass1: [("count/2".to_string(), count2), ("word/1".to_string(), word1)].into_iter().collect(),
            mean_pass1: (count2 + word1) / 2.0,
            thinking_tokens: 100.0,
            self_correction_rate: 0.0,
        }
    }

    /// Trained levels are solid lines, watched ones dashed, and the means cover only the
    /// trained levels, so a watched level's score cannot hide a trained level's gain.
    #[test]
    fn the_train_compute_chart_separates_trained_from_watched_levels() {
        let curve = [point(0, 0.0, 0.5, 0.9), point(1, 1e12, 0.6, 0.9), point(2, 2e12, 0.8, 0.8)];
        let chart = train_compute(&curve, &["count/2".to_string()], Some(15.0));
        let by_name = |name: &str| chart.series.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("{name}"));
        let count = by_name("count 2");
        assert!(!count.dashed);
        assert_eq!(count.points, vec![(1e12, 60.0), (2e12, 80.0)]);
        assert!(by_name("word 1 (watched)").dashed);
        assert_eq!(by_name("trained mean").points, vec![(1e12, 60.0), (2e12, 80.0)]);
        assert_eq!(by_name("trained mean before RL").points, vec![(1e12, 50.0), (2e12, 50.0)]);
        assert_eq!(by_name("trained mean by blind guessing").points, vec![(1e12, 15.0), (2e12, 15.0)]);
        // Nothing named as trained among the evaluated levels: every level counts as trained.
        let all = train_compute(&curve, &[], None);
        assert!(all.series.iter().all(|s| !s.name.contains("blind")));
        assert!(all.series.iter().all(|s| !s.name.contains("watched")));
        let before = all.series.iter().find(|s| s.name == "trained mean before RL").expect("baseline");
        assert!((before.points[0].1 - 70.0).abs() < 1e-9);
    }
}
