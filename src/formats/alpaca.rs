//! Alpaca: `{"instruction", "input", "output", "system", "history"}`. CoT rides in `output` as
//! `<think>reasoning</think>\nanswer`; `{"text"}` rows are pre-training chunks.

use super::fields::{
    ALPACA_INPUT, Obj, assistant_turn, infer_kind, join_think, opt_str, pairs, prompt_with_options,
    put_extra, req_str, sample, string,
};
use super::{FieldError, SampleView, Skip};
use crate::model::{Content, NewSample, Role, SampleKind, Source, Turn};
use serde_json::Value;

pub fn parse(mut m: Obj, src: &Source) -> Result<Vec<NewSample>, FieldError> {
    if !m.contains_key("instruction") && m.contains_key("text") {
        return super::pretrain::parse(m, src);
    }
    let instruction = req_str(&mut m, "instruction", "")?;
    let input = opt_str(&mut m, "input", "")?.unwrap_or_default();
    let output = req_str(&mut m, "output", "")?;
    let system = opt_str(&mut m, "system", "")?;
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

pub fn to_json(s: &SampleView<'_>) -> Result<Value, Skip> {
    let c = s.content;
    if s.kind == SampleKind::Pretrain {
        return super::pretrain::to_json(s);
    }
    let mut turns: Vec<_> = c.turns.iter().collect();
    let golden_answer;
    if turns.len() == 1 && turns[0].role == Role::User {
        // A question with only a golden answer (CAMEL, multiple choice): the golden answer is
        // the response.
        let golden = c.golden.as_deref().ok_or("has a question but no answer")?;
        golden_answer = Turn::assistant(golden);
        turns.push(&golden_answer);
    }
    let pairs = pairs(&turns)?;
    let Some(((last_u, last_a), history)) = pairs.split_last() else {
        return Err("has no turns".into());
    };
    let prompt = prompt_with_options(&last_u.content, c);
    let (instruction, input) = match s.meta.extra.get(ALPACA_INPUT) {
        Some(Value::String(inp)) if prompt.ends_with(&format!("\n{inp}")) => (
            prompt[..prompt.len() - inp.len() - 1].to_string(),
            inp.clone(),
        ),
        _ => (prompt, String::new()),
    };
    let mut out = Obj::new();
    out.insert("instruction".into(), instruction.into());
    out.insert("input".into(), input.into());
    out.insert(
        "output".into(),
        join_think(last_a.reasoning.as_deref(), &last_a.content).into(),
    );
    if let Some(sys) = &c.system {
        out.insert("system".into(), sys.clone().into());
    }
    if !history.is_empty() {
        let h: Vec<Value> = history
            .iter()
            .map(|(u, a)| {
                Value::Array(vec![
                    u.content.clone().into(),
                    join_think(a.reasoning.as_deref(), &a.content).into(),
                ])
            })
            .collect();
        out.insert("history".into(), Value::Array(h));
    }
    put_extra(&mut out, s);
    Ok(Value::Object(out))
}
