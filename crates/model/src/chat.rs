//! Chat templates: the Jinja template a model ships (`tokenizer.chat_template` in GGUF,
//! `chat_template` in `tokenizer_config.json`), rendered with minijinja, the engine Hugging
//! Face templates are written for (with Python-style string methods such as `.strip()`).

use minijinja::{context, Environment, ErrorKind};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// ChatML, used when a model ships no template.
pub const CHATML: &str = "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + \
    message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}\
    {{ '<|im_start|>assistant\\n' }}{% endif %}";

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// The text.
    pub content: String,
}

impl Message {
    /// A message from `role`.
    pub fn new(role: &str, content: &str) -> Self {
        Self { role: role.to_string(), content: content.to_string() }
    }
}

/// A compiled chat template with the special-token strings it may refer to.
pub struct ChatTemplate {
    env: Environment<'static>,
    bos_token: String,
    eos_token: String,
}

impl ChatTemplate {
    /// Compiles `source`; `bos_token` / `eos_token` are the strings the template sees.
    pub fn new(source: &str, bos_token: &str, eos_token: &str) -> Result<Self> {
        let mut env = Environment::new();
        minijinja_contrib::add_to_environment(&mut env);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function("raise_exception", |message: String| -> std::result::Result<String, minijinja::Error> {
            Err(minijinja::Error::new(ErrorKind::InvalidOperation, message))
        });
        env.add_template_owned("chat", source.to_string())
            .map_err(|e| Error::Config(format!("the model's chat template does not compile: {e}")))?;
        Ok(Self { env, bos_token: bos_token.to_string(), eos_token: eos_token.to_string() })
    }

    /// The prompt text for `messages`; with `add_generation_prompt` it ends where the
    /// assistant's reply begins.
    pub fn render(&self, messages: &[Message], add_generation_prompt: bool) -> Result<String> {
        let template = self.env.get_template("chat").map_err(|e| Error::Config(e.to_string()))?;
        template
            .render(context! {
                messages => messages,
                add_generation_prompt => add_generation_prompt,
                bos_token => self.bos_token,
                eos_token => self.eos_token,
            })
            .map_err(|e| Error::Config(format!("cannot render the chat template: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chatml_renders_a_generation_prompt() {
        let template = ChatTemplate::new(CHATML, "", "<|im_end|>").expect("compiles");
        let text = template.render(&[Message::new("user", "What is 12 + 7?")], true).expect("renders");
        assert_eq!(text, "<|im_start|>user\nWhat is 12 + 7?<|im_end|>\n<|im_start|>assistant\n");
    }

    #[test]
    fn python_string_methods_and_raise_exception_work() {
        // The constructs DeepSeek-R1 and Qwen templates use.
        let source = "{% for m in messages %}{% if m['role'] == 'tool' %}{{ raise_exception('no tools') }}\
                      {% endif %}{{ bos_token }}{{ m['content'].split('</think>')[-1].strip() }}{% endfor %}";
        let template = ChatTemplate::new(source, "<s>", "</s>").expect("compiles");
        let text = template.render(&[Message::new("assistant", "<think>hm</think>  42 ")], false).expect("renders");
        assert_eq!(text, "<s>42");
        let err = template.render(&[Message::new("tool", "x")], false).expect_err("raises");
        assert!(err.to_string().contains("no tools"), "{err}");
    }

    #[test]
    fn a_broken_template_is_a_clear_error() {
        let Err(err) = ChatTemplate::new("{% for %}", "", "") else { panic!("should not compile") };
        assert!(err.to_string().contains("chat template"), "{err}");
    }
}
