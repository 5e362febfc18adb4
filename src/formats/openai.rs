//! OpenAI chat messages: `{"messages": [{"role", "content", "tool_calls", "tool_call_id"}],
//! "tools"}`. Reasoning is read from `reasoning_content` (DeepSeek, vLLM, Qwen), `reasoning`
//! (OpenRouter, Ollama) or a `<think>` prefix and written as the prefix, since the fine-tuning
//! format has no field for it.

use super::fields::{
    Obj, as_object, infer_kind, join_think, opt_str, prompt_with_options, put_extra, req_array,
    req_str, sample, split_think,
};
use super::{FieldError, SampleView, Skip};
use crate::model::{Content, NewSample, Role, SampleKind, Source, ToolCall, Turn};
use serde_json::{Value, json};

pub fn parse(mut m: Obj, src: &Source) -> Result<Vec<NewSample>, FieldError> {
    let msgs = req_array(&mut m, "messages", "")?;
    let tools = match m.remove("tools") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v),
    };
    let mut system = None;
    let mut turns = Vec::new();
    for (i, msg) in msgs.into_iter().enumerate() {
        let prefix = format!("messages[{i}]");
        let mut msg = as_object(msg, &prefix)?;
        let role = req_str(&mut msg, "role", &prefix)?;
        // Assistant turns that only call tools may have `content: null`.
        let text = opt_str(&mut msg, "content", &prefix)?;
        match role.as_str() {
            "system" if i == 0 => system = Some(text.unwrap_or_default()),
            "user" => turns.push(Turn::user(text.unwrap_or_default())),
            "tool" => turns.push(Turn {
                tool_call_id: opt_str(&mut msg, "tool_call_id", &prefix)?,
                ..Turn::new(Role::Tool, text.unwrap_or_default())
            }),
            "assistant" => {
                let (mut reasoning, content) = split_think(text.unwrap_or_default());
                // A separate field wins over an inline `<think>`: providers that return one
                // leave the content as the bare answer. Both keys are consumed (not kept as
                // extras) so that an export does not carry the reasoning twice.
                let field = opt_str(&mut msg, "reasoning_content", &prefix)?;
                let alias = opt_str(&mut msg, "reasoning", &prefix)?;
                if let Some(r) = field.or(alias).filter(|r| !r.trim().is_empty()) {
                    reasoning = Some(r);
                }
                let tool_calls = match msg.remove("tool_calls") {
                    None | Some(Value::Null) => Vec::new(),
                    Some(Value::Array(calls)) => calls
                        .into_iter()
                        .enumerate()
                        .map(|(j, c)| tool_call(c, &format!("{prefix}.tool_calls[{j}]")))
                        .collect::<Result<_, _>>()?,
                    Some(_) => {
                        return Err(FieldError::new(
                            format!("{prefix}.tool_calls"),
                            "expected an array",
                        ));
                    }
                };
                turns.push(Turn {
                    reasoning,
                    tool_calls,
                    ..Turn::assistant(content)
                });
            }
            other => {
                return Err(FieldError::new(
                    format!("{prefix}.role"),
                    format!(
                        "unknown role {other:?} (expected system first, user, assistant, tool)"
                    ),
                ));
            }
        }
    }
    let content = Content {
        system,
        turns,
        tools,
        ..Content::default()
    };
    Ok(vec![sample(infer_kind(&content), content, src, m)])
}

fn tool_call(v: Value, prefix: &str) -> Result<ToolCall, FieldError> {
    let mut c = as_object(v, prefix)?;
    let id = opt_str(&mut c, "id", prefix)?;
    let fprefix = format!("{prefix}.function");
    let mut f = as_object(
        c.remove("function")
            .ok_or_else(|| FieldError::new(&fprefix, "missing field"))?,
        &fprefix,
    )?;
    let name = req_str(&mut f, "name", &fprefix)?;
    let arguments = match f.remove("arguments") {
        Some(Value::String(s)) => super::fields::embedded_json(s),
        Some(v) => v,
        None => Value::Object(Obj::new()),
    };
    Ok(ToolCall {
        id,
        name,
        arguments,
    })
}

/// An OpenAI messages row: each tool message linked to its call by `tool_call_id` (calls
/// without an id get `call_{turn}_{n}`), tools wrapped as `{"type": "function", "function"}`
/// with JSON Schema parameters. A conversation that cannot be one training example is skipped
/// with the reason (see `shape`).
pub fn to_json(s: &SampleView<'_>) -> Result<Value, Skip> {
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
    if let Some(sys) = &c.system {
        msgs.push(json!({"role": "system", "content": sys}));
    }
    // Ids of the last assistant turn's calls that no tool message has answered yet.
    let mut pending: std::collections::VecDeque<String> = Default::default();
    for (i, t) in turns.iter().enumerate() {
        let mut o = Obj::new();
        o.insert("role".into(), t.role.as_str().into());
        let text = match t.role {
            Role::User if i == 0 => prompt_with_options(&t.content, c),
            Role::Assistant => join_think(t.reasoning.as_deref(), &t.content),
            _ => t.content.clone(),
        };
        o.insert("content".into(), text.into());
        if !t.tool_calls.is_empty() {
            pending.clear();
            let calls: Vec<Value> = t
                .tool_calls
                .iter()
                .enumerate()
                .map(|(j, call)| {
                    let args = match &call.arguments {
                        Value::String(s) => s.clone(),
                        v => v.to_string(),
                    };
                    let id = call.id.clone().unwrap_or_else(|| format!("call_{i}_{j}"));
                    pending.push_back(id.clone());
                    json!({
                        "id": id,
                        "type": "function",
                        "function": {"name": call.name, "arguments": args},
                    })
                })
                .collect();
            o.insert("tool_calls".into(), Value::Array(calls));
        }
        if t.role == Role::Tool {
            let id = match &t.tool_call_id {
                Some(id) => {
                    pending.retain(|p| p != id);
                    id.clone()
                }
                None => pending
                    .pop_front()
                    .ok_or("a tool message answers more calls than its assistant turn made")?,
            };
            o.insert("tool_call_id".into(), id.into());
        }
        msgs.push(Value::Object(o));
    }
    let mut out = Obj::new();
    out.insert("messages".into(), Value::Array(msgs));
    if let Some(tools) = &c.tools {
        let list = super::tools::normalize(tools)?;
        if !list.is_empty() {
            out.insert("tools".into(), Value::Array(super::tools::wrapped(list)));
        }
    }
    put_extra(&mut out, s);
    Ok(Value::Object(out))
}
