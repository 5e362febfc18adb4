//! Trajectory checks for agent samples: every tool called is declared, its arguments are an
//! object that matches the declared JSON schema (required fields present, no undeclared
//! fields, basic types), every action is followed by an observation, and the trajectory ends
//! with a final answer. A small schema subset is checked by hand: tool specs in datasets use
//! only `type`, `properties` and `required`, and a full JSON Schema crate would be a heavy
//! dependency for that.

use crate::model::{Content, NewVerdict, Role};
use serde_json::Value;
use std::collections::HashMap;

/// Declared tools by name, with their parameter schema (OpenAI function specs or bare specs).
fn declared(tools: Option<&Value>) -> HashMap<String, Value> {
    let mut out = HashMap::new();
    let list = match tools {
        Some(Value::Array(a)) => a.clone(),
        Some(Value::String(s)) => serde_json::from_str::<Vec<Value>>(s).unwrap_or_default(),
        _ => Vec::new(),
    };
    for t in list {
        let spec = if t.get("function").is_some() {
            &t["function"]
        } else {
            &t
        };
        if let Some(name) = spec["name"].as_str() {
            let params = spec.get("parameters").cloned().unwrap_or(Value::Null);
            out.insert(name.to_string(), params);
        }
    }
    out
}

fn type_ok(expected: &str, v: &Value) -> bool {
    match expected {
        "string" => v.is_string(),
        "number" => v.is_number(),
        "integer" => v.as_i64().is_some() || v.as_u64().is_some(),
        "boolean" => v.is_boolean(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        "null" => v.is_null(),
        _ => true,
    }
}

/// Problems with one call's arguments against its schema.
fn argument_problems(tool: &str, schema: &Value, args: &Value) -> Vec<String> {
    let args = match args {
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(v) => v,
            Err(e) => return vec![format!("{tool}: arguments are not JSON ({e})")],
        },
        other => other.clone(),
    };
    let Some(obj) = args.as_object() else {
        return vec![format!("{tool}: arguments are not an object")];
    };
    let mut out = Vec::new();
    let props = schema["properties"].as_object();
    for req in schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if !obj.contains_key(req) {
            out.push(format!("{tool}: required argument {req:?} is missing"));
        }
    }
    if let Some(props) = props {
        for (k, v) in obj {
            match props.get(k) {
                None => out.push(format!("{tool}: argument {k:?} is not declared")),
                Some(p) => {
                    if let Some(t) = p["type"].as_str()
                        && !type_ok(t, v)
                    {
                        out.push(format!("{tool}: argument {k:?} should be {t}, is {v}"));
                    }
                }
            }
        }
    }
    out
}

/// Checks one agent trajectory; the first wrong step is the 1-based turn of the first problem.
pub fn verdict(content: &Content) -> NewVerdict {
    let tools = declared(content.tools.as_ref());
    let mut problems: Vec<(usize, String)> = Vec::new();
    let turns = &content.turns;
    for (i, turn) in turns.iter().enumerate() {
        if turn.role != Role::Assistant {
            continue;
        }
        for (k, call) in turn.tool_calls.iter().enumerate() {
            match tools.get(&call.name) {
                None => problems.push((
                    i,
                    format!("turn {}: tool {:?} is not declared", i + 1, call.name),
                )),
                Some(schema) => {
                    for p in argument_problems(&call.name, schema, &call.arguments) {
                        problems.push((i, format!("turn {}: {p}", i + 1)));
                    }
                }
            }
            // The observation: a tool turn answering this call's id, or the k-th tool turn
            // right after this one when ids are absent.
            let answered = match &call.id {
                Some(id) => turns[i + 1..].iter().any(|t| {
                    t.role == Role::Tool && t.tool_call_id.as_deref() == Some(id.as_str())
                }),
                None => {
                    turns[i + 1..]
                        .iter()
                        .take_while(|t| t.role == Role::Tool)
                        .count()
                        > k
                }
            };
            if !answered {
                problems.push((
                    i,
                    format!(
                        "turn {}: call of {:?} has no observation after it",
                        i + 1,
                        call.name
                    ),
                ));
            }
        }
    }
    match turns.last() {
        Some(t)
            if t.role == Role::Assistant
                && t.tool_calls.is_empty()
                && !t.content.trim().is_empty() => {}
        _ => problems.push((
            turns.len().saturating_sub(1),
            "the trajectory does not end with a final answer".into(),
        )),
    }
    let passed = problems.is_empty();
    NewVerdict {
        verifier: "trajectory".into(),
        model: None,
        passed,
        score: Some(if passed { 1.0 } else { 0.0 }),
        rationale: if passed {
            "declared tools, valid arguments, every action observed, final answer".into()
        } else {
            problems
                .iter()
                .map(|p| p.1.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        },
        first_wrong_step: problems.first().map(|p| p.0 as u32 + 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ToolCall, Turn};
    use serde_json::json;

    fn traj(args: Value, observe: bool, finish: bool) -> Content {
        let mut call = Turn::assistant("");
        call.tool_calls.push(ToolCall {
            id: Some("c1".into()),
            name: "search".into(),
            arguments: args,
        });
        let mut turns = vec![Turn::user("天气？"), call];
        if observe {
            let mut obs = Turn::new(Role::Tool, "晴");
            obs.tool_call_id = Some("c1".into());
            turns.push(obs);
        }
        if finish {
            turns.push(Turn::assistant("今天晴。"));
        }
        Content {
            turns,
            tools: Some(json!([{"type": "function", "function": {"name": "search",
                "parameters": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}}}])),
            ..Content::default()
        }
    }

    #[test]
    fn a_good_trajectory_passes() {
        let v = verdict(&traj(json!({"q": "北京"}), true, true));
        assert!(v.passed, "{}", v.rationale);
    }

    #[test]
    fn each_kind_of_problem_is_found() {
        let v = verdict(&traj(json!({"q": 3, "x": 1}), true, true));
        assert!(
            !v.passed
                && v.rationale.contains("should be string")
                && v.rationale.contains("\"x\" is not declared"),
            "{}",
            v.rationale
        );
        assert_eq!(v.first_wrong_step, Some(2));
        assert!(
            verdict(&traj(json!({}), true, true))
                .rationale
                .contains("required")
        );
        assert!(
            verdict(&traj(json!({"q": "a"}), false, true))
                .rationale
                .contains("no observation")
        );
        assert!(
            verdict(&traj(json!({"q": "a"}), true, false))
                .rationale
                .contains("final answer")
        );
        let mut c = traj(json!({"q": "a"}), true, true);
        c.tools = None;
        assert!(verdict(&c).rationale.contains("not declared"));
    }
}
