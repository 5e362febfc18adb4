//! The supervisor of an external trainer: starts it from its argument vector (never a shell)
//! in its own process group, keeps its output in a log file, turns its log lines into points
//! in the store, obeys a stop asked for in the store (SIGINT, then SIGTERM, then SIGKILL, a
//! grace period apart) and records how it ended: completed, stopped, or failed with the exit
//! code and the last lines it printed. Every line the trainer prints is scrubbed of secrets
//! ([`crate::text::secrets`]) before it reaches the log file, the stored tail or a parser.

use super::files;
use super::logparse::{HfLogReader, llamafactory_point};
use super::signals::{Signal, signal_group};
use super::spec::Launch;
use super::tail::Tail;
use crate::store::{RunPoint, RunStatus, Store};
use crate::text::secrets::Scrubber;
use anyhow::Context;
use std::collections::VecDeque;
use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Lines of output kept with the run (shown live, and as the reason when it fails).
pub const TAIL_LINES: usize = 40;
const POLL: Duration = Duration::from_millis(150);
const STOP_CHECK: Duration = Duration::from_millis(300);
const TAIL_FLUSH: Duration = Duration::from_millis(700);

enum Msg {
    Line(String),
    Eof,
}

/// Splits a byte stream into lines at `\n` and at tqdm's `\r`, lossily decoded.
fn reader(mut src: impl Read + Send + 'static, tx: mpsc::Sender<Msg>) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        let mut line = Vec::new();
        loop {
            match src.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    for &b in &buf[..n] {
                        if b == b'\n' || b == b'\r' {
                            if !line.is_empty() {
                                let text = String::from_utf8_lossy(&line).into_owned();
                                if tx.send(Msg::Line(text)).is_err() {
                                    return;
                                }
                                line.clear();
                            }
                        } else if line.len() < 64 * 1024 {
                            line.push(b);
                        }
                    }
                }
            }
        }
        if !line.is_empty() {
            let _ = tx.send(Msg::Line(String::from_utf8_lossy(&line).into_owned()));
        }
        let _ = tx.send(Msg::Eof);
    });
}

/// Follows one run's trainer; see the module doc.
struct Follow<'a> {
    store: &'a mut Store,
    run_id: i64,
    launch: &'a Launch,
    log: std::fs::File,
    scrub: Scrubber,
    tail: VecDeque<String>,
    jsonl: Option<Tail>,
    hf: HfLogReader,
    start: Instant,
    points: Vec<RunPoint>,
    tail_dirty: bool,
    last_flush: Instant,
}

impl Follow<'_> {
    fn line(&mut self, line: String) -> anyhow::Result<()> {
        let line = self.scrub.scrub(&line).into_owned();
        writeln!(self.log, "{line}")
            .with_context(|| format!("writing {}", self.launch.log_file.display()))?;
        if self.jsonl.is_none()
            && let Some(p) = self.hf.line(&line, self.start.elapsed().as_secs_f64())
        {
            self.points.push(p);
        }
        if self.tail.len() == TAIL_LINES {
            self.tail.pop_front();
        }
        self.tail.push_back(line);
        self.tail_dirty = true;
        Ok(())
    }

    fn poll_jsonl(&mut self) -> anyhow::Result<()> {
        let elapsed = self.start.elapsed().as_secs_f64();
        if let Some(t) = self.jsonl.as_mut() {
            for l in t.poll()? {
                if let Some(p) = llamafactory_point(&l, elapsed) {
                    self.points.push(p);
                }
            }
        }
        Ok(())
    }

    fn flush(&mut self, force: bool) -> anyhow::Result<()> {
        let tail_due = self.tail_dirty && (force || self.last_flush.elapsed() >= TAIL_FLUSH);
        if self.points.is_empty() && !tail_due {
            return Ok(());
        }
        let tail: Vec<String> = self.tail.iter().cloned().collect();
        self.store
            .add_run_points(self.run_id, &self.points, Some(&tail))?;
        self.points.clear();
        self.tail_dirty = false;
        self.last_flush = Instant::now();
        Ok(())
    }
}

/// Runs the trainer of `launch` for run `run_id` to its end and records the outcome.
pub fn run_external(store: &mut Store, run_id: i64, launch: &Launch) -> anyhow::Result<RunStatus> {
    let log = files::open_log(&launch.log_file)
        .with_context(|| format!("cannot open {}", launch.log_file.display()))?;
    let scrub = Scrubber::from_env();
    let Some((program, args)) = launch.argv.split_first() else {
        anyhow::bail!("run {run_id}: empty command");
    };
    let mut cmd = Command::new(program);
    cmd.args(args)
        .current_dir(&launch.cwd)
        // Python buffers stdout when it is a pipe; the chart would then lag by kilobytes.
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            let why = format!(
                "cannot start {program:?}: {e} (is it installed and on PATH? the command was \
                 {:?})",
                launch.argv
            );
            let why = scrub.scrub(&why).into_owned();
            store.finish_run(run_id, RunStatus::Failed, None, Some(&why), &[])?;
            return Ok(RunStatus::Failed);
        }
    };
    let pgid = child.id();
    store.set_run_child(run_id, Some(pgid))?;
    let (tx, rx) = mpsc::channel();
    if let Some(out) = child.stdout.take() {
        reader(out, tx.clone());
    }
    if let Some(err) = child.stderr.take() {
        reader(err, tx.clone());
    }
    drop(tx);
    let mut f = Follow {
        store,
        run_id,
        launch,
        log,
        scrub,
        tail: VecDeque::new(),
        jsonl: launch.jsonl_log.as_deref().map(Tail::new),
        hf: HfLogReader::default(),
        start: Instant::now(),
        points: Vec::new(),
        tail_dirty: false,
        last_flush: Instant::now(),
    };
    let grace = Duration::from_secs_f64(launch.stop_grace_s.max(0.0));
    let mut stopping: Option<(Instant, Signal)> = None;
    let mut last_stop_check: Option<Instant> = None;
    let mut open = 2;
    let status = loop {
        let exited = child.try_wait()?;
        loop {
            match rx.try_recv() {
                Ok(Msg::Line(l)) => f.line(l)?,
                Ok(Msg::Eof) => open -= 1,
                Err(_) => break,
            }
        }
        f.poll_jsonl()?;
        if let Some(status) = exited {
            break status;
        }
        f.flush(false)?;
        match stopping {
            None if last_stop_check.is_none_or(|t| t.elapsed() >= STOP_CHECK) => {
                last_stop_check = Some(Instant::now());
                if f.store.run_stop_requested(run_id)? {
                    let _ = signal_group(pgid, Signal::Interrupt);
                    f.line(format!(
                        "[assay] stop asked: SIGINT sent to process group {pgid}"
                    ))?;
                    stopping = Some((Instant::now(), Signal::Interrupt));
                }
            }
            Some((since, sig)) if since.elapsed() >= grace && sig != Signal::Kill => {
                let next = if sig == Signal::Interrupt {
                    Signal::Terminate
                } else {
                    Signal::Kill
                };
                let _ = signal_group(pgid, next);
                f.line(format!(
                    "[assay] still running after {:.0}s: {next:?} sent",
                    grace.as_secs_f64()
                ))?;
                stopping = Some((Instant::now(), next));
            }
            _ => {}
        }
        std::thread::sleep(POLL);
    };
    // The trainer is gone; its pipes may stay open in a grandchild, so wait only briefly.
    let deadline = Instant::now() + Duration::from_secs(2);
    while open > 0 {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(Msg::Line(l)) => f.line(l)?,
            Ok(Msg::Eof) => open -= 1,
            Err(_) => break,
        }
    }
    f.poll_jsonl()?;
    if let Some(rest) = f.jsonl.as_ref().and_then(Tail::remainder)
        && let Some(p) = llamafactory_point(&rest, f.start.elapsed().as_secs_f64())
    {
        f.points.push(p);
    }
    let (code, how) = match (status.code(), status.signal()) {
        (Some(c), _) => (c, format!("exited with code {c}")),
        (None, Some(s)) => (128 + s, format!("killed by signal {s}")),
        (None, None) => (-1, "ended without an exit code".to_string()),
    };
    let stop_asked = f.store.run_stop_requested(run_id)?;
    let final_status = if stop_asked {
        RunStatus::Stopped
    } else if code == 0 {
        RunStatus::Completed
    } else {
        RunStatus::Failed
    };
    f.line(format!("[assay] trainer {how}"))?;
    f.flush(true)?;
    let tail: Vec<String> = f.tail.iter().cloned().collect();
    let message = match final_status {
        RunStatus::Failed => Some(format!("the trainer {how}; its last lines are kept")),
        RunStatus::Stopped => Some(format!("stopped on request; the trainer {how}")),
        _ => None,
    };
    let mut artifacts = vec![launch.log_file.display().to_string()];
    if launch.output_dir.exists() {
        artifacts.push(launch.output_dir.display().to_string());
    }
    f.store.set_run_artifacts(run_id, &artifacts)?;
    f.store
        .finish_run(run_id, final_status, Some(code), message.as_deref(), &tail)?;
    Ok(final_status)
}
