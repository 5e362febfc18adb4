//! Questions from a topic and aspects: one request per aspect for N questions, parsed from
//! whatever list shape the model used ([`crate::prompting::list`]; a reply that is not a list
//! fails the item with the reason), near-empty and duplicate questions dropped (within the
//! answer and against the dataset), each tagged with its aspect. An aspect that got fewer than
//! asked says so in its item's output (`fewer`).

use crate::jobs::{self, Ctx, Progress, RunSummary, job_key};
use crate::model::{Content, NewSample, SampleKind, SampleMeta, Source, Turn};
use crate::prompting::list::{read_list, shortfall};
use crate::prompting::parse::{dedup_key, near_empty};
use crate::prompting::{ask, prompts};
use crate::store::{Filter, Store};
use crate::text::sanitize::excerpt;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Params {
    pub topic: String,
    pub aspects: Vec<String>,
    /// Questions per aspect.
    pub per_aspect: usize,
    /// The dataset the questions go into.
    pub dataset: String,
    pub temperature: f32,
}

struct Answer {
    questions: Vec<String>,
    /// How many items the model's list had.
    returned: usize,
    dropped: usize,
    model: String,
    prompt: String,
}

/// Runs (or resumes) the job; returns how it ended.
pub async fn run(
    store: &mut Store,
    ctx: &Ctx,
    p: &Params,
    on_progress: &(dyn Fn(Progress) + Send + Sync),
) -> anyhow::Result<RunSummary> {
    if p.aspects.is_empty() {
        anyhow::bail!("give at least one aspect (--aspect NAME, repeatable)");
    }
    let dataset_id = store.ensure_dataset(&p.dataset)?;
    let params =
        serde_json::json!({ "params": p, "lang": ctx.lang, "model": ctx.generator.describe() });
    let (info, _) = store.open_job(
        &job_key("questions", &params),
        "questions",
        Some(dataset_id),
        &params,
    )?;
    let items: Vec<(String, serde_json::Value)> = p
        .aspects
        .iter()
        .map(|a| (a.clone(), serde_json::json!({ "aspect": a })))
        .collect();
    store.add_job_items(info.id, &items)?;

    // Questions already in the dataset, so that a second aspect cannot repeat the first's.
    let mut seen: HashSet<String> = HashSet::new();
    store.for_each_sample(&Filter::dataset(dataset_id), |s| {
        if let Some(q) = s.head.content.question() {
            seen.insert(dedup_key(q));
        }
        Ok(())
    })?;

    let work = |item: crate::store::JobItem| {
        let ctx = ctx.clone();
        async move {
            let aspect = item.input["aspect"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let n = p.per_aspect.to_string();
            let prompt = prompts::prompt(
                ctx.lang,
                "questions",
                &[("topic", &p.topic), ("aspect", &aspect), ("n", &n)],
            )?;
            let r = ask(
                ctx.generator.as_ref(),
                prompt.clone(),
                p.temperature,
                None,
                None,
            )
            .await
            .map_err(|e| e.to_string())?;
            let parsed = read_list(&r.text)
                .map_err(|why| format!("aspect {aspect:?}: {why}: {}", excerpt(&r.text)))?;
            let total = parsed.len();
            let mut local = HashSet::new();
            let questions: Vec<String> = parsed
                .into_iter()
                .filter(|q| !near_empty(q) && local.insert(dedup_key(q)))
                .take(p.per_aspect)
                .collect();
            if questions.is_empty() {
                return Err(format!(
                    "the model returned no usable questions for aspect {aspect:?}: {}",
                    excerpt(&r.text)
                ));
            }
            Ok(Answer {
                returned: total,
                dropped: total - questions.len(),
                questions,
                model: r.model,
                prompt,
            })
        }
    };
    let commit = |store: &mut Store, item: &crate::store::JobItem, a: Answer| {
        let aspect = item.input["aspect"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let mut dropped = a.dropped;
        let mut samples = Vec::new();
        for q in a.questions {
            if !seen.insert(dedup_key(&q)) {
                dropped += 1;
                continue;
            }
            samples.push(NewSample {
                kind: SampleKind::Qa,
                content: Content {
                    turns: vec![Turn::user(q)],
                    ..Content::default()
                },
                source: Source::Generated {
                    generator: "questions".into(),
                    model: a.model.clone(),
                    prompt: a.prompt.clone(),
                },
                meta: SampleMeta {
                    aspect: Some(aspect.clone()),
                    topic: Some(p.topic.clone()),
                    tags: vec![format!("aspect:{aspect}")],
                    ..SampleMeta::default()
                },
            });
        }
        let ids = jobs::store_samples(store, dataset_id, "gen:questions", samples)?;
        let mut out = serde_json::json!({ "samples": ids, "dropped": dropped,
            "asked": p.per_aspect, "returned": a.returned });
        // Fewer than asked (the model's list, or what survived dedup): said, not hidden.
        if let Some(note) = shortfall(p.per_aspect, ids.len()) {
            tracing::warn!(aspect = %aspect, "{note}");
            out["fewer"] = note.into();
        }
        Ok(out)
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
