//! The evaluation loop: every item through every model (greedy), scored, tallied; wrong
//! answers of the model under test stored for review in batches as the run goes, so a stop
//! keeps what was scored.

use super::error::Result;
use super::failures::{Failure, RunInfo, store_failures};
use super::generate::{Decoded, Forward, greedy, prompt_ids, stop_ids};
use super::items::EvalItem;
use super::report::{ModelReport, Report};
use super::score::score;
use crate::llama::TextTokenizer;
use crate::store::Store;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

/// Failures are committed this many at a time (one transaction each).
pub const FAILURE_BATCH: usize = 16;

/// A model to put the items to, under a name for the report.
pub struct Contender {
    pub name: String,
    pub model: Box<dyn Forward>,
}

/// How to run.
pub struct Plan<'a> {
    pub tokenizer: &'a dyn TextTokenizer,
    /// The last one is the model under test: its failures are stored.
    pub contenders: Vec<Contender>,
    pub max_tokens: usize,
    /// The dataset id failures go to; None keeps them out of the store.
    pub failures_to: Option<i64>,
    pub run: RunInfo,
}

/// Scores `items` into `report` (whose header the caller fills); stops between tokens when
/// `cancel` is set, leaving the item in progress unscored. `on_item` is told after each item.
pub fn run(
    store: &mut Store,
    items: &[EvalItem],
    mut plan: Plan<'_>,
    report: &mut Report,
    cancel: &AtomicBool,
    on_item: &mut dyn FnMut(usize),
) -> Result<()> {
    report.models = plan
        .contenders
        .iter()
        .map(|c| ModelReport::new(&c.name))
        .collect();
    let stops = stop_ids(plan.tokenizer);
    let under_test = plan.contenders.len().saturating_sub(1);
    let mut pending: Vec<Failure> = Vec::new();
    'items: for (done, item) in items.iter().enumerate() {
        let prompt = prompt_ids(plan.tokenizer, item)?;
        let room = plan
            .contenders
            .iter()
            .map(|c| c.model.max_positions())
            .min()
            .unwrap_or(0);
        if prompt.len() + 1 >= room {
            *report
                .skipped
                .entry(format!("prompt longer than the model's {room} positions"))
                .or_default() += 1;
            on_item(done + 1);
            continue;
        }
        // Every model answers before any is tallied, so a stop leaves the columns comparable.
        let mut answers = Vec::with_capacity(plan.contenders.len());
        for c in plan.contenders.iter_mut() {
            let t0 = Instant::now();
            let tokens = match greedy(c.model.as_mut(), &prompt, plan.max_tokens, &stops, cancel)? {
                Decoded::Done(t) => t,
                Decoded::Cancelled => {
                    report.stopped = true;
                    break 'items;
                }
            };
            let secs = t0.elapsed().as_secs_f64();
            let text = plan.tokenizer.decode(&tokens)?;
            answers.push((text, tokens.len(), secs));
        }
        for (i, (text, n_tokens, secs)) in answers.into_iter().enumerate() {
            let s = score(item, &text);
            let m = &mut report.models[i];
            m.add(item.kind.as_str(), s.correct, s.answer.is_some());
            m.add_time(n_tokens, secs);
            if i == under_test && !s.correct && plan.failures_to.is_some() {
                pending.push(Failure {
                    item: item.clone(),
                    response: text,
                    answer: s.answer,
                });
            }
        }
        report.scored += 1;
        if let Some(ds) = plan.failures_to
            && pending.len() >= FAILURE_BATCH
        {
            flush(store, ds, &mut pending, &plan.run, report)?;
        }
        on_item(done + 1);
    }
    if let Some(ds) = plan.failures_to {
        flush(store, ds, &mut pending, &plan.run, report)?;
    }
    Ok(())
}

fn flush(
    store: &mut Store,
    dataset_id: i64,
    pending: &mut Vec<Failure>,
    run: &RunInfo,
    report: &mut Report,
) -> Result<()> {
    let (stored, dup) = store_failures(store, dataset_id, pending, run)?;
    report.failures.stored += stored;
    report.failures.already_stored += dup;
    pending.clear();
    Ok(())
}
