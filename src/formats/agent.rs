//! Agent trajectories: `{"tools": [...], "conversation": [{"role", "content"}]}` where an
//! assistant's content is `{"thought", "action": {"tool_name", "parameters"}}` or
//! `{"thought", "final_answer"}` and a tool's content is its observation (any JSON).
//! Reading is structural only: invalid trajectories are stored so the verifier can flag them.

use super::fields::{
    Obj, as_object, opt_str, prompt_with_options, put_extra, req_array, req_str, sample, value_text,
};
use super::{FieldError, SampleView, Skip};
use crate::model::{Content, NewSample, Role, SampleKind, Source, ToolCall, Turn};
use serde_json::{Value, json};

pub fn parse(mut m: Obj, src: &Source) -> Result<Vec<NewSample>, FieldError> {
    let conv = req_array(&mut m, "conversation", "")?;
    let tools = match m.remove("tools") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v),
    };
    let system = opt_str(&mut m, "system", "")?;
    let mut turns = Vec::new();
    for (i, t) in conv.into_iter().enumerate() {
        let prefix = format!("conversation[{i}]");
        let mut t = as_object(t, &prefix)?;
        let role = req_str(&mut t, "role", &prefix)?;
        let content = t
            .remove("content")
            .ok_or_else(|| FieldError::new(format!("{prefix}.content"), "missing field"))?;
        match role.as_str() {
            "user" => turns.push(Turn::user(value_text(content))),
            "tool" | "observation" => turns.push(Turn::new(Role::Tool, value_text(content))),
            "assistant" => turns.push(assistant(content, &format!("{prefix}.content"))?),
            other => {
                return Err(FieldError::new(
                    format!("{prefix}.role"),
                    format!("unknown role {other:?} (expected user, assistant or tool)"),
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
    Ok(vec![sample(SampleKind::AgentTrajectory, content, src, m)])
}

fn assistant(content: Value, prefix: &str) -> Result<Turn, FieldError> {
    let mut c = match content {
        Value::String(s) => return Ok(Turn::assistant(s)),
        other => as_object(other, prefix)?,
    };
    let reasoning = opt_str(&mut c, "thought", prefix)?;
    let answer = opt_str(&mut c, "final_answer", prefix)?;
    let mut tool_calls = Vec::new();
    if let Some(action) = c.remove("action").filter(|a| !a.is_null()) {
        let ap = format!("{prefix}.action");
        let mut a = as_object(action, &ap)?;
        tool_calls.push(ToolCall {
            id: None,
            name: req_str(&mut a, "tool_name", &ap)?,
            arguments: a.remove("parameters").unwrap_or(Value::Object(Obj::new())),
        });
    }
    Ok(Turn {
        reasoning,
        tool_calls,
        ..Turn::assistant(answer.unwrap_or_default())
    })
}

pub fn to_json(s: &SampleView<'_>) -> Result<Value, Skip> {
    let c = s.content;
    if s.kind == SampleKind::Pretrain {
        return Err("is pre-training text, not a conversation".into());
    }
    let mut conv = Vec::new();
    for (i, t) in c.turns.iter().enumerate() {
        let v = match t.role {
            Role::User if i == 0 => {
                json!({"role": "user", "content": prompt_with_options(&t.content, c)})
            }
            Role::User => json!({"role": "user", "content": t.content}),
            Role::Tool => {
                let obs = serde_json::from_str::<Value>(&t.content)
                    .ok()
                    .filter(|v| v.is_object() || v.is_array())
                    .unwrap_or_else(|| Value::String(t.content.clone()));
                json!({"role": "tool", "content": obs})
            }
            Role::Assistant => {
                let mut o = Obj::new();
                if let Some(r) = &t.reasoning {
                    o.insert("thought".into(), r.clone().into());
                }
                match t.tool_calls.as_slice() {
                    [] => {
                        o.insert("final_answer".into(), t.content.clone().into());
                    }
                    [call] => {
                        if !t.content.is_empty() {
                            return Err("an assistant turn has both text and a tool call".into());
                        }
                        o.insert(
                            "action".into(),
                            json!({"tool_name": call.name, "parameters": call.arguments}),
                        );
                    }
                    _ => return Err("an assistant turn makes several tool calls at once".into()),
                }
                json!({"role": "assistant", "content": o})
            }
        };
        conv.push(v);
    }
    let mut out = Obj::new();
    if let Some(sys) = &c.system {
        out.insert("system".into(), sys.clone().into());
    }
    out.insert(
        "tools".into(),
        c.tools.clone().unwrap_or(Value::Array(vec![])),
    );
    out.insert("conversation".into(), Value::Array(conv));
    put_extra(&mut out, s);
    Ok(Value::Object(out))
}
