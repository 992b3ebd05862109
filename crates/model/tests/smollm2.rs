//! SmolLM2-135M-Instruct (Q4_1 GGUF) against llama.cpp: the same prompt token ids and the
//! same greedy continuation, token for token (`tests/fixtures/smollm2_greedy_llamacpp.json`, a copy
//! of `../shared/fixtures/smollm2_greedy_llamacpp.json`).
//! Skips with a message when the model file is absent (`scripts/fetch-smollm2.sh` installs it).

use std::path::PathBuf;

use ponder_model::{generate, Pretrained, SamplingParams};
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixture {
    user: String,
    prompt_text: String,
    prompt_tokens: Vec<u32>,
    greedy_tokens: Vec<u32>,
    greedy_text: String,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The model, or `None` (with a message) when it is not installed.
fn smollm2() -> Option<Pretrained> {
    let path = root().join("models/SmolLM2-135M-Instruct.Q4_1.gguf");
    if !path.exists() {
        eprintln!("SKIPPED: {} is absent; run scripts/fetch-smollm2.sh to install it", path.display());
        return None;
    }
    Some(Pretrained::load(&path).expect("SmolLM2 loads"))
}

fn fixtures() -> Vec<Fixture> {
    // A copy of ../shared/fixtures/smollm2_greedy_llamacpp.json (llama.cpp's output; see
    // that folder's README), kept in the repository so CI runs the test wherever it checks out.
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/smollm2_greedy_llamacpp.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("fixture JSON")
}

#[test]
fn prompt_tokens_match_llama_cpp() {
    let Some(model) = smollm2() else { return };
    for f in fixtures() {
        assert_eq!(model.tokenizer.encode(&f.prompt_text).expect("encodes"), f.prompt_tokens, "{:?}", f.user);
        let text = model.tokenizer.decode(&f.greedy_tokens).expect("decodes");
        assert_eq!(text.trim_end_matches("<|im_end|>"), f.greedy_text, "{:?}", f.user);
    }
}

#[test]
fn greedy_continuations_match_llama_cpp_token_for_token() {
    let Some(model) = smollm2() else { return };
    let fixtures = fixtures();
    let params = SamplingParams { temperature: 0.0, max_new_tokens: 48, ..SamplingParams::default() };
    // One at a time, then all together (left padding must not change a token).
    let prompts: Vec<Vec<u32>> = fixtures.iter().map(|f| f.prompt_tokens.clone()).collect();
    let seeds = vec![0; prompts.len()];
    let batched = generate(&model.model, &prompts, &seeds, &params, |_, _| {}).expect("batch generates");
    for (i, f) in fixtures.iter().enumerate() {
        let alone = generate(&model.model, &prompts[i..=i], &[0], &params, |_, _| {}).expect("generates");
        assert_eq!(
            alone[0].tokens,
            f.greedy_tokens,
            "alone: {:?}\n got: {:?}",
            f.user,
            model.tokenizer.decode(&alone[0].tokens)
        );
        assert_eq!(batched[i].tokens, f.greedy_tokens, "in a batch: {:?}", f.user);
    }
}

#[test]
fn the_chat_template_renders_the_fixture_prompts() {
    let Some(model) = smollm2() else { return };
    for f in fixtures() {
        let messages = [ponder_model::Message::new("system", ""), ponder_model::Message::new("user", &f.user)];
        let text = model.template.render(&messages[1..], true).expect("renders");
        // SmolLM2's template adds its default system prompt when none is given.
        assert!(text.ends_with(&f.prompt_text), "{text:?}");
        assert!(text.starts_with("<|im_start|>system\n"), "{text:?}");
    }
}
