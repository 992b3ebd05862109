//! Pretraining behaviour: loss goes down on an easy family, and a killed run resumes
//! to exactly the weights of an uninterrupted one.

mod common;

use common::quick_config;
use ponder_train::pretrain;

fn losses(log: &std::path::Path) -> Vec<(u64, f64)> {
    std::fs::read_to_string(log)
        .expect("log")
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("json line"))
        .map(|v| (v["step"].as_u64().expect("step"), v["loss"].as_f64().expect("loss")))
        .collect()
}

#[test]
fn a_short_run_on_one_easy_family_lowers_the_loss() {
    let dir = tempfile::tempdir().expect("tempdir");
    let outcome = pretrain(dir.path(), Some(quick_config(40)), false, None).expect("pretrain");
    let log = losses(&dir.path().join("log.jsonl"));
    let (first, last) = (log[0].1, log[log.len() - 1].1);
    assert!(last < first * 0.6, "loss went from {first} to {last}");
    assert_eq!(outcome.state.step, 40);
    assert!(dir.path().join("model/model.safetensors").exists());
    assert!(dir.path().join("pretrain.json").exists());
}

#[test]
fn a_killed_run_resumes_to_the_same_weights() {
    let straight = tempfile::tempdir().expect("tempdir");
    pretrain(straight.path(), Some(quick_config(10)), false, None).expect("straight run");

    let killed = tempfile::tempdir().expect("tempdir");
    // Killed after step 7: the last checkpoint is step 6, steps 7.. are redone on resume.
    pretrain(killed.path(), Some(quick_config(10)), false, Some(7)).expect("first part");
    pretrain(killed.path(), None, true, None).expect("resumed");

    let read = |d: &std::path::Path| std::fs::read(d.join("model/model.safetensors")).expect("weights");
    assert_eq!(read(straight.path()), read(killed.path()), "resumed weights differ");
    let steps: Vec<u64> = losses(&killed.path().join("log.jsonl")).iter().map(|(s, _)| *s).collect();
    assert_eq!(steps, vec![5, 10], "the log has each step once");
    assert_eq!(losses(&straight.path().join("log.jsonl")), losses(&killed.path().join("log.jsonl")));
}

#[test]
fn a_run_shorter_than_the_log_interval_still_reports_its_loss() {
    // Regression: a 4-step run without held-out evaluation ended with "last loss NaN".
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = quick_config(3);
    config.eval_per_level = 0;
    assert!(config.log_every > 3);
    let outcome = pretrain(dir.path(), Some(config), false, None).expect("pretrain");
    assert!(outcome.last_loss.is_finite(), "last loss {}", outcome.last_loss);
    assert_eq!(losses(&dir.path().join("log.jsonl")).last().map(|(s, _)| *s), Some(3));
}
