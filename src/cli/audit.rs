//! `assay audit`: the 100-sample audit (draw, status, conflicts between reviewers and their
//! adjudication). `status` prints a line per dataset for a person (`--json` for scripts); the
//! others print JSON.

use super::{GlobalArgs, output};
use crate::audit::{self, DrawPlan};
use crate::model::Decision;
use crate::store::{DecisionInput, Store};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// The audit status of every dataset (or one): which way the gate goes and why (a line
    /// each; everything as JSON with --json).
    Status {
        #[arg(long)]
        dataset: Option<String>,
        /// As JSON, with every figure.
        #[arg(long)]
        json: bool,
    },
    /// Draw the audit of a dataset, or a top-up for samples added since.
    Draw {
        #[arg(long)]
        dataset: String,
        /// Samples to draw (at least 100; all when the dataset is smaller).
        #[arg(long)]
        size: Option<u64>,
        /// Random seed, so that the draw can be reproduced.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// The acceptance threshold: the gate opens only if the upper end of the two-sided 95%
        /// Clopper-Pearson interval on the defect rate is at most this (0..1).
        #[arg(long, default_value_t = audit::DEFAULT_MAX_DEFECT_RATE)]
        max_defect_rate: f64,
        /// Draw a new audit although the dataset has one (after the data was improved).
        #[arg(long)]
        fresh: bool,
    },
    /// List the samples whose reviewers disagree (one accepted, another rejected).
    Conflicts {
        #[arg(long)]
        dataset: String,
    },
    /// Settle a sample's conflict (or any standing decisions on it) with one decision.
    Adjudicate {
        /// The sample id.
        sample: i64,
        /// accept or reject.
        #[arg(value_parser = ["accept", "reject"])]
        decision: String,
        /// Why: kept with the adjudication.
        #[arg(long, default_value = "")]
        reason: String,
    },
}

pub fn run(global: &GlobalArgs, command: Command) -> anyhow::Result<()> {
    let mut store = Store::open_existing(&global.db)?;
    let out = match command {
        Command::Status { dataset, json } => {
            let ids = match dataset {
                Some(name) => vec![store.require_dataset(&name)?],
                None => store.datasets()?.into_iter().map(|d| d.id).collect(),
            };
            let mut out = Vec::new();
            let mut human = Vec::new();
            for id in ids {
                let g = audit::gate(&store, id)?;
                human.push(status_line(&g));
                let mut v = serde_json::to_value(&g)?;
                v["message"] = g.message().into();
                v["bound"] = audit::BOUND_NAME.into();
                out.push(v);
            }
            let value = serde_json::json!({ "audits": out });
            return output::json_or(json, &value, || {
                Ok(if human.is_empty() {
                    "no datasets: import one with `assay import FILE`".to_string()
                } else {
                    human.join("\n")
                })
            });
        }
        Command::Draw {
            dataset,
            size,
            seed,
            max_defect_rate,
            fresh,
        } => {
            let id = store.require_dataset(&dataset)?;
            let plan = DrawPlan {
                size,
                seed,
                max_defect_rate,
                fresh,
            };
            let outcome = audit::draw(&mut store, id, &plan)?;
            let status = audit::status(&store, id)?;
            serde_json::json!({ "draw": outcome, "status": status })
        }
        Command::Conflicts { dataset } => {
            let id = store.require_dataset(&dataset)?;
            serde_json::json!({ "conflicts": store.conflicts(id)? })
        }
        Command::Adjudicate {
            sample,
            decision,
            reason,
        } => {
            let decision = Decision::parse(&decision)
                .ok_or_else(|| anyhow::anyhow!("decision must be accept or reject"))?;
            let head = store.sample(sample)?.head.id;
            let d = store.decide(&DecisionInput {
                sample_id: sample,
                revision_id: head,
                reviewer: &global.reviewer,
                decision,
                reason: &reason,
                adjudicates: true,
            })?;
            serde_json::json!({
                "sample": sample, "revision_id": head, "reviewer": global.reviewer,
                "decision": decision, "status": d.status,
            })
        }
    };
    output::json(&out)
}

/// One dataset's audit for a person: its progress in short, then the gate's own words.
fn status_line(g: &audit::GateStatus) -> String {
    let s = g.status();
    let progress = if s.audit_id.is_none() {
        "no audit drawn".to_string()
    } else {
        let mut p = format!(
            "{} of {} reviewed, {} defects, bound {:.1}% (max {:.1}%)",
            s.reviewed,
            s.drawn,
            s.defects,
            100.0 * s.defect_rate_upper_95,
            100.0 * s.max_defect_rate
        );
        if s.pending > 0 {
            p.push_str(&format!(", {} pending", s.pending));
        }
        if s.not_covered > 0 {
            p.push_str(&format!(", {} not covered", s.not_covered));
        }
        p
    };
    format!(
        "{}: {} [{}]\n  {}",
        s.dataset,
        if g.is_open() { "open" } else { "blocked" },
        progress,
        g.message()
    )
}
