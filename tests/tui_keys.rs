//! Key sequences through the reducer on a real SQLite file: decisions committed before they
//! show, undo, navigation, editing, search, audit, help from the live keymap.

use assay::model::{Decision, ReviewStatus};
use assay::store::Filter;
use assay::tui::app::Screen;
use assay::tui::harness::{Harness, fixture_store};

fn harness(n: usize, w: u16, h: u16) -> (tempfile::TempDir, Harness) {
    let dir = tempfile::tempdir().unwrap();
    let store = fixture_store(&dir.path().join("t.db"), n).unwrap();
    let h = Harness::new(store, w, h, None).unwrap();
    (dir, h)
}

fn statuses(h: &Harness) -> Vec<ReviewStatus> {
    let mut out = Vec::new();
    h.store
        .for_each_sample(&Filter::default(), |s| {
            out.push(s.status);
            Ok(())
        })
        .unwrap();
    out
}

#[test]
fn accept_reject_skip_flag_then_undo() {
    let (_d, mut h) = harness(10, 80, 24);
    assert_eq!(h.app.list.rows.len(), 10);
    h.keys("a x space f");
    use ReviewStatus::*;
    assert_eq!(
        &statuses(&h)[..5],
        &[Accepted, Rejected, Unreviewed, Flagged, Unreviewed]
    );
    assert_eq!(h.app.committed, 3);
    assert_eq!(h.app.list.cursor, 4);
    assert!(h.frame().contains("flagged #4 (committed)"));
    h.keys("u");
    assert_eq!(statuses(&h)[3], Unreviewed);
    assert_eq!(h.app.list.current().map(|r| r.id), Some(4));
    h.keys("u u");
    assert_eq!(&statuses(&h)[..3], &[Unreviewed, Unreviewed, Unreviewed]);
    let reviews = h.store.reviews(1).unwrap();
    assert_eq!(reviews.last().map(|r| r.decision), Some(Decision::Retract));
    assert_eq!(reviews[0].reviewer, "tester");
}

#[test]
fn reject_with_reason_is_stored() {
    let (_d, mut h) = harness(5, 80, 24);
    h.keys("X");
    assert!(h.app.prompt.is_some());
    h.type_text("税率错误");
    h.keys("enter");
    let r = h.store.reviews(1).unwrap();
    assert_eq!(
        (r[0].decision, r[0].reason.as_str()),
        (Decision::Reject, "税率错误")
    );
}

#[test]
fn navigation_and_next_failing_and_unreviewed() {
    let (_d, mut h) = harness(30, 80, 24);
    h.keys("G");
    assert_eq!(h.app.list.current().map(|r| r.id), Some(30));
    h.keys("g j j");
    assert_eq!(h.app.list.current().map(|r| r.id), Some(3));
    h.keys("F");
    let id = h.app.list.current().unwrap().id;
    let v = h.store.sample(id).unwrap().verdict;
    assert!(
        matches!(
            v,
            assay::model::VerdictSummary::Fail | assay::model::VerdictSummary::Mixed
        ),
        "{id}"
    );
    h.keys("g a a a k n");
    assert_eq!(
        h.app.list.current().map(|r| r.id),
        Some(4),
        "skips reviewed 3"
    );
    h.keys("pagedown");
    assert!(h.app.list.current().unwrap().id > 3);
}

#[test]
fn review_screen_shows_steps_verdicts_and_wrong_step() {
    let (_d, mut h) = harness(6, 160, 48);
    h.keys("j enter");
    assert_eq!(h.app.screen, Screen::Review);
    let f = h.frame();
    assert!(f.contains("reasoning (3 steps)"), "{f}");
    assert!(f.contains("1. 第一步"), "{f}");
    assert!(f.contains("↑ first wrong step, per llm_judge"), "{f}");
    // Pass/fail, score and step first, then who said it.
    assert!(
        f.contains("✗ FAIL 0.35 step 2 · llm_judge (qwen2.5-7b-instruct)"),
        "{f}"
    );
    assert!(f.contains("golden"), "{f}");
}

#[test]
fn escape_payloads_never_reach_the_screen_raw() {
    let (_d, mut h) = harness(6, 120, 30);
    h.keys("j j j j enter");
    let f = h.frame();
    assert!(f.contains("\\x1b]0;pwned\\x07"), "{f}");
    assert!(f.contains("\\u{202e}"), "{f}");
    assert!(!f.contains('\u{1b}') && !f.contains('\u{7}') && !f.contains('\u{202e}'));
}

#[test]
fn edit_saves_a_new_revision_and_escape_asks_first() {
    let (_d, mut h) = harness(3, 80, 24);
    h.keys("enter e");
    assert_eq!(h.app.screen, Screen::Editor);
    h.type_text("新");
    h.keys("esc");
    assert!(h.app.prompt.is_some(), "esc with changes must ask");
    h.keys("esc");
    assert_eq!(h.app.screen, Screen::Editor);
    h.keys("tab tab");
    h.type_text("（已核对）");
    h.keys("ctrl-s");
    let revs = h.store.revisions(1).unwrap();
    assert_eq!(revs.len(), 2);
    assert_eq!(revs[1].author, "tester");
    assert!(revs[1].content.question().unwrap().starts_with("新"));
    assert!(revs[1].content.answer().unwrap().starts_with("（已核对）"));
    h.keys("h");
    let f = h.frame();
    assert!(f.contains("diff rev 1 → 2"), "{f}");
}

#[test]
fn editor_autosaves_a_draft_that_is_restored() {
    let (dir, mut h) = harness(3, 80, 24);
    h.keys("enter e");
    h.type_text("草稿");
    h.app.update(assay::tui::app::Msg::Tick);
    h.settle();
    let id = h.store.id().unwrap();
    let draft = dir.path().join("drafts").join(&id).join("1.json");
    assert!(std::fs::read_to_string(&draft).unwrap().contains("草稿"));
    // A new session (as after a crash) restores it.
    let store = assay::store::Store::open(&dir.path().join("t.db")).unwrap();
    let mut h2 = Harness::new(store, 80, 24, None).unwrap();
    h2.keys("enter e");
    assert!(h2.app.editor.as_ref().unwrap().restored);
    assert!(h2.frame().contains("restored an unsaved draft"));
}

#[test]
fn search_filters_and_fuzzy_text() {
    let (_d, mut h) = harness(30, 80, 24);
    h.keys("/");
    h.type_text("kind:cot 个人所得税");
    let n = h.app.search.matched();
    assert!(n > 0);
    for i in 0..n as usize {
        let id = h.app.search.id_at(i).unwrap();
        let s = h.store.sample(id).unwrap();
        assert_eq!(s.kind, assay::model::SampleKind::Cot);
    }
    h.keys("enter");
    assert_eq!(h.app.screen, Screen::Review);
    h.keys("/");
    h.type_text(" status:bogus");
    assert!(h.frame().contains("statuses: unreviewed"));
}

#[test]
fn help_is_generated_from_the_live_keymap() {
    let (_d, mut h) = harness(3, 80, 24);
    h.app
        .keymap
        .merge("user.toml", "[list]\nz = \"accept\"\n")
        .unwrap();
    h.keys("?");
    let f = h.frame();
    assert!(f.contains("z  accept the sample"), "{f}");
    h.keys("esc");
    assert!(!h.app.help);
}

#[test]
fn regenerate_without_a_model_says_so() {
    let (_d, mut h) = harness(3, 80, 24);
    h.keys("enter r");
    assert!(
        h.app
            .message
            .as_ref()
            .unwrap()
            .text
            .contains("regenerate needs a model")
    );
}

#[test]
fn audit_screen_and_stats_with_kappa() {
    let (_d, mut h) = harness(20, 80, 24);
    let ds = h.store.dataset_id("税务问答").unwrap().unwrap();
    assay::audit::draw(&mut h.store, ds, &assay::audit::DrawPlan::seeded(1)).unwrap();
    h.keys("A");
    assert!(h.frame().contains("reviewed    0 of 20"));
    h.keys("enter a");
    h.keys("A");
    assert!(h.frame().contains("reviewed    1 of 20"), "{}", h.frame());
    for id in 1..=6 {
        let rev = h.store.sample(id).unwrap().head.id;
        let d = if id % 2 == 0 {
            Decision::Accept
        } else {
            Decision::Reject
        };
        h.store.add_review(id, rev, "bo", d, "").unwrap();
        h.store
            .add_review(id, rev, "cy", Decision::Accept, "")
            .unwrap();
    }
    h.keys("S");
    let f = h.frame();
    assert!(f.contains("bo & cy: κ = 0.000"), "{f}");
}

/// A model that answers every question the same way, through the real `Llm` trait object.
struct FixedModel;

impl assay::llm::Llm for FixedModel {
    fn describe(&self) -> String {
        "fixed-model (test)".into()
    }

    fn chat<'a>(
        &'a self,
        req: assay::llm::ChatRequest,
        _on_token: Option<assay::llm::TokenSink<'a>>,
    ) -> futures::future::BoxFuture<'a, Result<assay::llm::ChatResponse, assay::llm::LlmError>>
    {
        Box::pin(async move {
            let q = req
                .messages
                .last()
                .map(|m| m.content.clone())
                .unwrap_or_default();
            Ok(assay::llm::ChatResponse {
                text: format!("重新回答：{}", q.chars().take(6).collect::<String>()),
                model: "fixed-model".into(),
                usage: assay::llm::Usage::default(),
                finish_reason: Some("stop".into()),
                reasoning: None,
            })
        })
    }
}

#[test]
fn regenerate_offers_a_candidate_that_the_reviewer_takes_or_declines() {
    let dir = tempfile::tempdir().unwrap();
    let store = fixture_store(&dir.path().join("g.db"), 3).unwrap();
    let llm: std::sync::Arc<dyn assay::llm::Llm> = std::sync::Arc::new(FixedModel);
    let mut h = Harness::new(store, 160, 48, Some(llm)).unwrap();
    // Accept #2 first: a regeneration must not ship under that acceptance.
    h.keys("j a k enter");
    assert_eq!(h.store.sample(2).unwrap().status, ReviewStatus::Accepted);
    h.keys("r");
    let revs = h.store.revisions(2).unwrap();
    assert_eq!(revs.len(), 2);
    assert_eq!(revs[1].author, "gen:regenerate fixed-model");
    assert!(
        revs[1]
            .content
            .answer()
            .unwrap()
            .starts_with("重新回答：小微企业")
    );
    // The candidate waits beside the head: nothing changed yet.
    let s = h.store.sample(2).unwrap();
    assert_eq!((s.head.number, s.status), (1, ReviewStatus::Accepted));
    let f = h.frame();
    assert!(
        f.contains("candidate rev 2 · c take · o keep original"),
        "{f}"
    );
    assert!(f.contains("fixed-model (test)"), "{f}");

    // Taking it makes it the head, unreviewed: nobody accepted this text.
    h.keys("c");
    let s = h.store.sample(2).unwrap();
    assert_eq!((s.head.number, s.status), (2, ReviewStatus::Unreviewed));
    assert!(h.frame().contains("took the candidate"), "{}", h.frame());
    // Undo takes back the take: the accepted original is the head again, accepted again.
    h.keys("u");
    let s = h.store.sample(2).unwrap();
    assert_eq!((s.head.number, s.status), (1, ReviewStatus::Accepted));

    // Another regeneration, declined: the head stays.
    h.keys("r o");
    let s = h.store.sample(2).unwrap();
    assert_eq!((s.head.number, s.status), (1, ReviewStatus::Accepted));
    assert!(h.store.pending_candidate(2).unwrap().is_none());
    assert_eq!(h.store.revisions(2).unwrap().len(), 3);
}

#[test]
fn drafts_belong_to_one_database_not_to_its_file_name() {
    let dir = tempfile::tempdir().unwrap();
    let shared = dir.path().join("drafts");
    let open = |project: &str| {
        let path = dir.path().join(project).join("assay.db");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let store = fixture_store(&path, 3).unwrap();
        let mut h = Harness::new(store, 80, 24, None).unwrap();
        h.app.ctx.drafts_dir = shared.clone();
        h
    };
    let mut a = open("projA");
    a.keys("enter e");
    a.type_text("只属于A的草稿");
    a.app.update(assay::tui::app::Msg::Tick);
    a.settle();
    let mut b = open("projB");
    b.keys("enter e");
    let e = b.app.editor.as_ref().unwrap();
    assert!(!e.restored, "projA's draft must not open in projB");
    assert!(!b.frame().contains("只属于A"));
    // projA's own next session restores it.
    drop(a);
    let mut a2 = open_existing(&dir.path().join("projA").join("assay.db"), &shared);
    a2.keys("enter e");
    assert!(a2.app.editor.as_ref().unwrap().restored);
}

fn open_existing(path: &std::path::Path, drafts: &std::path::Path) -> Harness {
    let store = assay::store::Store::open(path).unwrap();
    let mut h = Harness::new(store, 80, 24, None).unwrap();
    h.app.ctx.drafts_dir = drafts.to_path_buf();
    h
}

#[test]
fn two_reviewers_on_one_database_lose_no_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("two.db");
    drop(fixture_store(&path, 10).unwrap());
    let open = || {
        let s = assay::store::Store::open(&path).unwrap();
        let mut h = Harness::new(s, 80, 24, None).unwrap();
        h.app.ctx.reviewer = "other".into();
        h
    };
    let mut a = open();
    let mut b = open();
    b.app.ctx.reviewer = "bo".into();
    for _ in 0..5 {
        a.keys("a");
        b.keys("x");
    }
    let store = assay::store::Store::open(&path).unwrap();
    let mut n = 0;
    for id in 1..=5 {
        let r = store.reviews(id).unwrap();
        assert_eq!(r.len(), 2, "#{id}: {r:?}");
        n += r.len();
    }
    assert_eq!(n, 10);
}

#[test]
fn stats_show_diversity_and_generation_jobs() {
    let (_d, mut h) = harness(12, 160, 48);
    let (job, _) = h
        .store
        .open_job("questions:税务", "questions", None, &serde_json::json!({}))
        .unwrap();
    let items: Vec<(String, serde_json::Value)> = (0..3)
        .map(|i| (format!("item{i}"), serde_json::json!({})))
        .collect();
    h.store.add_job_items(job.id, &items).unwrap();
    h.store
        .finish_job_item(job.id, "item0", Ok(&serde_json::json!("q")))
        .unwrap();
    h.store
        .finish_job_item(job.id, "item1", Err("HTTP 500 after 3 tries"))
        .unwrap();
    h.keys("S");
    let f = h.frame();
    assert!(f.contains("diversity") && f.contains("aspects"), "{f}");
    assert!(
        f.contains(&format!("#{} questions", job.id))
            && f.contains("done 1 · failed 1 · pending 1"),
        "{f}"
    );
}

#[test]
fn the_query_syntax_filters_to_near_duplicate_clusters() {
    let (filter, text) = assay::search::query::parse_query("dup:yes 税", &[], Some(1)).unwrap();
    assert!(filter.near_duplicates);
    assert_eq!((filter.dataset_id, text.as_str()), (Some(1), "税"));
    let (plain, _) = assay::search::query::parse_query("税", &[], Some(1)).unwrap();
    assert!(!plain.near_duplicates);
}

#[test]
fn review_shows_the_stored_cot_search_tree() {
    let (_d, mut h) = harness(5, 160, 48);
    let ds = h.store.dataset_id("税务问答").unwrap().unwrap();
    let node = |id: usize,
                parent: Option<usize>,
                step: &str,
                children: Vec<usize>,
                correct: Option<bool>| {
        serde_json::json!({"id": id, "parent": parent, "step": step, "children": children,
            "visits": 2, "value": 1.0, "score": 0.9, "terminal": correct.is_some(), "correct": correct})
    };
    let tree = serde_json::json!({
        "prefix": ["1. 单价是 12 元。"],
        "nodes": [
            node(0, None, "", vec![1, 2], None),
            node(1, Some(0), "2. 总价 = 12 × 3 = 38 元。", vec![], Some(false)),
            node(2, Some(0), "2. 总价 = 12 × 3 = 36 元。", vec![], Some(true)),
        ],
        "calls": 7,
        "solved": 2,
    });
    let mut meta = assay::model::SampleMeta::default();
    meta.extra
        .insert("cot".into(), serde_json::json!({ "tree": tree }));
    let sample = assay::model::NewSample {
        kind: assay::model::SampleKind::Cot,
        content: assay::model::Content {
            turns: vec![
                assay::model::Turn::user("三本书每本 12 元，一共多少钱？"),
                assay::model::Turn::assistant("36")
                    .with_reasoning("1. 单价是 12 元。2. 总价是 36 元。"),
            ],
            ..Default::default()
        },
        source: assay::model::Source::Generated {
            generator: "cot".into(),
            model: "test".into(),
            prompt: "cot".into(),
        },
        meta,
    };
    let mut batch = h.store.import_batch(ds, "gen:cot").unwrap();
    batch
        .insert(&assay::store::ImportRecord::new(sample).unwrap())
        .unwrap();
    batch.commit().unwrap();
    h.keys("D G enter");
    let f = h.frame();
    assert!(
        f.contains("search tree: 3 nodes, 7 model calls, solved"),
        "{f}"
    );
    assert!(
        f.contains("✓ [0.90, 2 visits] 2. 总价 = 12 × 3 = 36 元。"),
        "{f}"
    );
    assert!(
        f.contains("✗ [0.90, 2 visits] 2. 总价 = 12 × 3 = 38 元。"),
        "{f}"
    );
}

#[test]
fn revert_to_any_revision_from_the_history() {
    let (_d, mut h) = harness(3, 120, 40);
    // #1 accepted on revision 1, then edited twice: unreviewed, on revision 3.
    h.keys("a k enter");
    for word in ["一", "二"] {
        h.keys("e");
        h.type_text(word);
        h.keys("ctrl-s");
    }
    let s = h.store.sample(1).unwrap();
    assert_eq!((s.head.number, s.status), (3, ReviewStatus::Unreviewed));
    // Pick revision 1 in the history and revert to it: the acceptance on it counts again.
    h.keys("h [ [");
    assert!(h.frame().contains("▸ rev 1"), "{}", h.frame());
    h.keys("R");
    let s = h.store.sample(1).unwrap();
    assert_eq!((s.head.number, s.status), (1, ReviewStatus::Accepted));
    assert_eq!(h.store.revisions(1).unwrap().len(), 3, "history is kept");
    // Undo takes the revert back.
    h.keys("u");
    let s = h.store.sample(1).unwrap();
    assert_eq!((s.head.number, s.status), (3, ReviewStatus::Unreviewed));
}

#[test]
fn the_head_shows_the_first_wrong_step_an_earlier_revisions_verdict_named() {
    // As `gen cot` stores it: the judged attempt is revision 1, the repaired solution the head.
    let (_d, mut h) = harness(6, 160, 48);
    let head = h.store.sample(2).unwrap().head;
    let mut repaired = head.content.clone();
    repaired.turns[1].reasoning = Some(
        "第一步，确认纳税人类型为一般纳税人。第二步，核对适用税率为13%并按销售额计算。第三步，用销售额乘以税率得到应纳税额。"
            .into(),
    );
    h.store
        .add_revision_on(2, head.id, &repaired, "gen:cot", &[])
        .unwrap();
    h.keys("j enter");
    let f = h.frame();
    assert!(
        f.contains("↑ first wrong step, per llm_judge on rev 1 (rewritten from here)"),
        "{f}"
    );
    // The highlight sits under step 2 of the head, the step that replaced the wrong one.
    let lines: Vec<&str> = f.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains("↑ first wrong step"))
        .unwrap();
    assert!(
        lines[..at]
            .iter()
            .rev()
            .take(3)
            .any(|l| l.contains("2. 第二步，核对")),
        "{f}"
    );
}
