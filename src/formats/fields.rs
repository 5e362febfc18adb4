//! Small helpers every format shares: typed field access with precise errors, the
//! `<think>` convention for chain-of-thought, and unknown fields kept as `meta.extra`.

use super::{FieldError, SampleView};
use crate::model::{Content, Role, SampleKind, SampleMeta, Source, Turn};
use serde_json::{Map, Value};
use std::borrow::Cow;

/// Extra keys assay itself sets to make a round trip exact; never written out as fields.
pub const ALPACA_INPUT: &str = "assay:alpaca_input";
pub const CHOICE_PROBLEM: &str = "assay:problem";
pub const RESERVED: [&str; 2] = [ALPACA_INPUT, CHOICE_PROBLEM];

pub type Obj = Map<String, Value>;

/// How deeply a record's arrays and objects may nest. serde_json stops at 128, and a sample's
/// content stores a record's values a few levels deeper than they were read, so a lower limit
/// keeps every stored sample readable again.
pub const MAX_NESTING: usize = 64;

/// Whether `v` nests arrays and objects more than [`MAX_NESTING`] levels deep.
pub fn too_deep(v: &Value) -> bool {
    fn over(v: &Value, budget: usize) -> bool {
        match v {
            Value::Array(a) => budget == 0 || a.iter().any(|x| over(x, budget - 1)),
            Value::Object(o) => budget == 0 || o.values().any(|x| over(x, budget - 1)),
            _ => false,
        }
    }
    over(v, MAX_NESTING)
}

/// JSON kept in a string field (tool arguments, a tool list): the value when it parses and is
/// not nested too deep, else the string as it is.
pub fn embedded_json(s: String) -> Value {
    match serde_json::from_str::<Value>(&s) {
        Ok(v) if !too_deep(&v) => v,
        _ => Value::String(s),
    }
}

pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn wrong(field: &str, want: &str, v: &Value) -> FieldError {
    FieldError::new(field, format!("expected {want}, found {}", type_name(v)))
}

fn missing(field: &str) -> FieldError {
    FieldError::new(field, "missing field")
}

pub fn as_object(v: Value, field: &str) -> Result<Obj, FieldError> {
    match v {
        Value::Object(m) => Ok(m),
        other => Err(wrong(field, "an object", &other)),
    }
}

pub fn string(v: Value, field: &str) -> Result<String, FieldError> {
    match v {
        Value::String(s) => Ok(s),
        other => Err(wrong(field, "a string", &other)),
    }
}

/// A required string field, removed from the record.
pub fn req_str(m: &mut Obj, key: &str, prefix: &str) -> Result<String, FieldError> {
    let field = join(prefix, key);
    string(m.remove(key).ok_or_else(|| missing(&field))?, &field)
}

/// An optional string field (null counts as absent), removed from the record.
pub fn opt_str(m: &mut Obj, key: &str, prefix: &str) -> Result<Option<String>, FieldError> {
    match m.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => string(v, &join(prefix, key)).map(Some),
    }
}

/// A required array field, removed from the record.
pub fn req_array(m: &mut Obj, key: &str, prefix: &str) -> Result<Vec<Value>, FieldError> {
    let field = join(prefix, key);
    match m.remove(key).ok_or_else(|| missing(&field))? {
        Value::Array(a) => Ok(a),
        other => Err(wrong(&field, "an array", &other)),
    }
}

pub fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// Splits `<think>reasoning</think>\nanswer` into its parts; text without the tags is all answer.
pub fn split_think(text: String) -> (Option<String>, String) {
    let trimmed = text.trim_start();
    if let Some(rest) = trimmed.strip_prefix("<think>")
        && let Some(end) = rest.find("</think>")
    {
        let reasoning = rest[..end].to_string();
        let after = &rest[end + "</think>".len()..];
        let answer = after.strip_prefix('\n').unwrap_or(after).to_string();
        return (Some(reasoning), answer);
    }
    (None, text)
}

/// The inverse of `split_think`.
pub fn join_think(reasoning: Option<&str>, content: &str) -> String {
    match reasoning {
        Some(r) => format!("<think>{r}</think>\n{content}"),
        None => content.to_string(),
    }
}

/// An assistant turn whose text may carry `<think>` reasoning.
pub fn assistant_turn(text: String) -> Turn {
    let (reasoning, content) = split_think(text);
    Turn {
        reasoning,
        ..Turn::assistant(content)
    }
}

/// The kind a conversation shape implies when the format does not say.
pub fn infer_kind(content: &Content) -> SampleKind {
    let turns = &content.turns;
    if turns
        .iter()
        .any(|t| t.role == Role::Tool || !t.tool_calls.is_empty())
    {
        SampleKind::AgentTrajectory
    } else if turns.iter().any(|t| t.reasoning.is_some()) {
        SampleKind::Cot
    } else if turns.len() > 2 {
        SampleKind::Conversation
    } else {
        SampleKind::Qa
    }
}

/// File-level metadata of CAMEL's export, not a field of any sample: never written into rows
/// (LLaMA-Factory rows carried it as a stray column, and `datasets` read it as a timestamp).
pub const FILE_LEVEL: [&str; 1] = ["export_time"];

/// Builds the stored sample: `aspect`, `topic` and `label` (any format may carry them) go to
/// their own fields, where diversity stats, filters and the audit's strata look; what is left
/// of the record (notes included) becomes `meta.extra`, written back on export.
pub fn sample(
    kind: SampleKind,
    content: Content,
    source: &Source,
    mut extra: Obj,
) -> crate::model::NewSample {
    let mut text = |key: &str| match extra.get(key) {
        Some(Value::String(s)) => {
            let s = s.clone();
            extra.remove(key);
            Some(s)
        }
        _ => None,
    };
    let aspect = text("aspect");
    let topic = text("topic");
    // A label outside positive / negative / boundary stays in `extra`, exactly as it came.
    let label = match extra.get("label") {
        Some(Value::String(l)) => crate::model::Label::parse(l),
        _ => None,
    };
    if label.is_some() {
        extra.remove("label");
    }
    for k in FILE_LEVEL {
        extra.remove(k);
    }
    crate::model::NewSample {
        kind,
        content,
        source: source.clone(),
        meta: SampleMeta {
            aspect,
            topic,
            label,
            extra,
            ..SampleMeta::default()
        },
    }
}

/// The fields a sample carries beyond its content, as a format writes them back: `aspect`,
/// `topic`, `label`, then the extra keys (reserved and file-level ones left out).
pub fn extra_fields<'a>(s: &SampleView<'a>) -> Vec<(&'a str, Cow<'a, Value>)> {
    let m = s.meta;
    let mut out: Vec<(&'a str, Cow<'a, Value>)> = Vec::new();
    if let Some(a) = &m.aspect {
        out.push(("aspect", Cow::Owned(a.clone().into())));
    }
    if let Some(t) = &m.topic {
        out.push(("topic", Cow::Owned(t.clone().into())));
    }
    if let Some(l) = m.label {
        out.push(("label", Cow::Owned(l.as_str().into())));
    }
    for (k, v) in &m.extra {
        let k = k.as_str();
        if RESERVED.contains(&k) || FILE_LEVEL.contains(&k) || out.iter().any(|(f, _)| *f == k) {
            continue;
        }
        out.push((k, Cow::Borrowed(v)));
    }
    out
}

/// Copies the sample's extra fields into `out`, except reserved ones and the format's own keys.
pub fn put_extra(out: &mut Obj, s: &SampleView<'_>) {
    for (k, v) in extra_fields(s) {
        if !out.contains_key(k) {
            out.insert(k.to_string(), v.into_owned());
        }
    }
}

/// The user-facing prompt of a turn; a multiple-choice question also lists its lettered options.
pub fn prompt_with_options(text: &str, content: &Content) -> String {
    if content.options.is_empty() {
        return text.to_string();
    }
    format!("{text}\n{}", lettered_options(&content.options))
}

/// Options as `A. text` lines: how prompts, exports and the answer pipeline show them.
pub fn lettered_options(options: &[String]) -> String {
    options
        .iter()
        .enumerate()
        .map(|(i, o)| format!("{}. {o}", letter(i)))
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn letter(i: usize) -> char {
    char::from_u32('A' as u32 + (i as u32 % 26)).unwrap_or('?')
}

/// User/assistant pairs of a plain conversation (no tools), for formats built on pairs.
/// Returns the pairs, or why the conversation is not of that shape.
pub fn pairs<'a>(turns: &[&'a Turn]) -> Result<Vec<(&'a Turn, &'a Turn)>, String> {
    if turns
        .iter()
        .any(|t| t.role == Role::Tool || !t.tool_calls.is_empty())
    {
        return Err("has tool calls (use sharegpt, openai or agent)".into());
    }
    if turns.is_empty() || !turns.len().is_multiple_of(2) {
        return Err(format!(
            "needs user/assistant pairs, has {} turn(s)",
            turns.len()
        ));
    }
    let mut out = Vec::with_capacity(turns.len() / 2);
    for p in turns.chunks(2) {
        if p[0].role != Role::User || p[1].role != Role::Assistant {
            return Err("turns do not alternate user, assistant".into());
        }
        out.push((p[0], p[1]));
    }
    Ok(out)
}

/// A tool result as text: strings as they are, other JSON compactly.
pub fn value_text(v: Value) -> String {
    match v {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

/// Text from a dataset made safe for the terminal: control characters become visible escapes.
pub fn printable(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}') {
                c.escape_unicode().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}
