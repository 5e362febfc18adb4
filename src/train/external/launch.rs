//! Making a run (dataset snapshot, data files, configuration), starting its detached
//! supervisor, running it (in the supervisor, or in the foreground for the built-in trainer),
//! and noticing runs whose supervisor died without recording an end.

use super::signals::{alive, new_session};
use super::spec::{BundleSpec, RunConfig, TrainerSpec};
use super::{bundle, command, files, llamafactory, supervise::run_external, template};
use crate::store::{NewRun, RunInfo, RunStatus, Store};
use crate::text::secrets::Scrubber;
use crate::train::Point;
use anyhow::Context;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// What a person asked for: a trainer on an (already audit-checked) dataset.
#[derive(Debug, Clone)]
pub struct NewRunRequest {
    pub dataset_id: i64,
    pub dataset: String,
    pub spec: TrainerSpec,
    /// Where data, logs and outputs go (default: `runs/run-<id>` beside the database).
    pub out: Option<PathBuf>,
    /// The audit notes (or waiver) that let it through the gate.
    pub audit: Vec<String>,
    pub stop_grace_s: f64,
}

fn absolute(p: PathBuf) -> anyhow::Result<PathBuf> {
    if p.is_absolute() {
        return Ok(p);
    }
    Ok(std::env::current_dir()
        .context("the current directory is unreadable")?
        .join(p))
}

/// Checks settings before anything is recorded, so a typo leaves no failed run behind.
fn validate(spec: &TrainerSpec) -> anyhow::Result<()> {
    match spec {
        TrainerSpec::Builtin { config, .. } => Ok(config.validate()?),
        TrainerSpec::Llamafactory(s) => llamafactory::validate(s),
        TrainerSpec::Cmd { template: t, .. } => {
            let dummy: std::collections::BTreeMap<&str, String> =
                ["data", "data_file", "output_dir", "model", "run_id"]
                    .map(|k| (k, "x".to_string()))
                    .into();
            template::expand(t, &dummy)?;
            Ok(())
        }
    }
}

/// Records a queued run on the accepted samples of the dataset (their current revisions are
/// the snapshot); returns its id and configuration.
fn record(store: &mut Store, req: &NewRunRequest) -> anyhow::Result<(i64, RunConfig)> {
    // A run trains on what an export would take by default: the accepted samples.
    let filter = crate::export::policy::accepted(req.dataset_id);
    let mut snapshot = Vec::new();
    store.for_each_sample(&filter, |s| {
        snapshot.push((s.id, s.head.id));
        Ok(())
    })?;
    anyhow::ensure!(
        !snapshot.is_empty(),
        "dataset {} has no accepted sample to train on: accept some in `assay` first",
        req.dataset
    );
    let config = RunConfig {
        spec: req.spec.clone(),
        dataset: req.dataset.clone(),
        audit: req.audit.clone(),
        launch: None,
        bundle: None,
    };
    let run = NewRun {
        trainer: req.spec.kind().into(),
        dataset_id: Some(req.dataset_id),
        config: serde_json::to_value(&config)?,
        out_dir: String::new(),
    };
    let id = store.create_run(&run, &snapshot)?;
    Ok((id, config))
}

/// Records a queued run on the accepted samples of the dataset (their current revisions are
/// the snapshot) and writes what its trainer needs. Returns the run id.
pub fn create_run(store: &mut Store, req: NewRunRequest) -> anyhow::Result<i64> {
    validate(&req.spec)?;
    let (id, mut config) = record(store, &req)?;
    let out = match req.out.clone() {
        Some(p) => p,
        None => store
            .path()
            .parent()
            .unwrap_or(Path::new(""))
            .join("runs")
            .join(format!("run-{id}")),
    };
    let prepared = absolute(out).and_then(|out| {
        files::create_dir(&out).with_context(|| format!("cannot create {}", out.display()))?;
        let launch = match &req.spec {
            TrainerSpec::Builtin { .. } => None,
            TrainerSpec::Llamafactory(s) => Some(llamafactory::prepare(
                store,
                id,
                &req.dataset,
                s,
                &out,
                req.stop_grace_s,
            )?),
            TrainerSpec::Cmd { template, model } => Some(command::prepare(
                store,
                id,
                &req.dataset,
                template,
                model.as_deref(),
                &req.audit,
                &out,
                req.stop_grace_s,
            )?),
        };
        Ok((out, launch))
    });
    match prepared {
        Ok((out, launch)) => {
            config.launch = launch;
            store.set_run_setup(
                id,
                &serde_json::to_value(&config)?,
                &out.display().to_string(),
            )?;
            Ok(id)
        }
        Err(e) => {
            let why = format!("could not prepare the run: {e:#}");
            store.finish_run(id, RunStatus::Failed, None, Some(&why), &[])?;
            Err(e)
        }
    }
}

/// Records a LLaMA-Factory run whose trainer runs elsewhere and writes its bundle into
/// `bundle.dir` (which must be new or empty): status `external`, nothing launched here.
/// Returns the run id.
pub fn create_bundle_run(
    store: &mut Store,
    req: NewRunRequest,
    bundle: BundleSpec,
) -> anyhow::Result<i64> {
    validate(&req.spec)?;
    let TrainerSpec::Llamafactory(spec) = &req.spec else {
        anyhow::bail!("--bundle writes a LLaMA-Factory run: use it with --trainer llamafactory");
    };
    bundle::validate(&bundle)?;
    let dir = absolute(bundle.dir.clone())?;
    bundle::check_target(&dir)?;
    let (id, mut config) = record(store, &req)?;
    let job_name = match bundle.job_name.as_str() {
        "" => format!("assay-run-{id}"),
        given => given.to_string(),
    };
    let bundle = BundleSpec {
        dir,
        job_name,
        ..bundle
    };
    match bundle::write(store, id, &req.dataset, spec, &bundle) {
        Ok(()) => {
            let dir = bundle.dir.display().to_string();
            config.bundle = Some(bundle);
            store.set_run_setup(id, &serde_json::to_value(&config)?, &dir)?;
            store.mark_run_external(id)?;
            Ok(id)
        }
        Err(e) => {
            let why = format!("could not write the bundle: {e:#}");
            store.finish_run(id, RunStatus::Failed, None, Some(&why), &[])?;
            Err(e)
        }
    }
}

/// Whether a run was written as a bundle, to run elsewhere.
pub fn is_bundle(run: &RunInfo) -> bool {
    run.config.get("bundle").is_some_and(|b| !b.is_null())
}

/// Starts `exe runs supervise RUN` (exe: the assay binary) detached from this process: it
/// makes its own session, so quitting the TUI or closing the terminal leaves it running.
/// The caller reaps the returned child (or exits, and init does).
pub fn spawn_supervisor(exe: &Path, db: &Path, run_id: i64) -> anyhow::Result<Child> {
    let run_dir = {
        let store = Store::open(db)?;
        PathBuf::from(store.run(run_id)?.out_dir)
    };
    let log = run_dir.join("supervisor.log");
    let err = files::open_log(&log).with_context(|| format!("cannot open {}", log.display()))?;
    Command::new(exe)
        .arg("--db")
        .arg(db)
        .args(["runs", "supervise", &run_id.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err)
        .spawn()
        .with_context(|| format!("cannot start {} runs supervise", exe.display()))
}

/// The supervisor's body: leaves the terminal's session, then executes the run.
pub fn supervise(store: &mut Store, run_id: i64) -> anyhow::Result<RunStatus> {
    // Fails only when already a group leader (started by hand from a shell script): harmless.
    let _ = new_session();
    let stop = Arc::new(AtomicBool::new(false));
    execute(store, run_id, &stop, &mut |_| {})
}

/// Runs a queued run to its end in this process and records the outcome. `stop` (Ctrl-C in
/// the foreground) and a stop asked through the store both end it.
pub fn execute(
    store: &mut Store,
    run_id: i64,
    stop: &Arc<AtomicBool>,
    echo: &mut dyn FnMut(&Point),
) -> anyhow::Result<RunStatus> {
    let run = store.run(run_id)?;
    anyhow::ensure!(
        matches!(run.status, RunStatus::Queued | RunStatus::Stopping) && run.pid.is_none(),
        "run {run_id} is {} (owned by pid {:?}); only a queued run can be started",
        run.status,
        run.pid
    );
    if run.stop_requested {
        store.finish_run(
            run_id,
            RunStatus::Stopped,
            None,
            Some("stopped before it started"),
            &[],
        )?;
        return Ok(RunStatus::Stopped);
    }
    let config: RunConfig = serde_json::from_value(run.config.clone())
        .with_context(|| format!("run {run_id}: its stored configuration is unreadable"))?;
    store.start_run(run_id, std::process::id())?;
    let out = PathBuf::from(&run.out_dir);
    let result = match (&config.spec, &config.launch) {
        (
            TrainerSpec::Builtin {
                base,
                config,
                resume,
            },
            _,
        ) => crate::train::builtin::run_recorded(
            store, run_id, base, config, *resume, &out, stop, echo,
        ),
        (_, Some(launch)) => run_external(store, run_id, launch),
        (_, None) => Err(anyhow::anyhow!(
            "run {run_id}: its data was never prepared (make a new run)"
        )),
    };
    match result {
        Ok(status) => Ok(status),
        Err(e) => {
            // An error can quote what the trainer printed or was given.
            let why = Scrubber::from_env().scrub(&format!("{e:#}")).into_owned();
            let tail = store.run(run_id)?.log_tail;
            store.finish_run(run_id, RunStatus::Failed, None, Some(&why), &tail)?;
            Err(e)
        }
    }
}

/// A run marked active whose owning process is gone is recorded as failed, so lists never show
/// a dead run as running forever. A bundle's run only loses its follower (a `runs attach`
/// that was killed): it becomes external again, since its trainer may well go on elsewhere.
pub fn reconcile(store: &mut Store, run: RunInfo) -> anyhow::Result<RunInfo> {
    let Some(pid) = run.pid else {
        return Ok(run);
    };
    if !run.status.is_active() || alive(pid) {
        return Ok(run);
    }
    if is_bundle(&run) {
        let why = format!(
            "`assay runs attach` (pid {pid}) stopped following it without saying so (killed?); \
             attach again to go on from where it was"
        );
        store.release_followed_run(run.id, &why)?;
        return Ok(store.run(run.id)?);
    }
    let why = format!(
        "the process that ran it (pid {pid}) ended without recording an outcome (killed, or the \
         machine restarted)"
    );
    store.finish_run(run.id, RunStatus::Failed, None, Some(&why), &run.log_tail)?;
    Ok(store.run(run.id)?)
}
