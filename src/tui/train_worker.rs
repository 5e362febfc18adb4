//! The train screen's database work, run on the database worker thread: listing runs (dead
//! supervisors noticed), new points of a run after the last seen, starting a run
//! ([`crate::train::runs::start`]: audit gate, snapshot, data files, then a detached supervisor
//! that outlives the TUI) and asking one to stop.

use crate::store::{RunInfo, RunPoint, Store};
use crate::train::external::{TrainerSpec, reconcile};
use crate::train::runs::{self, StartRequest};
use crate::train::settings::defaults;
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
    },
    Stop {
        run_id: i64,
    },
}

#[derive(Debug, Clone)]
pub enum TrainReply {
    Runs(Vec<RunInfo>),
    Points {
        run_id: i64,
        points: Vec<(i64, RunPoint)>,
    },
    Started(i64),
    /// Starting failed before a run existed (audit gate, bad settings) or while preparing it.
    StartFailed(String),
    StopAsked {
        run_id: i64,
        active: bool,
    },
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
        } => match runs::start(
            store,
            StartRequest {
                dataset,
                spec: *spec,
                out: None,
                stop_grace_s: defaults::STOP_GRACE_S,
                // The TUI has no waiver prompt: an incomplete audit refuses, naming what is
                // missing.
                force: None,
                reviewer,
            },
            exe,
        ) {
            Ok(id) => TrainReply::Started(id),
            Err(e) => TrainReply::StartFailed(format!("{e:#}")),
        },
        TrainRequest::Stop { run_id } => TrainReply::StopAsked {
            run_id,
            active: store.request_run_stop(run_id)?,
        },
    })
}
