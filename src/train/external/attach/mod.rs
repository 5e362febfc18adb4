//! `assay runs attach`: follows the `trainer_log.jsonl` of a run that trains elsewhere (a bundle
//! launched on a cluster) from a shared folder or over SSH, so that its points land in the store
//! and its loss curve shows in `runs show --follow` and the TUI as for a local run.
//!
//! While it follows, the run is `running` and owned by this process; the byte offset of the
//! last complete line moves with the points it stored, in one transaction, so a dropped link, a
//! Ctrl-C or a killed follower resumes exactly where it was. It ends when the log shows the
//! trainer's closing line (the run is then `completed`), or on Ctrl-C or a stop asked through
//! the store (it is `external` again: its trainer goes on elsewhere).

pub mod source;
pub mod ssh;

pub use source::{LogSource, SshTarget};
pub use ssh::SshCommand;

use super::launch::{is_bundle, reconcile};
use super::logparse::{llamafactory_mark, llamafactory_point};
use super::supervise::TAIL_LINES;
use super::tail::Tail;
use crate::store::{RunPoint, RunStatus, Store};
use crate::text::secrets::Scrubber;
use ssh::SshFeed;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const POLL: Duration = Duration::from_millis(250);
const STOP_CHECK: Duration = Duration::from_secs(1);

/// What the follower reports as it goes.
#[derive(Debug)]
pub enum Event<'a> {
    Point(&'a RunPoint),
    /// A line about the link or the follower (already scrubbed of secrets).
    Note(&'a str),
}

/// How following ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The log showed the trainer's end: the run is completed.
    Finished,
    /// Ctrl-C, or a stop asked through the store: the run is external again.
    Detached,
}

enum Feed {
    File(Tail),
    Ssh(Box<SshFeed>),
}

impl Feed {
    fn poll(&mut self, notes: &mut Vec<String>) -> anyhow::Result<Vec<String>> {
        match self {
            Feed::File(t) => Ok(t.poll()?),
            Feed::Ssh(s) => Ok(s.poll(notes)),
        }
    }

    fn consumed(&self) -> u64 {
        match self {
            Feed::File(t) => t.consumed(),
            Feed::Ssh(s) => s.consumed(),
        }
    }

    fn close(&mut self) {
        if let Feed::Ssh(s) = self {
            s.close();
        }
    }
}

/// The folder holding the log (the trainer's output folder), for the run's artifacts.
fn output_of(label: &str) -> String {
    label
        .strip_suffix("/trainer_log.jsonl")
        .unwrap_or(label)
        .to_string()
}

struct Follower<'a> {
    store: &'a mut Store,
    run_id: i64,
    scrub: Scrubber,
    tail: VecDeque<String>,
    tail_dirty: bool,
    committed: u64,
    start: Instant,
}

impl Follower<'_> {
    fn keep(&mut self, line: String) {
        if self.tail.len() == TAIL_LINES {
            self.tail.pop_front();
        }
        self.tail.push_back(line);
        self.tail_dirty = true;
    }

    /// One poll: new lines to points, notes to the tail, both stored. Returns whether the log
    /// showed the trainer's end.
    fn step(&mut self, feed: &mut Feed, echo: &mut dyn FnMut(Event)) -> anyhow::Result<bool> {
        let mut notes = Vec::new();
        let lines = feed.poll(&mut notes)?;
        let mut points = Vec::new();
        let mut finished = false;
        for raw in &lines {
            let line = self.scrub.scrub(raw).into_owned();
            let mark = llamafactory_mark(&line);
            let elapsed = mark
                .and_then(|m| m.elapsed_s)
                .unwrap_or_else(|| self.start.elapsed().as_secs_f64());
            if let Some(p) = llamafactory_point(&line, elapsed) {
                points.push(p);
            }
            finished |= mark.is_some_and(|m| m.finished);
            self.keep(line);
        }
        for n in notes {
            let n = self.scrub.scrub(&n).into_owned();
            echo(Event::Note(&n));
            self.keep(n);
        }
        let consumed = feed.consumed();
        if !points.is_empty() || self.tail_dirty || consumed != self.committed {
            let tail: Vec<String> = self.tail.iter().cloned().collect();
            let stored = self.store.add_followed_points(
                self.run_id,
                &points,
                Some(&tail),
                self.committed,
                consumed,
            )?;
            anyhow::ensure!(
                stored,
                "run {}: another process stored its points meanwhile (a second `assay runs \
                 attach`?); this one stops",
                self.run_id
            );
            self.committed = consumed;
            self.tail_dirty = false;
            for p in &points {
                echo(Event::Point(p));
            }
        }
        Ok(finished)
    }

    fn release(&mut self, why: &str) -> anyhow::Result<()> {
        self.store.release_followed_run(self.run_id, why)?;
        Ok(())
    }
}

/// Follows run `run_id`'s log at `source` until the trainer ends, `stop` is set (Ctrl-C) or a
/// stop is asked through the store.
pub fn attach(
    store: &mut Store,
    run_id: i64,
    source: &LogSource,
    ssh: &SshCommand,
    stop: &AtomicBool,
    echo: &mut dyn FnMut(Event),
) -> anyhow::Result<Ended> {
    let run = store.run(run_id)?;
    let run = reconcile(store, run)?;
    anyhow::ensure!(
        is_bundle(&run),
        "run {run_id} ({}) was not made with `assay train --bundle`: a run assay launched is \
         followed with `assay runs show {run_id} --follow`",
        run.trainer
    );
    if let LogSource::File(log) = source {
        let bundle = log.parent().and_then(|p| p.parent());
        let parent_exists = log.parent().is_some_and(|p| p.is_dir());
        anyhow::ensure!(
            parent_exists || bundle.is_some_and(|b| b.is_dir()),
            "{}: no such folder; give the bundle's folder or the path of its trainer_log.jsonl",
            log.display()
        );
    }
    let label = match source {
        LogSource::File(p) => std::path::absolute(p)?.display().to_string(),
        LogSource::Ssh(_) => source.to_string(),
    };
    let consumed = store.claim_followed_run(run_id, std::process::id(), &label)?;
    let mut feed = match source {
        LogSource::File(p) => Feed::File(Tail::resume(p, consumed)),
        LogSource::Ssh(t) => Feed::Ssh(Box::new(SshFeed::new(ssh.clone(), t.clone(), consumed))),
    };
    let mut f = Follower {
        store,
        run_id,
        scrub: Scrubber::from_env(),
        tail: run.log_tail.into_iter().collect(),
        tail_dirty: false,
        committed: consumed,
        start: Instant::now(),
    };
    let hello = format!("[assay] following {label} from byte {consumed}");
    echo(Event::Note(&hello));
    f.keep(hello);
    let result = follow(&mut f, &mut feed, stop, echo);
    feed.close();
    match result {
        Ok(Ended::Finished) => {
            let tail: Vec<String> = f.tail.iter().cloned().collect();
            f.store.set_run_artifacts(
                run_id,
                &[format!("{} (where it trained)", output_of(&label))],
            )?;
            f.store
                .finish_run(run_id, RunStatus::Completed, None, None, &tail)?;
            Ok(Ended::Finished)
        }
        Ok(Ended::Detached) => Ok(Ended::Detached),
        Err(e) => {
            let why = f
                .scrub
                .scrub(&format!("following stopped: {e:#}"))
                .into_owned();
            let _ = f.release(&why);
            Err(e)
        }
    }
}

fn follow(
    f: &mut Follower<'_>,
    feed: &mut Feed,
    stop: &AtomicBool,
    echo: &mut dyn FnMut(Event),
) -> anyhow::Result<Ended> {
    let mut last_stop_check = Instant::now();
    loop {
        if stop.load(Ordering::Relaxed) {
            f.release(
                "not followed since a Ctrl-C in `assay runs attach`; its trainer may go on \
                 elsewhere: attach again to follow it",
            )?;
            return Ok(Ended::Detached);
        }
        if last_stop_check.elapsed() >= STOP_CHECK {
            last_stop_check = Instant::now();
            if f.store.run_stop_requested(f.run_id)? {
                f.release(
                    "stop asked: no longer followed. Its trainer runs elsewhere: stop it there \
                     (scancel, sky cancel, or Ctrl-C where launch.sh runs)",
                )?;
                return Ok(Ended::Detached);
            }
        }
        if f.step(feed, echo)? {
            return Ok(Ended::Finished);
        }
        std::thread::sleep(POLL);
    }
}
