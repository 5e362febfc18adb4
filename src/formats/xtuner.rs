//! xtuner's `{"conversation": [{"system", "input", "output"}]}`: instruction tuning, or
//! incremental pre-training when the only turn has an empty `input`.

use super::fields::{
    Obj, as_object, assistant_turn, infer_kind, join_think, opt_str, pairs, prompt_with_options,
    put_extra, req_array, req_str, sample,
};
use super::{FieldError, SampleView, Skip};
use crate::model::{Content, NewSample, SampleKind, Source, Turn};
use serde_json::Value;

pub fn parse(mut m: Obj, src: &Source) -> Result<Vec<NewSample>, FieldError> {
    let rounds = req_array(&mut m, "conversation", "")?;
    if rounds.is_empty() {
        return Err(FieldError::new("conversation", "is empty"));
    }
    let single = rounds.len() == 1;
    let mut system = None;
    let mut turns = Vec::new();
    for (i, round) in rounds.into_iter().enumerate() {
        let prefix = format!("conversation[{i}]");
        let mut r = as_object(round, &prefix)?;
        if let Some(sys) = opt_str(&mut r, "system", &prefix)? {
            if i > 0 {
                return Err(FieldError::new(
                    format!("{prefix}.system"),
                    "system is only allowed in the first round",
                ));
            }
            system = Some(sys);
        }
        let input = opt_str(&mut r, "input", &prefix)?.unwrap_or_default();
        let output = req_str(&mut r, "output", &prefix)?;
        if single && input.is_empty() && system.is_none() {
            let content = Content {
                turns: vec![Turn::assistant(output)],
                ..Content::default()
            };
            return Ok(vec![sample(SampleKind::Pretrain, content, src, m)]);
        }
        turns.push(Turn::user(input));
        turns.push(assistant_turn(output));
    }
    let content = Content {
        system,
        turns,
        ..Content::default()
    };
    Ok(vec![sample(infer_kind(&content), content, src, m)])
}

pub fn to_json(s: &SampleView<'_>) -> Result<Value, Skip> {
    let c = s.content;
    let mut rounds = Vec::new();
    if s.kind == SampleKind::Pretrain {
        let text = super::pretrain::text(s)?;
        rounds.push(serde_json::json!({"input": "", "output": text}));
    } else {
        let mut turns: Vec<&Turn> = c.turns.iter().collect();
        let golden;
        if turns.len() == 1
            && let Some(g) = &c.golden
        {
            golden = Turn::assistant(g.clone());
            turns.push(&golden);
        }
        for (i, (u, a)) in pairs(&turns)?.into_iter().enumerate() {
            let mut r = Obj::new();
            if i == 0
                && let Some(sys) = &c.system
            {
                r.insert("system".into(), sys.clone().into());
            }
            let input = if i == 0 {
                prompt_with_options(&u.content, c)
            } else {
                u.content.clone()
            };
            r.insert("input".into(), input.into());
            r.insert(
                "output".into(),
                join_think(a.reasoning.as_deref(), &a.content).into(),
            );
            rounds.push(Value::Object(r));
        }
    }
    let mut out = Obj::new();
    out.insert("conversation".into(), Value::Array(rounds));
    put_extra(&mut out, s);
    Ok(Value::Object(out))
}
