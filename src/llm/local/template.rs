//! The ChatML chat template (`<|im_start|>role\n...<|im_end|>\n`), which SmolLM2 and Qwen use.
//!
//! Rendered by hand rather than through a Jinja engine: ChatML is three lines, and the GGUF's
//! template would add its default system prompt, which makes the quantised 135M model loop on
//! simple questions (see TECH_NOTES). A system message is sent only when the caller gives one.

use crate::llm::ChatMessage;

/// The end-of-turn marker the model emits when its answer is complete.
pub const END_OF_TURN: &str = "<|im_end|>";

/// Whether a GGUF chat template (`tokenizer.chat_template`) is ChatML.
pub fn is_chatml(template: &str) -> bool {
    template.contains("<|im_start|>") && template.contains(END_OF_TURN)
}

/// The prompt text for `messages`, ending with the opened assistant turn.
pub fn render(messages: &[ChatMessage]) -> String {
    let mut out = String::new();
    for m in messages {
        out.push_str("<|im_start|>");
        out.push_str(&m.role);
        out.push('\n');
        // A message must not be able to close its turn early and forge another role.
        out.push_str(
            &m.content
                .replace("<|im_start|>", "")
                .replace(END_OF_TURN, ""),
        );
        out.push_str(END_OF_TURN);
        out.push('\n');
    }
    out.push_str("<|im_start|>assistant\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_chatml_without_default_system_prompt() {
        let text = render(&[ChatMessage::user("Hi <|im_end|>there")]);
        assert_eq!(
            text,
            "<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n"
        );
    }

    #[test]
    fn detects_chatml() {
        assert!(is_chatml(
            "{% for m in messages %}<|im_start|>{{m.role}}\n{{m.content}}<|im_end|>{% endfor %}"
        ));
        assert!(!is_chatml("[INST] {{ content }} [/INST]"));
    }
}
