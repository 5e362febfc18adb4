//! The parsers of model output end to end, against the test server on 127.0.0.1 answering in
//! the shapes real models produce: question lists with scaffolding, option letters after every
//! kind of marker, answers cut off by the token limit, reasoning in a separate field or inline;
//! and the job runner's `--retry-failed`, exit codes and Ctrl-C through the real binary.

mod support;

use assay::generate::{answers, mc, questions};
use assay::jobs::{CachedLlm, CancelFlag, Ctx, Meter, Progress};
use assay::llm::Llm;
use assay::llm::config::EndpointConfig;
use assay::llm::openai::OpenAiClient;
use assay::model::{Content, SampleKind, Turn};
use assay::prompting::prompts::Lang;
use assay::store::{Filter, Store};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::fixtures::{endpoint_env, gen_questions_args, seed};
use support::{Reply, SeenRequest, TestServer};

fn ctx(server: &TestServer, db: &std::path::Path, stream: bool) -> Ctx {
    let mut cfg = EndpointConfig::new(server.base_url.clone(), "m");
    cfg.concurrency = 2;
    cfg.max_retries = 0;
    cfg.stream = stream;
    let inner: Arc<dyn Llm> = Arc::new(OpenAiClient::new(cfg).unwrap());
    let cache = Some(Arc::new(Mutex::new(Store::open(db).unwrap())));
    let meter = Arc::new(Meter::default());
    let llm: Arc<dyn Llm> = Arc::new(CachedLlm::with_meter(inner, cache, meter.clone()));
    Ctx {
        generator: llm.clone(),
        verifier: llm,
        meter,
        lang: Lang::En,
        concurrency: 2,
        cancel: CancelFlag::default(),
        retry_failed: false,
    }
}

fn quiet(_: Progress) {}

fn questions_in(store: &Store, dataset: &str) -> Vec<String> {
    let id = store.dataset_id(dataset).unwrap().unwrap();
    let mut out = Vec::new();
    store
        .for_each_sample(&Filter::dataset(id), |s| {
            out.push(s.head.content.question().unwrap().to_string());
            Ok(())
        })
        .unwrap();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn question_lists_in_real_shapes_store_exactly_the_questions() {
    let server = TestServer::start(Duration::ZERO, |r: &SeenRequest| {
        let t = r.last_user();
        let text = if t.contains("Aspect: preamble") {
            "Here are three questions about scaling\n1. **3.5倍的数据量意味着什么？**\n2. Question 2: Why does loss fall?\n3) 问题3：为什么要做数据清洗？\n\nThese cover the basics."
        } else if t.contains("Aspect: fences") {
            "<think>two blocks</think>\n```json\n[\"What is a shard?\"]\n```\nand\n```\n[“什么是分片键？”]\n```"
        } else if t.contains("Aspect: heading") {
            "### Questions\n【1】What is a token?\n【2】What is a vocabulary?\nBoth relate to [tokenizers] and [BPE]."
        } else {
            "I would rather not."
        };
        Reply::text(text)
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    let mut store = Store::open(&db).unwrap();
    let c = ctx(&server, &db, false);
    let p = questions::Params {
        topic: "data".into(),
        aspects: ["preamble", "fences", "heading", "refusal"]
            .map(String::from)
            .into(),
        per_aspect: 3,
        dataset: "qs".into(),
        temperature: 0.7,
    };
    let s = questions::run(&mut store, &c, &p, &quiet).await.unwrap();
    assert_eq!((s.done, s.failed), (3, 1), "{s:?}");
    assert!(s.failures[0].1.contains("not a list"), "{:?}", s.failures);
    assert_eq!(
        questions_in(&store, "qs"),
        vec![
            "3.5倍的数据量意味着什么？",
            "What is a shard?",
            "What is a token?",
            "What is a vocabulary?",
            "Why does loss fall?",
            "为什么要做数据清洗？",
            "什么是分片键？",
        ]
    );
    // Fewer than asked is said in the item's output.
    let fences = store
        .job_items(s.job_id, Some("done"))
        .unwrap()
        .into_iter()
        .find(|i| i.key == "fences")
        .unwrap();
    let out = fences.output.unwrap();
    assert_eq!(out["fewer"], "asked for 3, the model returned 2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn option_letters_after_every_marker_and_conflicts_fail_with_a_reason() {
    let server = TestServer::start(Duration::ZERO, |r: &SeenRequest| {
        let t = r.last_user();
        if t.contains("Answer the multiple-choice question") {
            return Reply::text("Step 1: recall.\nStep 2: compare.\nCandidate: A");
        }
        let q = t.split("Question: ").nth(1).unwrap_or("").to_string();
        Reply::text(if q.starts_with("q1") {
            "The solver is wrong. The answer is clearly D"
        } else if q.starts_with("q2") {
            "正确答案为C"
        } else if q.starts_with("q3") {
            "答案是：\nB"
        } else if q.starts_with("q4") {
            "Option C"
        } else if q.starts_with("q5") {
            "答案是:A\n再想想。\n答案是:B"
        } else {
            "I do not know."
        })
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    let mut store = Store::open(&db).unwrap();
    let item = |q: &str, golden: &str| {
        (
            SampleKind::MultipleChoice,
            Content {
                turns: vec![Turn::user(q)],
                options: ["w", "x", "y", "z"].map(String::from).into(),
                golden: Some(golden.into()),
                ..Content::default()
            },
        )
    };
    seed(
        &mut store,
        "mcq",
        vec![
            item("q1?", "D"),
            item("q2?", "C"),
            item("q3?", "A"),
            item("q4?", "C"),
            item("q5?", "B"),
            item("q6?", "A"),
        ],
    );
    let c = ctx(&server, &db, true);
    let p = mc::Params {
        input: "mcq".into(),
        output: "out".into(),
        temperature: 0.0,
    };
    let (s, acc) = mc::run(&mut store, &c, &p, &quiet).await.unwrap();
    assert_eq!((s.done, s.failed), (4, 2), "{:?}", s.failures);
    assert_eq!((acc.correct, acc.graded, acc.failed), (3, 4, 2));
    assert!((acc.rate() - 0.5).abs() < 1e-9, "over every item: 3 of 6");
    let reasons: Vec<&str> = s.failures.iter().map(|f| f.1.as_str()).collect();
    assert!(
        reasons.iter().any(|r| r.contains("conflicting")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("names no option letter")),
        "{reasons:?}"
    );
    let out = store.dataset_id("out").unwrap().unwrap();
    store
        .for_each_sample(&Filter::dataset(out), |s| {
            let r = s
                .head
                .content
                .answer_turn()
                .unwrap()
                .reasoning
                .clone()
                .unwrap();
            assert_eq!(
                r.lines().count(),
                2,
                "the candidate line is not a step: {r}"
            );
            Ok(())
        })
        .unwrap();
}

fn chunks_and_questions(store: &mut Store) {
    let chunk = (
        SampleKind::Pretrain,
        Content {
            turns: vec![Turn::assistant(
                "Photosynthesis lets plants turn light into chemical energy stored in sugar.",
            )],
            ..Content::default()
        },
    );
    seed(store, "docs", vec![chunk]);
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
        store,
        "qs",
        vec![
            q("How do plants store light energy as sugar? (cut)"),
            q("How do plants store light energy as sugar? (retry)"),
            q("How do plants store light energy as sugar? (think)"),
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_answers_are_retried_once_then_failed_and_reasoning_is_kept() {
    for stream in [false, true] {
        let server = TestServer::start(Duration::ZERO, |r: &SeenRequest| {
            let t = r.last_user();
            let bigger = r.body["max_tokens"].as_u64().is_some();
            let full = |text: &str, finish: &str, reasoning: Option<(&str, &str)>| Reply::Full {
                text: text.into(),
                finish: finish.into(),
                reasoning: reasoning.map(|(f, r)| (f.into(), r.into())),
            };
            if t.contains("(cut)") {
                full("Plants turn light into", "length", None)
            } else if t.contains("(retry)") && !bigger {
                full("Plants turn", "length", None)
            } else if t.contains("(retry)") {
                full(
                    "Plants store it in sugar. [1]",
                    "stop",
                    Some(("reasoning_content", "The passage says sugar.")),
                )
            } else {
                Reply::text("<think>Passage 1 answers it.</think>\nIn sugar. [1]")
            }
        })
        .await;
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("a.db");
        let mut store = Store::open(&db).unwrap();
        chunks_and_questions(&mut store);
        let c = ctx(&server, &db, stream);
        let p = answers::Params {
            questions: "qs".into(),
            documents: "docs".into(),
            output: "ans".into(),
            top_k: 1,
            min_coverage: 0.2,
            temperature: 0.0,
        };
        let s = answers::run(&mut store, &c, &p, &quiet).await.unwrap();
        assert_eq!((s.done, s.failed), (2, 1), "stream {stream}: {s:?}");
        assert!(
            s.failures[0].1.contains("cut off by the token limit"),
            "{:?}",
            s.failures
        );
        // The cut-off item was asked twice, the second time with a larger limit.
        let cut: Vec<_> = server
            .seen()
            .into_iter()
            .filter(|r| r.last_user().contains("(cut)"))
            .collect();
        assert_eq!(cut.len(), 2);
        assert_eq!(cut[1].body["max_tokens"], 8192);
        let out = store.dataset_id("ans").unwrap().unwrap();
        let mut got = Vec::new();
        store
            .for_each_sample(&Filter::dataset(out), |s| {
                let a = s.head.content.answer_turn().unwrap();
                got.push((a.content.clone(), a.reasoning.clone()));
                Ok(())
            })
            .unwrap();
        got.sort();
        assert_eq!(
            got,
            vec![
                (
                    "In sugar. [1]".to_string(),
                    Some("Passage 1 answers it.".to_string())
                ),
                (
                    "Plants store it in sugar. [1]".to_string(),
                    Some("The passage says sugar.".to_string())
                ),
            ],
            "stream {stream}"
        );
    }
}

fn gen_command(
    server: &TestServer,
    dir: &std::path::Path,
    aspects: usize,
) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_assay"));
    cmd.envs(endpoint_env(
        &dir.join("a.db"),
        &dir.join("home"),
        &server.base_url,
        "sk-parsers",
    ))
    .env_remove("ASSAY_CONCURRENCY")
    .args(gen_questions_args("t", 2, aspects))
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_items_set_the_exit_code_and_retry_failed_reruns_only_them() {
    let fail_a1 = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let flag = fail_a1.clone();
    let server = TestServer::start(Duration::ZERO, move |r: &SeenRequest| {
        let t = r.last_user();
        if t.contains("Aspect: a1") && flag.load(std::sync::atomic::Ordering::SeqCst) {
            Reply::text("I cannot help with that.")
        } else {
            let a = if t.contains("Aspect: a1") { "a1" } else { "a0" };
            Reply::text(format!("[\"First on {a}?\", \"Second on {a}?\"]"))
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let out = gen_command(&server, dir.path(), 2).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("--retry-failed"));
    let before = server.count();
    // A plain rerun redoes nothing: the failed item stays failed.
    let out = gen_command(&server, dir.path(), 2).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(server.count(), before);
    fail_a1.store(false, std::sync::atomic::Ordering::SeqCst);
    let out = gen_command(&server, dir.path(), 2)
        .arg("--retry-failed")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let asked: Vec<String> = server.seen()[before..]
        .iter()
        .map(|r| r.last_user())
        .collect();
    assert_eq!(asked.len(), 1, "only the failed item: {asked:?}");
    assert!(asked[0].contains("Aspect: a1"));
    let store = Store::open(&dir.path().join("a.db")).unwrap();
    assert_eq!(questions_in(&store, "qs").len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_against_a_server_that_never_answers_aborts_records_and_resumes() {
    let hang = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let flag = hang.clone();
    let server = TestServer::start(Duration::ZERO, move |r: &SeenRequest| {
        if flag.load(std::sync::atomic::Ordering::SeqCst) {
            return Reply::Hang;
        }
        let a = r
            .last_user()
            .split("Aspect: ")
            .nth(1)
            .unwrap_or("?")
            .chars()
            .take(2)
            .collect::<String>();
        Reply::text(format!("[\"First on {a}?\", \"Second on {a}?\"]"))
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut child = gen_command(&server, dir.path(), 3).spawn().unwrap();
    // Wait until the requests are in flight (and hanging).
    let t0 = Instant::now();
    while server.count() == 0 && t0.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(server.count() > 0, "the job never asked the server");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let pid = i32::try_from(child.id()).unwrap();
    let sent = Instant::now();
    // SAFETY: kill(2) with a pid this test spawned and a constant signal.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if sent.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("still running 30 s after SIGINT");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let took = sent.elapsed();
    eprintln!("gen questions exited {took:?} after SIGINT (goal: under 2 s)");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert_eq!(status.code(), Some(130));
    let store = Store::open(&dir.path().join("a.db")).unwrap();
    let job = store.jobs().unwrap().into_iter().next().unwrap();
    assert_eq!(job.status, "cancelled");
    let summary = serde_json::to_value(&job).unwrap();
    assert!(summary.to_string().contains("interrupted"), "{summary}");
    drop(store);
    // The rerun resumes and finishes.
    hang.store(false, std::sync::atomic::Ordering::SeqCst);
    let out = gen_command(&server, dir.path(), 3).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let store = Store::open(&dir.path().join("a.db")).unwrap();
    assert_eq!(questions_in(&store, "qs").len(), 6);
}
