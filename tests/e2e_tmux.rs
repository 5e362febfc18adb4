//! The real binary in a real terminal (tmux): open, accept three samples, edit one, quit, and
//! check the database; and SIGKILL right after decisions shown as done finds every one committed.
//! Skips with a loud notice when tmux is missing, unless ASSAY_REQUIRE_TMUX=1.

use assay::model::{Decision, ReviewStatus};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn tmux_available() -> bool {
    let ok = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("ASSAY_REQUIRE_TMUX").as_deref() != Ok("1"),
            "tmux is required (ASSAY_REQUIRE_TMUX=1) but not installed: apt-get install -y tmux"
        );
        eprintln!("\n!!!! SKIPPED: tmux is not installed (apt-get install -y tmux) !!!!\n");
    }
    ok
}

/// The binary under test; ASSAY_BIN overrides it (a shared target directory can be rebuilt by
/// another checkout while the test runs).
fn bin() -> String {
    std::env::var("ASSAY_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_assay").to_string())
}

struct Session {
    name: String,
    socket: String,
}

impl Session {
    fn start(dir: &Path, db: &Path, name: &str) -> Session {
        let socket = dir.join("tmux.sock").display().to_string();
        let cmd = format!(
            "ASSAY_HOME={} {} --db {} --reviewer e2e",
            dir.display(),
            bin(),
            db.display()
        );
        let st = Command::new("tmux")
            .args([
                "-S",
                &socket,
                "new-session",
                "-d",
                "-s",
                name,
                "-x",
                "100",
                "-y",
                "30",
                &cmd,
            ])
            .env_remove("TMUX")
            .status()
            .unwrap();
        assert!(st.success());
        Session {
            name: name.into(),
            socket,
        }
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-S", &self.socket])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            self.tmux(&["send-keys", "-t", &self.name, k]);
        }
    }

    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", &self.name])
    }

    /// Waits until the screen shows `text` (a generous limit: CI machines are slow).
    fn wait_for(&self, text: &str) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if s.contains(text) {
                return s;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "never saw {text:?}; screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn alive(&self) -> bool {
        Command::new("tmux")
            .args(["-S", &self.socket, "has-session", "-t", &self.name])
            .status()
            .is_ok_and(|s| s.success())
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-S", &self.socket, "kill-server"])
            .status();
    }
}

#[test]
fn open_accept_three_edit_one_quit() {
    if !tmux_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e2e.db");
    drop(assay::tui::harness::fixture_store(&db, 12).unwrap());
    let s = Session::start(dir.path(), &db, "e2e");
    s.wait_for("税务问答 · 12 samples");
    s.keys(&["a", "a", "a"]);
    s.wait_for("3 done");
    s.keys(&["e"]);
    s.wait_for("edit #4");
    s.keys(&["-l", "改"]);
    s.wait_for("modified");
    s.keys(&["C-s"]);
    s.wait_for("saved rev 2 of #4");
    s.keys(&["q"]);
    let start = Instant::now();
    while s.alive() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "assay did not quit"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let store = assay::store::Store::open(&db).unwrap();
    for id in 1..=3 {
        let s = store.sample(id).unwrap();
        assert_eq!(s.status, ReviewStatus::Accepted, "#{id}");
        let r = store.reviews(id).unwrap();
        assert_eq!(
            (r[0].reviewer.as_str(), r[0].decision),
            ("e2e", Decision::Accept)
        );
    }
    let revs = store.revisions(4).unwrap();
    assert_eq!(revs.len(), 2);
    assert!(revs[1].content.question().unwrap().starts_with("改"));
    assert_eq!(store.sample(5).unwrap().status, ReviewStatus::Unreviewed);
}

#[test]
fn sigkill_after_decisions_loses_nothing_shown_as_done() {
    if !tmux_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kill.db");
    drop(assay::tui::harness::fixture_store(&db, 20).unwrap());
    let s = Session::start(dir.path(), &db, "kill");
    s.wait_for("税务问答 · 20 samples");
    let pid = s.tmux(&["list-panes", "-t", "kill", "-F", "#{pane_pid}"]);
    let pid = pid.trim().to_string();
    s.keys(&["a", "x", "f", "a", "a", "x", "a"]);
    s.wait_for("7 done");
    // Killed the instant the screen says seven are done: all seven must be in the file.
    let st = Command::new("kill").args(["-9", &pid]).status().unwrap();
    assert!(st.success());
    let store = assay::store::Store::open(&db).unwrap();
    assert_eq!(store.integrity_check().unwrap(), "ok");
    let want = [
        ReviewStatus::Accepted,
        ReviewStatus::Rejected,
        ReviewStatus::Flagged,
        ReviewStatus::Accepted,
        ReviewStatus::Accepted,
        ReviewStatus::Rejected,
        ReviewStatus::Accepted,
    ];
    for (i, w) in want.iter().enumerate() {
        assert_eq!(store.sample(i as i64 + 1).unwrap().status, *w, "#{}", i + 1);
    }
}

/// Keys that arrive in one burst (as a laggy SSH link delivers them) are applied in order, each
/// to the state the previous one produced: a jump (`g`, `G`) is finished before the keys after
/// it move the cursor, and a decision lands before the next key acts.
#[test]
fn burst_keys_decide_on_the_samples_they_were_meant_for() {
    if !tmux_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("burst.db");
    drop(assay::tui::harness::fixture_store(&db, 60).unwrap());
    let s = Session::start(dir.path(), &db, "burst");
    s.wait_for("税务问答 · 60 samples");
    // One write each: tmux sends a literal string to the pane at once.
    s.keys(&["-l", "Gkkf"]);
    s.wait_for("1 done");
    s.keys(&["-l", "gjjf"]);
    s.wait_for("2 done");
    // 50 keys in one write: from the top, accept, skip, reject, 16 times, then accept.
    let burst = format!("g{}a", "ajx".repeat(16));
    assert_eq!(burst.len(), 50);
    s.keys(&["-l", &burst]);
    s.wait_for("35 done");
    s.keys(&["q"]);
    let start = Instant::now();
    while s.alive() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "assay did not quit"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let store = assay::store::Store::open(&db).unwrap();
    let status = |id: i64| store.sample(id).unwrap().status;
    assert_eq!(status(58), ReviewStatus::Flagged, "G k k f flags #58");
    assert_eq!(
        status(3),
        ReviewStatus::Rejected,
        "g j j f flagged #3, then x rejected it"
    );
    for k in 0..16 {
        let c = 1 + 3 * k;
        assert_eq!(status(c), ReviewStatus::Accepted, "#{c}");
        assert_eq!(status(c + 1), ReviewStatus::Unreviewed, "#{}", c + 1);
        assert_eq!(status(c + 2), ReviewStatus::Rejected, "#{}", c + 2);
    }
    assert_eq!(status(49), ReviewStatus::Accepted);
    assert_eq!(status(50), ReviewStatus::Unreviewed);
    // Every decision is on the revision the reviewer saw.
    let flags = store.reviews(3).unwrap();
    assert_eq!(flags[0].decision, Decision::Flag);
    assert_eq!(flags[0].revision_id, store.sample(3).unwrap().head.id);
}
