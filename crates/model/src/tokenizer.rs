//! The byte-level tokenizer of the tiny reasoner: 256 byte tokens plus five specials, so
//! letter-level tasks (spelling, counting letters) see every character.

/// Token ids of the special tokens, after the 256 byte tokens.
pub mod special {
    /// Begin of a document.
    pub const BOS: u32 = 256;
    /// End of a document (end of the answer).
    pub const EOS: u32 = 257;
    /// `<think>`: opens the thinking block.
    pub const THINK: u32 = 258;
    /// `</think>`: closes the thinking block.
    pub const END_THINK: u32 = 259;
    /// Padding (never predicted, never attended to).
    pub const PAD: u32 = 260;
}

/// Number of token ids: 256 bytes + 5 specials.
pub const BYTE_VOCAB_SIZE: usize = 261;

/// Text ↔ token ids, one token per byte; `<think>` and `</think>` are single tokens.
#[derive(Debug, Clone, Copy, Default)]
pub struct ByteTokenizer;

impl ByteTokenizer {
    /// The tokens of `text`; the tags `<think>` and `</think>` become their special tokens.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let mut out = Vec::with_capacity(text.len());
        let mut rest = text;
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix("<think>") {
                out.push(special::THINK);
                rest = r;
            } else if let Some(r) = rest.strip_prefix("</think>") {
                out.push(special::END_THINK);
                rest = r;
            } else {
                let next = rest[1..].find('<').map_or(rest.len(), |i| i + 1);
                out.extend(rest[..next].bytes().map(u32::from));
                rest = &rest[next..];
            }
        }
        out
    }

    /// The tokens a prompt is given to the tiny reasoner as: begin token, the text, a
    /// newline. The model's completion (`<think>` …) follows directly.
    pub fn encode_prompt(&self, prompt: &str) -> Vec<u32> {
        let mut tokens = vec![special::BOS];
        tokens.extend(self.encode(prompt));
        tokens.push(u32::from(b'\n'));
        tokens
    }

    /// A whole training document: the prompt as in [`Self::encode_prompt`], then the
    /// completion and the end token. Returns the tokens and, per token, whether it is part
    /// of the completion (the model is trained to predict those, not the prompt).
    pub fn encode_document(&self, prompt: &str, completion: &str) -> (Vec<u32>, Vec<bool>) {
        let mut tokens = self.encode_prompt(prompt);
        let prompt_len = tokens.len();
        tokens.extend(self.encode(completion));
        tokens.push(special::EOS);
        let in_completion = (0..tokens.len()).map(|i| i >= prompt_len).collect();
        (tokens, in_completion)
    }

    /// The text of `tokens`: thinking tags written out, BOS / EOS / PAD dropped, invalid
    /// UTF-8 (a model can emit any byte) replaced by U+FFFD.
    pub fn decode(&self, tokens: &[u32]) -> String {
        let mut bytes = Vec::with_capacity(tokens.len());
        for &t in tokens {
            match t {
                0..=255 => bytes.push(t as u8),
                special::THINK => bytes.extend_from_slice(b"<think>"),
                special::END_THINK => bytes.extend_from_slice(b"</think>"),
                _ => {}
            }
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// The text of one token, for streaming output (bytes may be partial characters).
    pub fn token_bytes(&self, token: u32) -> &'static [u8] {
        const BYTES: [u8; 256] = {
            let mut b = [0u8; 256];
            let mut i = 0;
            while i < 256 {
                b[i] = i as u8;
                i += 1;
            }
            b
        };
        match token {
            0..=255 => &BYTES[token as usize..token as usize + 1],
            special::THINK => b"<think>",
            special::END_THINK => b"</think>",
            _ => b"",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_text_with_thinking_tags() {
        let t = ByteTokenizer;
        let text = "How many r's? <think>\ns-t-r, < 3 </think>\n3 ✓";
        let ids = t.encode(text);
        assert_eq!(ids.iter().filter(|&&i| i == special::THINK).count(), 1);
        assert_eq!(ids.iter().filter(|&&i| i == special::END_THINK).count(), 1);
        assert_eq!(t.decode(&ids), text);
        assert_eq!(t.encode("ab"), vec![97, 98]);
        assert_eq!(t.decode(&[special::BOS, 104, 105, special::EOS, special::PAD]), "hi");
        let (doc, completion) = t.encode_document("Q", "<think>x</think>1");
        assert_eq!(doc, vec![special::BOS, 81, 10, special::THINK, 120, special::END_THINK, 49, special::EOS]);
        assert_eq!(completion, vec![false, false, false, true, true, true, true, true]);
    }
}
