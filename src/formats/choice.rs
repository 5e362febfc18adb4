//! Multiple-choice items: `{"problem", "questions": [{"question", "options", "answer"}]}`, one
//! sample per question. The shared problem is context, so it opens the user turn
//! (`problem\n\nquestion`); options stay in `Content::options` and the answer letter is the
//! golden answer. Unknown fields of the item and of the question are kept on each sample.

use super::fields::{
    CHOICE_PROBLEM, Obj, as_object, req_array, req_str, sample, string, type_name,
};
use super::{FieldError, SampleView, Skip};
use crate::model::{Content, NewSample, Role, SampleKind, Source, Turn};
use serde_json::Value;

pub fn parse(mut m: Obj, src: &Source) -> Result<Vec<NewSample>, FieldError> {
    let problem = match m.remove("problem") {
        None | Some(Value::Null) => String::new(),
        Some(v) => string(v, "problem")?,
    };
    let questions = req_array(&mut m, "questions", "")?;
    let mut out = Vec::new();
    for (i, q) in questions.into_iter().enumerate() {
        let prefix = format!("questions[{i}]");
        let mut q = as_object(q, &prefix)?;
        let question = req_str(&mut q, "question", &prefix)?;
        let options = req_array(&mut q, "options", &prefix)?
            .into_iter()
            .enumerate()
            .map(|(j, o)| string(o, &format!("{prefix}.options[{j}]")))
            .collect::<Result<Vec<_>, _>>()?;
        let answer = match q.remove("answer") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            Some(other) => {
                return Err(FieldError::new(
                    format!("{prefix}.answer"),
                    format!("expected a letter as a string, found {}", type_name(&other)),
                ));
            }
        };
        let mut extra = m.clone();
        extra.extend(q);
        let text = if problem.is_empty() {
            question
        } else {
            extra.insert(CHOICE_PROBLEM.into(), Value::String(problem.clone()));
            format!("{problem}\n\n{question}")
        };
        let content = Content {
            turns: vec![Turn::user(text)],
            golden: answer,
            options,
            ..Content::default()
        };
        out.push(sample(SampleKind::MultipleChoice, content, src, extra));
    }
    Ok(out)
}

/// The problem and one question object of a multiple-choice sample.
pub fn split(s: &SampleView<'_>) -> Result<(String, Obj), Skip> {
    let c = s.content;
    if c.options.is_empty() {
        return Err("has no options".into());
    }
    let text = match c.turns.first() {
        Some(t) if t.role == Role::User => &t.content,
        _ => return Err("has no question".into()),
    };
    let (problem, question) = match s.meta.extra.get(CHOICE_PROBLEM) {
        Some(Value::String(p)) if text.starts_with(&format!("{p}\n\n")) => {
            (p.clone(), text[p.len() + 2..].to_string())
        }
        _ => (String::new(), text.clone()),
    };
    let mut q = Obj::new();
    q.insert("question".into(), question.into());
    q.insert(
        "options".into(),
        Value::Array(c.options.iter().map(|o| Value::String(o.clone())).collect()),
    );
    if let Some(g) = &c.golden {
        q.insert("answer".into(), g.clone().into());
    }
    super::fields::put_extra(&mut q, s);
    q.remove("problem");
    q.remove("questions");
    Ok((problem, q))
}
