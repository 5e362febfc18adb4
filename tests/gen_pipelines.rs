//! Every pipeline end to end through the test server on 127.0.0.1 into a real SQLite file:
//! questions, answer/evaluate, CoT with tree search, grounded answers, plus cancel and resume.

mod support;

use assay::generate::{answers, cot, mc, questions};
use assay::jobs::{CachedLlm, CancelFlag, Ctx, Meter, Progress};
use assay::llm::Llm;
use assay::llm::config::EndpointConfig;
use assay::llm::openai::OpenAiClient;
use assay::model::{Content, SampleKind, Source, Turn};
use assay::prompting::prompts::Lang;
use assay::store::{Filter, Store};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::fixtures::seed;
use support::{Reply, SeenRequest, TestServer};

fn ctx(server: &TestServer, db: &std::path::Path, concurrency: usize) -> Ctx {
    let mut cfg = EndpointConfig::new(server.base_url.clone(), "m");
    cfg.concurrency = concurrency;
    cfg.max_retries = 1;
    let inner: Arc<dyn Llm> = Arc::new(OpenAiClient::new(cfg).unwrap());
    let cache = Some(Arc::new(Mutex::new(Store::open(db).unwrap())));
    let meter = Arc::new(Meter::default());
    let llm: Arc<dyn Llm> = Arc::new(CachedLlm::with_meter(inner, cache, meter.clone()));
    Ctx {
        generator: llm.clone(),
        verifier: llm,
        meter,
        lang: Lang::En,
        concurrency,
        cancel: CancelFlag::default(),
        retry_failed: false,
    }
}

fn quiet(_: Progress) {}

fn questions_script(r: &SeenRequest) -> Reply {
    let t = r.last_user();
    if t.contains("Aspect: json") {
        Reply::text(
            "```json\n[\"What is a JSON array?\", \"What is a JSON array?\", \"??\", \"Why use JSON?\"]\n```",
        )
    } else if t.contains("Aspect: python") {
        Reply::text("['What\\'s a list?', 'How do tuples differ?']")
    } else if t.contains("Aspect: lines") {
        // Repeats a question of another aspect: dropped as a duplicate.
        Reply::text(
            "Here you go:\n1. How are lines numbered?\n2) why use json?\n- What is a bullet?",
        )
    } else {
        Reply::text("I cannot help with that.")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn questions_parse_every_shape_dedupe_and_tag_aspects() {
    let server = TestServer::start(Duration::ZERO, questions_script).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    let mut store = Store::open(&db).unwrap();
    let c = ctx(&server, &db, 1);
    let p = questions::Params {
        topic: "data formats".into(),
        aspects: vec![
            "json".into(),
            "python".into(),
            "lines".into(),
            "refusal".into(),
        ],
        per_aspect: 3,
        dataset: "qs".into(),
        temperature: 0.7,
    };
    let s = questions::run(&mut store, &c, &p, &quiet).await.unwrap();
    assert_eq!((s.done, s.failed), (3, 1));
    assert!(s.failures[0].1.contains("not a list"), "{:?}", s.failures);
    let id = store.dataset_id("qs").unwrap().unwrap();
    let mut got = Vec::new();
    store
        .for_each_sample(&Filter::dataset(id), |s| {
            got.push((s.meta.aspect.clone().unwrap(), s.head.content.question().unwrap().to_string(), s.meta.tags.clone()));
            assert!(matches!(s.source, Source::Generated { ref generator, .. } if generator == "questions"));
            Ok(())
        })
        .unwrap();
    let qs: Vec<&str> = got.iter().map(|g| g.1.as_str()).collect();
    assert_eq!(
        qs,
        vec![
            "What is a JSON array?",
            "Why use JSON?",
            "What's a list?",
            "How do tuples differ?",
            "How are lines numbered?",
            "What is a bullet?"
        ]
    );
    assert!(
        got.iter()
            .all(|(a, _, tags)| tags.contains(&format!("aspect:{a}")))
    );
    let job = store.job(s.job_id).unwrap();
    assert_eq!(job.requests, 4);
    assert!(job.prompt_tokens > 0 && job.completion_tokens > 0);

    // Rerun: nothing is redone; the failed item keeps its reason.
    let again = questions::run(&mut store, &c, &p, &quiet).await.unwrap();
    assert_eq!((again.done, again.failed), (3, 1));
    assert_eq!(server.count(), 4);
    assert_eq!(store.count(&Filter::dataset(id)).unwrap(), 6);
}

fn mc_script(r: &SeenRequest) -> Reply {
    let t = r.last_user();
    if t.contains("Answer the multiple-choice question") {
        Reply::text(
            "Step 1: think.\nStep 2: more.\nStep 3: a.\nStep 4: b.\nStep 5: c.\nStep 6: too many.\nStep 7: way too many.\nCandidate: B",
        )
    } else if t.contains("Capital of France") {
        Reply::text("The solver is right.\nThe answer is B")
    } else {
        Reply::text("The solver is wrong.\n答案是：A")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answer_evaluate_scores_accuracy_against_the_key() {
    let server = TestServer::start(Duration::ZERO, mc_script).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    let mut store = Store::open(&db).unwrap();
    let item = |q: &str, golden: &str| {
        (
            SampleKind::MultipleChoice,
            Content {
                turns: vec![Turn::user(q)],
                options: vec!["Lyon".into(), "Paris".into(), "Nice".into()],
                golden: Some(golden.into()),
                ..Content::default()
            },
        )
    };
    seed(
        &mut store,
        "mcq",
        vec![
            item("Capital of France?", "B"),
            item("Biggest city of France?", "B"),
        ],
    );
    let c = ctx(&server, &db, 2);
    let p = mc::Params {
        input: "mcq".into(),
        output: "mc-out".into(),
        temperature: 0.0,
    };
    let (s, acc) = mc::run(&mut store, &c, &p, &quiet).await.unwrap();
    assert_eq!(s.done, 2);
    assert_eq!((acc.correct, acc.graded), (1, 2));
    let out = store.dataset_id("mc-out").unwrap().unwrap();
    let mut verdicts = Vec::new();
    store
        .for_each_sample(&Filter::dataset(out), |s| {
            let reasoning = s
                .head
                .content
                .answer_turn()
                .unwrap()
                .reasoning
                .clone()
                .unwrap();
            assert!(reasoning.lines().count() <= 6, "{reasoning}");
            verdicts.push(store.verdicts(s.head.id).unwrap()[0].passed);
            Ok(())
        })
        .unwrap();
    verdicts.sort();
    assert_eq!(verdicts, vec![false, true]);
}

/// A fake maths tutor: the direct attempt makes an arithmetic slip in step 2; the verifier spots
/// any step containing "=5"; continuations go right on odd seeds and wrong on even ones.
fn cot_script(r: &SeenRequest) -> Reply {
    let t = r.last_user();
    if t.contains("Solve the problem step by step") {
        Reply::text("Step 1: We add 2 and 2.\nStep 2: 2+2=5.\nThe answer is: 5")
    } else if t.contains("Decide whether every one of the steps") {
        let steps = t.split("Steps:").nth(1).unwrap_or("");
        let ok = !steps.contains("=5");
        Reply::text(format!(
            "{{\"correct\": {ok}, \"score\": {}, \"reason\": \"checked\"}}",
            if ok { 0.9 } else { 0.1 }
        ))
    } else if t.contains("Write only the next step") {
        let seed = r.body["seed"].as_u64().unwrap_or(0);
        let prefix = t.split("Steps so far:").nth(1).unwrap_or("");
        if seed.is_multiple_of(2) {
            Reply::text("Step 2: 2+2=5.")
        } else if prefix.contains("2+2=4") {
            Reply::text("The answer is: 4")
        } else {
            Reply::text("Step 2: 2+2=4.")
        }
    } else if t.contains("Continue from there") {
        Reply::text("Step 2: 2+2=4.\nThe answer is: 4")
    } else {
        Reply::text("?")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cot_finds_the_first_wrong_step_and_repairs_it_by_tree_search() {
    let server = TestServer::start(Duration::ZERO, cot_script).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    let mut store = Store::open(&db).unwrap();
    seed(
        &mut store,
        "maths",
        vec![(
            SampleKind::Qa,
            Content {
                turns: vec![Turn::user("What is 2+2?")],
                golden: Some("4".into()),
                ..Content::default()
            },
        )],
    );
    let c = ctx(&server, &db, 1);
    let p = cot::Params {
        input: "maths".into(),
        output: "cot".into(),
        samples: 3,
        budget: 20,
        temperature: 0.3,
    };
    let s = cot::run(&mut store, &c, &p, &quiet).await.unwrap();
    assert_eq!((s.done, s.failed), (1, 0), "{:?}", s.failures);
    let out = store.dataset_id("cot").unwrap().unwrap();
    let row = store.list_page(&Filter::dataset(out), None, 10).unwrap()[0].clone();
    let sample = store.sample(row.id).unwrap();
    let revs = store.revisions(row.id).unwrap();
    assert_eq!(revs.len(), 2);
    let v1 = store.verdicts(revs[0].id).unwrap();
    assert!(!v1[0].passed);
    assert_eq!(v1[0].first_wrong_step, Some(2));
    let v2 = store.verdicts(revs[1].id).unwrap();
    assert!(v2[0].passed, "{v2:?}");
    let reasoning = sample
        .head
        .content
        .answer_turn()
        .unwrap()
        .reasoning
        .clone()
        .unwrap();
    assert!(
        reasoning.contains("2+2=4") && !reasoning.contains("=5"),
        "{reasoning}"
    );
    assert_eq!(sample.head.content.answer(), Some("4"));
    let tree = &sample.meta.extra["cot"]["tree"];
    assert!(tree["nodes"].as_array().unwrap().len() >= 2);
    assert_eq!(tree["prefix"][0], "Step 1: We add 2 and 2.");
    assert!(tree["solved"].is_u64());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cot_without_golden_uses_self_consistency_and_the_judge() {
    let server = TestServer::start(Duration::ZERO, |r: &SeenRequest| {
        let t = r.last_user();
        if t.contains("Solve the problem") {
            Reply::text("Step 1: 3 times 3 is 9.\nThe answer is: 9")
        } else {
            Reply::text("{\"pass\": true, \"score\": 0.9, \"rationale\": \"fine\", \"first_wrong_step\": null}")
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    let mut store = Store::open(&db).unwrap();
    seed(
        &mut store,
        "q",
        vec![(
            SampleKind::Qa,
            Content {
                turns: vec![Turn::user("3*3?")],
                ..Content::default()
            },
        )],
    );
    let c = ctx(&server, &db, 1);
    let p = cot::Params {
        input: "q".into(),
        output: "o".into(),
        samples: 3,
        budget: 5,
        temperature: 0.3,
    };
    let s = cot::run(&mut store, &c, &p, &quiet).await.unwrap();
    assert_eq!(s.done, 1);
    let out = store.dataset_id("o").unwrap().unwrap();
    let row = store.list_page(&Filter::dataset(out), None, 1).unwrap()[0].clone();
    let sample = store.sample(row.id).unwrap();
    assert_eq!(sample.meta.extra["cot"]["self_consistency"]["share"], 1.0);
    let verdicts = store.verdicts(sample.head.id).unwrap();
    assert!(
        verdicts
            .iter()
            .any(|v| v.verifier == "llm_judge" && v.passed)
    );
    // 3 samples (one direct) + 1 judge.
    assert_eq!(server.count(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grounded_answers_cite_chunks_and_mark_the_ungrounded() {
    let server = TestServer::start(Duration::ZERO, |r: &SeenRequest| {
        assert!(r.last_user().contains("Passages") || r.last_user().contains("passages"));
        Reply::text("Plants turn light into sugar.\nSources: [1]")
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    let mut store = Store::open(&db).unwrap();
    let chunk = |t: &str| {
        (
            SampleKind::Pretrain,
            Content {
                turns: vec![Turn::assistant(t)],
                ..Content::default()
            },
        )
    };
    seed(
        &mut store,
        "docs",
        vec![
            chunk("光合作用是植物利用光能把二氧化碳和水合成有机物的过程。"),
            chunk("Photosynthesis lets plants turn light into chemical energy stored in sugar."),
            chunk("The Great Wall was built over many centuries."),
        ],
    );
    let q = |t: &str| {
        (
            SampleKind::Qa,
            Content {
                turns: vec![Turn::user(t)],
                ..Content::default()
            },
        )
    };
    seed(
        &mut store,
        "qs",
        vec![
            q("How does photosynthesis store energy in plants?"),
            q("植物的光合作用是什么？"),
            q("Who won the 1998 World Cup final?"),
        ],
    );
    let c = ctx(&server, &db, 2);
    let p = answers::Params {
        questions: "qs".into(),
        documents: "docs".into(),
        output: "ans".into(),
        top_k: 2,
        min_coverage: 0.3,
        temperature: 0.0,
    };
    let s = answers::run(&mut store, &c, &p, &quiet).await.unwrap();
    assert_eq!(s.done, 3);
    assert_eq!(
        server.count(),
        2,
        "no model call for the ungrounded question"
    );
    let out = store.dataset_id("ans").unwrap().unwrap();
    let mut seen = Vec::new();
    store
        .for_each_sample(&Filter::dataset(out), |s| {
            seen.push((
                s.head.content.question().unwrap().to_string(),
                s.meta.tags.clone(),
                s.meta.extra.get("used_chunks").cloned(),
            ));
            Ok(())
        })
        .unwrap();
    let world_cup = seen.iter().find(|x| x.0.contains("World Cup")).unwrap();
    assert_eq!(world_cup.1, vec!["ungrounded"]);
    let photo = seen
        .iter()
        .find(|x| x.0.contains("photosynthesis"))
        .unwrap();
    assert_eq!(photo.1, vec!["grounded"]);
    assert_eq!(photo.2.as_ref().unwrap().as_array().unwrap().len(), 1);
    let zh = seen.iter().find(|x| x.0.contains("光合作用")).unwrap();
    assert_eq!(zh.1, vec!["grounded"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_job_keeps_its_pending_items_and_resumes() {
    let server = TestServer::start(Duration::from_millis(20), |r: &SeenRequest| {
        Reply::text(format!(
            "[\"Question about {}?\"]",
            r.last_user()
                .split("Aspect: ")
                .nth(1)
                .unwrap_or("")
                .split('.')
                .next()
                .unwrap_or("")
        ))
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    let mut store = Store::open(&db).unwrap();
    let c = ctx(&server, &db, 1);
    let aspects: Vec<String> = (0..6).map(|i| format!("aspect{i}")).collect();
    let p = questions::Params {
        topic: "t".into(),
        aspects,
        per_aspect: 1,
        dataset: "d".into(),
        temperature: 0.5,
    };
    let cancel = c.cancel.clone();
    let stop_after_two = move |pr: Progress| {
        if pr.done >= 2 {
            cancel.cancel();
        }
    };
    let s = questions::run(&mut store, &c, &p, &stop_after_two)
        .await
        .unwrap();
    assert_eq!(s.status, "cancelled");
    assert_eq!(s.done + s.pending, 6);
    assert!(s.pending > 0);
    let c2 = Ctx {
        cancel: CancelFlag::default(),
        retry_failed: false,
        ..c
    };
    // A cancel asked through the database (as `assay gen cancel` does from another process).
    let (db2, job, before) = (db.clone(), s.job_id, s.done);
    let cancel_in_db = move |pr: Progress| {
        if pr.done > before {
            Store::open(&db2).unwrap().request_job_cancel(job).unwrap();
        }
    };
    let s = questions::run(&mut store, &c2, &p, &cancel_in_db)
        .await
        .unwrap();
    assert_eq!(s.status, "cancelled");
    assert!(s.done > before && s.pending > 0, "{s:?}");
    let s = questions::run(&mut store, &c2, &p, &quiet).await.unwrap();
    assert_eq!((s.status.as_str(), s.done, s.pending), ("done", 6, 0));
    let id = store.dataset_id("d").unwrap().unwrap();
    assert_eq!(store.count(&Filter::dataset(id)).unwrap(), 6);
    assert_eq!(server.count(), 6);
}
