//! Tells the format of a file from its first record's keys (`--format` overrides it).

use super::Format;
use super::fields::Obj;
use serde_json::Value;

pub fn detect(rec: &Obj, tags: &super::Tags) -> Option<Format> {
    let has = |k: &str| rec.contains_key(k);
    if has("solutions") && has("golden_answers") {
        return Some(Format::CamelExport);
    }
    if has("questions") && (has("problem") || rec.len() == 1) {
        return Some(Format::Choice);
    }
    if has("instruction") {
        return Some(Format::Alpaca);
    }
    if has(&tags.messages) && tags.messages != "messages" {
        return Some(Format::Sharegpt);
    }
    if let Some(Value::Array(msgs)) = rec.get("messages") {
        // A `messages` column with ShareGPT's keys is ShareGPT (LLaMA-Factory allows both).
        let first = msgs.first().and_then(Value::as_object);
        return Some(match first {
            Some(m) if m.contains_key(&tags.role) && !m.contains_key("role") => Format::Sharegpt,
            _ => Format::Openai,
        });
    }
    if let Some(Value::Array(conv)) = rec.get("conversation") {
        let agentish = has("tools")
            || conv
                .iter()
                .any(|t| t.as_object().is_some_and(|t| t.contains_key("role")));
        return Some(if agentish {
            Format::Agent
        } else {
            Format::Xtuner
        });
    }
    if has("text") && rec.len() <= 2 {
        return Some(Format::Pretrain);
    }
    if !rec.is_empty() && rec.values().all(Value::is_string) {
        return Some(Format::CamelGolden);
    }
    None
}
