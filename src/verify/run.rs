//! Running verifiers over a dataset: golden match and trajectory checks directly (no model),
//! the LLM judge as a resumable job with one item per sample.

pub use super::applicable::Which;
use super::applicable::{applicable, direct_verdict};
use crate::jobs::{self, Ctx, Progress, RunSummary, job_key};
use crate::model::{Content, NewVerdict};
use crate::prompting::judge;
use crate::store::{Filter, JobItem, Store};
use serde::Serialize;

/// Counts of a direct run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Counts {
    pub checked: u64,
    pub passed: u64,
    pub failed: u64,
    /// Samples the verifier does not apply to (no golden answer, not an agent trajectory).
    pub skipped: u64,
}

/// Golden match or trajectory checks over every sample the filter selects.
pub fn run_direct(store: &mut Store, filter: &Filter, which: Which) -> anyhow::Result<Counts> {
    let mut verdicts: Vec<(i64, NewVerdict)> = Vec::new();
    let mut counts = Counts::default();
    store.for_each_sample(filter, |s| {
        match direct_verdict(which, s.kind, &s.head.content) {
            Some(v) => verdicts.push((s.head.id, v)),
            None => counts.skipped += 1,
        }
        Ok(())
    })?;
    for (rev, v) in verdicts {
        counts.checked += 1;
        if v.passed {
            counts.passed += 1;
        } else {
            counts.failed += 1;
        }
        store.add_verdict(rev, &v)?;
    }
    Ok(counts)
}

/// The LLM judge over a dataset, as a job (rerun resumes it).
pub async fn run_judge(
    store: &mut Store,
    ctx: &Ctx,
    dataset_id: i64,
    rubric: &str,
    on_progress: &(dyn Fn(Progress) + Send + Sync),
) -> anyhow::Result<RunSummary> {
    let params = serde_json::json!({ "dataset": dataset_id, "rubric": rubric, "lang": ctx.lang,
        "judge": ctx.verifier.describe() });
    let (info, _) = store.open_job(
        &job_key("judge", &params),
        "judge",
        Some(dataset_id),
        &params,
    )?;
    let mut items = Vec::new();
    store.for_each_sample(&Filter::dataset(dataset_id), |s| {
        if applicable(s.kind, &s.head.content).contains(&Which::Judge) {
            items.push((
                format!("{}:{}", s.id, s.head.id),
                serde_json::json!({ "revision": s.head.id, "content": s.head.content }),
            ));
        }
        Ok(())
    })?;
    store.add_job_items(info.id, &items)?;
    let work = |item: JobItem| {
        let ctx = ctx.clone();
        async move {
            let content: Content = serde_json::from_value(item.input["content"].clone())
                .map_err(|e| format!("item {}: stored content unreadable: {e}", item.key))?;
            judge::judge(ctx.verifier.as_ref(), ctx.lang, &content, rubric).await
        }
    };
    let commit = |store: &mut Store, item: &JobItem, v: NewVerdict| {
        let rev = item.input["revision"].as_i64().unwrap_or_default();
        let stored = store.add_verdict(rev, &v)?;
        Ok(serde_json::json!({ "verdict": stored.id, "passed": v.passed }))
    };
    jobs::run_items(
        store,
        info.id,
        &ctx.meter,
        ctx.concurrency,
        &ctx.cancel,
        ctx.retry_failed,
        on_progress,
        work,
        commit,
    )
    .await
}
