//! The train screen's database work, run on the database worker thread: listing runs (dead
//! supervisors noticed), new points of a run after the last seen, starting a run
//! ([`crate::train::runs::start`]: audit gate, snapshot, data files, then a detached supervisor
//! that outlives the TUI; a refusal of the audit gate answers as such, so the form can offer a
//! waiver) and asking one to stop. Also the file the form's last values are kept in (read when
//! the screen opens, written once a run started), which is file I/O like the drafts'.

use crate::store::{RunInfo, RunPoint, Store};
use crate::train::external::{TrainerSpec, reconcile};
use crate::train::runs::{self, StartRequest};
use crate::train::settings::defaults;
use crate::tui::screens::train::LastValues;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub enum TrainRequest {
    Runs,
    Points {
        run_id: i64,
        after_seq: i64,
    },
    Start {
        dataset: String,
        spec: Box<TrainerSpec>,
        /// The assay binary that supervises the run (default: this one).
        exe: Option<PathBuf>,
        reviewer: String,
        /// Start although the audit is incomplete, for this reason (`assay train --force`).
        force: Option<String>,
        /// Where to keep the form's values once the run started.
        remember: Option<(PathBuf, LastValues)>,
    },
    Stop {
        run_id: i64,
    },
    /// The form's last values, from this file.
    LastValues {
        path: PathBuf,
    },
}

#[derive(Debug, Clone)]
pub enum TrainReply {
    Runs(Vec<RunInfo>),
    Points {
        run_id: i64,
        points: Vec<(i64, RunPoint)>,
    },
    Started {
        run_id: i64,
        /// It started on a waiver of the audit.
        waived: bool,
    },
    /// The audit gate refused (no waiver given): what the dataset still needs.
    AuditRefused {
        missing: Vec<String>,
    },
    /// Starting failed before a run existed (bad settings, no accepted samples) or while
    /// preparing it.
    StartFailed(String),
    StopAsked {
        run_id: i64,
        active: bool,
    },
    /// The form's last values; `None` without a (readable) file.
    LastValues(Option<LastValues>),
}

/// At most this many points per poll, so that a huge finished run loads in slices and
/// the screen stays responsive while it does.
const POINTS_PER_POLL: usize = 20_000;

pub fn handle(store: &mut Store, req: TrainRequest) -> anyhow::Result<TrainReply> {
    Ok(match req {
        TrainRequest::Runs => {
            let mut runs = Vec::new();
            for r in store.runs()? {
                runs.push(reconcile(store, r)?);
            }
            TrainReply::Runs(runs)
        }
        TrainRequest::Points { run_id, after_seq } => {
            let points = store.run_points_page(run_id, after_seq, POINTS_PER_POLL)?;
            TrainReply::Points { run_id, points }
        }
        TrainRequest::Start {
            dataset,
            spec,
            exe,
            reviewer,
            force,
            remember,
        } => {
            let waived = force.is_some();
            let started = runs::start(
                store,
                StartRequest {
                    dataset,
                    spec: *spec,
                    out: None,
                    stop_grace_s: defaults::STOP_GRACE_S,
                    force,
                    reviewer,
                },
                exe,
            );
            match started {
                Ok(run_id) => {
                    if let Some((path, values)) = remember
                        && let Err(e) = values.write(&path)
                    {
                        // The run goes on; only the next form's defaults are lost.
                        tracing::warn!(
                            "cannot keep the form's values in {}: {e:#}",
                            path.display()
                        );
                    }
                    TrainReply::Started { run_id, waived }
                }
                Err(e) => match e.downcast_ref::<crate::audit::Incomplete>() {
                    Some(refused) => TrainReply::AuditRefused {
                        missing: refused.missing.clone(),
                    },
                    None => TrainReply::StartFailed(format!("{e:#}")),
                },
            }
        }
        TrainRequest::Stop { run_id } => TrainReply::StopAsked {
            run_id,
            active: store.request_run_stop(run_id)?,
        },
        TrainRequest::LastValues { path } => TrainReply::LastValues(LastValues::read(&path)),
    })
}
