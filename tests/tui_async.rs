//! The TUI's one async pattern: every request to the worker answers exactly once with a typed
//! reply (its result, `Failed` naming the request, or `Superseded`), and a failure releases only
//! what waited on that request. One test per bug the old mix of mechanisms had, and the lock
//! wait, against the real worker thread and a second connection holding the write lock.

use assay::model::{Decision, ReviewStatus};
use assay::store::{Filter, Store};
use assay::tui::app::{Effect, Msg};
use assay::tui::harness::{Harness, fixture_store, key_event};
use assay::tui::worker::{PageAt, Reply, Request, RequestKind, Worker};
use std::sync::mpsc;
use std::time::Duration;

fn harness(n: usize) -> (tempfile::TempDir, Harness) {
    let dir = tempfile::tempdir().unwrap();
    let store = fixture_store(&dir.path().join("t.db"), n).unwrap();
    let h = Harness::new(store, 100, 30, None).unwrap();
    (dir, h)
}

#[test]
fn every_request_answers_once_even_when_superseded() {
    let dir = tempfile::tempdir().unwrap();
    let store = fixture_store(&dir.path().join("w.db"), 50).unwrap();
    let (tx, rx) = mpsc::channel();
    let worker = Worker::spawn(store, move |r| {
        let _ = tx.send(r);
    });
    // A slow request first, so that the pages behind it arrive in one batch.
    worker.send(Request::Stats { dataset_id: 1 });
    for i in 0..20 {
        worker.send(Request::Page {
            seq: i,
            filter: Filter::dataset(1),
            at: PageAt::After(i as i64),
            limit: 10,
        });
    }
    let mut answers = Vec::new();
    while answers.len() < 21 {
        let r = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("an answer per request");
        if !matches!(r, Reply::Waiting { .. }) {
            answers.push(r);
        }
    }
    let pages = answers
        .iter()
        .filter(|r| matches!(r, Reply::Page { .. }))
        .count();
    let superseded = answers
        .iter()
        .filter(|r| {
            matches!(
                r,
                Reply::Superseded {
                    kind: RequestKind::Page
                }
            )
        })
        .count();
    assert_eq!(pages + superseded, 20);
    assert!(pages >= 1);
    // The last page asked for is the one that ran last.
    let last = answers.iter().rev().find_map(|r| match r {
        Reply::Page { seq, .. } => Some(*seq),
        _ => None,
    });
    assert_eq!(last, Some(19));
    assert!(
        rx.recv_timeout(Duration::from_millis(300)).is_err(),
        "one answer each"
    );
}

#[test]
fn the_jobs_count_returns_to_zero() {
    let (_d, mut h) = harness(30);
    for _ in 0..25 {
        h.keys("j");
    }
    h.keys("G g enter j j");
    assert_eq!(h.app.jobs, 0);
    // A superseded request counts as answered.
    h.app.jobs = 1;
    h.app.update(Msg::Reply(Reply::Superseded {
        kind: RequestKind::Page,
    }));
    assert_eq!(h.app.jobs, 0);
}

#[test]
fn an_unrelated_failure_does_not_release_keys_queued_behind_a_decision() {
    let (_d, mut h) = harness(10);
    // A decision is in flight (its effect not run yet) and two keys wait behind it.
    h.app.update(Msg::Key(key_event("a")));
    assert!(h.app.deciding());
    h.app.update(Msg::Key(key_event("x")));
    h.app.update(Msg::Key(key_event("x")));
    assert_eq!(h.app.queued.len(), 2);
    // The statistics failing says so and leaves the queue alone.
    h.app.update(Msg::Reply(Reply::Failed {
        kind: RequestKind::Stats,
        error: "disk on fire".into(),
        stale: false,
    }));
    assert!(h.app.deciding());
    assert_eq!(h.app.queued.len(), 2);
    // The decision lands, then the queued keys apply in order: #1 accepted, #2 and #3 rejected.
    h.settle();
    let status = |h: &Harness, id| h.store.sample(id).unwrap().status;
    assert_eq!(status(&h, 1), ReviewStatus::Accepted);
    assert_eq!(status(&h, 2), ReviewStatus::Rejected);
    assert_eq!(status(&h, 3), ReviewStatus::Rejected);
}

#[test]
fn a_refused_decision_drops_the_keys_meant_for_after_it() {
    let (_d, mut h) = harness(10);
    h.keys("enter");
    // Another reviewer edits #1 while this one looks at revision 1.
    let head = h.store.sample(1).unwrap().head;
    let mut c = head.content.clone();
    c.turns[0].content.push_str("（改）");
    h.store.add_revision(1, &c, "bo").unwrap();
    h.app.update(Msg::Key(key_event("a")));
    h.app.update(Msg::Key(key_event("x")));
    h.settle();
    // Refused as stale: nothing recorded, the x meant for #2 not applied, the new head shown.
    assert!(h.store.reviews(1).unwrap().is_empty());
    assert!(h.store.reviews(2).unwrap().is_empty());
    let f = h.frame();
    assert!(
        f.contains("the sample changed meanwhile: nothing recorded"),
        "{f}"
    );
    assert!(f.contains("rev 2"), "{f}");
    // On the new head, the decision lands.
    h.keys("a");
    let r = h.store.reviews(1).unwrap();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].revision_id, h.store.sample(1).unwrap().head.id);
}

#[test]
fn the_training_chart_keeps_polling_after_a_failed_poll() {
    let (_d, mut h) = harness(5);
    h.keys("T");
    assert!(!h.app.train.polling);
    // A poll is in flight and fails.
    h.app.train.polling = true;
    h.app.update(Msg::Reply(Reply::Failed {
        kind: RequestKind::Train,
        error: "database is locked".into(),
        stale: false,
    }));
    assert!(!h.app.train.polling);
    h.app.outbox.clear();
    // No run is active here: the list is read every IDLE_POLL_TICKS ticks.
    for _ in 0..assay::tui::screens::train::IDLE_POLL_TICKS {
        h.app.update(Msg::Tick);
    }
    let polls = h
        .app
        .outbox
        .iter()
        .filter(|e| matches!(e, Effect::Db(Request::Train(_))))
        .count();
    assert!(polls >= 1, "the next poll goes out again");
}

#[test]
fn a_failed_save_keeps_the_draft() {
    let (dir, mut h) = harness(5);
    h.app.ctx.drafts_dir = dir.path().join("drafts");
    h.keys("enter e");
    h.type_text("重要的修改");
    // The sample changes under the editor: the save will be refused.
    let head = h.store.sample(1).unwrap().head;
    h.store.add_revision(1, &head.content, "bo").unwrap();
    h.keys("ctrl-s");
    assert_eq!(
        h.store.revisions(1).unwrap().len(),
        2,
        "the stale save was refused"
    );
    let f = h.frame();
    assert!(f.contains("your edit is kept as a draft"), "{f}");
    let draft = dir
        .path()
        .join("drafts")
        .join(h.store.id().unwrap())
        .join("1.json");
    assert!(
        std::fs::read_to_string(&draft)
            .unwrap()
            .contains("重要的修改")
    );
    // Reopened, the draft comes back, with a word that the sample moved on.
    h.keys("e");
    let e = h.app.editor.as_ref().unwrap();
    assert!(e.restored && e.drafted_on.is_some());
    assert!(
        h.frame().contains("made on an earlier revision"),
        "{}",
        h.frame()
    );
    h.keys("ctrl-s");
    let revs = h.store.revisions(1).unwrap();
    assert_eq!(revs.len(), 3);
    assert!(revs[2].content.question().unwrap().contains("重要的修改"));
    assert!(!draft.exists(), "removed once the save committed");
}

#[test]
fn a_decision_waits_for_a_locked_database_and_lands() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l.db");
    let store = fixture_store(&path, 3).unwrap();
    let head = store.sample(1).unwrap().head.id;
    let (tx, rx) = mpsc::channel();
    let worker = Worker::spawn(store, move |r| {
        let _ = tx.send(r);
    });
    // Another process holds the write lock.
    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    worker.send(Request::Decide {
        sample_id: 1,
        revision_id: head,
        decision: Decision::Accept,
        reason: String::new(),
        reviewer: "ana".into(),
        undo: false,
    });
    let r = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    assert!(
        matches!(
            r,
            Reply::Waiting {
                kind: RequestKind::Decide,
                ..
            }
        ),
        "{r:?}"
    );
    other.execute_batch("COMMIT").unwrap();
    let landed = loop {
        match rx.recv_timeout(Duration::from_secs(30)).unwrap() {
            Reply::Waiting { .. } => continue,
            r => break r,
        }
    };
    assert!(matches!(landed, Reply::Decided { .. }), "{landed:?}");
    let store = Store::open(&path).unwrap();
    assert_eq!(store.sample(1).unwrap().status, ReviewStatus::Accepted);

    // Cancelled while waiting: nothing recorded, and it says so.
    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let head2 = store.sample(2).unwrap().head.id;
    worker.send(Request::Decide {
        sample_id: 2,
        revision_id: head2,
        decision: Decision::Reject,
        reason: String::new(),
        reviewer: "ana".into(),
        undo: false,
    });
    let r = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    assert!(matches!(r, Reply::Waiting { .. }), "{r:?}");
    worker.cancel_waiting();
    let end = loop {
        match rx.recv_timeout(Duration::from_secs(30)).unwrap() {
            Reply::Waiting { .. } => continue,
            r => break r,
        }
    };
    match end {
        Reply::Failed { kind, error, .. } => {
            assert_eq!(kind, RequestKind::Decide);
            assert!(error.contains("nothing was recorded"), "{error}");
        }
        r => panic!("{r:?}"),
    }
    other.execute_batch("COMMIT").unwrap();
    assert_eq!(store.sample(2).unwrap().status, ReviewStatus::Unreviewed);
}
