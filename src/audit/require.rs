//! The audit rule applied where data leaves assay (export, training): every dataset involved
//! must have a complete audit, or the user waives it with a reason that is recorded.

use super::{GateStatus, Result, gate, waive, waiver_text};
use crate::store::Store;

/// What the audit of each dataset says, for a dataset card or a run record (Markdown lines).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditNotes {
    pub lines: Vec<String>,
}

/// The gate refused: what each blocked dataset still needs. Its text is the command line's; a
/// front end that asks for a waiver itself finds it with `anyhow::Error::downcast_ref`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "the audit is incomplete: {}. Or pass --force \"REASON\" to go on anyway: the waiver is \
     recorded with your name and stated in the dataset card",
    .missing.join("; ")
)]
pub struct Incomplete {
    /// One entry per blocked dataset.
    pub missing: Vec<String>,
}

/// Checks the audit of every dataset in `dataset_ids` (empty: every dataset with samples).
/// Blocked datasets are an error naming what is missing, unless `force` gives a reason: then a
/// waiver by `who` is recorded for each and the notes state it.
pub fn require_audits(
    store: &mut Store,
    dataset_ids: &[i64],
    force: Option<&str>,
    who: &str,
) -> anyhow::Result<AuditNotes> {
    let ids: Vec<i64> = if dataset_ids.is_empty() {
        store
            .datasets()?
            .into_iter()
            .filter(|d| d.samples > 0)
            .map(|d| d.id)
            .collect()
    } else {
        dataset_ids.to_vec()
    };
    let mut blocked = Vec::new();
    for &id in &ids {
        if let GateStatus::Blocked { missing, .. } = gate(store, id)? {
            match force {
                Some(reason) => {
                    waive(store, id, reason, who)?;
                }
                None => blocked.push(missing),
            }
        }
    }
    if !blocked.is_empty() {
        return Err(Incomplete { missing: blocked }.into());
    }
    let mut notes = AuditNotes::default();
    for &id in &ids {
        notes.lines.push(summary(store, id)?);
        if let Some(w) = waiver_text(store, id)? {
            notes.lines.push(w);
        }
    }
    Ok(notes)
}

/// One line on what the audit of a dataset proves.
fn summary(store: &Store, id: i64) -> Result<String> {
    let s = super::status(store, id)?;
    Ok(format!(
        "Audit of {}: {} of {} randomly drawn samples reviewed by a person, {} defects; with 95% \
         confidence the dataset's defect rate is at most {:.1}% (exact Clopper-Pearson bound).",
        s.dataset,
        s.reviewed,
        s.drawn,
        s.defects,
        100.0 * s.defect_rate_upper_95
    ))
}
