//! Alpaca: `{"instruction", "input", "output", "system", "history"}`. CoT rides in `output` as
//! `<think>reasoning</think>\nanswer`; `{"text"}` rows are pre-training chunks.

use super::fields::{
    ALPACA_INPUT, Obj, assistant_turn, infer_kind, join_think, opt_str, pairs, prompt_with_options,
    req_str, sample, string,
};
use super::{FieldError, SampleView, Skip};
use crate::model::{Content, NewSample, Role, SampleKind, Source, Turn};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;
use std::borrow::Cow;

pub fn parse(mut m: Obj, src: &Source) -> Result<Vec<NewSample>, FieldError> {
    if !m.contains_key("instruction") && m.contains_key("text") {
        return super::pretrain::parse(m, src);
    }
    let instruction = req_str(&mut m, "instruction", "")?;
    let input = opt_str(&mut m, "input", "")?.unwrap_or_default();
    let output = req_str(&mut m, "output", "")?;
    // `""` is how LLaMA-Factory rows (and assay's exports) say "no system prompt".
    let system = opt_str(&mut m, "system", "")?.filter(|s| !s.is_empty());
    let mut turns = Vec::new();
    match m.remove("history") {
        None | Some(Value::Null) => {}
        Some(Value::Array(rounds)) => {
            for (i, round) in rounds.into_iter().enumerate() {
                let field = format!("history[{i}]");
                let Value::Array(pair) = round else {
                    return Err(FieldError::new(field, "expected a [user, assistant] pair"));
                };
                let [u, a]: [Value; 2] = pair.try_into().map_err(|p: Vec<Value>| {
                    FieldError::new(&field, format!("expected 2 items, found {}", p.len()))
                })?;
                turns.push(Turn::user(string(u, &format!("{field}[0]"))?));
                turns.push(assistant_turn(string(a, &format!("{field}[1]"))?));
            }
        }
        Some(other) => {
            return Err(FieldError::new(
                "history",
                format!(
                    "expected an array, found {}",
                    super::fields::type_name(&other)
                ),
            ));
        }
    }
    let prompt = if input.is_empty() {
        instruction
    } else {
        m.insert(ALPACA_INPUT.into(), Value::String(input.clone()));
        format!("{instruction}\n{input}")
    };
    turns.push(Turn::user(prompt));
    turns.push(assistant_turn(output));
    let content = Content {
        system,
        turns,
        ..Content::default()
    };
    Ok(vec![sample(infer_kind(&content), content, src, m)])
}

/// One Alpaca record borrowed from its sample: exports serialise it straight to the output
/// instead of building a `serde_json::Value` first (that copy was a sixth of an export's
/// writer thread). Keys come out sorted, as a `Value` map would write them.
pub enum Record<'a> {
    Fields(Vec<(&'a str, Field<'a>)>),
    /// Pre-training text, written as `pretrain` writes it.
    Value(Value),
}

pub enum Field<'a> {
    Text(Cow<'a, str>),
    History(Vec<[Cow<'a, str>; 2]>),
    Json(Cow<'a, Value>),
}

impl Serialize for Record<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        match self {
            Record::Value(v) => v.serialize(ser),
            Record::Fields(fields) => {
                let mut map = ser.serialize_map(Some(fields.len()))?;
                for (k, v) in fields {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

impl Serialize for Field<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        match self {
            Field::Text(t) => ser.serialize_str(t),
            Field::History(h) => h.serialize(ser),
            Field::Json(v) => v.serialize(ser),
        }
    }
}

pub fn to_json(s: &SampleView<'_>) -> Result<Value, Skip> {
    serde_json::to_value(record(s)?).map_err(|e| e.to_string())
}

/// The text of an assistant turn with its reasoning as `<think>`, borrowed when it has none.
fn answer_text(t: &Turn) -> Cow<'_, str> {
    match &t.reasoning {
        Some(r) => Cow::Owned(join_think(Some(r), &t.content)),
        None => Cow::Borrowed(&t.content),
    }
}

pub fn record<'a>(s: &SampleView<'a>) -> Result<Record<'a>, Skip> {
    let c = s.content;
    if s.kind == SampleKind::Pretrain {
        return super::pretrain::to_json(s).map(Record::Value);
    }
    let turns: Vec<&'a Turn> = c.turns.iter().collect();
    // Each pair as (prompt, answer).
    let mut rounds: Vec<(&'a str, Cow<'a, str>)> = Vec::with_capacity(turns.len() / 2);
    if turns.len() == 1 && turns[0].role == Role::User {
        // A question with only a golden answer (CAMEL, multiple choice): the golden answer is
        // the response.
        let golden = c.golden.as_deref().ok_or("has a question but no answer")?;
        pairs(&[turns[0], &Turn::assistant(golden)])?;
        rounds.push((&turns[0].content, Cow::Borrowed(golden)));
    } else {
        for (u, a) in pairs(&turns)? {
            rounds.push((&u.content, answer_text(a)));
        }
    }
    let Some(((last_prompt, output), history)) = rounds.split_last() else {
        return Err("has no turns".into());
    };
    let prompt: Cow<'a, str> = if c.options.is_empty() {
        Cow::Borrowed(last_prompt)
    } else {
        Cow::Owned(prompt_with_options(last_prompt, c))
    };
    let (instruction, input) = match s.meta.extra.get(ALPACA_INPUT) {
        Some(Value::String(inp))
            if prompt.len() > inp.len()
                && prompt.ends_with(inp.as_str())
                && prompt[..prompt.len() - inp.len()].ends_with('\n') =>
        {
            let cut = prompt.len() - inp.len() - 1;
            let instruction = match prompt {
                Cow::Borrowed(p) => Cow::Borrowed(&p[..cut]),
                Cow::Owned(p) => Cow::Owned(p[..cut].to_string()),
            };
            (instruction, Cow::Borrowed(inp.as_str()))
        }
        _ => (prompt, Cow::Borrowed("")),
    };
    let mut fields = vec![
        ("instruction", Field::Text(instruction)),
        ("input", Field::Text(input)),
        ("output", Field::Text(output.clone())),
    ];
    // `system` and `history` are always written ("" and [] when there are none): LLaMA-Factory
    // indexes every column its dataset_info.json declares, and a file where no row has one
    // stops it with a KeyError.
    let system = c.system.as_deref().unwrap_or("");
    fields.push(("system", Field::Text(Cow::Borrowed(system))));
    let h = history
        .iter()
        .map(|(u, a)| [Cow::Borrowed(*u), a.clone()])
        .collect();
    fields.push(("history", Field::History(h)));
    for (k, v) in super::fields::extra_fields(s) {
        if !fields.iter().any(|(f, _)| *f == k) {
            fields.push((k, Field::Json(v)));
        }
    }
    fields.sort_unstable_by(|a, b| a.0.cmp(b.0));
    Ok(Record::Fields(fields))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SampleMeta;
    use serde_json::json;

    fn export(content: &Content, meta: &SampleMeta) -> Value {
        let view = SampleView {
            kind: SampleKind::Qa,
            content,
            meta,
        };
        let mut out = Vec::new();
        let mut w = super::super::write::SampleWriter::new(
            &mut out,
            super::super::Format::Alpaca,
            super::super::write::Container::Lines,
            Default::default(),
        )
        .unwrap();
        assert!(w.write(&view).unwrap());
        w.finish().unwrap();
        let written: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(written, to_json(&view).unwrap(), "writer and to_json agree");
        written
    }

    #[test]
    fn a_choice_item_exports_its_options_and_golden_letter() {
        let content = Content {
            turns: vec![Turn::user("哪个是质数?")],
            golden: Some("B".into()),
            options: vec!["4".into(), "5".into()],
            ..Content::default()
        };
        let mut meta = SampleMeta::default();
        meta.extra.insert("id".into(), json!(7));
        assert_eq!(
            export(&content, &meta),
            json!({"instruction": "哪个是质数?\nA. 4\nB. 5", "input": "", "output": "B", "id": 7,
                   "system": "", "history": []})
        );
    }

    #[test]
    fn input_is_split_off_the_prompt_only_where_it_ends_it() {
        let content = Content {
            turns: vec![Turn::user("翻译\nhello"), Turn::assistant("你好")],
            ..Content::default()
        };
        let mut meta = SampleMeta::default();
        meta.extra.insert(ALPACA_INPUT.into(), json!("hello"));
        assert_eq!(
            export(&content, &meta),
            json!({"instruction": "翻译", "input": "hello", "output": "你好", "system": "",
                   "history": []})
        );
        meta.extra.insert(ALPACA_INPUT.into(), json!("other"));
        assert_eq!(
            export(&content, &meta),
            json!({"instruction": "翻译\nhello", "input": "", "output": "你好", "system": "",
                   "history": []})
        );
    }
}
