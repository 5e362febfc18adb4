//! Preference and process-supervision rows: DPO pairs, KTO examples and stepwise labels, in the
//! layouts LLaMA-Factory and TRL read. They are built from the same conversation rows the SFT
//! exports write ([`sharegpt::to_json`], [`openai::to_json`]), so thought words, tools and the
//! skip rules are the ones those exports were checked with; the answer is the last message and
//! everything before it is the prompt.
//!
//! - LLaMA-Factory DPO (`ranking: true`): `{"conversations": prompt, "chosen": {...},
//!   "rejected": {...}, "system", "tools"}`; the prompt has an odd number of messages.
//! - LLaMA-Factory KTO: the whole conversation plus `"kto_tag": true|false`.
//! - TRL DPO: `{"prompt": [messages], "chosen": [answer], "rejected": [answer]}`; KTO:
//!   `{"prompt", "completion", "label"}`; stepwise: `{"prompt", "completions", "labels"}`
//!   (TRL's conversational and stepwise-supervision dataset types).

use super::fields::Obj;
use super::write::{Container, WriteSummary};
use super::{SampleView, Skip, Tags, openai, sharegpt};
use serde_json::{Value, json};
use std::io::Write;

/// A conversation row split into its prompt and its last (answer) message.
struct Split {
    row: Obj,
    prompt: Vec<Value>,
    answer: Value,
}

fn split(row: Value, messages: &str) -> Result<Split, Skip> {
    let Value::Object(mut row) = row else {
        return Err("not a conversation row".into());
    };
    let Some(Value::Array(mut msgs)) = row.remove(messages) else {
        return Err("a conversation without messages".into());
    };
    let answer = msgs.pop().ok_or("an empty conversation")?;
    if msgs.is_empty() {
        return Err("an answer without a prompt".into());
    }
    Ok(Split {
        row,
        prompt: msgs,
        answer,
    })
}

fn sharegpt_split(s: &SampleView<'_>) -> Result<Split, Skip> {
    let tags = Tags::default();
    let split = split(sharegpt::to_json(s, &tags)?, &tags.messages)?;
    let role = split.answer.get(&tags.role).and_then(Value::as_str);
    if role != Some(tags.assistant.as_str()) && role != Some(tags.function_call.as_str()) {
        return Err("the last message is not the assistant's".into());
    }
    Ok(split)
}

/// TRL's rows take plain `{role, content}` messages: tool calls and tool schemas would become
/// Arrow structs and unions across rows, and TRL's preference trainers read no tool column.
fn trl_split(s: &SampleView<'_>) -> Result<Split, Skip> {
    if s.content.tools.is_some()
        || s.content
            .turns
            .iter()
            .any(|t| !t.tool_calls.is_empty() || t.role == crate::model::Role::Tool)
    {
        return Err(
            "uses tools: TRL's preference rows carry plain messages only (use llamafactory-dpo or \
             llamafactory-kto)"
                .into(),
        );
    }
    let split = split(openai::to_json(s)?, "messages")?;
    if split.answer.get("role").and_then(Value::as_str) != Some("assistant") {
        return Err("the last message is not the assistant's".into());
    }
    let plain = |m: Value| {
        json!({
            "role": m.get("role").cloned().unwrap_or(Value::Null),
            "content": m.get("content").cloned().unwrap_or(Value::Null),
        })
    };
    Ok(Split {
        row: split.row,
        prompt: split.prompt.into_iter().map(plain).collect(),
        answer: plain(split.answer),
    })
}

/// The columns LLaMA-Factory's converter indexes, always present.
fn lf_columns(row: &Obj, out: &mut Obj) {
    for key in ["system", "tools"] {
        out.insert(
            key.into(),
            row.get(key).cloned().unwrap_or_else(|| "".into()),
        );
    }
}

fn same_prompt(a: &Split, b: &Split, keys: &[&str]) -> Result<(), Skip> {
    if a.prompt != b.prompt || keys.iter().any(|k| a.row.get(*k) != b.row.get(*k)) {
        return Err("the rejected revision has another prompt (the question was edited)".into());
    }
    if a.answer == b.answer {
        return Err("the rejected revision's answer is the accepted one".into());
    }
    Ok(())
}

/// A LLaMA-Factory `ranking: true` row.
pub fn dpo_llamafactory(chosen: &SampleView<'_>, rejected: &SampleView<'_>) -> Result<Value, Skip> {
    let (c, r) = (sharegpt_split(chosen)?, sharegpt_split(rejected)?);
    same_prompt(&c, &r, &["system", "tools"])?;
    let mut out = Obj::new();
    out.insert("conversations".into(), Value::Array(c.prompt));
    out.insert("chosen".into(), c.answer);
    out.insert("rejected".into(), r.answer);
    lf_columns(&c.row, &mut out);
    Ok(Value::Object(out))
}

/// A TRL preference row (conversational).
pub fn dpo_trl(chosen: &SampleView<'_>, rejected: &SampleView<'_>) -> Result<Value, Skip> {
    let (c, r) = (trl_split(chosen)?, trl_split(rejected)?);
    same_prompt(&c, &r, &[])?;
    Ok(json!({"prompt": c.prompt, "chosen": [c.answer], "rejected": [r.answer]}))
}

/// A LLaMA-Factory KTO row: the conversation and its `kto_tag`.
pub fn kto_llamafactory(s: &SampleView<'_>, label: bool) -> Result<Value, Skip> {
    let c = sharegpt_split(s)?;
    let mut msgs = c.prompt;
    msgs.push(c.answer);
    let mut out = Obj::new();
    out.insert("conversations".into(), Value::Array(msgs));
    out.insert("kto_tag".into(), label.into());
    lf_columns(&c.row, &mut out);
    Ok(Value::Object(out))
}

/// A TRL unpaired preference row (conversational).
pub fn kto_trl(s: &SampleView<'_>, label: bool) -> Result<Value, Skip> {
    let c = trl_split(s)?;
    Ok(json!({"prompt": c.prompt, "completion": [c.answer], "label": label}))
}

/// A TRL stepwise-supervision row.
pub fn stepwise(prompt: &str, steps: &[String], labels: &[bool]) -> Value {
    json!({"prompt": prompt, "completions": steps, "labels": labels})
}

/// The `dataset_info.json` entry of a LLaMA-Factory preference file.
pub fn llamafactory_info(file_name: &str, kto: bool) -> Value {
    let mut columns = json!({"messages": "conversations", "system": "system", "tools": "tools"});
    let mut info = json!({"file_name": file_name, "formatting": "sharegpt"});
    if kto {
        columns["kto_tag"] = "kto_tag".into();
    } else {
        columns["chosen"] = "chosen".into();
        columns["rejected"] = "rejected".into();
        info["ranking"] = true.into();
    }
    info["columns"] = columns;
    info
}

/// Rows out to a `.json` array or a `.jsonl` file, counting what was written and skipped.
pub struct RowWriter<W: Write> {
    out: W,
    container: Container,
    pub summary: WriteSummary,
}

impl<W: Write> RowWriter<W> {
    pub fn new(mut out: W, container: Container) -> std::io::Result<Self> {
        if container == Container::Array {
            out.write_all(b"[")?;
        }
        Ok(RowWriter {
            out,
            container,
            summary: WriteSummary::default(),
        })
    }

    /// Writes `row`, or counts its skip reason.
    pub fn put(&mut self, row: Result<Value, Skip>) -> std::io::Result<()> {
        match row {
            Ok(v) => {
                if self.container == Container::Array {
                    self.out.write_all(if self.summary.written > 0 {
                        b",\n"
                    } else {
                        b"\n"
                    })?;
                }
                serde_json::to_writer(&mut self.out, &v)?;
                if self.container == Container::Lines {
                    self.out.write_all(b"\n")?;
                }
                self.summary.written += 1;
            }
            Err(why) => self.skip(why),
        }
        Ok(())
    }

    pub fn skip(&mut self, why: Skip) {
        *self.summary.skipped.entry(why).or_insert(0) += 1;
    }

    pub fn finish(mut self) -> std::io::Result<WriteSummary> {
        if self.container == Container::Array {
            self.out.write_all(b"\n]\n")?;
        }
        self.out.flush()?;
        Ok(self.summary)
    }
}
