//! Starting a training run, the same way from every front end: the audit gate on the dataset,
//! the recorded run (snapshot of its accepted samples, data files, configuration), and for a
//! supervised run its detached supervisor, which outlives whatever started it.

use super::external::{
    BundleSpec, NewRunRequest, TrainerSpec, create_bundle_run, create_run, spawn_supervisor,
};
use crate::store::Store;
use std::path::PathBuf;

/// A run asked for.
#[derive(Debug, Clone)]
pub struct StartRequest {
    /// The dataset to train on (its accepted samples).
    pub dataset: String,
    pub spec: TrainerSpec,
    /// Where data, logs and outputs go (default: `runs/run-<id>` beside the database).
    pub out: Option<PathBuf>,
    /// Seconds a stopping trainer gets after SIGINT before SIGTERM (and again before SIGKILL).
    pub stop_grace_s: f64,
    /// Train although the audit is incomplete, for this reason (recorded as a waiver).
    pub force: Option<String>,
    /// Who asked: the name on the waiver.
    pub reviewer: String,
}

/// A dataset that passed the audit gate.
#[derive(Debug, Clone)]
pub struct Admitted {
    pub dataset_id: i64,
    /// What the audit said (or the waiver).
    pub audit: Vec<String>,
}

/// The audit gate: the dataset's audit is complete, or `req.force` waives it.
pub fn admit(store: &mut Store, req: &StartRequest) -> anyhow::Result<Admitted> {
    let dataset_id = store.require_dataset(&req.dataset)?;
    let audit =
        crate::audit::require_audits(store, &[dataset_id], req.force.as_deref(), &req.reviewer)?;
    Ok(Admitted {
        dataset_id,
        audit: audit.lines,
    })
}

/// Records the run of an admitted dataset and writes what its trainer needs; returns its id.
pub fn create(store: &mut Store, req: StartRequest, admitted: Admitted) -> anyhow::Result<i64> {
    create_run(
        store,
        NewRunRequest {
            dataset_id: admitted.dataset_id,
            dataset: req.dataset,
            spec: req.spec,
            out: req.out,
            audit: admitted.audit,
            stop_grace_s: req.stop_grace_s,
        },
    )
}

/// Records the run of an admitted dataset as a bundle to launch elsewhere (LLaMA-Factory
/// only); returns its id. Nothing is started here.
pub fn create_bundle(
    store: &mut Store,
    req: StartRequest,
    admitted: Admitted,
    bundle: BundleSpec,
) -> anyhow::Result<i64> {
    create_bundle_run(
        store,
        NewRunRequest {
            dataset_id: admitted.dataset_id,
            dataset: req.dataset,
            spec: req.spec,
            out: None,
            audit: admitted.audit,
            stop_grace_s: req.stop_grace_s,
        },
        bundle,
    )
}

/// Admits, records and starts a run under a detached supervisor (`exe`, the assay binary;
/// default: the running one); returns its id. The supervisor is reaped on a thread when it
/// ends, so it never lingers as a zombie; if this process ends first, init adopts it and the
/// run goes on.
pub fn start(store: &mut Store, req: StartRequest, exe: Option<PathBuf>) -> anyhow::Result<i64> {
    let exe = match exe {
        Some(p) => p,
        None => std::env::current_exe()?,
    };
    let admitted = admit(store, &req)?;
    let id = create(store, req, admitted)?;
    let db = std::path::absolute(store.path())?;
    let mut child = spawn_supervisor(&exe, &db, id)?;
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    Ok(id)
}
