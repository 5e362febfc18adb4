//! Verifiers over a real SQLite file: golden match and trajectory checks through `assay verify`
//! (the real binary), and the LLM judge through the test server with a messy JSON answer.

mod support;

use assay::jobs::{CachedLlm, CancelFlag, Ctx, Meter, Progress};
use assay::llm::Llm;
use assay::llm::config::EndpointConfig;
use assay::llm::openai::OpenAiClient;
use assay::model::{Content, Role, SampleKind, ToolCall, Turn};
use assay::prompting::prompts::Lang;
use assay::store::{Filter, Store};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::fixtures::seed;
use support::{Reply, SeenRequest, TestServer};

fn qa(q: &str, a: &str, golden: &str) -> (SampleKind, Content) {
    (
        SampleKind::Qa,
        Content {
            turns: vec![Turn::user(q), Turn::assistant(a)],
            golden: Some(golden.into()),
            ..Content::default()
        },
    )
}

fn verdicts_of(store: &Store, dataset: i64) -> Vec<(bool, String, Option<u32>)> {
    let mut out = Vec::new();
    store
        .for_each_sample(&Filter::dataset(dataset), |s| {
            for v in store.verdicts(s.head.id).unwrap() {
                out.push((v.passed, v.verifier.clone(), v.first_wrong_step));
            }
            Ok(())
        })
        .unwrap();
    out
}

#[test]
fn golden_and_trajectory_through_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    let mut store = Store::open(&db).unwrap();
    let g = seed(
        &mut store,
        "golden",
        vec![
            qa(
                "1/2 as a decimal?",
                "It is 0.5, so the answer is 0.5",
                "1/2",
            ),
            qa("Pick one", "答案是：C", "B"),
            qa("No key", "x", ""),
        ],
    );
    let mut call = Turn::assistant("");
    call.tool_calls.push(ToolCall {
        id: None,
        name: "calc".into(),
        arguments: serde_json::json!({"expr": 5}),
    });
    let t = seed(
        &mut store,
        "agent",
        vec![(
            SampleKind::AgentTrajectory,
            Content {
                turns: vec![
                    Turn::user("2+3?"),
                    call,
                    Turn::new(Role::Tool, "5"),
                    Turn::assistant("5"),
                ],
                tools: Some(
                    serde_json::json!([{"name": "calc", "parameters": {"type": "object", "properties": {"expr": {"type": "string"}}, "required": ["expr"]}}]),
                ),
                ..Content::default()
            },
        )],
    );
    drop(store);
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_assay"))
            .env("ASSAY_DB", &db)
            .env("ASSAY_HOME", dir.path().join("home"))
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let c = run(&["verify", "--dataset", "golden", "--verifier", "golden"]);
    assert_eq!(
        (
            c["checked"].as_u64(),
            c["passed"].as_u64(),
            c["skipped"].as_u64()
        ),
        (Some(2), Some(1), Some(1))
    );
    let c = run(&["verify", "--dataset", "agent", "--verifier", "trajectory"]);
    assert_eq!(c["failed"], 1);
    let store = Store::open(&db).unwrap();
    let mut gv = verdicts_of(&store, g);
    gv.sort();
    assert_eq!(
        gv,
        vec![
            (false, "golden_match".into(), None),
            (true, "golden_match".into(), None)
        ]
    );
    assert_eq!(
        verdicts_of(&store, t),
        vec![(false, "trajectory".into(), Some(2))]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_judge_reads_messy_json_and_records_the_first_wrong_step() {
    let server = TestServer::start(Duration::ZERO, |r: &SeenRequest| {
        assert_eq!(r.body["response_format"]["type"], "json_object");
        if r.last_user().contains("2+2=5") {
            Reply::text("Verdict:\n```json\n{\"pass\": \"false\", \"score\": \"2\", \"rationale\": \"arithmetic\", \"first_wrong_step\": \"2\",}\n```")
        } else if r.last_user().contains("garbled") {
            Reply::text("I refuse to answer in JSON")
        } else {
            Reply::text("{\"pass\": true, \"score\": 0.9, \"rationale\": \"ok\", \"first_wrong_step\": null}")
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    let mut store = Store::open(&db).unwrap();
    let cot = |q: &str, reasoning: &str, a: &str| {
        (
            SampleKind::Cot,
            Content {
                turns: vec![Turn::user(q), Turn::assistant(a).with_reasoning(reasoning)],
                ..Content::default()
            },
        )
    };
    let d = seed(
        &mut store,
        "cot",
        vec![
            cot("2+2?", "Step 1: add.\nStep 2: 2+2=5.", "5"),
            cot("3+3?", "Step 1: add.\nStep 2: 3+3=6.", "6"),
            cot("garbled", "Step 1: x.", "y"),
        ],
    );
    let mut cfg = EndpointConfig::new(server.base_url.clone(), "judge");
    cfg.max_retries = 0;
    let inner: Arc<dyn Llm> = Arc::new(OpenAiClient::new(cfg).unwrap());
    let meter = Arc::new(Meter::default());
    let llm: Arc<dyn Llm> = Arc::new(CachedLlm::with_meter(
        inner,
        Some(Arc::new(Mutex::new(Store::open(&db).unwrap()))),
        meter.clone(),
    ));
    let ctx = Ctx {
        generator: llm.clone(),
        verifier: llm,
        meter,
        lang: Lang::En,
        concurrency: 2,
        cancel: CancelFlag::default(),
        retry_failed: false,
    };
    let s =
        assay::verify::run::run_judge(&mut store, &ctx, d, "correct arithmetic", &|_: Progress| {})
            .await
            .unwrap();
    assert_eq!((s.done, s.failed), (2, 1));
    assert!(s.failures[0].1.contains("JSON"), "{:?}", s.failures);
    let mut v = verdicts_of(&store, d);
    v.sort();
    assert_eq!(
        v,
        vec![
            (false, "llm_judge".into(), Some(2)),
            (true, "llm_judge".into(), None)
        ]
    );
}
