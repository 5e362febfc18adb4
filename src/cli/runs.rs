//! `assay runs`: training runs as recorded in the store: list, show (and follow), stop, plot
//! their loss curves, attach to a run that trains elsewhere (a bundle), and the hidden
//! `supervise` that owns a run in the background.

use super::GlobalArgs;
use crate::store::{RunInfo, RunStatus, Store};
use crate::text::sanitize::sanitize_line;
use crate::train::curves::{duration, progress};
use crate::train::external::attach::{Ended, Event, LogSource, SshCommand, attach};
use crate::train::external::{is_bundle, reconcile, supervise};
use crate::train::plot::{PlotRun, legend, plot};
use anyhow::Context;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Every run, newest first.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// A run's settings, status, artifacts and last log lines, as JSON.
    Show {
        run: i64,
        /// Include every logged point.
        #[arg(long)]
        points: bool,
        /// Print points as they come until the run ends (Ctrl-C stops following, not the run).
        #[arg(long)]
        follow: bool,
    },
    /// Ask a run to stop: its trainer gets SIGINT, then SIGTERM after the grace period.
    Stop { run: i64 },
    /// Follow the trainer_log.jsonl of a run launched elsewhere (`assay train --bundle`) from a
    /// shared folder or over SSH, so that its points land here as for a local run. Ctrl-C stops
    /// following, not the run; attaching again resumes where it was.
    Attach {
        run: i64,
        /// The bundle's folder, or its trainer_log.jsonl: a local path, or
        /// ssh://[user@]host[:port]/path (ssh from ASSAY_SSH, default `ssh`).
        source: String,
        /// More ssh options, e.g. "-i ~/.ssh/cluster" or "-o ProxyJump=gw" (repeatable; also
        /// ASSAY_SSH_OPTS).
        #[arg(long = "ssh-opt", value_name = "OPTS", allow_hyphen_values = true)]
        ssh_opt: Vec<String>,
    },
    /// Draw the loss curves of one or more runs (overlaid) as a picture.
    Plot {
        #[arg(required = true, num_args = 1..=4)]
        runs: Vec<i64>,
        /// The picture: a .png or .svg file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Own and execute a queued run (started detached by `assay train` and the TUI).
    #[command(hide = true)]
    Supervise { run: i64 },
}

pub fn run(global: &GlobalArgs, cmd: Command) -> anyhow::Result<()> {
    let mut store = Store::open_existing(&global.db)?;
    match cmd {
        Command::List { json } => list(&mut store, json),
        Command::Show {
            run,
            points,
            follow: f,
        } => {
            let info = store.run(run)?;
            let info = reconcile(&mut store, info)?;
            if f {
                let stop = Arc::new(AtomicBool::new(false));
                ctrlc_flag(stop.clone())?;
                let status = watch(&mut store, run, &stop, false)?;
                eprintln!("run {run} {status}");
                return Ok(());
            }
            show(&store, info, points)
        }
        Command::Stop { run } => {
            let info = store.run(run)?;
            let info = reconcile(&mut store, info)?;
            if is_bundle(&info) && matches!(info.status, RunStatus::External) {
                eprintln!(
                    "run {run} trains elsewhere (a bundle) and nothing here follows it: stop it \
                     where it runs (scancel, sky cancel, or Ctrl-C where launch.sh runs)"
                );
                return Ok(());
            }
            if is_bundle(&info) && info.status.is_active() {
                store.request_run_stop(run)?;
                eprintln!(
                    "run {run} trains elsewhere: `assay runs attach` stops following it. Stop \
                     its trainer where it runs (scancel, sky cancel, or Ctrl-C where launch.sh \
                     runs)"
                );
                return Ok(());
            }
            if store.request_run_stop(run)? {
                eprintln!(
                    "stop asked for run {run} ({}); its trainer gets SIGINT, then SIGTERM after \
                     the grace period. `assay runs show {run}` tells when it has ended.",
                    info.trainer
                );
            } else {
                eprintln!("run {run} has already ended ({})", info.status);
            }
            Ok(())
        }
        Command::Plot { runs, out } => {
            let mut items = Vec::new();
            for id in runs {
                let info = store.run(id)?;
                let points = store.run_points(id, 0)?.into_iter().map(|p| p.1).collect();
                items.push(PlotRun {
                    label: format!("run {id} ({})", info.trainer),
                    points,
                });
            }
            plot(&items, &out).with_context(|| format!("plotting to {}", out.display()))?;
            super::output::line(format!("{}: {}", out.display(), legend(&items).join(", ")))?;
            Ok(())
        }
        Command::Attach {
            run,
            source,
            ssh_opt,
        } => attach_cmd(&mut store, run, &source, &ssh_opt),
        Command::Supervise { run } => {
            let status = supervise(&mut store, run)?;
            tracing::info!("run {run} {status}");
            Ok(())
        }
    }
}

/// The ssh program and options: ASSAY_SSH, ASSAY_SSH_OPTS, then each `--ssh-opt`, all split
/// like a shell would (and passed without one).
fn ssh_command(flags: &[String]) -> anyhow::Result<SshCommand> {
    let mut cmd = SshCommand::default();
    if let Ok(p) = std::env::var("ASSAY_SSH")
        && !p.trim().is_empty()
    {
        cmd.program = p;
    }
    let env = std::env::var("ASSAY_SSH_OPTS").ok();
    for (what, text) in env
        .iter()
        .map(|t| ("ASSAY_SSH_OPTS", t))
        .chain(flags.iter().map(|t| ("--ssh-opt", t)))
    {
        let words =
            shlex::split(text).with_context(|| format!("{what} {text:?}: unbalanced quotes"))?;
        cmd.options.extend(words);
    }
    Ok(cmd)
}

fn attach_cmd(store: &mut Store, run: i64, source: &str, flags: &[String]) -> anyhow::Result<()> {
    let source = LogSource::parse(source)?;
    let ssh = ssh_command(flags)?;
    let stop = Arc::new(AtomicBool::new(false));
    ctrlc_flag(stop.clone())?;
    let ended = attach(store, run, &source, &ssh, &stop, &mut |e| match e {
        Event::Point(p) => {
            if p.loss.is_some() || p.eval_loss.is_some() {
                // A closed stdout does not stop following: every point is in the database.
                let _ = super::output::line(format!(
                    "{}",
                    serde_json::json!({
                        "step": p.step, "total_steps": p.total_steps, "loss": p.loss,
                        "eval_loss": p.eval_loss, "lr": p.lr, "tokens_per_s": p.tokens_per_s,
                    })
                ));
            }
        }
        Event::Note(n) => eprintln!("{}", sanitize_line(n)),
    })?;
    match ended {
        Ended::Finished => eprintln!("run {run} completed (its log shows the trainer's end)"),
        Ended::Detached => eprintln!(
            "run {run} is no longer followed (external); `assay runs attach {run} ...` goes on \
             from where it was"
        ),
    }
    Ok(())
}

fn list(store: &mut Store, json: bool) -> anyhow::Result<()> {
    let mut runs = Vec::new();
    for r in store.runs()? {
        runs.push(reconcile(store, r)?);
    }
    if json {
        super::output::json(&runs)?;
        return Ok(());
    }
    if runs.is_empty() {
        super::output::line("no runs yet: start one with `assay train --dataset NAME`")?;
        return Ok(());
    }
    super::output::line(format!(
        "{:>4}  {:<9}  {:<12}  {:<20}  {:>11}  {:>8}  created",
        "id", "status", "trainer", "dataset", "step", "loss"
    ))?;
    for r in &runs {
        let points: Vec<_> = store
            .run_points(r.id, 0)?
            .into_iter()
            .map(|p| p.1)
            .collect();
        let p = progress(&points);
        let loss = points
            .iter()
            .rev()
            .find_map(|p| p.loss)
            .map_or("-".into(), |l| format!("{l:.4}"));
        let step = match p.total_steps {
            Some(t) => format!("{}/{t}", p.step),
            None => p.step.to_string(),
        };
        let dataset: String = sanitize_line(r.dataset.as_deref().unwrap_or("-"))
            .chars()
            .take(20)
            .collect();
        super::output::line(format!(
            "{:>4}  {:<9}  {:<12}  {:<20}  {:>11}  {:>8}  {}",
            r.id, r.status, r.trainer, dataset, step, loss, r.created_at
        ))?;
    }
    Ok(())
}

fn show(store: &Store, info: RunInfo, with_points: bool) -> anyhow::Result<()> {
    let points: Vec<_> = store
        .run_points(info.id, 0)?
        .into_iter()
        .map(|p| p.1)
        .collect();
    let p = progress(&points);
    let mut v = serde_json::to_value(&info)?;
    v["follow"] = serde_json::to_value(store.run_follow(info.id)?)?;
    v["points_logged"] = serde_json::json!(points.len());
    v["last_point"] = serde_json::to_value(points.last())?;
    // Only a run that is going on has time left.
    v["eta"] = serde_json::json!(p.eta_s.filter(|_| info.status.is_active()).map(duration));
    if with_points {
        v["points"] = serde_json::to_value(&points)?;
    }
    // JSON escapes control characters, so log lines cannot reach the terminal raw.
    super::output::json(&v)?;
    Ok(())
}

/// Log lines made safe for the terminal, one per line.
pub fn safe_lines(lines: &[String]) -> String {
    lines
        .iter()
        .map(|l| format!("  | {}", sanitize_line(l)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Prints a run's points as JSON lines until it ends; Ctrl-C asks the run to stop.
pub fn follow(store: &mut Store, id: i64, stop: &AtomicBool) -> anyhow::Result<RunStatus> {
    watch(store, id, stop, true)
}

/// Prints points as they arrive until the run ends. On Ctrl-C: asks the run to stop when
/// `stop_run`, else stops watching.
fn watch(
    store: &mut Store,
    id: i64,
    stop: &AtomicBool,
    stop_run: bool,
) -> anyhow::Result<RunStatus> {
    let mut seq = 0;
    let mut asked = false;
    let print_new = |store: &Store, seq: &mut i64| -> anyhow::Result<()> {
        for (s, p) in store.run_points(id, *seq)? {
            *seq = s;
            if p.loss.is_some() || p.eval_loss.is_some() {
                super::output::line(format!(
                    "{}",
                    serde_json::json!({
                        "step": p.step, "total_steps": p.total_steps, "loss": p.loss,
                        "eval_loss": p.eval_loss, "lr": p.lr, "tokens_per_s": p.tokens_per_s,
                    })
                ))?;
            }
        }
        Ok(())
    };
    loop {
        print_new(store, &mut seq)?;
        let run = store.run(id)?;
        let run = reconcile(store, run)?;
        if !run.status.is_active() {
            // Points stored between the read above and the end being recorded.
            print_new(store, &mut seq)?;
            return Ok(run.status);
        }
        if stop.load(Ordering::Relaxed) && !asked {
            if !stop_run {
                return Ok(run.status);
            }
            asked = true;
            store.request_run_stop(id)?;
            eprintln!("stopping run {id} (Ctrl-C again does nothing; it ends on its own)");
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// Sets `flag` on Ctrl-C (SIGINT) from a small thread running a signal-only runtime.
pub fn ctrlc_flag(flag: Arc<AtomicBool>) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::spawn(move || {
        rt.block_on(async {
            loop {
                if tokio::signal::ctrl_c().await.is_err() {
                    return;
                }
                flag.store(true, Ordering::Relaxed);
            }
        })
    });
    Ok(())
}
