//! The local engine for real open-weight models (GGUF or Hugging Face safetensors): each
//! prompt becomes a user message through the model's chat template, and the reply is split
//! into reasoning and answer when the model thinks in `<think>` … `</think>`.

use std::time::Instant;

use ponder_model::{generate, CausalLm, Message, Pretrained, SamplingParams};

use crate::{Completion, Engine, Result};

/// Receives the new text of prompt `i` as it is generated.
pub type TextSink<'a> = &'a mut dyn FnMut(usize, &str);

/// Completions from a real model, each prompt a user message after an optional system
/// message. With `on_text`, the new text of prompt `i` is passed as it is generated (whole
/// characters only), for streaming.
pub fn complete_pretrained(
    model: &Pretrained,
    system: Option<&str>,
    prompts: &[String],
    seeds: &[u64],
    params: &SamplingParams,
    mut on_text: Option<TextSink>,
) -> Result<Vec<Completion>> {
    if seeds.len() != prompts.len() {
        return Err(crate::Error::Request(format!("{} prompts but {} seeds", prompts.len(), seeds.len())));
    }
    let conversation = |p: &str| -> Vec<Message> {
        system.map(|s| Message::new("system", s)).into_iter().chain([Message::new("user", p)]).collect()
    };
    let encoded =
        prompts.iter().map(|p| model.chat_tokens(&conversation(p))).collect::<ponder_model::Result<Vec<_>>>()?;
    let steer = model.model.generation_tokens().clone();
    let mut streamed: Vec<(Vec<u32>, usize)> = vec![(Vec::new(), 0); prompts.len()];
    let start = Instant::now();
    let generated = generate(&model.model, &encoded, seeds, params, |i, token| {
        let Some(on_text) = on_text.as_deref_mut() else { return };
        if steer.stop.contains(&token) {
            return;
        }
        let (tokens, shown) = &mut streamed[i];
        tokens.push(token);
        let text = model.tokenizer.decode(tokens).unwrap_or_default();
        // A character split across tokens decodes as U+FFFD until its last byte arrives.
        if text.len() > *shown && !text.ends_with('\u{FFFD}') && text.is_char_boundary(*shown) {
            on_text(i, &text[*shown..]);
            *shown = text.len();
        }
    })?;
    let wall = start.elapsed().as_secs_f64() / prompts.len().max(1) as f64;
    encoded
        .iter()
        .zip(generated)
        .map(|(prompt, g)| {
            let body = match g.tokens.last() {
                Some(last) if steer.stop.contains(last) => &g.tokens[..g.tokens.len() - 1],
                _ => &g.tokens[..],
            };
            let mut text = model.tokenizer.decode(body)?;
            let (thinking_tokens, opened_by_prompt) = match &steer.thinking {
                Some(tags) => {
                    let opened =
                        prompt.iter().rposition(|&t| t == tags.open) > prompt.iter().rposition(|&t| t == tags.close);
                    let in_reply = g.tokens.contains(&tags.open);
                    let thinking = if opened || in_reply {
                        g.tokens.iter().position(|&t| t == tags.close).map_or(g.tokens.len(), |e| e + 1)
                    } else {
                        0
                    };
                    (thinking, opened)
                }
                None => (0, false),
            };
            if opened_by_prompt {
                // The template opened the block; write the tag so the text reads as the protocol.
                text.insert_str(0, "<think>");
            }
            let flops: f64 = (0..prompt.len() + g.tokens.len()).map(|ctx| model.model.flops_per_token(ctx)).sum();
            Ok(Completion::from_generated(text, g, prompt.len(), thinking_tokens, flops, wall))
        })
        .collect()
}

impl Engine for Pretrained {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn complete(&self, prompts: &[String], seeds: &[u64], params: &SamplingParams) -> Result<Vec<Completion>> {
        complete_pretrained(self, None, prompts, seeds, params, None)
    }
}
