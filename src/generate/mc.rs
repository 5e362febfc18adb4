//! Answer / evaluate for multiple-choice items: an answer agent writes up to five reasoning
//! steps and a candidate letter; an evaluate agent checks them and ends with `答案是:X` (or
//! `The answer is X`). The result is stored as a CoT sample with a golden-match verdict, and
//! the run reports accuracy against the key.

use crate::formats::fields::lettered_options;
use crate::jobs::{self, Ctx, Progress, RunSummary, job_key};
use crate::model::{Content, NewSample, NewVerdict, SampleKind, SampleMeta, Source, Turn};
use crate::prompting::extract::option_letter;
use crate::prompting::steps::{number_steps, split_steps};
use crate::prompting::values::lone_letter;
use crate::prompting::{ask, prompts, reasoning};
use crate::store::{Filter, Store};
use crate::text::sanitize::excerpt;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Params {
    /// The dataset holding the multiple-choice items.
    pub input: String,
    /// Where the answered items go.
    pub output: String,
    pub temperature: f32,
}

/// At most this many reasoning steps are kept from the answer agent.
pub const MAX_STEPS: usize = 5;

struct Answered {
    steps: Vec<String>,
    evaluation: String,
    letter: Option<char>,
    model: String,
    prompt: String,
}

/// Accuracy of a finished run, from its items' outputs. The rate is over every item of the run,
/// failed ones counted as not correct: a run where a third of the items failed is not
/// 86% accurate because the rest mostly were.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Accuracy {
    pub correct: u64,
    /// Items answered and checked against a key.
    pub graded: u64,
    /// Items that failed (no answer letter, request errors): not correct.
    pub failed: u64,
}

impl Accuracy {
    pub fn rate(&self) -> f64 {
        let n = self.graded + self.failed;
        if n == 0 {
            0.0
        } else {
            self.correct as f64 / n as f64
        }
    }
}

/// Whether a step is the answer agent's candidate line rather than reasoning.
fn is_candidate_line(step: &str) -> bool {
    let s = step.trim_start_matches(|c: char| {
        c.is_ascii_digit() || c.is_whitespace() || ".)、:：*".contains(c)
    });
    let lower = s.to_lowercase();
    [
        "候选答案",
        "candidate",
        "答案是",
        "the answer is",
        "answer:",
    ]
    .iter()
    .any(|m| lower.starts_with(m))
}

pub async fn run(
    store: &mut Store,
    ctx: &Ctx,
    p: &Params,
    on_progress: &(dyn Fn(Progress) + Send + Sync),
) -> anyhow::Result<(RunSummary, Accuracy)> {
    let input_id = store.require_dataset(&p.input)?;
    let out_id = store.ensure_dataset(&p.output)?;
    let params = serde_json::json!({ "params": p, "lang": ctx.lang,
        "generator": ctx.generator.describe(), "verifier": ctx.verifier.describe() });
    let (info, _) = store.open_job(&job_key("mc", &params), "mc", Some(out_id), &params)?;
    let mut items = Vec::new();
    let mut filter = Filter::dataset(input_id);
    filter.kinds = vec![SampleKind::MultipleChoice];
    store.for_each_sample(&filter, |s| {
        let c = &s.head.content;
        items.push((
            s.id.to_string(),
            serde_json::json!({ "question": c.question().unwrap_or_default(),
                "options": c.options, "golden": c.golden }),
        ));
        Ok(())
    })?;
    if items.is_empty() {
        anyhow::bail!(
            "dataset {:?} has no multiple_choice samples to answer",
            p.input
        );
    }
    store.add_job_items(info.id, &items)?;

    let work = |item: crate::store::JobItem| {
        let ctx = ctx.clone();
        async move {
            let question = item.input["question"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let options: Vec<String> = serde_json::from_value(item.input["options"].clone())
                .map_err(|e| format!("item {}: options are not a list of text: {e}", item.key))?;
            if options.len() < 2 {
                return Err(format!(
                    "item {} has {} options; need at least 2",
                    item.key,
                    options.len()
                ));
            }
            let opts = lettered_options(&options);
            let prompt = prompts::prompt(
                ctx.lang,
                "mc_answer",
                &[("question", &question), ("options", &opts)],
            )?;
            let a = ask(
                ctx.generator.as_ref(),
                prompt.clone(),
                p.temperature,
                None,
                None,
            )
            .await
            .map_err(|e| e.to_string())?;
            // The candidate line ("候选答案：X") is the answer, not a reasoning step.
            let steps: Vec<String> = split_steps(&reasoning::working(&a))
                .into_iter()
                .filter(|s| !is_candidate_line(s))
                .take(MAX_STEPS)
                .collect();
            let reasoning = number_steps(&steps);
            let eval_prompt = prompts::prompt(
                ctx.lang,
                "mc_evaluate",
                &[
                    ("question", &question),
                    ("options", &opts),
                    ("reasoning", &reasoning),
                ],
            )?;
            let e = ask(ctx.verifier.as_ref(), eval_prompt, 0.0, None, None)
                .await
                .map_err(|e| e.to_string())?;
            let letter = match option_letter(&e.text, options.len()) {
                Ok(c) => Some(c),
                Err(why) => {
                    return Err(format!(
                        "the evaluate agent's answer {why} (expected `答案是:X`): {}",
                        excerpt(&e.text)
                    ));
                }
            };
            Ok(Answered {
                steps,
                evaluation: e.text,
                letter,
                model: a.model,
                prompt,
            })
        }
    };
    let commit = |store: &mut Store, item: &crate::store::JobItem, a: Answered| {
        let letter = a.letter.map(String::from).unwrap_or_default();
        let golden = item.input["golden"]
            .as_str()
            .map(|g| lone_letter(g).map_or_else(|| g.trim().to_uppercase(), String::from));
        let options: Vec<String> =
            serde_json::from_value(item.input["options"].clone()).unwrap_or_default();
        let question = item.input["question"].as_str().unwrap_or_default();
        let answer = format!("答案是:{letter}");
        let mut meta = SampleMeta {
            tags: vec!["answer_evaluate".into()],
            ..SampleMeta::default()
        };
        meta.extra
            .insert("source_sample".into(), item.key.clone().into());
        meta.extra
            .insert("evaluation".into(), a.evaluation.clone().into());
        let sample = NewSample {
            kind: SampleKind::Cot,
            content: Content {
                turns: vec![
                    Turn::user(format!("{question}\n{}", lettered_options(&options))),
                    Turn::assistant(answer).with_reasoning(number_steps(&a.steps)),
                ],
                golden: golden.clone(),
                options,
                ..Content::default()
            },
            source: Source::Generated {
                generator: "mc".into(),
                model: a.model,
                prompt: a.prompt,
            },
            meta,
        };
        let ids = jobs::store_samples(store, out_id, "gen:mc", vec![sample])?;
        let correct = golden.as_deref().map(|g| g == letter);
        if let (Some(&id), Some(ok)) = (ids.first(), correct) {
            let rev = store.sample(id)?.head.id;
            store.add_verdict(
                rev,
                &NewVerdict {
                    verifier: "golden_match".into(),
                    model: None,
                    passed: ok,
                    score: Some(if ok { 1.0 } else { 0.0 }),
                    rationale: format!(
                        "chose {letter}, key {}",
                        golden.clone().unwrap_or_default()
                    ),
                    first_wrong_step: None,
                },
            )?;
        }
        Ok(serde_json::json!({ "samples": ids, "letter": letter, "correct": correct }))
    };
    let summary = jobs::run_items(
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
    .await?;
    let mut acc = Accuracy {
        failed: summary.failed,
        ..Accuracy::default()
    };
    for item in store.job_items(info.id, Some("done"))? {
        if let Some(ok) = item.output.as_ref().and_then(|o| o["correct"].as_bool()) {
            acc.graded += 1;
            acc.correct += u64::from(ok);
        }
    }
    let mut job_summary = serde_json::to_value(&summary)?;
    job_summary["accuracy"] = serde_json::json!({ "correct": acc.correct, "graded": acc.graded,
            "failed": acc.failed, "rate": acc.rate() });
    store.set_job_status(info.id, &summary.status, &job_summary)?;
    Ok((summary, acc))
}
