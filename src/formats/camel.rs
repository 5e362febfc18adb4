//! CAMEL's CoT data: a golden-answer map `{question: answer}` and CAMEL's export
//! `{"solutions": {question: solution}, "golden_answers": {...}, "export_time"}`. A whole file is
//! one record, so each entry is parsed (and rejected) on its own.

use super::fields::{Obj, assistant_turn, join_think, sample, type_name};
use super::{FieldError, SampleView, Skip};
use crate::model::{Content, NewSample, Role, SampleKind, Source, Turn};
use serde_json::Value;

fn question_sample(
    q: String,
    golden: Option<String>,
    solution: Option<String>,
    src: &Source,
    extra: &Obj,
) -> NewSample {
    let mut turns = vec![Turn::user(q)];
    if let Some(s) = solution {
        turns.push(assistant_turn(s));
    }
    let content = Content {
        turns,
        golden,
        ..Content::default()
    };
    sample(SampleKind::Cot, content, src, extra.clone())
}

/// `{question: answer}`: one CoT sample per entry, with the answer as its golden answer.
pub fn parse_golden(m: Obj, src: &Source) -> Vec<Result<NewSample, FieldError>> {
    m.into_iter()
        .map(|(q, a)| match a {
            Value::String(a) => Ok(question_sample(q, Some(a), None, src, &Obj::new())),
            other => Err(FieldError::new(
                q,
                format!(
                    "expected the answer as a string, found {}",
                    type_name(&other)
                ),
            )),
        })
        .collect()
}

/// CAMEL's export: one CoT sample per question that has a solution or a golden answer.
pub fn parse_export(mut m: Obj, src: &Source) -> Vec<Result<NewSample, FieldError>> {
    let mut take_map = |key: &str| match m.remove(key) {
        None | Some(Value::Null) => Ok(Obj::new()),
        Some(Value::Object(o)) => Ok(o),
        Some(other) => Err(FieldError::new(
            key,
            format!("expected an object, found {}", type_name(&other)),
        )),
    };
    let (solutions, mut golden) = match (take_map("solutions"), take_map("golden_answers")) {
        (Ok(s), Ok(g)) => (s, g),
        (Err(e), _) | (_, Err(e)) => return vec![Err(e)],
    };
    // What is left (export_time and any unknown keys) is kept on every sample.
    let extra = m;
    let mut out = Vec::new();
    for (q, sol) in solutions {
        let g = match golden.remove(&q) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(g)) => Ok(Some(g)),
            Some(other) => Err(FieldError::new(
                format!("golden_answers.{q}"),
                format!("expected a string, found {}", type_name(&other)),
            )),
        };
        out.push(match (sol, g) {
            (Value::String(sol), Ok(g)) => Ok(question_sample(q, g, Some(sol), src, &extra)),
            (_, Err(e)) => Err(e),
            (other, _) => Err(FieldError::new(
                format!("solutions.{q}"),
                format!("expected a string, found {}", type_name(&other)),
            )),
        });
    }
    for (q, g) in golden {
        out.push(match g {
            Value::String(g) => Ok(question_sample(q, Some(g), None, src, &extra)),
            other => Err(FieldError::new(
                format!("golden_answers.{q}"),
                format!("expected a string, found {}", type_name(&other)),
            )),
        });
    }
    out
}

/// What CAMEL's shapes carry of a sample: question, solution (with `<think>`), golden answer.
pub struct Entry {
    pub question: String,
    pub solution: Option<String>,
    pub golden: Option<String>,
}

pub fn entry(s: &SampleView<'_>) -> Result<Entry, Skip> {
    let c = s.content;
    let (q, sol) = match c.turns.as_slice() {
        [u] if u.role == Role::User => (u, None),
        [u, a] if u.role == Role::User && a.role == Role::Assistant && a.tool_calls.is_empty() => {
            (u, Some(join_think(a.reasoning.as_deref(), &a.content)))
        }
        t => {
            return Err(format!(
                "CAMEL holds one question and one solution; this sample has {} turns",
                t.len()
            ));
        }
    };
    Ok(Entry {
        question: super::fields::prompt_with_options(&q.content, c),
        solution: sol,
        golden: c.golden.clone(),
    })
}
