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

/// Cancels a job from anywhere (a signal handler, the TUI).
#[derive(Debug, Clone, Default)]
pub struct CancelFlag(Arc<AtomicBool>);

impl CancelFlag {
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
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
/// items run at once.
#[allow(clippy::too_many_arguments)]
pub async fn run_items<T, W, Fut, C>(
    store: &mut Store,
    job_id: i64,
    meter: &Meter,
    concurrency: usize,
    cancel: &CancelFlag,
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
    loop {
        while !stopped && inflight.len() < concurrency.max(1) {
            let Some(item) = queue.next() else { break };
            store.start_job_item(job_id, &item.key)?;
            let fut = work(item.clone());
            inflight.push(async move { (item, fut.await) });
        }
        let Some((item, result)) = inflight.next().await else {
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
    }
    let failures: Vec<(String, String)> = store
        .job_items(job_id, Some("failed"))?
        .into_iter()
        .map(|i| (i.key, i.reason.unwrap_or_default()))
        .collect();
    let pending = total - done - failed;
    let status = if stopped && pending > 0 {
        "cancelled"
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
    };
    store.set_job_status(
        job_id,
        status,
        &serde_json::json!({ "done": done, "failed": failed, "pending": pending }),
    )?;
    Ok(summary)
}
