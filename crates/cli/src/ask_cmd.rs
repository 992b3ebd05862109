//! `ponder ask`: one question to a trained model, thinking streamed dimmed, then the answer.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use candle_core::Device;
use clap::Args;
use ponder_model::{Budget, Pretrained, SamplingParams, TinyReasoner};
use ponder_think::{complete_pretrained, complete_tiny, Completion, Effort};

use crate::model_path::{is_pretrained, model_dir};

/// Arguments of `ponder ask`.
#[derive(Args)]
pub struct AskArgs {
    /// The question.
    question: String,
    /// A run folder or model folder (default: the demo's model), a .gguf file or a Hugging
    /// Face model folder.
    #[arg(long, default_value = "runs/demo")]
    model: PathBuf,
    /// Sampling temperature (0 = greedy).
    #[arg(long, default_value_t = 0.0)]
    temperature: f32,
    /// Most new tokens.
    #[arg(long, default_value_t = 768)]
    max_tokens: usize,
    /// System message for real models (default: the one their chat template adds, if any).
    #[arg(long)]
    system: Option<String>,
    /// Sampler seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Reasoning effort: low, medium, high (no cap) or a number of thinking tokens. Tiny
    /// reasoner: 128 / 512; real reasoning models: 1,024 / 4,096.
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
    let real = is_pretrained(&args.model);
    let effort_budget = |e: Effort| if real { e.pretrained_budget() } else { e.tiny_budget() };
    let params = SamplingParams {
        temperature: args.temperature,
        max_new_tokens: args.max_tokens,
        budget: Budget {
            min_thinking: args.min_thinking,
            max_thinking: args.effort.map_or(args.max_thinking, |e| effort_budget(e).max_thinking),
        },
        ..SamplingParams::default()
    };
    let color = std::io::stdout().is_terminal();
    let (dim, reset) = if color { ("\x1b[2m", "\x1b[0m") } else { ("", "") };
    let mut out = std::io::stdout().lock();
    let mut thinking = false;
    // Thinking text is dimmed; the tags switch the style.
    let mut show = |text: &str| {
        let mut rest = text;
        while !rest.is_empty() {
            let (tag, style) = if thinking { ("</think>", reset) } else { ("<think>", dim) };
            match rest.find(tag) {
                Some(at) => {
                    let _ = write!(out, "{}", &rest[..at]);
                    let _ = if thinking { write!(out, "{tag}{style}") } else { write!(out, "{style}{tag}") };
                    thinking = !thinking;
                    rest = &rest[at + tag.len()..];
                }
                None => {
                    let _ = write!(out, "{rest}");
                    rest = "";
                }
            }
        }
        let _ = out.flush();
    };
    let question = std::slice::from_ref(&args.question);
    let completions: Vec<Completion> = if real {
        let model = Pretrained::load(&args.model)?;
        if model.template_opens_thinking()? {
            // The reply starts inside a thinking block the template opened (DeepSeek-R1).
            show("<think>");
        }
        let system = args.system.as_deref();
        complete_pretrained(&model, system, question, &[args.seed], &params, Some(&mut |_, text: &str| show(text)))?
    } else {
        let model = TinyReasoner::load(&model_dir(&args.model)?, &Device::Cpu)?;
        complete_tiny(&model, question, &[args.seed], &params, |_, bytes| show(&String::from_utf8_lossy(bytes)))?
    };
    if thinking {
        print!("{reset}");
    }
    println!();
    let completion = &completions[0];
    if completion.closed_by_budget {
        eprintln!("(thinking closed by the budget of {} tokens)", params.budget.max_thinking.unwrap_or_default());
    }
    if completion.answer().is_none() {
        eprintln!("(no answer: the thinking block never closed within {} tokens)", args.max_tokens);
    }
    Ok(())
}
