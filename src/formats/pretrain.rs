//! Pre-training text: `{"text": "document"}`, stored as one assistant turn.

use super::fields::{Obj, put_extra, req_str, sample};
use super::{FieldError, SampleView, Skip};
use crate::model::{Content, NewSample, SampleKind, Source, Turn};
use serde_json::Value;

pub fn parse(mut m: Obj, src: &Source) -> Result<Vec<NewSample>, FieldError> {
    let text = req_str(&mut m, "text", "")?;
    let content = Content {
        turns: vec![Turn::assistant(text)],
        ..Content::default()
    };
    Ok(vec![sample(SampleKind::Pretrain, content, src, m)])
}

/// The text of a pre-training sample: its single turn.
pub fn text(s: &SampleView<'_>) -> Result<String, Skip> {
    if s.kind != SampleKind::Pretrain {
        return Err(format!("is a {} sample, not pre-training text", s.kind));
    }
    match s.content.turns.as_slice() {
        [t] => Ok(t.content.clone()),
        t => Err(format!("pre-training sample with {} turns", t.len())),
    }
}

pub fn to_json(s: &SampleView<'_>) -> Result<Value, Skip> {
    let mut out = Obj::new();
    out.insert("text".into(), text(s)?.into());
    put_extra(&mut out, s);
    Ok(Value::Object(out))
}
