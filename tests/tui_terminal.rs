//! The reviewer at 80x24: the audit's progress always in the status bar, messages that expire,
//! an empty database that says what to do, a list that refills after the window grows, help
//! grouped by purpose, a verdicts pane that scrolls; and the real binary in tmux at 80x24 on
//! the demo data (every screen, the status bar's end intact).

#[path = "support/reliability.rs"]
mod support;

use assay::audit::{self, DrawPlan};
use assay::tui::app::Screen;
use assay::tui::harness::{Harness, fixture_store};
use std::time::Duration;

fn harness(n: usize, w: u16, h: u16, audited: bool) -> (tempfile::TempDir, Harness) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = fixture_store(&dir.path().join("t.db"), n).unwrap();
    if audited {
        let id = store.require_dataset("税务问答").unwrap();
        audit::draw(&mut store, id, &DrawPlan::seeded(7)).unwrap();
    }
    let h = Harness::new(store, w, h, None).unwrap();
    (dir, h)
}

fn status_bar(frame: &str) -> String {
    frame.lines().last().unwrap_or("").to_string()
}

#[test]
fn the_audit_is_always_in_the_status_bar_at_80_columns_and_follows_decisions() {
    let (_d, mut h) = harness(12, 80, 24, true);
    let bar = status_bar(&h.frame());
    assert!(bar.contains("audit 0/12"), "{bar}");
    assert!(bar.ends_with("?:help"), "{bar}");
    h.keys("a x");
    let bar = status_bar(&h.frame());
    assert!(bar.contains("audit 2/12 · 1 defects"), "{bar}");
    // In the review screen too, with the model's name the first to give way.
    h.keys("enter");
    assert_eq!(h.app.screen, Screen::Review);
    let bar = status_bar(&h.frame());
    assert!(bar.contains("audit 2/12"), "{bar}");
    assert!(bar.ends_with("?:help"), "{bar}");
    // Narrower still: the short form, never cut.
    let (_d, mut h) = harness(12, 60, 24, true);
    let bar = status_bar(&h.frame());
    assert!(bar.contains("A 0/12 0✗"), "{bar}");
    assert!(bar.ends_with("?:help"), "{bar}");
}

#[test]
fn messages_expire_after_the_next_key() {
    let (_d, mut h) = harness(10, 80, 24, false);
    h.keys("a");
    assert!(h.frame().contains("accepted #1 (committed)"));
    h.keys("j");
    assert!(
        !h.frame().contains("(committed)"),
        "the message outlived its key"
    );
    // An error stays for one more key.
    h.app.message = Some(assay::tui::app::Message::new("boom".into(), true));
    h.keys("j");
    assert!(h.frame().contains("boom"));
    h.keys("k");
    assert!(!h.frame().contains("boom"));
    // And a message goes after its time even without keys.
    let mut m = assay::tui::app::Message::new("old news".into(), false);
    m.at -= Duration::from_secs(60);
    h.app.message = Some(m);
    h.app.update(assay::tui::app::Msg::Tick);
    assert!(h.app.message.is_none());
}

#[test]
fn an_empty_database_says_how_to_get_data_in() {
    let dir = tempfile::tempdir().unwrap();
    let store = assay::store::Store::open(&dir.path().join("empty.db")).unwrap();
    let mut h = Harness::new(store, 80, 24, None).unwrap();
    let f = h.frame();
    assert!(f.contains("has no datasets yet"), "{f}");
    assert!(f.contains("import FILE"), "{f}");
    assert!(!f.contains("loading"), "{f}");
}

#[test]
fn after_the_window_grows_no_rows_hide_above_blank_space() {
    let (_d, mut h) = harness(30, 80, 40, false);
    h.keys("G");
    h.app.update(assay::tui::app::Msg::Resize(80, 10));
    h.settle();
    assert!(h.app.list.top > 0);
    h.app.update(assay::tui::app::Msg::Resize(80, 40));
    h.settle();
    assert_eq!(h.app.list.top, 0, "every row fits again");
    let f = h.frame();
    assert!(f.contains("      1 ·"), "{f}");
    assert_eq!(h.app.list.current().map(|r| r.id), Some(30));
}

#[test]
fn help_is_grouped_by_purpose_with_every_description_whole() {
    let (_d, mut h) = harness(5, 160, 48, false);
    h.keys("?");
    let f = h.frame();
    let at = |s: &str| f.find(s).unwrap_or_else(|| panic!("{s} missing:\n{f}"));
    assert!(
        at("decide") < at("move") && at("move") < at("screens"),
        "{f}"
    );
    assert!(f.contains("j, down  next sample"), "{f}");
    for a in assay::tui::action::Action::ALL {
        if h.app
            .keymap
            .key_for(assay::tui::keymap::Mode::List, *a)
            .is_some()
        {
            assert!(
                f.contains(a.describe()),
                "{} cut or missing:\n{f}",
                a.describe()
            );
        }
    }
    // At 80x24 it does not all fit: it says so, and j scrolls.
    let (_d, mut h) = harness(5, 80, 24, false);
    h.keys("?");
    let f = h.frame();
    assert!(f.contains("more: j/k scroll"), "{f}");
    assert!(!f.contains("statistics and reviewer"), "{f}");
    h.keys("j j j j j j j j");
    let f = h.frame();
    assert!(f.contains("statistics and reviewer"), "{f}");
}

#[test]
fn the_verdicts_pane_scrolls_on_its_own_keys() {
    let (_d, mut h) = harness(6, 80, 16, false);
    // Sample 2 carries two verdicts with rationales; on 16 rows with the history open the
    // pane is shorter than they are.
    h.keys("j enter h");
    let f = h.frame();
    assert!(f.contains("J more"), "{f}");
    h.keys("J J J");
    assert_eq!(h.app.review.verdict_scroll, 3);
    let f = h.frame();
    assert!(f.contains("K back") || f.contains("J/K scroll"), "{f}");
    // A new sample starts at the top.
    h.keys("j");
    assert_eq!(h.app.review.verdict_scroll, 0);
}

/// The real binary at 80x24 in a private tmux server, on the demo database.
#[test]
fn every_screen_at_80x24_in_tmux_keeps_its_status_bar_whole() {
    let dir = tempfile::tempdir().unwrap();
    let Some(tmux) = support::Tmux::start(dir.path()) else {
        return;
    };
    let db = dir.path().join("demo.db");
    let home = dir.path().join("home");
    let out = std::process::Command::new(support::bin())
        .args([
            "--db",
            db.to_str().unwrap(),
            "demo",
            "--no-tui",
            "--no-model",
        ])
        .env("ASSAY_HOME", &home)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let cmd = format!(
        "ASSAY_HOME='{}' exec '{}' --db '{}' --reviewer e2e",
        home.display(),
        support::bin().display(),
        db.display()
    );
    tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "s80",
        "-x",
        "80",
        "-y",
        "24",
        &cmd,
    ]);
    // Until every word shows (tmux may be captured while a frame is half drawn).
    let wait_for_all = |words: &[&str]| -> String {
        let mut screen = String::new();
        for _ in 0..200 {
            screen = tmux.screen("s80");
            if words.iter().all(|w| screen.contains(w)) {
                return screen;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("{words:?} never showed:\n{screen}");
    };
    let wait_for = |what: &str| wait_for_all(&[what, "?:help"]);
    let check = |screen: &str| {
        let bar = screen.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("");
        assert!(
            bar.trim_end().ends_with("?:help"),
            "status bar: {bar:?}\n{screen}"
        );
        assert!(
            bar.contains("no audit") || bar.contains("audit "),
            "{bar:?}"
        );
    };
    let list = wait_for("samples");
    check(&list);
    for (key, shows) in [
        ("A", "no audit of"),
        ("T", "train"),
        ("L", "first line"),
        ("Enter", "verdicts"),
    ] {
        tmux.run(&["send-keys", "-t", "s80", key]);
        let screen = wait_for(shows);
        check(&screen);
    }
    tmux.run(&["send-keys", "-t", "s80", "?"]);
    wait_for_all(&["decide", "move", "more: j/k scroll"]);
    tmux.run(&["send-keys", "-t", "s80", "Escape", "q"]);
}

#[test]
fn a_bulk_accept_asks_with_the_count_and_leaves_the_audit_for_a_person() {
    // 12 samples, 0 audited: B asks for all 12; with an audit drawn, the drawn ones stay.
    let (_d, mut h) = harness(12, 80, 24, false);
    h.keys("a");
    h.keys("B");
    let f = h.frame();
    assert!(f.contains("enter: accept 11 unreviewed as a rule"), "{f}");
    h.keys("esc");
    assert!(h.app.prompt.is_none());
    assert_eq!(h.store.reviews(2).unwrap().len(), 0, "esc decided nothing");
    h.keys("B enter");
    let f = h.frame();
    assert!(
        f.contains("accepted 11 samples as a rule (committed)"),
        "{f}"
    );
    let rules: i64 = h
        .store
        .conn()
        .query_row(
            "SELECT count(*) FROM reviews WHERE rule LIKE 'tui: dataset:%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(rules, 11);
    assert!(status_bar(&f).contains("12/12 reviewed"), "{f}");

    let (_d, mut h) = harness(12, 80, 24, true);
    h.keys("B");
    let f = h.frame();
    assert!(
        f.contains("no unreviewed sample here to decide by rule (12 drawn for the audit"),
        "{f}"
    );
}
