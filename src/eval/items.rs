//! Held-out items: a sample turned into a prompt (its turns before the answer) and the answer
//! it should get (its golden answer, or its key letter for multiple choice).
//!
//! Samples that cannot be scored (no golden answer, no question, a kind with no single answer)
//! are counted by reason, never dropped silently.

use crate::formats::fields::lettered_options;
use crate::model::{Role, SampleKind, Turn};
use crate::store::SampleRecord;
use serde::Serialize;

/// One item to put to the model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalItem {
    pub sample_id: i64,
    pub kind: SampleKind,
    pub system: Option<String>,
    /// The conversation up to the answer; the last turn is the user's.
    pub turns: Vec<Turn>,
    pub golden: String,
    /// Multiple-choice options, lettered A, B, C...; empty for other items.
    pub options: Vec<String>,
}

/// Why a sample is not an item.
pub fn skip_reason(kind: SampleKind) -> Option<&'static str> {
    match kind {
        SampleKind::Pretrain => Some("pre-training text has no question"),
        SampleKind::AgentTrajectory => Some("agent trajectories are not scored by answer"),
        _ => None,
    }
}

/// The item a sample makes, or why it makes none.
pub fn item_from(s: &SampleRecord) -> Result<EvalItem, &'static str> {
    if let Some(why) = skip_reason(s.kind) {
        return Err(why);
    }
    let c = &s.head.content;
    let golden = c
        .golden
        .as_deref()
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .ok_or("no golden answer")?;
    if c.options.len() > 26 {
        return Err("more than 26 options");
    }
    // The prompt is everything before the last assistant turn (the answer being tested).
    let cut = c
        .turns
        .iter()
        .rposition(|t| t.role == Role::Assistant)
        .unwrap_or(c.turns.len());
    let mut turns: Vec<Turn> = c.turns[..cut].to_vec();
    match turns.last() {
        Some(t) if t.role == Role::User && !t.content.trim().is_empty() => {}
        _ => return Err("no question before the answer"),
    }
    if !c.options.is_empty() {
        // Imported items keep options apart from the question; the model must see them, in the
        // layout the answer pipeline trains on (`question\nA. ...`).
        let opts = lettered_options(&c.options);
        if let Some(last) = turns.last_mut()
            && !last.content.contains(&opts)
        {
            last.content = format!("{}\n{opts}", last.content);
        }
    }
    let golden = if c.options.is_empty() {
        golden.to_string()
    } else {
        golden.to_uppercase()
    };
    Ok(EvalItem {
        sample_id: s.id,
        kind: s.kind,
        system: c.system.clone(),
        turns,
        golden,
        options: c.options.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Content, ReviewStatus, Revision, SampleMeta, Source, VerdictSummary};

    fn record(kind: SampleKind, content: Content) -> SampleRecord {
        SampleRecord {
            id: 7,
            dataset_id: 1,
            kind,
            source: Source::File {
                path: "x".into(),
                line: 1,
            },
            meta: SampleMeta::default(),
            status: ReviewStatus::Unreviewed,
            verdict: VerdictSummary::None,
            dup_cluster: None,
            head: Revision {
                id: 1,
                sample_id: 7,
                number: 1,
                content,
                author: "import".into(),
                created_at: String::new(),
            },
        }
    }

    #[test]
    fn choice_items_show_their_options_once() {
        let c = Content {
            turns: vec![Turn::user("题干\n\n小李来自哪座城市？")],
            golden: Some("b".into()),
            options: vec!["上海".into(), "北京".into()],
            ..Content::default()
        };
        let it = item_from(&record(SampleKind::MultipleChoice, c.clone())).unwrap();
        assert_eq!(
            it.turns[0].content,
            "题干\n\n小李来自哪座城市？\nA. 上海\nB. 北京"
        );
        assert_eq!(it.golden, "B");
        // A generated CoT already carries them under the question, and its answer is cut.
        let mut cot = c;
        cot.turns = vec![
            Turn::user("小李来自哪座城市？\nA. 上海\nB. 北京"),
            Turn::assistant("答案是:B").with_reasoning("1. ..."),
        ];
        let it = item_from(&record(SampleKind::Cot, cot)).unwrap();
        assert_eq!(it.turns.len(), 1);
        assert_eq!(it.turns[0].content, "小李来自哪座城市？\nA. 上海\nB. 北京");
    }

    #[test]
    fn unscorable_samples_say_why() {
        let qa = Content {
            turns: vec![Turn::user("q"), Turn::assistant("a")],
            ..Content::default()
        };
        assert_eq!(
            item_from(&record(SampleKind::Qa, qa.clone())),
            Err("no golden answer")
        );
        let mut no_q = qa.clone();
        no_q.golden = Some("a".into());
        no_q.turns.remove(0);
        assert_eq!(
            item_from(&record(SampleKind::Qa, no_q)),
            Err("no question before the answer")
        );
        assert!(item_from(&record(SampleKind::Pretrain, qa)).is_err());
    }
}
