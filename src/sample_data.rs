//! The bundled sample data (`sample-data/`), compiled into the binary so that `assay demo`
//! works from any directory, and the loader of its verdicts file.

use crate::formats::Format;
use crate::model::{NewVerdict, Role};
use crate::store::{Filter, Store};
use anyhow::Context;
use std::collections::HashMap;
use std::path::Path;

/// One bundled file: its name under `sample-data/`, the dataset it loads into, its format name
/// (`None` for raw text to chunk) and its bytes.
pub struct Bundled {
    pub file: &'static str,
    pub dataset: &'static str,
    pub format: Option<Format>,
    pub text: &'static str,
}

pub const FILES: &[Bundled] = &[
    Bundled {
        file: "cot_math.json",
        dataset: "cot-math",
        format: Some(Format::CamelExport),
        text: include_str!("../sample-data/cot_math.json"),
    },
    Bundled {
        file: "logic_mc.jsonl",
        dataset: "logic-mc",
        format: Some(Format::Choice),
        text: include_str!("../sample-data/logic_mc.jsonl"),
    },
    Bundled {
        file: "alpaca_qa.json",
        dataset: "alpaca-qa",
        format: Some(Format::Alpaca),
        text: include_str!("../sample-data/alpaca_qa.json"),
    },
    Bundled {
        file: "xtuner_dialogues.jsonl",
        dataset: "xtuner-dialogues",
        format: Some(Format::Xtuner),
        text: include_str!("../sample-data/xtuner_dialogues.jsonl"),
    },
    Bundled {
        file: "agent_trajectories.jsonl",
        dataset: "agent-trajectories",
        format: Some(Format::Agent),
        text: include_str!("../sample-data/agent_trajectories.jsonl"),
    },
    Bundled {
        file: "docs/data_engineering_notes.md",
        dataset: "docs",
        format: None,
        text: include_str!("../sample-data/docs/data_engineering_notes.md"),
    },
];

/// The verdicts that go with the generated samples.
pub const VERDICTS: &str = include_str!("../sample-data/verdicts.jsonl");

/// Writes the bundled files under `dir` (keeping their relative names) and returns the paths.
pub fn unpack(dir: &Path) -> anyhow::Result<Vec<(std::path::PathBuf, &'static Bundled)>> {
    let mut out = Vec::new();
    for b in FILES {
        let path = dir.join(b.file);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, b.text).with_context(|| format!("writing {}", path.display()))?;
        out.push((path, b));
    }
    Ok(out)
}

/// One line of `verdicts.jsonl`: a verdict on the sample whose question is `question`.
#[derive(serde::Deserialize)]
struct VerdictLine {
    question: String,
    #[serde(flatten)]
    verdict: NewVerdict,
}

/// Attaches every verdict of `text` (verdicts.jsonl) to the head revision of the sample, in any
/// dataset, whose question matches exactly. Returns (attached, unmatched questions).
pub fn load_verdicts(store: &mut Store, text: &str) -> anyhow::Result<(usize, Vec<String>)> {
    let mut by_question: HashMap<String, i64> = HashMap::new();
    store.for_each_sample(&Filter::default(), |s| {
        // A multi-turn record is named by its first or its last question (Alpaca's
        // `instruction` is the last round, after `history`).
        let mut users = s.head.content.turns.iter().filter(|t| t.role == Role::User);
        for turn in users.clone().take(1).chain(users.next_back()) {
            by_question
                .entry(turn.content.trim().to_string())
                .or_insert(s.head.id);
        }
        Ok(())
    })?;
    let (mut attached, mut unmatched) = (0, Vec::new());
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: VerdictLine = serde_json::from_str(line)
            .with_context(|| format!("sample-data/verdicts.jsonl line {}", i + 1))?;
        match by_question.get(v.question.trim()) {
            Some(&rev) => {
                store.add_verdict(rev, &v.verdict)?;
                attached += 1;
            }
            None => unmatched.push(v.question),
        }
    }
    Ok((attached, unmatched))
}
