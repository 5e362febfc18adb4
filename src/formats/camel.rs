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
    let mut extra = extra.clone();
    if let Some(s) = solution {
        match split_solution(&s) {
            Some((steps, answer)) => {
                turns.push(Turn::assistant(answer).with_reasoning(steps));
                extra.insert(SPLIT_KEY.into(), Value::Bool(true));
            }
            None => turns.push(assistant_turn(s)),
        }
    }
    let content = Content {
        turns,
        golden,
        ..Content::default()
    };
    sample(SampleKind::Cot, content, src, extra)
}

/// Marks a sample whose CAMEL solution was split into steps and a last line, so that the
/// export joins them back exactly (with a line break, not `<think>`).
const SPLIT_KEY: &str = "camel_solution_lines";

/// A CAMEL solution without `<think>` is its reasoning steps followed by a last line stating the
/// answer (`答案：15`): the lines before it become the sample's reasoning, the last line its
/// answer, so verifiers and the review screen see the steps. None for a one-line solution, a
/// `<think>` one, or one that ends in a line break (kept whole, byte for byte).
fn split_solution(s: &str) -> Option<(&str, &str)> {
    if s.trim_start().starts_with("<think>") || s.ends_with(char::is_whitespace) {
        return None;
    }
    let p = s.rfind('\n')?;
    let (steps, answer) = (&s[..p], &s[p + 1..]);
    (!steps.trim().is_empty() && !answer.trim().is_empty()).then_some((steps, answer))
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
            let split = s.meta.extra.get(SPLIT_KEY) == Some(&Value::Bool(true));
            let solution = match &a.reasoning {
                Some(r) if split => format!("{r}\n{}", a.content),
                r => join_think(r.as_deref(), &a.content),
            };
            (u, Some(solution))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solutions_become_steps_and_an_answer_and_export_back_byte_for_byte() {
        let sol = "1. 先算 3 × 8 = 24。\n2. 再加 6 得 30。\n答案：30";
        let mut m = Obj::new();
        m.insert("solutions".into(), serde_json::json!({ "买了多少？": sol }));
        let src = Source::File {
            path: "camel.json".into(),
            line: 1,
        };
        let s = parse_export(m, &src).remove(0).unwrap();
        let a = s.content.answer_turn().unwrap();
        assert_eq!(a.content, "答案：30");
        assert_eq!(
            a.reasoning.as_deref(),
            Some("1. 先算 3 × 8 = 24。\n2. 再加 6 得 30。")
        );
        let view = SampleView {
            kind: s.kind,
            content: &s.content,
            meta: &s.meta,
        };
        assert_eq!(entry(&view).unwrap().solution.as_deref(), Some(sol));
        // One line, a trailing line break or a `<think>` block: kept as they were.
        assert_eq!(split_solution("答案：30"), None);
        assert_eq!(split_solution("a\nb\n"), None);
        assert_eq!(split_solution("<think>a</think>\nb"), None);
    }
}
