//! ShareGPT (LLaMA-Factory `formatting: sharegpt`): `{"conversations": [{"from", "value"}],
//! "system", "tools"}` with `function_call` / `observation` turns. Key and role names are
//! configurable (`Tags`), as LLaMA-Factory's `dataset_info.json` allows.

use super::fields::{
    Obj, as_object, assistant_turn, infer_kind, join_think, put_extra, req_array, sample,
    split_think, string,
};
use super::{FieldError, SampleView, Skip};
use crate::model::{Content, NewSample, Role, SampleKind, Source, ToolCall, Turn};
use serde_json::Value;

/// The key and role names of a ShareGPT file (LLaMA-Factory's `columns` and `tags`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tags {
    pub messages: String,
    pub role: String,
    pub content: String,
    pub user: String,
    pub assistant: String,
    pub system: String,
    pub function_call: String,
    pub observation: String,
}

impl Default for Tags {
    fn default() -> Self {
        Tags {
            messages: "conversations".into(),
            role: "from".into(),
            content: "value".into(),
            user: "human".into(),
            assistant: "gpt".into(),
            system: "system".into(),
            function_call: "function_call".into(),
            observation: "observation".into(),
        }
    }
}

pub fn parse(mut m: Obj, src: &Source, tags: &Tags) -> Result<Vec<NewSample>, FieldError> {
    let msgs = req_array(&mut m, &tags.messages, "")?;
    // `""` is how LLaMA-Factory rows (and assay's exports) say "no system prompt".
    let mut system = match m.remove("system") {
        None | Some(Value::Null) => None,
        Some(v) => Some(string(v, "system")?).filter(|s| !s.is_empty()),
    };
    let tools = match m.remove("tools") {
        None | Some(Value::Null) => None,
        // LLaMA-Factory wants a JSON string; keep the JSON itself when it parses.
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(super::fields::embedded_json(s)),
        Some(v) => Some(v),
    };
    let mut turns = Vec::new();
    for (i, msg) in msgs.into_iter().enumerate() {
        let prefix = format!("{}[{i}]", tags.messages);
        let mut msg = as_object(msg, &prefix)?;
        let role = super::fields::req_str(&mut msg, &tags.role, &prefix)?;
        let text = super::fields::req_str(&mut msg, &tags.content, &prefix)?;
        if role == tags.user {
            turns.push(Turn::user(text));
        } else if role == tags.assistant {
            turns.push(assistant_turn(text));
        } else if role == tags.observation {
            turns.push(Turn::new(Role::Tool, text));
        } else if role == tags.function_call {
            let (reasoning, json) = split_call_thought(text);
            let calls = parse_calls(&json)
                .map_err(|e| FieldError::new(format!("{prefix}.{}", tags.content), e))?;
            turns.push(Turn {
                reasoning,
                tool_calls: calls,
                ..Turn::assistant("")
            });
        } else if role == tags.system && i == 0 && system.is_none() {
            system = Some(text);
        } else {
            return Err(FieldError::new(
                format!("{prefix}.{}", tags.role),
                format!("unknown role {role:?} (pass the role names with --user-tag and friends)"),
            ));
        }
    }
    let content = Content {
        system,
        turns,
        tools,
        ..Content::default()
    };
    let kind = infer_kind(&content);
    Ok(vec![sample(kind, content, src, m)])
}

/// A function_call value: `{"name", "arguments"}` or a list of them.
fn parse_calls(json: &str) -> Result<Vec<ToolCall>, String> {
    let v: Value =
        serde_json::from_str(json).map_err(|e| format!("function_call value is not JSON: {e}"))?;
    if super::fields::too_deep(&v) {
        return Err(format!(
            "function_call value nests deeper than {} levels",
            super::fields::MAX_NESTING
        ));
    }
    let items = match v {
        Value::Array(a) => a,
        other => vec![other],
    };
    items
        .into_iter()
        .map(|item| {
            let Value::Object(mut o) = item else {
                return Err("function_call must be an object {\"name\", \"arguments\"}".into());
            };
            let name = match o.remove("name") {
                Some(Value::String(s)) => s,
                _ => return Err("function_call has no string \"name\"".into()),
            };
            let arguments = match o.remove("arguments") {
                Some(Value::String(s)) => super::fields::embedded_json(s),
                Some(v) => v,
                None => Value::Object(Obj::new()),
            };
            Ok(ToolCall {
                id: None,
                name,
                arguments,
            })
        })
        .collect()
}

/// LLaMA-Factory's thought words around a `function_call` value's thought: its function
/// formatter cuts exactly `<think>\n...\n</think>\n\n` off before parsing the JSON, and fails
/// with "Invalid JSON format in function message" on anything else.
const THOUGHT_OPEN: &str = "<think>\n";
const THOUGHT_CLOSE: &str = "\n</think>\n\n";

/// Splits a `function_call` value into its thought and its JSON (LLaMA-Factory's thought words,
/// or the older `<think>X</think>\n` that assay wrote before).
fn split_call_thought(text: String) -> (Option<String>, String) {
    if let Some(rest) = text.trim_start().strip_prefix(THOUGHT_OPEN)
        && let Some(end) = rest.find(THOUGHT_CLOSE)
    {
        let json = rest[end + THOUGHT_CLOSE.len()..].to_string();
        return (Some(rest[..end].to_string()), json);
    }
    split_think(text)
}

/// The `function_call` value for an assistant turn's calls, its thought in LLaMA-Factory's
/// thought words.
pub fn calls_text(t: &Turn) -> String {
    let calls: Vec<Value> = t
        .tool_calls
        .iter()
        .map(|c| serde_json::json!({"name": c.name, "arguments": c.arguments}))
        .collect();
    let json = match calls.as_slice() {
        [one] => one.to_string(),
        _ => Value::Array(calls).to_string(),
    };
    match &t.reasoning {
        Some(r) => format!("{THOUGHT_OPEN}{r}{THOUGHT_CLOSE}{json}"),
        None => json,
    }
}

/// A ShareGPT row. `system` and `tools` are always written (`""` when there are none):
/// LLaMA-Factory's converter indexes every column `dataset_info.json` declares. Tools go out
/// as a JSON Schema list in a JSON string; a conversation that cannot be one training example
/// is skipped with the reason (see `shape`).
pub fn to_json(s: &SampleView<'_>, tags: &Tags) -> Result<Value, Skip> {
    let c = s.content;
    if s.kind == SampleKind::Pretrain {
        return Err("is pre-training text, not a conversation (use pretrain or alpaca)".into());
    }
    let golden;
    let mut turns: Vec<&Turn> = c.turns.iter().collect();
    if c.turns.len() == 1
        && let Some(g) = &c.golden
    {
        golden = Turn::assistant(g.clone());
        turns.push(&golden);
    }
    super::shape::check(&turns)?;
    let mut msgs = Vec::new();
    let mut push = |role: &str, text: String| {
        let mut o = Obj::new();
        o.insert(tags.role.clone(), role.into());
        o.insert(tags.content.clone(), text.into());
        msgs.push(Value::Object(o));
    };
    for (i, t) in turns.iter().enumerate() {
        match t.role {
            Role::User if i == 0 => push(
                &tags.user,
                super::fields::prompt_with_options(&t.content, c),
            ),
            Role::User => push(&tags.user, t.content.clone()),
            Role::Tool => push(&tags.observation, t.content.clone()),
            Role::Assistant if !t.tool_calls.is_empty() => {
                if !t.content.is_empty() {
                    return Err("an assistant turn has both text and tool calls".into());
                }
                push(&tags.function_call, calls_text(t));
            }
            Role::Assistant => push(
                &tags.assistant,
                join_think(t.reasoning.as_deref(), &t.content),
            ),
        }
    }
    let mut out = Obj::new();
    out.insert(tags.messages.clone(), Value::Array(msgs));
    out.insert("system".into(), c.system.clone().unwrap_or_default().into());
    let tools = match &c.tools {
        Some(t) => {
            let list = super::tools::normalize(t)?;
            if list.is_empty() {
                String::new()
            } else {
                Value::Array(list).to_string()
            }
        }
        None => String::new(),
    };
    out.insert("tools".into(), tools.into());
    put_extra(&mut out, s);
    Ok(Value::Object(out))
}
