//! Where an audit stands, and the gate that export and training pass through: a dataset whose
//! audit is incomplete is refused with a message naming what is missing, unless a waiver is
//! recorded (`--force`), which the exported dataset card then states.

use super::{AuditError, Result, clopper_pearson_upper};
use crate::store::{Store, Waiver};
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
    pub reviewed: u64,
    pub defects: u64,
    /// Samples added since the last draw or top-up, not covered yet.
    pub not_covered: u64,
    /// Two-sided 95% Clopper-Pearson upper bound on the defect rate, from the reviewed items.
    pub defect_rate_upper_95: f64,
    pub complete: bool,
    pub waivers: Vec<Waiver>,
}

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

fn dataset_name(store: &Store, dataset_id: i64) -> Result<(String, u64)> {
    store
        .datasets()?
        .into_iter()
        .find(|d| d.id == dataset_id)
        .map(|d| (d.name, d.samples))
        .ok_or_else(|| AuditError::Invalid(format!("no dataset with id {dataset_id}")))
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
            not_covered: samples,
            defect_rate_upper_95: 1.0,
            complete: false,
            waivers,
        });
    };
    let counts = store.audit_counts(audit.id)?;
    let not_covered = store.count_samples_after(dataset_id, audit.covered_max_id)?;
    Ok(AuditStatus {
        dataset,
        dataset_id,
        audit_id: Some(audit.id),
        seed: Some(audit.seed),
        samples,
        drawn: counts.drawn,
        reviewed: counts.reviewed,
        defects: counts.defects,
        not_covered,
        defect_rate_upper_95: clopper_pearson_upper(counts.defects, counts.reviewed),
        complete: not_covered == 0 && counts.drawn > 0 && counts.reviewed == counts.drawn,
        waivers,
    })
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
        let left = status.drawn - status.reviewed;
        if left > 0 {
            missing.push(format!(
                "audit of {d}: {left} of {} drawn samples not reviewed yet; run `assay` and \
                 press `A` for the audit screen, then review each one (`a` accept, `x` reject)",
                status.drawn
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
        "**Audit waived.** The audit of {} was incomplete when this data was used: {} of {} \
         drawn samples reviewed, {} defects, 95% upper bound on the defect rate {:.4}.\n",
        s.dataset, s.reviewed, s.drawn, s.defects, s.defect_rate_upper_95
    );
    for w in &s.waivers {
        out.push_str(&format!(
            "- waived by {} at {}: {} (missing: {})\n",
            w.who, w.created_at, w.reason, w.missing
        ));
    }
    Ok(Some(out))
}
