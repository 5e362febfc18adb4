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
    let mut system = match m.remove("system") {
        None | Some(Value::Null) => None,
        Some(v) => Some(string(v, "system")?),
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
            let (reasoning, json) = split_think(text);
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

/// The `function_call` value for an assistant turn's calls (thought as a `<think>` prefix,
/// which LLaMA-Factory's function formatter strips).
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
    join_think(t.reasoning.as_deref(), &json)
}

pub fn to_json(s: &SampleView<'_>, tags: &Tags) -> Result<Value, Skip> {
    let c = s.content;
    if s.kind == SampleKind::Pretrain {
        return Err("is pre-training text, not a conversation (use pretrain or alpaca)".into());
    }
    let mut msgs = Vec::new();
    let mut push = |role: &str, text: String| {
        let mut o = Obj::new();
        o.insert(tags.role.clone(), role.into());
        o.insert(tags.content.clone(), text.into());
        msgs.push(Value::Object(o));
    };
    for (i, t) in c.turns.iter().enumerate() {
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
    if c.turns.len() == 1
        && let Some(g) = &c.golden
    {
        push(&tags.assistant, g.clone());
    }
    let mut out = Obj::new();
    out.insert(tags.messages.clone(), Value::Array(msgs));
    if let Some(sys) = &c.system {
        out.insert("system".into(), sys.clone().into());
    }
    if let Some(tools) = &c.tools {
        let text = match tools {
            Value::String(s) => s.clone(),
            v => v.to_string(),
        };
        out.insert("tools".into(), text.into());
    }
    put_extra(&mut out, s);
    Ok(Value::Object(out))
}
