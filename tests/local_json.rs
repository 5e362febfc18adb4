//! The offline model answering the verifier prompts under their JSON schemas (constrained
//! sampling through llguidance), on the real SmolLM2 GGUF: every step check and judge reply is a
//! JSON object with exactly the schema's keys and types, in English and Chinese, and ends by
//! itself (never by the token limit); and the `gen cot` pipeline on easy golden items completes
//! with every step check read, over a real SQLite file.
//!
//! The model runs on candle's forward (`Backend::Candle`): in a debug build candle is compiled
//! optimised (a dependency) and assay's own forward is not, which would make this ten times
//! slower.
//!
//! The model is found at `ASSAY_MODEL_PATH` or the default path (`assay model fetch`). Without it
//! these tests print a notice and pass, unless `ASSAY_REQUIRE_MODEL=1` (CI), where they fail.

#[path = "support/offline_model.rs"]
mod offline_model;
mod support;

use std::sync::{Arc, Mutex, OnceLock};

use assay::generate::cot;
use assay::jobs::{CachedLlm, CancelFlag, Ctx, Meter, Progress};
use assay::llm::local::{Backend, LocalModel};
use assay::llm::{ChatMessage, ChatRequest, Llm};
use assay::model::{Content, SampleKind, Turn};
use assay::prompting::judge::parse_verdict;
use assay::prompting::parse::parse_check;
use assay::prompting::prompts::{self, Lang};
use assay::prompting::steps::number_steps;
use assay::prompting::{ask, schemas};
use assay::store::{Filter, Store};
use serde_json::Value;

fn model() -> Option<Arc<LocalModel>> {
    static MODEL: OnceLock<Option<Arc<LocalModel>>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            let path = offline_model::find()?;
            // candle's forward: in this debug build it is the optimised one (a dependency).
            Some(Arc::new(
                LocalModel::load_with(&path, Backend::Candle).expect("the model loads"),
            ))
        })
        .clone()
}

/// Tests that generate take turns: two generations at once would only slow each other down.
fn gen_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// (language, question, golden answer, steps so far): right and wrong prefixes in both languages.
fn cases() -> Vec<(Lang, &'static str, &'static str, Vec<&'static str>)> {
    vec![
        (Lang::En, "What is 2 + 3?", "5", vec!["2 + 3 = 5."]),
        (Lang::En, "What is 2 + 3?", "5", vec!["2 + 3 = 6."]),
        (
            Lang::En,
            "Tom has 3 apples and buys 4 more. How many apples does he have?",
            "7",
            vec!["He starts with 3 apples.", "3 + 4 = 7, so he has 7 apples."],
        ),
        (Lang::Zh, "3 加 4 等于几？", "7", vec!["3 + 4 = 7。"]),
        (Lang::Zh, "3 加 4 等于几？", "7", vec!["3 + 4 = 8。"]),
        (
            Lang::Zh,
            "小明有 10 元，买笔花了 4 元，还剩多少元？",
            "6",
            vec!["10 - 4 = 6。", "所以还剩 6 元。"],
        ),
    ]
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The keys of `v`, which must be an object.
fn keys(v: &Value) -> Vec<&str> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect()
}

fn unit_score(v: &Value) -> bool {
    v.as_f64().is_some_and(|s| (0.0..=1.0).contains(&s))
}

#[test]
fn step_checks_and_judge_replies_follow_their_schemas() {
    let Some(m) = model() else { return };
    let m = m.as_ref();
    let _g = gen_lock();
    let rt = runtime();
    let mut unconstrained_read = 0;
    for (lang, question, golden, steps) in cases() {
        let steps: Vec<String> = steps.iter().map(|s| s.to_string()).collect();
        let golden_line = assay::prompting::judge::golden_line(lang, Some(golden));
        let check = prompts::prompt(
            lang,
            "step_check",
            &[
                ("golden", &golden_line),
                ("question", question),
                ("prefix", &number_steps(&steps)),
            ],
        )
        .unwrap();
        let r = rt
            .block_on(ask(
                m,
                check.clone(),
                0.0,
                None,
                Some(schemas::step_check()),
            ))
            .unwrap_or_else(|e| panic!("{question}: {e}"));
        eprintln!("step check: {}", r.text);
        assert_eq!(r.finish_reason.as_deref(), Some("stop"), "{}", r.text);
        let v: Value = serde_json::from_str(&r.text)
            .unwrap_or_else(|e| panic!("step check is not JSON ({e}): {}", r.text));
        assert_eq!(keys(&v), ["correct", "score", "reason"], "{v}");
        assert!(v["correct"].is_boolean(), "{v}");
        assert!(unit_score(&v["score"]), "{v}");
        assert!(
            v["reason"]
                .as_str()
                .is_some_and(|s| s.chars().count() <= 240),
            "{v}"
        );
        assert!(
            parse_check(&r.text).is_some(),
            "the pipeline's reader: {}",
            r.text
        );

        let judge = prompts::prompt(
            lang,
            "judge",
            &[
                ("rubric", "correct and complete"),
                ("golden", &golden_line),
                ("question", question),
                ("answer", &number_steps(&steps)),
            ],
        )
        .unwrap();
        let r = rt
            .block_on(ask(m, judge, 0.0, None, Some(schemas::judge())))
            .unwrap_or_else(|e| panic!("{question}: {e}"));
        eprintln!("judge: {}", r.text);
        assert_eq!(r.finish_reason.as_deref(), Some("stop"), "{}", r.text);
        let v: Value = serde_json::from_str(&r.text)
            .unwrap_or_else(|e| panic!("judge reply is not JSON ({e}): {}", r.text));
        assert_eq!(
            keys(&v),
            ["pass", "score", "rationale", "first_wrong_step"],
            "{v}"
        );
        assert!(v["pass"].is_boolean(), "{v}");
        assert!(unit_score(&v["score"]), "{v}");
        assert!(v["rationale"].is_string(), "{v}");
        let step = &v["first_wrong_step"];
        assert!(
            step.is_null() || step.as_u64().is_some_and(|n| n >= 1),
            "{v}"
        );
        let verdict = parse_verdict(&r.text, steps.len()).expect("the judge's reader");
        assert_eq!(Some(verdict.passed), v["pass"].as_bool(), "{v}");

        // The same step check without the schema, for the figure below (a short limit: unconstrained,
        // the model often rambles to any limit).
        let free = rt
            .block_on(m.chat(
                ChatRequest {
                    messages: vec![ChatMessage::user(check)],
                    temperature: Some(0.0),
                    max_tokens: Some(96),
                    ..ChatRequest::default()
                },
                None,
            ))
            .expect("unconstrained");
        unconstrained_read += usize::from(!free.truncated() && parse_check(&free.text).is_some());
    }
    eprintln!(
        "figure: constrained step checks read {n}/{n}; the same prompts unconstrained read \
         {unconstrained_read}/{n}",
        n = cases().len()
    );
}

#[test]
fn gen_cot_offline_completes_with_every_step_check_read() {
    let Some(m) = model() else { return };
    let _g = gen_lock();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("assay.db");
    let mut store = Store::open(&db).unwrap();
    let items = [
        ("What is 2 + 3?", "5"),
        ("What is 10 - 4?", "6"),
        ("What is 3 times 3?", "9"),
    ];
    support::fixtures::seed(
        &mut store,
        "maths",
        items
            .iter()
            .map(|(q, g)| {
                (
                    SampleKind::Qa,
                    Content {
                        turns: vec![Turn::user(*q)],
                        golden: Some(g.to_string()),
                        ..Content::default()
                    },
                )
            })
            .collect(),
    );
    // What `assay gen cot --input maths --output cot --budget 4 --lang en` runs on the offline
    // model, with the response cache in the same database.
    let meter = Arc::new(Meter::default());
    let cache = Some(Arc::new(Mutex::new(Store::open(&db).unwrap())));
    let llm: Arc<dyn Llm> = Arc::new(CachedLlm::with_meter(m, cache, meter.clone()));
    let ctx = Ctx {
        generator: llm.clone(),
        verifier: llm,
        meter,
        lang: Lang::En,
        concurrency: 1,
        cancel: CancelFlag::default(),
        retry_failed: false,
    };
    let params = cot::Params {
        input: "maths".into(),
        output: "cot".into(),
        samples: 1,
        budget: 4,
        temperature: 0.3,
    };
    let summary = runtime()
        .block_on(cot::run(&mut store, &ctx, &params, &|_: Progress| {}))
        .unwrap();
    // No item failed, so no step check went unread (an unread one fails its item).
    assert_eq!(
        (summary.done, summary.failed),
        (items.len() as u64, 0),
        "{:?}",
        summary.failures
    );
    let cot = store
        .dataset_id("cot")
        .unwrap()
        .expect("the output dataset");
    let mut stored = 0;
    let mut solved = 0;
    let mut searched = 0;
    store
        .for_each_sample(&Filter::dataset(cot), |s| {
            stored += 1;
            let meta = &s.meta.extra["cot"];
            solved += usize::from(meta["solved"] == true);
            searched += usize::from(!meta["tree"].is_null());
            Ok(())
        })
        .unwrap();
    assert_eq!(stored, items.len(), "every item stored");
    eprintln!(
        "figure: offline gen cot solved {solved}/{} easy items ({searched} needed the tree search)",
        items.len()
    );
}
