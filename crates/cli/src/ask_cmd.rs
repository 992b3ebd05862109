//! `ponder ask`: one question to a trained model, thinking streamed dimmed, then the answer.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use candle_core::Device;
use clap::Args;
use ponder_model::{Budget, SamplingParams, TinyReasoner};
use ponder_think::complete_tiny;

use ponder_think::Effort;

use crate::model_path::model_dir;

/// Arguments of `ponder ask`.
#[derive(Args)]
pub struct AskArgs {
    /// The question.
    question: String,
    /// A run folder or model folder (default: the demo's model).
    #[arg(long, default_value = "runs/demo")]
    model: PathBuf,
    /// Sampling temperature (0 = greedy).
    #[arg(long, default_value_t = 0.0)]
    temperature: f32,
    /// Most new tokens.
    #[arg(long, default_value_t = 768)]
    max_tokens: usize,
    /// Sampler seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Reasoning effort: low (128 thinking tokens), medium (512), high (no cap) or a number.
    #[arg(long, conflicts_with = "max_thinking")]
    effort: Option<Effort>,
    /// Close the thinking block after this many thinking tokens, then let the model answer.
    #[arg(long)]
    max_thinking: Option<usize>,
    /// Keep the model thinking (an early </think> becomes "Wait,") up to this many tokens.
    #[arg(long, default_value_t = 0)]
    min_thinking: usize,
}

/// Runs `ponder ask`.
pub fn run(args: AskArgs) -> anyhow::Result<()> {
    let model = TinyReasoner::load(&model_dir(&args.model)?, &Device::Cpu)?;
    let params = SamplingParams {
        temperature: args.temperature,
        max_new_tokens: args.max_tokens,
        budget: Budget {
            min_thinking: args.min_thinking,
            max_thinking: args.effort.map_or(args.max_thinking, |e| e.tiny_budget().max_thinking),
        },
        ..SamplingParams::default()
    };
    let color = std::io::stdout().is_terminal();
    let (dim, reset) = if color { ("\x1b[2m", "\x1b[0m") } else { ("", "") };
    let mut out = std::io::stdout().lock();
    let mut thinking = false;
    let completions =
        complete_tiny(&model, std::slice::from_ref(&args.question), &[args.seed], &params, |_, bytes| {
            // Thinking text is dimmed; the tags switch the style.
            if bytes == b"<think>" {
                thinking = true;
                let _ = write!(out, "{dim}<think>");
            } else if bytes == b"</think>" {
                thinking = false;
                let _ = write!(out, "</think>{reset}");
            } else {
                let _ = out.write_all(bytes);
            }
            let _ = out.flush();
        })?;
    if thinking {
        let _ = write!(out, "{reset}");
    }
    writeln!(out)?;
    let completion = &completions[0];
    if completion.closed_by_budget {
        eprintln!("(thinking closed by the budget of {} tokens)", params.budget.max_thinking.unwrap_or_default());
    }
    if completion.answer().is_none() {
        eprintln!("(no answer: the thinking block never closed within {} tokens)", args.max_tokens);
    }
    Ok(())
}
