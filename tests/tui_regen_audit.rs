//! Regenerate re-runs the verifiers (golden match, and the LLM judge through the real test
//! server on 127.0.0.1), and the audit drawn and walked inside the TUI, through the reducer on
//! a real SQLite file.

mod support;

use assay::llm::Llm;
use assay::llm::config::EndpointConfig;
use assay::llm::openai::OpenAiClient;
use assay::model::ReviewStatus;
use assay::tui::app::Screen;
use assay::tui::harness::{Harness, fixture_store};
use std::sync::Arc;
use std::time::Duration;
use support::{Reply, SeenRequest, TestServer};

fn client(base_url: &str, model: &str) -> Arc<dyn Llm> {
    let mut cfg = EndpointConfig::new(base_url.to_string(), model);
    cfg.max_retries = 0;
    Arc::new(OpenAiClient::new(cfg).unwrap())
}

#[test]
fn regenerate_stores_the_new_revision_with_golden_and_judge_verdicts() {
    // The server runs on its own runtime; the harness drives the app on another.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(TestServer::start(Duration::ZERO, |r: &SeenRequest| {
        if r.body["response_format"]["type"] == "json_object" {
            Reply::text("{\"pass\": true, \"score\": 0.9, \"rationale\": \"数字正确\"}")
        } else {
            Reply::text("14万元")
        }
    }));
    let dir = tempfile::tempdir().unwrap();
    let store = fixture_store(&dir.path().join("r.db"), 3).unwrap();
    let mut h = Harness::new(store, 160, 48, Some(client(&server.base_url, "writer"))).unwrap();
    h.app.ctx.judge = Some(client(&server.base_url, "judge"));
    h.keys("j enter r");
    let revs = h.store.revisions(2).unwrap();
    assert_eq!(revs.len(), 2);
    let verdicts = h.store.verdicts(revs[1].id).unwrap();
    let names: Vec<(&str, bool)> = verdicts
        .iter()
        .map(|v| (v.verifier.as_str(), v.passed))
        .collect();
    assert_eq!(names, vec![("golden_match", true), ("llm_judge", true)]);
    // The candidate and its verdicts were committed together and are shown beside the head.
    let f = h.frame();
    assert!(f.contains("candidate (rev 2):"), "{f}");
    assert!(f.contains("数字正确"), "{f}");
    assert!(f.contains("candidate revision 2 of #2"), "{f}");
    // Taken, it is the head and its verdicts sum up the sample.
    h.keys("c");
    let s = h.store.sample(2).unwrap();
    assert_eq!(s.head.number, 2);
    assert_eq!(s.verdict, assay::model::VerdictSummary::Pass);
    h.keys("h");
    assert!(
        h.frame().contains("before (previous revision):"),
        "{}",
        h.frame()
    );
}

#[test]
fn a_failing_judge_still_stores_the_revision_and_says_why() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(TestServer::start(Duration::ZERO, |r: &SeenRequest| {
        if r.body["response_format"]["type"] == "json_object" {
            Reply::text("no JSON here")
        } else {
            Reply::text("不知道")
        }
    }));
    let dir = tempfile::tempdir().unwrap();
    let store = fixture_store(&dir.path().join("f.db"), 2).unwrap();
    let mut h = Harness::new(store, 160, 48, Some(client(&server.base_url, "w"))).unwrap();
    h.app.ctx.judge = Some(client(&server.base_url, "judge"));
    h.keys("enter r");
    let revs = h.store.revisions(1).unwrap();
    assert_eq!(revs.len(), 2);
    let verdicts = h.store.verdicts(revs[1].id).unwrap();
    assert_eq!(verdicts.len(), 1);
    assert_eq!(verdicts[0].verifier, "golden_match");
    assert!(!verdicts[0].passed);
    let f = h.frame();
    assert!(f.contains("the judge failed on #1"), "{f}");
}

#[test]
fn the_audit_is_drawn_and_walked_in_the_tui() {
    let dir = tempfile::tempdir().unwrap();
    let store = fixture_store(&dir.path().join("a.db"), 12).unwrap();
    let mut h = Harness::new(store, 120, 30, None).unwrap();
    h.keys("A");
    assert!(h.frame().contains("press d to draw it"), "{}", h.frame());
    h.keys("d");
    let f = h.frame();
    assert!(f.contains("drew 12 of 12 samples"), "{f}");
    assert!(f.contains("reviewed    0 of 12"), "{f}");
    // The walk goes in a shuffled order (reproducible from the seed), not in id order.
    let walk: Vec<i64> = h
        .app
        .audit
        .loaded
        .as_ref()
        .unwrap()
        .1
        .iter()
        .map(|r| r.id)
        .collect();
    assert_ne!(walk, (1..=12).collect::<Vec<_>>());
    // Open the first drawn sample; each decision opens the next one in walk order. Blind:
    // the verdicts stay hidden until the reviewer decided.
    h.keys("enter");
    assert_eq!(h.app.screen, Screen::Review);
    assert!(
        h.frame().contains("hidden until you decide"),
        "{}",
        h.frame()
    );
    h.keys("a x");
    let f = h.frame();
    assert!(f.contains("audit 2/12 · 1 defects"), "{f}");
    assert_eq!(h.app.list.current().map(|r| r.id), Some(walk[2]));
    for _ in 2..12 {
        h.keys("a");
    }
    assert_eq!(h.app.screen, Screen::Audit);
    let f = h.frame();
    assert!(f.contains("the walk is done"), "{f}");
    assert!(f.contains("reviewed   12 of 12"), "{f}");
    // 1 defect in 12, every sample reviewed: the rate is known (8.3%), within 10%.
    assert!(f.contains("every sample reviewed, exact"), "{f}");
    assert!(
        f.contains("passed: the bound is within the threshold"),
        "{f}"
    );
    let statuses: Vec<ReviewStatus> = (1..=12)
        .map(|id| h.store.sample(id).unwrap().status)
        .collect();
    assert_eq!(statuses[walk[1] as usize - 1], ReviewStatus::Rejected);
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == ReviewStatus::Accepted)
            .count(),
        11
    );
    // Samples added later: `d` again draws a top-up.
    h.keys("d");
    assert!(
        h.frame().contains("already covers every sample"),
        "{}",
        h.frame()
    );
}
