//! The train screen: recorded runs (live, failed, finished) with their charts and log tails as
//! insta snapshots at 80x24 and 160x48, two runs overlaid, the new-run form and its audit gate,
//! stop from the keyboard, and a run started from the TUI that a reopened TUI shows again.

use assay::store::{NewRun, RunPoint, RunStatus, Store};
use assay::tui::app::Msg;
use assay::tui::harness::{Harness, fixture_store};
use std::time::{Duration, Instant};

fn record(store: &mut Store, ds: i64, scale: f64, status: RunStatus) -> i64 {
    let id = store
        .create_run(
            &NewRun {
                trainer: "cmd".into(),
                dataset_id: Some(ds),
                config: serde_json::json!({}),
                out_dir: String::new(),
            },
            &[],
        )
        .unwrap();
    store.start_run(id, std::process::id()).unwrap();
    let last = if status == RunStatus::Running { 20 } else { 40 };
    let points: Vec<RunPoint> = (1..=last)
        .map(|step| RunPoint {
            step,
            total_steps: Some(40),
            loss: Some(scale * (3.0 / (step as f64).sqrt() + 0.1 * ((step % 3) as f64))),
            eval_loss: (step % 10 == 0).then(|| scale * 2.0 / (step as f64).sqrt()),
            lr: Some(2e-4 * (1.0 - step as f64 / 40.0)),
            tokens_per_s: Some(800.0),
            elapsed_s: step as f64 * 2.0,
            ..RunPoint::default()
        })
        .collect();
    let tail: Vec<String> = (1..=3)
        .map(|i| format!("run {id} log line {i} \u{1b}[31mred\u{1b}[0m"))
        .collect();
    store.add_run_points(id, &points, Some(&tail)).unwrap();
    match status {
        RunStatus::Running => {}
        RunStatus::Failed => store
            .finish_run(
                id,
                status,
                Some(1),
                Some("the trainer exited with code 1; its last lines are kept"),
                &tail,
            )
            .unwrap(),
        _ => store.finish_run(id, status, Some(0), None, &tail).unwrap(),
    }
    id
}

fn harness(dir: &tempfile::TempDir, w: u16, h: u16) -> Harness {
    let mut store = fixture_store(&dir.path().join("s.db"), 40).unwrap();
    let ds = store.dataset_id("税务问答").unwrap().unwrap();
    record(&mut store, ds, 1.0, RunStatus::Completed);
    record(&mut store, ds, 0.8, RunStatus::Failed);
    record(&mut store, ds, 0.9, RunStatus::Running);
    Harness::new(store, w, h, None).unwrap()
}

fn screens(w: u16, h: u16) {
    let dir = tempfile::tempdir().unwrap();
    let mut hs = harness(&dir, w, h);
    let size = format!("{w}x{h}");
    hs.keys("T");
    insta::assert_snapshot!(format!("train_live_{size}"), hs.frame());
    hs.keys("j");
    insta::assert_snapshot!(format!("train_failed_{size}"), hs.frame());
    hs.keys("c j");
    let f = hs.frame();
    assert!(f.contains("vs #2"), "{f}");
    insta::assert_snapshot!(format!("train_compare_{size}"), f);
    hs.keys("n down down");
    // The default base is a machine-specific path: replace it for a stable picture.
    let model_len = hs
        .app
        .train
        .form
        .as_ref()
        .unwrap()
        .get("model")
        .chars()
        .count();
    hs.keys(&vec!["backspace"; model_len].join(" "));
    hs.type_text("base.gguf");
    insta::assert_snapshot!(format!("train_form_{size}"), hs.frame());
    hs.keys("enter");
    let f = hs.frame();
    assert!(
        f.contains("audit"),
        "the gate refuses an unaudited dataset:\n{f}"
    );
    hs.keys("esc esc");
    assert_eq!(hs.app.screen, assay::tui::app::Screen::List);
}

#[test]
fn train_screen_80x24() {
    screens(80, 24);
}

#[test]
fn train_screen_160x48() {
    screens(160, 48);
}

#[test]
fn stop_from_the_keyboard_and_bad_form_values() {
    let dir = tempfile::tempdir().unwrap();
    let mut hs = harness(&dir, 100, 30);
    hs.keys("T s");
    let run = hs.store.run(3).unwrap();
    assert!(run.stop_requested);
    assert_eq!(run.status, RunStatus::Stopping);
    hs.keys("j s");
    assert!(
        !hs.store.run(2).unwrap().stop_requested,
        "an ended run is left alone"
    );
    hs.keys("n");
    for _ in 0..5 {
        hs.keys("down");
    }
    hs.keys("backspace");
    hs.type_text("x");
    hs.keys("enter");
    let form = hs.app.train.form.as_ref().unwrap();
    let (field, why) = form.error.clone().unwrap();
    assert_eq!(form.fields[field].name, "rank");
    assert!(why.contains("\"x\""), "{why}");
    assert_eq!(hs.store.runs().unwrap().len(), 3, "no run was made");
}

/// A run started from the TUI goes on under its supervisor; a new TUI on the same database
/// shows it and its points.
#[test]
fn a_run_started_in_the_tui_is_shown_again_by_a_new_tui() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let mut store = fixture_store(&db, 12).unwrap();
    let ds = store.dataset_id("税务问答").unwrap().unwrap();
    assay::audit::draw(&mut store, ds, &assay::audit::DrawPlan::seeded(7)).unwrap();
    let audit = store.latest_audit(ds).unwrap().unwrap();
    for id in store.audit_sample_ids(audit.id).unwrap() {
        let rev = store.sample(id).unwrap().head.id;
        store
            .add_review(id, rev, "tester", assay::model::Decision::Accept, "")
            .unwrap();
    }
    let mut hs = Harness::new(store, 120, 40, None).unwrap();
    hs.app.train.exe = Some(env!("CARGO_BIN_EXE_assay").into());
    hs.keys("T n down left down down down");
    let script = format!(
        "sh {}/tests/scripts/hf_trainer.sh",
        env!("CARGO_MANIFEST_DIR")
    );
    hs.type_text(&script);
    hs.keys("enter");
    assert!(hs.app.train.form.is_none(), "{}", hs.frame());
    let start = Instant::now();
    loop {
        let run = hs.store.run(1).unwrap();
        if !run.status.is_active() {
            assert_eq!(run.status, RunStatus::Completed, "{run:#?}");
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "{run:#?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    hs.app.update(Msg::Tick);
    hs.settle();
    let f = hs.frame();
    assert!(f.contains("#1 cmd · completed · step 4/4"), "{f}");
    drop(hs);
    let mut again = Harness::new(Store::open(&db).unwrap(), 120, 40, None).unwrap();
    again.keys("T");
    let f = again.frame();
    assert!(f.contains("completed"), "{f}");
    assert!(f.contains("trainer exited with code 0"), "{f}");
    assert_eq!(again.app.train.points_of(1).len(), 5);
}
