//! Where an audit stands, and the gate that export and training pass through: a dataset whose
//! audit is incomplete is refused with a message naming what is missing, unless a waiver is
//! recorded (`--force`), which the exported dataset card then states.

use super::{AuditError, Result, clopper_pearson_upper};
use crate::store::{Filter, Store, Waiver};
use serde::Serialize;

/// The state of a dataset's audit, as `assay audit status` prints it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditStatus {
    pub dataset: String,
    pub dataset_id: i64,
    /// None when no audit was drawn.
    pub audit_id: Option<i64>,
    pub seed: Option<u64>,
    pub samples: u64,
    pub drawn: u64,
    /// Drawn samples accepted or rejected.
    pub reviewed: u64,
    /// Drawn samples rejected.
    pub defects: u64,
    /// Drawn samples flagged for a second look or in conflict between reviewers: pending, not
    /// reviewed, until someone decides (or adjudicates).
    pub pending: u64,
    /// Samples added since the last draw or top-up, not covered yet.
    pub not_covered: u64,
    /// The upper end of the two-sided 95% Clopper-Pearson interval on the defect rate, from
    /// the reviewed items (so one-sided, it is a 97.5% upper confidence bound); for a census
    /// the rate seen, which is exact.
    pub defect_rate_upper_95: f64,
    /// The audit drew every sample of the dataset: nothing is estimated, the rate is known.
    pub census: bool,
    /// The acceptance threshold on that bound, fixed when the audit was drawn.
    pub max_defect_rate: f64,
    /// Every drawn sample reviewed and the coverage up to date.
    pub complete: bool,
    /// Complete, and the bound is at most the threshold: the data may be used.
    pub passed: bool,
    pub waivers: Vec<Waiver>,
}

/// How the bound is named wherever it is shown.
pub const BOUND_NAME: &str = "upper end of the two-sided 95% Clopper-Pearson interval";

/// What the gate says about a dataset.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "gate", rename_all = "snake_case")]
pub enum GateStatus {
    Open {
        status: AuditStatus,
    },
    Blocked {
        missing: String,
        status: AuditStatus,
    },
}

impl GateStatus {
    pub fn is_open(&self) -> bool {
        matches!(self, GateStatus::Open { .. })
    }

    pub fn status(&self) -> &AuditStatus {
        match self {
            GateStatus::Open { status } | GateStatus::Blocked { status, .. } => status,
        }
    }

    /// What is missing, for the error a refusing command prints; None when open.
    pub fn missing(&self) -> Option<&str> {
        match self {
            GateStatus::Open { .. } => None,
            GateStatus::Blocked { missing, .. } => Some(missing),
        }
    }
}

/// The dataset's name and size: one dataset counted, not every dataset (the TUI asks after each
/// decision, on files of a million samples).
fn dataset_name(store: &Store, dataset_id: i64) -> Result<(String, u64)> {
    let name = store
        .dataset_names()?
        .into_iter()
        .find(|d| d.id == dataset_id)
        .map(|d| d.name)
        .ok_or_else(|| AuditError::Invalid(format!("no dataset with id {dataset_id}")))?;
    Ok((name, store.count(&Filter::dataset(dataset_id))?))
}

/// The audit status of a dataset.
pub fn status(store: &Store, dataset_id: i64) -> Result<AuditStatus> {
    let (dataset, samples) = dataset_name(store, dataset_id)?;
    let waivers = store.waivers(dataset_id)?;
    let Some(audit) = store.latest_audit(dataset_id)? else {
        return Ok(AuditStatus {
            dataset,
            dataset_id,
            audit_id: None,
            seed: None,
            samples,
            drawn: 0,
            reviewed: 0,
            defects: 0,
            pending: 0,
            not_covered: samples,
            defect_rate_upper_95: 1.0,
            census: false,
            max_defect_rate: super::DEFAULT_MAX_DEFECT_RATE,
            complete: false,
            passed: false,
            waivers,
        });
    };
    let counts = store.audit_counts(audit.id)?;
    let not_covered = store.count_samples_after(dataset_id, audit.covered_max_id)?;
    let complete = not_covered == 0 && counts.drawn > 0 && counts.reviewed == counts.drawn;
    // A dataset smaller than the audit is reviewed whole: its defect rate is then known, not
    // estimated (a 12-sample dataset with no defect would otherwise never pass a 10% bound).
    let census = complete && counts.drawn == samples;
    let upper = if census {
        counts.defects as f64 / counts.reviewed as f64
    } else {
        clopper_pearson_upper(counts.defects, counts.reviewed)
    };
    Ok(AuditStatus {
        dataset,
        dataset_id,
        audit_id: Some(audit.id),
        seed: Some(audit.seed),
        samples,
        drawn: counts.drawn,
        reviewed: counts.reviewed,
        defects: counts.defects,
        pending: counts.pending,
        not_covered,
        defect_rate_upper_95: upper,
        census,
        max_defect_rate: audit.max_defect_rate,
        complete,
        passed: complete && upper <= audit.max_defect_rate,
        waivers,
    })
}

impl AuditStatus {
    /// One sentence on the figures: what was seen and what it bounds.
    pub fn figures(&self) -> String {
        let bound = if self.census {
            "every sample was reviewed, so the defect rate is exactly"
        } else {
            "the upper end of the two-sided 95% Clopper-Pearson interval on the defect rate is"
        };
        format!(
            "{} defects in {} reviewed; {bound} {:.1}%, the threshold {:.1}%",
            self.defects,
            self.reviewed,
            self.defect_rate_upper_95 * 100.0,
            self.max_defect_rate * 100.0
        )
    }
}

/// Whether export and training may use the dataset, naming exactly what is missing if not.
pub fn gate(store: &Store, dataset_id: i64) -> Result<GateStatus> {
    let status = status(store, dataset_id)?;
    let d = &status.dataset;
    let mut missing = Vec::new();
    if status.audit_id.is_none() {
        missing.push(format!(
            "dataset {d} has no audit: run `assay audit draw --dataset {d}`, then review the \
             drawn samples in `assay` (press `A` for the audit screen)"
        ));
    } else {
        if status.not_covered > 0 {
            missing.push(format!(
                "{} samples were added to {d} after its audit: run `assay audit draw --dataset \
                 {d}` to draw a top-up",
                status.not_covered
            ));
        }
        let left = status.drawn - status.reviewed - status.pending;
        if left > 0 {
            missing.push(format!(
                "audit of {d}: {left} of {} drawn samples not reviewed yet; run `assay` and \
                 press `A` for the audit screen, then review each one (`a` accept, `x` reject)",
                status.drawn
            ));
        }
        if status.pending > 0 {
            missing.push(format!(
                "audit of {d}: {} drawn samples are flagged or in conflict between reviewers; \
                 decide each one (flagged) or settle it with `assay audit adjudicate` (see \
                 `assay audit conflicts --dataset {d}`)",
                status.pending
            ));
        }
        if status.complete && !status.passed {
            missing.push(format!(
                "audit of {d} failed: {}, so the dataset may hold more defects than allowed. \
                 Improve the data (reject or fix the failing samples, regenerate) and draw a \
                 fresh audit with `assay audit draw --dataset {d} --fresh`, or draw one with a \
                 higher `--max-defect-rate` if that rate is acceptable",
                status.figures()
            ));
        }
    }
    Ok(if missing.is_empty() {
        GateStatus::Open { status }
    } else {
        GateStatus::Blocked {
            missing: missing.join("; "),
            status,
        }
    })
}

impl GateStatus {
    /// Which way the gate went and why, in one message.
    pub fn message(&self) -> String {
        match self {
            GateStatus::Open { status } => format!(
                "audit of {} passed: {}; export and training may use this dataset",
                status.dataset,
                status.figures()
            ),
            GateStatus::Blocked { missing, .. } => format!("gate closed: {missing}"),
        }
    }
}

/// Records that `who` chose to go on without a complete audit (`--force`), with the reason and
/// what the gate said was missing. Returns the waiver.
pub fn waive(store: &mut Store, dataset_id: i64, reason: &str, who: &str) -> Result<Waiver> {
    let g = gate(store, dataset_id)?;
    let missing = g.missing().unwrap_or("nothing (the audit was complete)");
    let reason = if reason.trim().is_empty() {
        "no reason given"
    } else {
        reason
    };
    Ok(store.add_waiver(dataset_id, reason, who, missing)?)
}

/// The text a dataset card states about the audit: its figures and every waiver. Markdown.
pub fn waiver_text(store: &Store, dataset_id: i64) -> Result<Option<String>> {
    let s = status(store, dataset_id)?;
    if s.waivers.is_empty() {
        return Ok(None);
    }
    let mut out = format!(
        "**Audit waived.** The audit of {} had not passed when this data was used: {} of {} \
         drawn samples reviewed, {} defects, {} pending; the {BOUND_NAME} on the defect rate \
         is {:.4} (threshold {:.2}).\n",
        s.dataset,
        s.reviewed,
        s.drawn,
        s.defects,
        s.pending,
        s.defect_rate_upper_95,
        s.max_defect_rate
    );
    for w in &s.waivers {
        out.push_str(&format!(
            "- waived by {} at {}: {} (missing: {})\n",
            w.who, w.created_at, w.reason, w.missing
        ));
    }
    Ok(Some(out))
}
