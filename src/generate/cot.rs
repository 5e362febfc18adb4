//! CoT with a generator and a verifier (CAMEL's CoTDataGenerator, done properly): a direct
//! attempt, then verification (golden match, or without a golden answer self-consistency over
//! N samples plus the judge); if wrong, a binary search for the first wrong step, a tree search
//! ([`super::search`]) from the last correct prefix, and regeneration from the best prefix
//! found. The direct attempt is revision 1 (with its first wrong step as a verdict), the
//! corrected solution revision 2; the search tree is kept in `meta.extra.cot`.

use super::search::{self, Limits, Oracle, Tree};
use crate::jobs::{self, Ctx, Progress, RunSummary, job_key};
use crate::model::{Content, NewSample, NewVerdict, SampleKind, SampleMeta, Source, Turn};
use crate::prompting::answer_match::answers_match;
use crate::prompting::extract::final_answer;
use crate::prompting::judge;
use crate::prompting::parse::{dedup_key, parse_check, yes_no};
use crate::prompting::steps::{number_steps, split_steps, step_key};
use crate::prompting::{ask, prompts, reasoning, schemas};
use crate::store::{Filter, ImportRecord, InsertOutcome, JobItem, Store, StoreError};
use crate::text::sanitize::excerpt;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Params {
    /// Dataset of questions (the first user turn; `golden` used where present).
    pub input: String,
    pub output: String,
    /// Samples for self-consistency when there is no golden answer.
    pub samples: u32,
    /// LLM calls the tree search may spend per item.
    pub budget: u32,
    pub temperature: f32,
}

/// Everything the pipeline found for one question.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Outcome {
    pub direct: Vec<String>,
    pub direct_ok: bool,
    pub first_wrong_step: Option<u32>,
    pub solution: Vec<String>,
    pub solved: bool,
    pub tree: Option<Tree>,
    pub consistency: Option<serde_json::Value>,
    pub judge: Option<NewVerdict>,
    pub model: String,
    pub prompt: String,
}

struct LlmOracle<'a> {
    ctx: &'a Ctx,
    question: &'a str,
    golden: Option<&'a str>,
    temperature: f32,
}

impl LlmOracle<'_> {
    /// The verifier's opinion of a prefix: (correct, score).
    async fn check_prefix(&self, path: &[String]) -> Result<(bool, f64), String> {
        let golden = judge::golden_line(self.ctx.lang, self.golden);
        let p = prompts::prompt(
            self.ctx.lang,
            "step_check",
            &[
                ("golden", &golden),
                ("question", self.question),
                ("prefix", &number_steps(path)),
            ],
        )?;
        let r = ask(
            self.ctx.verifier.as_ref(),
            p,
            0.0,
            None,
            Some(schemas::step_check()),
        )
        .await
        .map_err(|e| e.to_string())?;
        let (correct, score) = match parse_check(&r.text) {
            Some(v) => v,
            None => {
                // Small models (the offline one) often restate the steps instead: ask the
                // question again as a plain yes/no, and fail only if that is not answered.
                let again = format!(
                    "{}\n\n{}",
                    number_steps(path),
                    match self.ctx.lang {
                        prompts::Lang::Zh => "以上每一步都正确吗？只回答“是”或“否”。",
                        prompts::Lang::En => "Is every step above correct? Answer yes or no.",
                    }
                );
                let y = ask(self.ctx.verifier.as_ref(), again, 0.0, None, None)
                    .await
                    .map_err(|e| e.to_string())?;
                let v = yes_no(&y.text).ok_or_else(|| {
                    format!(
                        "the verifier's step check states no verdict (JSON, `correct: yes`, 正确/错误, \
                         or yes/no when asked again): {} / {}",
                        excerpt(&r.text),
                        excerpt(&y.text)
                    )
                })?;
                (v, None)
            }
        };
        let score = score.unwrap_or(if correct { 1.0 } else { 0.0 });
        Ok((correct, score.clamp(0.0, 1.0)))
    }
}

impl Oracle for LlmOracle<'_> {
    async fn expand(&self, path: &[String], seed: u64) -> Result<String, String> {
        let p = prompts::prompt(
            self.ctx.lang,
            "cot_continue",
            &[("question", self.question), ("prefix", &number_steps(path))],
        )?;
        let r = ask(
            self.ctx.generator.as_ref(),
            p,
            self.temperature.max(0.7),
            Some(seed),
            None,
        )
        .await
        .map_err(|e| e.to_string())?;
        Ok(r.text)
    }

    async fn score(&self, path: &[String]) -> Result<(bool, f64), String> {
        self.check_prefix(path).await
    }

    fn check_costs_a_call(&self) -> bool {
        self.golden.is_none()
    }

    async fn check(&self, path: &[String], answer: &str) -> Result<(bool, bool), String> {
        match self.golden {
            Some(g) => Ok((answers_match(answer, g), false)),
            None => Ok((self.check_prefix(path).await?.0, true)),
        }
    }
}

/// Binary search for the first wrong step of `steps`, known wrong as a whole (1-based).
async fn first_wrong(oracle: &LlmOracle<'_>, steps: &[String]) -> Result<u32, String> {
    let (mut lo, mut hi) = (1usize, steps.len().max(1));
    while lo < hi {
        let mid = (lo + hi) / 2;
        if oracle.check_prefix(&steps[..mid]).await?.0 {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    Ok(lo as u32)
}

/// The answer key used to compare samples' answers: a number, else normalised text.
fn vote_key(answer: &str) -> String {
    match crate::prompting::values::number(answer) {
        Some(n) => format!("{}", n.value),
        None => dedup_key(answer),
    }
}

async fn solve(
    ctx: &Ctx,
    question: &str,
    golden: Option<&str>,
    p: &Params,
) -> Result<Outcome, String> {
    let prompt = prompts::prompt(ctx.lang, "cot_solve", &[("question", question)])?;
    let first = ask(
        ctx.generator.as_ref(),
        prompt.clone(),
        p.temperature,
        Some(0),
        None,
    )
    .await
    .map_err(|e| e.to_string())?;
    let direct = split_steps(&reasoning::working(&first));
    let oracle = LlmOracle {
        ctx,
        question,
        golden,
        temperature: p.temperature,
    };
    let mut out = Outcome {
        direct: direct.clone(),
        direct_ok: false,
        first_wrong_step: None,
        solution: direct.clone(),
        solved: false,
        tree: None,
        consistency: None,
        judge: None,
        model: first.model.clone(),
        prompt: prompt.clone(),
    };
    let direct_answer = final_answer(&first.text);
    out.direct_ok = match golden {
        Some(g) => direct_answer
            .as_deref()
            .is_some_and(|a| answers_match(a, g)),
        None => {
            // Self-consistency: the majority answer over N samples, then the judge on the
            // direct attempt.
            let mut votes: HashMap<String, u32> = HashMap::new();
            let mut answers = vec![direct_answer.clone()];
            for seed in 1..p.samples.max(1) {
                let r = ask(
                    ctx.generator.as_ref(),
                    prompt.clone(),
                    p.temperature.max(0.7),
                    Some(u64::from(seed)),
                    None,
                )
                .await
                .map_err(|e| e.to_string())?;
                answers.push(final_answer(&r.text));
            }
            for a in answers.iter().flatten() {
                *votes.entry(vote_key(a)).or_default() += 1;
            }
            let (top, n) = votes
                .iter()
                .max_by_key(|(_, n)| **n)
                .map(|(k, n)| (k.clone(), *n))
                .unwrap_or_default();
            let agrees = direct_answer.as_deref().is_some_and(|a| vote_key(a) == top);
            let share = f64::from(n) / answers.len() as f64;
            out.consistency = Some(
                json!({ "answers": answers, "majority": top, "share": share, "direct_agrees": agrees }),
            );
            let content = solution_content(question, None, &direct);
            let v = judge::judge(
                ctx.verifier.as_ref(),
                ctx.lang,
                &content,
                judge::DEFAULT_RUBRIC,
            )
            .await?;
            let ok = v.passed && agrees && share >= 0.5;
            out.judge = Some(v);
            ok
        }
    };
    if out.direct_ok {
        out.solved = true;
        return Ok(out);
    }
    let k = first_wrong(&oracle, &direct).await?;
    out.first_wrong_step = Some(k);
    let prefix: Vec<String> = direct[..(k as usize).saturating_sub(1).min(direct.len())].to_vec();
    // The budget covers every call after the direct attempt's check: the search, and if it
    // does not solve, the completion from its best prefix and (without a golden answer) that
    // completion's check.
    let reserve = 1 + u32::from(golden.is_none());
    let limits = Limits {
        budget: p.budget.saturating_sub(reserve),
        ..Limits::default()
    };
    let tree = search::search(&oracle, prefix.clone(), limits).await;
    // Steps judged wrong, here or in the direct attempt: never part of the solution.
    let mut wrong: Vec<String> = tree.wrong_steps();
    if let Some(w) = direct.get(k as usize - 1) {
        wrong.push(w.clone());
    }
    let wrong_keys: std::collections::HashSet<String> = wrong.iter().map(|w| step_key(w)).collect();
    if let Some(id) = tree.solved {
        out.solution = tree.path(id);
        out.solved = true;
    } else {
        // Regenerate the rest from the best prefix the search reached.
        let best = tree.path(tree.best_leaf());
        let p2 = prompts::prompt(
            ctx.lang,
            "cot_complete",
            &[("question", question), ("prefix", &number_steps(&best))],
        )?;
        let r = ask(ctx.generator.as_ref(), p2, p.temperature, Some(1000), None)
            .await
            .map_err(|e| e.to_string())?;
        let mut steps = best;
        let before = steps.len();
        steps.extend(
            split_steps(&r.text)
                .into_iter()
                .filter(|s| !wrong_keys.contains(&step_key(s))),
        );
        let repeated_wrong = split_steps(&r.text).len() != steps.len() - before;
        let answer = final_answer(&steps.join("\n"));
        out.solved = match (answer, golden) {
            // A completion that repeated a wrong step is not a solution, whatever it ends in.
            _ if repeated_wrong => false,
            (Some(a), Some(g)) => answers_match(&a, g),
            (Some(_), None) if p.budget > tree.calls + 1 => oracle.check_prefix(&steps).await?.0,
            _ => false,
        };
        out.solution = steps;
    }
    out.tree = Some(tree);
    Ok(out)
}

fn solution_content(question: &str, golden: Option<&str>, steps: &[String]) -> Content {
    let answer = final_answer(&steps.join("\n")).unwrap_or_default();
    Content {
        turns: vec![
            Turn::user(question),
            Turn::assistant(answer).with_reasoning(steps.join("\n")),
        ],
        golden: golden.map(str::to_string),
        ..Content::default()
    }
}

pub async fn run(
    store: &mut Store,
    ctx: &Ctx,
    p: &Params,
    on_progress: &(dyn Fn(Progress) + Send + Sync),
) -> anyhow::Result<RunSummary> {
    let input_id = store.require_dataset(&p.input)?;
    let out_id = store.ensure_dataset(&p.output)?;
    let params = json!({ "params": p, "lang": ctx.lang, "generator": ctx.generator.describe(),
        "verifier": ctx.verifier.describe() });
    let (info, _) = store.open_job(&job_key("cot", &params), "cot", Some(out_id), &params)?;
    let mut items = Vec::new();
    store.for_each_sample(&Filter::dataset(input_id), |s| {
        if let Some(q) = s.head.content.question().filter(|q| !q.trim().is_empty()) {
            items.push((
                s.id.to_string(),
                json!({ "question": q, "golden": s.head.content.golden }),
            ));
        }
        Ok(())
    })?;
    if items.is_empty() {
        anyhow::bail!("dataset {:?} has no samples with a question", p.input);
    }
    store.add_job_items(info.id, &items)?;
    let work = |item: JobItem| {
        let ctx = ctx.clone();
        async move {
            let q = item.input["question"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let g = item.input["golden"].as_str().map(str::to_string);
            solve(&ctx, &q, g.as_deref(), p).await
        }
    };
    let commit = |store: &mut Store, item: &JobItem, o: Outcome| commit(store, out_id, item, o);
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

fn commit(
    store: &mut Store,
    out_id: i64,
    item: &JobItem,
    o: Outcome,
) -> anyhow::Result<serde_json::Value> {
    let q = item.input["question"].as_str().unwrap_or_default();
    let golden = item.input["golden"].as_str();
    let mut meta = SampleMeta {
        tags: vec!["cot".into()],
        ..SampleMeta::default()
    };
    if !o.solved {
        meta.tags.push("unsolved".into());
    }
    meta.extra.insert(
        "cot".into(),
        json!({ "source_sample": item.key, "direct_ok": o.direct_ok, "first_wrong_step": o.first_wrong_step,
                "tree": o.tree, "self_consistency": o.consistency, "solved": o.solved }),
    );
    let sample = NewSample {
        kind: SampleKind::Cot,
        content: solution_content(q, golden, &o.direct),
        source: Source::Generated {
            generator: "cot".into(),
            model: o.model.clone(),
            prompt: o.prompt.clone(),
        },
        meta,
    };
    // The sample, its verdicts and the repaired revision are one transaction: a kill leaves
    // all of them or none, and a rerun (answered from the cache) finds either nothing or a
    // duplicate.
    let record = ImportRecord::new(sample)
        .map_err(|e| StoreError::Invalid(format!("cannot serialise a generated sample: {e}")))?;
    let mut batch = store.import_batch(out_id, "gen:cot")?;
    let InsertOutcome::Inserted(id) = batch.insert(&record)? else {
        // Stored by a run that was killed before it marked the item done.
        return Ok(json!({ "samples": [], "note": "already stored" }));
    };
    let rev1 = batch.last_revision_id();
    let verifier = if golden.is_some() {
        "golden_match"
    } else {
        "self_consistency"
    };
    batch.add_verdict(
        rev1,
        &NewVerdict {
            verifier: verifier.into(),
            model: None,
            passed: o.direct_ok,
            score: Some(if o.direct_ok { 1.0 } else { 0.0 }),
            rationale: if o.direct_ok {
                "direct attempt correct".into()
            } else {
                "direct attempt wrong; binary search located the first wrong step".into()
            },
            first_wrong_step: o.first_wrong_step,
        },
    )?;
    if let Some(j) = &o.judge {
        batch.add_verdict(rev1, j)?;
    }
    if !o.direct_ok {
        let rev2 = batch.add_revision(
            id,
            &solution_content(q, golden, &o.solution),
            "gen:cot-search",
        )?;
        batch.add_verdict(
            rev2,
            &NewVerdict {
                verifier: verifier.into(),
                model: None,
                passed: o.solved,
                score: Some(if o.solved { 1.0 } else { 0.0 }),
                rationale: format!(
                    "after tree search ({} calls){}",
                    o.tree.as_ref().map(|t| t.calls).unwrap_or(0),
                    if o.solved { "" } else { ": still wrong" }
                ),
                first_wrong_step: None,
            },
        )?;
    }
    batch.commit()?;
    Ok(json!({ "samples": [id], "solved": o.solved, "direct_ok": o.direct_ok }))
}
