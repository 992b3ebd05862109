//! The `ponder` binary, driven as a user would: JSON lines out, verdicts back, clear errors.

use std::process::Command;

fn ponder(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ponder")).args(args).output().expect("ponder runs")
}

#[test]
fn shown_problems_verify_through_the_command_line() {
    for family in ["word", "count", "letters", "cipher", "countdown", "sudoku"] {
        let out = ponder(&["tasks", "show", family, "-d", "2", "-n", "3", "--json", "--mistake-rate", "0.3"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout).expect("utf-8");
        let lines: Vec<serde_json::Value> =
            text.lines().map(|l| serde_json::from_str(l).expect("a JSON object per line")).collect();
        assert_eq!(lines.len(), 3);
        for line in lines {
            for field in ["family", "difficulty", "id", "prompt", "thinking", "answer"] {
                assert!(line.get(field).is_some(), "{family}: no {field} in {line}");
            }
            let id = line["id"].as_str().expect("id");
            let completion = line["completion"].as_str().expect("completion");
            let verdict = ponder(&["tasks", "verify", family, "--id", id, "--answer", completion]);
            let verdict: serde_json::Value = serde_json::from_slice(&verdict.stdout).expect("verdict JSON");
            assert_eq!(verdict["outcome"], "correct", "{id}: {verdict}");
            let wrong = ponder(&["tasks", "verify", family, "--id", id, "--answer", "<think>hmm</think>no idea"]);
            let wrong: serde_json::Value = serde_json::from_slice(&wrong.stdout).expect("verdict JSON");
            assert_ne!(wrong["outcome"], "correct", "{id}");
        }
    }
}

#[test]
fn bad_input_gets_a_clear_error() {
    let out = ponder(&["tasks", "verify", "word", "--id", "word-two-3", "--answer", "5"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("FAMILY-DIFFICULTY-SEED"));

    let out = ponder(&["tasks", "verify", "count", "--id", "word-1-3", "--answer", "5"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is a word problem"));

    let out = ponder(&["tasks", "show", "poetry"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown task family"));

    let out = ponder(&["tasks", "show", "sudoku", "-d", "9"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("1..=5"));

    let out = ponder(&["ask", "--model", "/nonexistent/run", "How many r's are in strawberry?"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
}

#[test]
fn tasks_list_and_stats_cover_every_family() {
    let list = String::from_utf8(ponder(&["tasks", "list"]).stdout).expect("utf-8");
    let stats = String::from_utf8(ponder(&["tasks", "stats", "-n", "5"]).stdout).expect("utf-8");
    for family in ["word", "count", "letters", "cipher", "countdown", "sudoku"] {
        assert!(list.contains(&format!("{family}  (")), "{family} missing from the list");
        assert!(stats.contains(&format!("| {family} | 1 |")), "{family} missing from the stats");
    }
}

#[test]
fn ask_streams_a_trained_model_and_obeys_the_thinking_budget() {
    // A few seconds of pretraining give a real (if weak) model folder to ask.
    let dir = std::env::temp_dir().join(format!("ponder-cli-ask-{}", std::process::id()));
    let out = ponder(&[
        "pretrain",
        "--out",
        dir.to_str().expect("utf-8 path"),
        "--preset",
        "nano",
        "--steps",
        "2",
        "--batch",
        "1",
        "--heldout",
        "0",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let question = "How many r's are in strawberry?";
    let out = ponder(&[
        "ask",
        "--model",
        dir.to_str().expect("utf-8 path"),
        "--max-thinking",
        "6",
        "--max-tokens",
        "40",
        question,
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let thinking =
        text.split("<think>").nth(1).and_then(|t| t.split("</think>").next()).expect("a closed thinking block");
    // Byte-level model: one character per token (an invalid byte decodes to one U+FFFD).
    let tokens = thinking.chars().count();
    assert!(tokens <= 6, "{tokens} thinking tokens over a budget of 6: {text:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_demo_runs_every_stage_and_writes_its_report() {
    // A very short demo: seconds of pretraining and RL, two problems per level.
    let dir = std::env::temp_dir().join(format!("ponder-cli-demo-{}", std::process::id()));
    let out = ponder(&["demo", "--out", dir.to_str().expect("utf-8 path"), "--minutes", "0.15", "-n", "2"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("test-time compute sweep") && stdout.contains("Strategy::Auto"), "{stdout}");
    for file in [
        "model/model.safetensors",
        "examples.md",
        "eval.json",
        "sweep.json",
        "test_compute.svg",
        "test_compute.png",
        "rl/curve.json",
        "rl/log.jsonl",
        "rl/train_compute.png",
        "rl/model/model.safetensors",
    ] {
        assert!(dir.join(file).is_file(), "{file} missing");
    }
    let html = std::fs::read_to_string(dir.join("report.html")).expect("report.html");
    assert!(html.contains("Accuracy vs RL training compute") && html.contains("Accuracy vs test-time compute"));
    assert!(html.matches("<svg").count() >= 3);
    assert!(html.contains("measured at steps 0, 1"), "the report lists the curve's steps");

    // The sweep's charts redraw from its sweep.json alone; a folder without one is refused.
    std::fs::remove_file(dir.join("test_compute.svg")).expect("remove the chart");
    let out = ponder(&["sweep", "--replot", dir.to_str().expect("utf-8 path")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let svg = std::fs::read_to_string(dir.join("test_compute.svg")).expect("redrawn chart");
    assert!(svg.contains("best fixed strategy (same half)"));
    let out = ponder(&["sweep", "--replot", dir.join("rl").to_str().expect("utf-8 path")]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("sweep.json"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ask_answers_from_a_gguf_model_as_llama_cpp_does() {
    let model = concat!(env!("CARGO_MANIFEST_DIR"), "/../../models/SmolLM2-135M-Instruct.Q4_1.gguf");
    if !std::path::Path::new(model).exists() {
        eprintln!("SKIPPED: {model} is absent; run scripts/fetch-smollm2.sh");
        return;
    }
    // llama.cpp gives "The capital of France is Paris." for this exact conversation (greedy).
    let out = ponder(&[
        "ask",
        "--model",
        model,
        "--system",
        "You are a helpful assistant.",
        "--max-tokens",
        "12",
        "What is the capital of France?",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout.trim(), "The capital of France is Paris.");
    // A thinking budget on a model without <think> tokens is refused clearly.
    let out = ponder(&["ask", "--model", model, "--max-thinking", "8", "Hi"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no <think>"), "{}", String::from_utf8_lossy(&out.stderr));
}
