//! Running a job's items: pending items are dispatched up to a concurrency limit, each result is
//! committed (samples, then the item marked done) as it arrives, token counts are added to the
//! job, and a cancel (Ctrl-C, or `assay gen cancel` from another process) stops dispatching.
//!
//! Resume: items left running by a killed process go back to pending. A sample committed just
//! before a kill, whose item was not yet marked done, is regenerated from the response cache
//! with the same content, which the store's content hash makes a no-op: nothing is duplicated.

use super::Meter;
use crate::model::NewSample;
use crate::store::{ImportRecord, InsertOutcome, JobItem, Store, StoreError};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use serde_json::Value;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Cancels a job from anywhere (a signal handler, the TUI). A cancel stops dispatching and
/// drops the requests in flight (dropping a request's future closes its connection), so a
/// server that never answers cannot hold the job.
#[derive(Debug, Clone, Default)]
pub struct CancelFlag(Arc<CancelInner>);

#[derive(Debug, Default)]
pub struct CancelInner {
    flag: AtomicBool,
    notify: tokio::sync::Notify,
}

impl CancelFlag {
    pub fn cancel(&self) {
        self.0.flag.store(true, Ordering::SeqCst);
        self.0.notify.notify_waiters();
    }
    pub fn is_cancelled(&self) -> bool {
        self.0.flag.load(Ordering::SeqCst)
    }
    /// Resolves once the flag is set.
    pub async fn cancelled(&self) {
        loop {
            let wait = self.0.notify.notified();
            if self.is_cancelled() {
                return;
            }
            wait.await;
        }
    }
}

/// Progress as a job runs, for a progress bar or the TUI's jobs panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub total: u64,
    pub done: u64,
    pub failed: u64,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RunSummary {
    pub job_id: i64,
    pub status: String,
    pub done: u64,
    pub failed: u64,
    pub pending: u64,
    /// Failed items' keys and reasons.
    pub failures: Vec<(String, String)>,
    /// Items whose requests were in flight when the job was cancelled (back to pending).
    #[serde(default)]
    pub interrupted: u64,
}

impl RunSummary {
    /// The process exit code for this outcome, as README's CLI section documents: 0 every item
    /// done, 2 some items failed, 3 every item failed, 130 cancelled (rerun to resume).
    pub fn exit_code(&self) -> u8 {
        if self.status == "cancelled" {
            130
        } else if self.failed > 0 && self.done == 0 {
            3
        } else if self.failed > 0 {
            2
        } else {
            0
        }
    }
}

/// Inserts generated samples into a dataset; returns the new ids (duplicates are skipped).
pub fn store_samples(
    store: &mut Store,
    dataset_id: i64,
    author: &str,
    samples: Vec<NewSample>,
) -> Result<Vec<i64>, StoreError> {
    let records = samples
        .into_iter()
        .map(ImportRecord::new)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| StoreError::Invalid(format!("cannot serialise a generated sample: {e}")))?;
    let mut batch = store.import_batch(dataset_id, author)?;
    let mut ids = Vec::new();
    for r in &records {
        if let InsertOutcome::Inserted(id) = batch.insert(r)? {
            ids.push(id);
        }
    }
    batch.commit()?;
    Ok(ids)
}

/// Runs every pending item of job `job_id`: `work` computes an item's result (model calls,
/// no store), `commit` writes it and returns the item's output record. Up to `concurrency`
/// items run at once. With `retry_failed`, the job's failed items are run again first (only
/// they: done items stay done).
///
/// A cancel (the flag, or `assay gen cancel` from another process, polled every 250 ms) drops
/// the items in flight at once: their requests are aborted, they go back to pending, and the job
/// is recorded as cancelled with how many were interrupted. A rerun resumes them.
#[allow(clippy::too_many_arguments)]
pub async fn run_items<T, W, Fut, C>(
    store: &mut Store,
    job_id: i64,
    meter: &Meter,
    concurrency: usize,
    cancel: &CancelFlag,
    retry_failed: bool,
    on_progress: &(dyn Fn(Progress) + Send + Sync),
    work: W,
    mut commit: C,
) -> anyhow::Result<RunSummary>
where
    W: Fn(JobItem) -> Fut,
    Fut: Future<Output = Result<T, String>>,
    C: FnMut(&mut Store, &JobItem, T) -> anyhow::Result<Value>,
{
    store.resume_job(job_id)?;
    if retry_failed {
        let n = store.retry_failed_items(job_id)?;
        tracing::info!(job_id, n, "retrying failed items");
    }
    let all = store.job_items(job_id, None)?;
    let total = all.len() as u64;
    let mut done = all.iter().filter(|i| i.status == "done").count() as u64;
    let mut failed = all.iter().filter(|i| i.status == "failed").count() as u64;
    on_progress(Progress {
        total,
        done,
        failed,
    });
    let mut queue = all.into_iter().filter(|i| i.status == "pending");
    let mut inflight = FuturesUnordered::new();
    let mut stopped = false;
    let mut poll = tokio::time::interval(std::time::Duration::from_millis(250));
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        while !stopped && inflight.len() < concurrency.max(1) {
            let Some(item) = queue.next() else { break };
            store.start_job_item(job_id, &item.key)?;
            let fut = work(item.clone());
            inflight.push(async move { (item, fut.await) });
        }
        if inflight.is_empty() {
            break;
        }
        let next = tokio::select! {
            n = inflight.next() => n,
            () = cancel.cancelled() => None,
            _ = poll.tick() => {
                if store.job_cancel_requested(job_id)? {
                    cancel.cancel();
                }
                continue;
            }
        };
        let Some((item, result)) = next else {
            // Cancelled: abort what is in flight; those items go back to pending.
            stopped = true;
            break;
        };
        let outcome = match result {
            Ok(value) => commit(store, &item, value).map_err(|e| format!("{e:#}")),
            Err(reason) => Err(reason),
        };
        match &outcome {
            Ok(out) => {
                store.finish_job_item(job_id, &item.key, Ok(out))?;
                done += 1;
            }
            Err(reason) => {
                tracing::warn!(job_id, item = %item.key, "item failed: {reason}");
                store.finish_job_item(job_id, &item.key, Err(reason))?;
                failed += 1;
            }
        }
        store.add_job_usage(job_id, meter.take())?;
        on_progress(Progress {
            total,
            done,
            failed,
        });
        if !stopped && (cancel.is_cancelled() || store.job_cancel_requested(job_id)?) {
            stopped = true;
        }
        if stopped {
            break;
        }
    }
    let mut interrupted = 0;
    if stopped {
        // Dropping the futures aborts their requests; their items (still `running`) go back
        // to pending for the rerun.
        drop(inflight);
        interrupted = store.resume_job(job_id)?;
    }
    let failures: Vec<(String, String)> = store
        .job_items(job_id, Some("failed"))?
        .into_iter()
        .map(|i| (i.key, i.reason.unwrap_or_default()))
        .collect();
    let pending = total - done - failed;
    let status = if stopped && pending > 0 {
        "cancelled"
    } else if failed > 0 && done == 0 {
        "failed"
    } else {
        "done"
    };
    let summary = RunSummary {
        job_id,
        status: status.to_string(),
        done,
        failed,
        pending,
        failures,
        interrupted,
    };
    let mut record = serde_json::json!({ "done": done, "failed": failed, "pending": pending });
    if status == "cancelled" {
        record["cancelled"] =
            serde_json::json!({ "at": crate::model::now(), "interrupted": interrupted });
    }
    store.set_job_status(job_id, status, &record)?;
    Ok(summary)
}
