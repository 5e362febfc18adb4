//! Preference and process-supervision exports, made of what reviewers already decided: no
//! label here is a guess.
//!
//! - **DPO pairs**: the accepted head (chosen) against each other revision of the same sample
//!   that a reviewer rejected, or a regenerated candidate they declined (kept the original, or
//!   asked for another) (rejected). Same prompt only: a revision whose question was edited
//!   pairs with nothing.
//! - **KTO examples**: every revision on which the standing decisions add up to accepted
//!   (label true) or rejected (false), head or not.
//! - **Stepwise labels** (TRL's `prompt/completions/labels`): a revision whose failing verdict
//!   names its first wrong step gives the steps up to that one, labelled true then false (what
//!   follows a wrong step is not known to be right or wrong, so it is left out); an accepted
//!   head whose verdicts all pass gives every step labelled true. Where the reviewer accepted a
//!   head that a verdict says is wrong, the person overruled the verifier and the revision is
//!   skipped. Steps are cut by the one splitter the verifiers number them with.
//!
//! The samples are those the export's filter selects (its statuses default to accepted for DPO
//! and stepwise, accepted or rejected for KTO); everything left out is counted by reason.

use super::Card;
use crate::formats::folders::safe_name;
use crate::formats::preference as rows;
use crate::formats::write::{Container, WriteSummary};
use crate::formats::{SampleView, Skip};
use crate::model::{ReviewStatus, SampleKind, SampleMeta};
use crate::prompting::judge::judged_steps;
use crate::store::{CandidateState, Filter, RevisionHistory, SampleHistory, Store};
use anyhow::Context;
use std::collections::HashSet;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

/// A preference or process-supervision export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Preference {
    /// TRL `prompt/chosen/rejected` rows in one file.
    Dpo,
    /// TRL `prompt/completion/label` rows in one file.
    Kto,
    /// TRL `prompt/completions/labels` rows in one file.
    Stepwise,
    /// A LLaMA-Factory folder: `ranking: true` rows + `dataset_info.json`.
    LlamaFactoryDpo,
    /// A LLaMA-Factory folder: `kto_tag` rows + `dataset_info.json`.
    LlamaFactoryKto,
}

impl Preference {
    pub const ALL: [Preference; 5] = [
        Preference::Dpo,
        Preference::Kto,
        Preference::Stepwise,
        Preference::LlamaFactoryDpo,
        Preference::LlamaFactoryKto,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Preference::Dpo => "dpo",
            Preference::Kto => "kto",
            Preference::Stepwise => "stepwise",
            Preference::LlamaFactoryDpo => "llamafactory-dpo",
            Preference::LlamaFactoryKto => "llamafactory-kto",
        }
    }

    pub fn help(self) -> &'static str {
        match self {
            Preference::Dpo => "DPO pairs (accepted vs rejected revision) as TRL rows",
            Preference::Kto => "KTO examples (each accept/reject decision) as TRL rows",
            Preference::Stepwise => "TRL stepwise labels from verdicts naming a first wrong step",
            Preference::LlamaFactoryDpo => "DPO pairs as a LLaMA-Factory folder (ranking: true)",
            Preference::LlamaFactoryKto => "KTO examples as a LLaMA-Factory folder (kto_tag)",
        }
    }

    /// The review statuses of the samples taken when none are asked for: KTO learns from
    /// rejections too; DPO's chosen answer and stepwise labels need a sample a person accepted
    /// (stepwise also takes the rejected ones, whose wrong step a verdict names).
    pub fn default_statuses(self) -> Vec<ReviewStatus> {
        match self {
            Preference::Dpo | Preference::LlamaFactoryDpo => vec![ReviewStatus::Accepted],
            Preference::Kto | Preference::LlamaFactoryKto | Preference::Stepwise => {
                vec![ReviewStatus::Accepted, ReviewStatus::Rejected]
            }
        }
    }

    fn is_folder(self) -> bool {
        matches!(
            self,
            Preference::LlamaFactoryDpo | Preference::LlamaFactoryKto
        )
    }
}

/// Writes the `kind` export of the samples `filter` selects to `out` (a file, or a folder for
/// the LLaMA-Factory kinds).
pub fn export(
    store: &Store,
    kind: Preference,
    out: &Path,
    filter: &Filter,
    card: &Card,
) -> anyhow::Result<WriteSummary> {
    let mut ids = Vec::new();
    store.for_each_export_sample(filter, false, |s| {
        ids.push(s.id);
        Ok(())
    })?;
    let (path, info) = if kind.is_folder() {
        std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
        let base = card
            .dataset
            .as_deref()
            .map(safe_name)
            .unwrap_or("assay".into());
        let (name, kto) = match kind {
            Preference::LlamaFactoryKto => (format!("{base}_kto"), true),
            _ => (format!("{base}_dpo"), false),
        };
        let file = format!("{name}.jsonl");
        (
            out.join(&file),
            Some((name, rows::llamafactory_info(&file, kto))),
        )
    } else {
        (out.to_path_buf(), None)
    };
    let container = Container::for_path(&path).with_context(|| {
        format!(
            "{}: the output must end in .json (array) or .jsonl (lines)",
            path.display()
        )
    })?;
    let file = File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut w = rows::RowWriter::new(BufWriter::new(file), container)?;
    let mut seen = HashSet::new();
    for id in ids {
        let history = store.sample_history(id)?;
        for row in rows_of(kind, &history) {
            match row {
                Ok(v) => {
                    // The same row twice (an answer rejected twice, a revert) is one example.
                    if seen.insert(v.to_string()) {
                        w.put(Ok(v))?;
                    } else {
                        w.skip("the same example again".into());
                    }
                }
                Err(why) => w.skip(why),
            }
        }
    }
    let summary = w.finish()?;
    if let Some((name, entry)) = info {
        let mut map = serde_json::Map::new();
        map.insert(name, entry);
        let f = File::create(out.join("dataset_info.json"))?;
        let mut f = BufWriter::new(f);
        serde_json::to_writer_pretty(&mut f, &map)?;
        f.write_all(b"\n")?;
        f.flush()?;
    }
    Ok(summary)
}

/// The rows (or skip reasons) one sample gives.
pub fn rows_of(kind: Preference, h: &SampleHistory) -> Vec<Result<serde_json::Value, Skip>> {
    let meta = SampleMeta::default();
    let view = |r| view_of(h.kind, r, &meta);
    match kind {
        Preference::Dpo | Preference::LlamaFactoryDpo => {
            let pairs = match dpo_pairs(h) {
                Ok(p) => p,
                Err(why) => return vec![Err(why)],
            };
            pairs
                .into_iter()
                .map(|(c, r)| match kind {
                    Preference::Dpo => rows::dpo_trl(&view(c), &view(r)),
                    _ => rows::dpo_llamafactory(&view(c), &view(r)),
                })
                .collect()
        }
        Preference::Kto | Preference::LlamaFactoryKto => {
            let labelled = kto_labels(h);
            if labelled.is_empty() {
                return vec![Err("no revision was accepted or rejected".into())];
            }
            labelled
                .into_iter()
                .map(|(r, label)| match kind {
                    Preference::Kto => rows::kto_trl(&view(r), label),
                    _ => rows::kto_llamafactory(&view(r), label),
                })
                .collect()
        }
        Preference::Stepwise => stepwise_rows(h),
    }
}

fn view_of<'a>(kind: SampleKind, r: &'a RevisionHistory, meta: &'a SampleMeta) -> SampleView<'a> {
    SampleView {
        kind,
        content: &r.revision.content,
        meta,
    }
}

/// (chosen, rejected) pairs: the accepted head against each rejected or declined revision.
pub fn dpo_pairs(h: &SampleHistory) -> Result<Vec<(&RevisionHistory, &RevisionHistory)>, Skip> {
    let head = h.head().ok_or("the sample has no head revision")?;
    if head.status != ReviewStatus::Accepted {
        return Err("its head revision is not accepted".into());
    }
    let rejected: Vec<&RevisionHistory> = h
        .revisions
        .iter()
        .filter(|r| r.revision.id != head.revision.id)
        .filter(|r| {
            r.status == ReviewStatus::Rejected
                || (r.candidate == Some(CandidateState::Declined)
                    && r.status != ReviewStatus::Accepted)
        })
        .collect();
    if rejected.is_empty() {
        return Err("no rejected or declined revision to pair the accepted one with".into());
    }
    Ok(rejected.into_iter().map(|r| (head, r)).collect())
}

/// Every revision with a standing accept (true) or reject (false).
pub fn kto_labels(h: &SampleHistory) -> Vec<(&RevisionHistory, bool)> {
    h.revisions
        .iter()
        .filter_map(|r| match r.status {
            ReviewStatus::Accepted => Some((r, true)),
            ReviewStatus::Rejected => Some((r, false)),
            _ => None,
        })
        .collect()
}

/// Steps and labels of one revision, or why it gives none.
pub fn step_labels(
    h: &SampleHistory,
    r: &RevisionHistory,
) -> Result<(Vec<String>, Vec<bool>), Skip> {
    if !matches!(
        h.kind,
        SampleKind::Cot | SampleKind::Qa | SampleKind::MultipleChoice
    ) {
        return Err(format!(
            "a {} sample has no reasoning steps",
            h.kind.as_str()
        ));
    }
    let steps = judged_steps(&r.revision.content);
    if steps.is_empty() {
        return Err("no reasoning steps".into());
    }
    let wrong = r
        .verdicts
        .iter()
        .rev()
        .filter(|v| !v.passed)
        .find_map(|v| v.first_wrong_step);
    let is_head = r.revision.id == h.head_revision_id;
    match wrong {
        Some(k) => {
            let k = k as usize;
            if k == 0 || k > steps.len() {
                return Err(format!(
                    "a verdict names step {k} of a solution with {} steps",
                    steps.len()
                ));
            }
            if r.status == ReviewStatus::Accepted {
                return Err(
                    "accepted although a verdict names a wrong step (the reviewer overruled the \
                     verifier)"
                        .into(),
                );
            }
            let mut labels = vec![true; k - 1];
            labels.push(false);
            Ok((steps[..k].to_vec(), labels))
        }
        None if r.verdicts.iter().any(|v| !v.passed) => {
            Err("a failing verdict names no first wrong step".into())
        }
        None if r.verdicts.is_empty() => Err("no verdict on its steps".into()),
        None if is_head && r.status == ReviewStatus::Accepted => {
            let n = steps.len();
            Ok((steps, vec![true; n]))
        }
        None => Err("its verdicts pass but no reviewer accepted it".into()),
    }
}

fn stepwise_rows(h: &SampleHistory) -> Vec<Result<serde_json::Value, Skip>> {
    let mut out = Vec::new();
    for r in &h.revisions {
        let is_head = r.revision.id == h.head_revision_id;
        // Older revisions count only where a verdict judged their steps wrong; the head
        // always says why it was or was not taken.
        let named = r.verdicts.iter().any(|v| v.first_wrong_step.is_some());
        if !is_head && !named {
            continue;
        }
        let c = &r.revision.content;
        let Some(question) = c.question() else {
            out.push(Err("no question".into()));
            continue;
        };
        let prompt = crate::formats::fields::prompt_with_options(question, c);
        out.push(step_labels(h, r).map(|(steps, labels)| rows::stepwise(&prompt, &steps, &labels)));
    }
    out
}
