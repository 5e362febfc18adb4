//! Grounded answers: for each question, BM25 over the `Pretrain` chunks of a documents dataset
//! (made by `assay chunk`), an answer from the top chunks only, and a record of which chunks
//! were retrieved and which the answer cites. A question with no relevant chunk is stored
//! unanswered and tagged `ungrounded`: the model is not asked to invent.

use super::bm25::Index;
use crate::jobs::{self, Ctx, Progress, RunSummary, job_key};
use crate::model::{Content, NewSample, SampleKind, SampleMeta, Source, Turn};
use crate::prompting::{ask, prompts};
use crate::store::{Filter, JobItem, Store};
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Params {
    /// Dataset of questions.
    pub questions: String,
    /// Dataset of document chunks (Pretrain samples).
    pub documents: String,
    pub output: String,
    /// Chunks given to the model.
    pub top_k: usize,
    /// Share of a question's terms a chunk must contain to count as relevant.
    pub min_coverage: f64,
    pub temperature: f32,
}

struct Answered {
    text: Option<String>,
    /// The model's reasoning, from its own field or a `<think>` block.
    reasoning: Option<String>,
    model: String,
    prompt: String,
}

/// Chunk numbers the answer cites (`[1][3]` after `Sources:` / `引用：`, or anywhere).
fn cited(text: &str, n: usize) -> Vec<usize> {
    let mut out = Vec::new();
    for part in text.split('[').skip(1) {
        if let Some((num, _)) = part.split_once(']')
            && let Ok(k) = num.trim().parse::<usize>()
            && (1..=n).contains(&k)
            && !out.contains(&k)
        {
            out.push(k);
        }
    }
    out
}

pub async fn run(
    store: &mut Store,
    ctx: &Ctx,
    p: &Params,
    on_progress: &(dyn Fn(Progress) + Send + Sync),
) -> anyhow::Result<RunSummary> {
    let q_id = store.require_dataset(&p.questions)?;
    let d_id = store.require_dataset(&p.documents)?;
    let out_id = store.ensure_dataset(&p.output)?;
    let mut chunks = Vec::new();
    let mut filter = Filter::dataset(d_id);
    filter.kinds = vec![SampleKind::Pretrain];
    store.for_each_sample(&filter, |s| {
        let text = s
            .head
            .content
            .turns
            .iter()
            .map(|t| t.content.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        chunks.push((s.id, text));
        Ok(())
    })?;
    if chunks.is_empty() {
        anyhow::bail!(
            "dataset {:?} has no pretrain chunks; make them with `assay chunk`",
            p.documents
        );
    }
    let texts: std::collections::HashMap<i64, String> = chunks.iter().cloned().collect();
    let index = Index::new(chunks);
    let params = json!({ "params": p, "lang": ctx.lang, "model": ctx.generator.describe() });
    let (info, _) = store.open_job(
        &job_key("answers", &params),
        "answers",
        Some(out_id),
        &params,
    )?;
    let mut items = Vec::new();
    store.for_each_sample(&Filter::dataset(q_id), |s| {
        if let Some(q) = s.head.content.question().filter(|q| !q.trim().is_empty()) {
            let hits: Vec<_> = index
                .search(q, p.top_k)
                .into_iter()
                .filter(|h| h.coverage >= p.min_coverage)
                .map(|h| json!({ "chunk": h.id, "score": h.score, "text": texts.get(&h.id) }))
                .collect();
            items.push((
                s.id.to_string(),
                json!({ "question": q, "aspect": s.meta.aspect, "hits": hits }),
            ));
        }
        Ok(())
    })?;
    store.add_job_items(info.id, &items)?;
    let work = |item: JobItem| {
        let ctx = ctx.clone();
        async move {
            let q = item.input["question"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let hits = item.input["hits"].as_array().cloned().unwrap_or_default();
            if hits.is_empty() {
                return Ok(Answered {
                    text: None,
                    reasoning: None,
                    model: String::new(),
                    prompt: String::new(),
                });
            }
            let context = hits
                .iter()
                .enumerate()
                .map(|(i, h)| format!("[{}] {}", i + 1, h["text"].as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join("\n\n");
            let prompt = prompts::prompt(
                ctx.lang,
                "grounded_answer",
                &[("context", &context), ("question", &q)],
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
            if r.text.trim().is_empty() {
                return Err("the model's answer is empty (only reasoning came back)".into());
            }
            Ok(Answered {
                text: Some(r.text),
                reasoning: r.reasoning,
                model: r.model,
                prompt,
            })
        }
    };
    let commit = |store: &mut Store, item: &JobItem, a: Answered| {
        let q = item.input["question"].as_str().unwrap_or_default();
        let hits = item.input["hits"].as_array().cloned().unwrap_or_default();
        let retrieved: Vec<_> = hits
            .iter()
            .map(|h| json!({ "chunk": h["chunk"], "score": h["score"] }))
            .collect();
        let mut meta = SampleMeta {
            aspect: item.input["aspect"].as_str().map(str::to_string),
            ..SampleMeta::default()
        };
        meta.extra
            .insert("source_sample".into(), item.key.clone().into());
        meta.extra.insert("retrieved".into(), retrieved.into());
        let mut turns = vec![Turn::user(q)];
        match &a.text {
            Some(text) => {
                let used: Vec<_> = cited(text, hits.len())
                    .into_iter()
                    .map(|k| hits[k - 1]["chunk"].clone())
                    .collect();
                meta.tags.push(if used.is_empty() {
                    "uncited".into()
                } else {
                    "grounded".into()
                });
                meta.extra.insert("used_chunks".into(), used.into());
                let mut turn = Turn::assistant(text.clone());
                if let Some(r) = &a.reasoning {
                    turn = turn.with_reasoning(r.clone());
                }
                turns.push(turn);
            }
            None => meta.tags.push("ungrounded".into()),
        }
        let sample = NewSample {
            kind: SampleKind::Qa,
            content: Content {
                turns,
                ..Content::default()
            },
            source: Source::Generated {
                generator: "answers".into(),
                model: a.model,
                prompt: a.prompt,
            },
            meta,
        };
        let ids = jobs::store_samples(store, out_id, "gen:answers", vec![sample])?;
        Ok(json!({ "samples": ids, "grounded": a.text.is_some() }))
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

#[cfg(test)]
mod tests {
    #[test]
    fn citations() {
        assert_eq!(super::cited("答案。\n引用：[2][1][9][x]", 3), vec![2, 1]);
        assert!(super::cited("none", 3).is_empty());
    }
}
