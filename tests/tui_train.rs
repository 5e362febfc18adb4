//! The train screen: recorded runs (live, failed, finished) with their charts and log tails as
//! insta snapshots at 80x24 and 160x48, two runs overlaid, the new-run form (each trainer's
//! fields) and its audit gate with the waiver offered, stop from the keyboard after a yes, no ETA
//! once a run is stopped, a new point on the chart after one tick, and a run started from the TUI
//! that a reopened TUI shows again, its form opening on the values it was started with.

use assay::store::{NewRun, RunPoint, RunStatus, Store};
use assay::tui::app::{Effect, Msg, Prompt};
use assay::tui::harness::{Harness, fixture_store};
use assay::tui::train_worker::TrainRequest;
use assay::tui::worker::Request;
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
        f.contains("the audit gate refused"),
        "the gate refuses an unaudited dataset:\n{f}"
    );
    // The waiver's prompt, the form, then the screen.
    hs.keys("esc esc esc");
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
    assert!(
        matches!(hs.app.prompt, Some(Prompt::StopRun { run_id: 3, .. })),
        "s asks first"
    );
    hs.keys("esc");
    assert!(
        !hs.store.run(3).unwrap().stop_requested,
        "esc keeps it running"
    );
    hs.keys("s n");
    assert!(
        !hs.store.run(3).unwrap().stop_requested,
        "n keeps it running"
    );
    hs.keys("s enter");
    let run = hs.store.run(3).unwrap();
    assert!(run.stop_requested);
    assert_eq!(run.status, RunStatus::Stopping);
    hs.keys("j s");
    assert!(hs.app.prompt.is_none(), "an ended run is not asked about");
    assert!(
        !hs.store.run(2).unwrap().stop_requested,
        "an ended run is left alone"
    );
    hs.keys("n");
    for _ in 0..3 {
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

/// The form per trainer and the stop question, at 80x24.
#[test]
fn form_per_trainer_and_stop_question_80x24() {
    let dir = tempfile::tempdir().unwrap();
    let mut hs = harness(&dir, 80, 24);
    hs.keys("T s");
    let f = hs.frame();
    assert!(
        f.contains("stop run #3 (cmd on 税务问答, step 20/40)?"),
        "{f}"
    );
    insta::assert_snapshot!("train_stop_confirm_80x24", f);
    hs.keys("esc n");
    // The default base is a machine-specific path: a stable one for the pictures.
    hs.app
        .train
        .form
        .as_mut()
        .unwrap()
        .set("model", "base.gguf");
    let f = hs.frame();
    assert!(!f.contains("template") && !f.contains("command"), "{f}");
    insta::assert_snapshot!("train_form_builtin_80x24", f);
    hs.keys("down right");
    let f = hs.frame();
    assert!(f.contains("template") && f.contains("rank"), "{f}");
    insta::assert_snapshot!("train_form_llamafactory_80x24", f);
    hs.keys("right");
    let f = hs.frame();
    assert!(f.contains("command") && !f.contains("rank"), "{f}");
    insta::assert_snapshot!("train_form_cmd_80x24", f);
    // The cursor stayed on the trainer through both switches.
    let form = hs.app.train.form.as_ref().unwrap();
    assert_eq!(form.fields[form.focus].name, "trainer");
}

/// A stopped run (or one being stopped) shows no ETA; a running one with a rate does.
#[test]
fn only_a_running_run_shows_an_eta() {
    let dir = tempfile::tempdir().unwrap();
    let mut hs = harness(&dir, 160, 48);
    hs.keys("T");
    let head = |hs: &mut Harness| hs.frame().lines().nth(1).unwrap_or("").to_string();
    assert!(head(&mut hs).contains("ETA 40s"), "{}", head(&mut hs));
    hs.keys("s y");
    assert_eq!(hs.app.train.selected().unwrap().status, RunStatus::Stopping);
    assert!(!head(&mut hs).contains("ETA"), "{}", head(&mut hs));
    hs.store
        .finish_run(3, RunStatus::Stopped, Some(0), None, &[])
        .unwrap();
    hs.app.update(Msg::Tick);
    hs.settle();
    assert_eq!(hs.app.train.selected().unwrap().status, RunStatus::Stopped);
    let h = head(&mut hs);
    assert!(
        h.contains("stopped") && h.contains("step/s") && !h.contains("ETA"),
        "{h}"
    );
}

/// Ticks, and the polls they send: counted, never timed.
fn tick_polls(hs: &mut Harness) -> usize {
    hs.app.update(Msg::Tick);
    let polls = hs
        .app
        .outbox
        .iter()
        .filter(|e| matches!(e, Effect::Db(Request::Train(TrainRequest::Runs))))
        .count();
    hs.settle();
    polls
}

/// While a run is active, every tick polls, so a new point is on the chart one tick (at most a
/// second) after the trainer logged it; with none active, one tick in IDLE_POLL_TICKS reads.
#[test]
fn a_new_point_reaches_the_chart_on_the_next_tick() {
    assert!(assay::tui::TICK <= Duration::from_secs(1));
    let dir = tempfile::tempdir().unwrap();
    let mut hs = harness(&dir, 160, 48);
    hs.keys("T");
    assert_eq!(hs.app.train.points_of(3).len(), 20);
    for step in 21..=23 {
        let point = RunPoint {
            step,
            total_steps: Some(40),
            loss: Some(0.5),
            elapsed_s: step as f64 * 2.0,
            ..RunPoint::default()
        };
        hs.store.add_run_points(3, &[point], None).unwrap();
        assert_eq!(tick_polls(&mut hs), 1, "a live run polls every tick");
        assert_eq!(hs.app.train.points_of(3).len(), step as usize);
        let f = hs.frame();
        assert!(f.contains(&format!("step {step}/40")), "{f}");
    }
    // The run ends: the next tick sees it, then the list is read once per IDLE_POLL_TICKS.
    hs.store
        .finish_run(3, RunStatus::Completed, Some(0), None, &[])
        .unwrap();
    assert_eq!(tick_polls(&mut hs), 1);
    assert!(hs.app.train.runs.iter().all(|r| !r.status.is_active()));
    let idle = assay::tui::screens::train::IDLE_POLL_TICKS as usize;
    let polls: Vec<usize> = (0..idle * 3).map(|_| tick_polls(&mut hs)).collect();
    assert_eq!(polls.iter().sum::<usize>(), 3, "{polls:?}");
    assert_eq!(polls[idle - 1], 1, "{polls:?}");
    // The form open: no polls at all; other screens neither.
    hs.keys("n");
    assert_eq!((0..idle).map(|_| tick_polls(&mut hs)).sum::<usize>(), 0);
    hs.keys("esc L");
    assert_eq!((0..idle).map(|_| tick_polls(&mut hs)).sum::<usize>(), 0);
}

/// The fixture with every sample accepted but no audit drawn: the gate refuses.
fn accepted_unaudited(db: &std::path::Path) -> (Store, i64) {
    let mut store = fixture_store(db, 12).unwrap();
    let ds = store.dataset_id("税务问答").unwrap().unwrap();
    for id in 1..=12 {
        let rev = store.sample(id).unwrap().head.id;
        store
            .add_review(id, rev, "tester", assay::model::Decision::Accept, "")
            .unwrap();
    }
    (store, ds)
}

fn wait_until_done(hs: &Harness, run_id: i64) -> assay::store::RunInfo {
    let start = Instant::now();
    loop {
        let run = hs.store.run(run_id).unwrap();
        if !run.status.is_active() {
            return run;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "{run:#?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn script() -> String {
    format!(
        "sh {}/tests/scripts/hf_trainer.sh",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// The gate refuses; the form offers a waiver; an empty reason or esc keeps the refusal; a
/// reason starts the run, recorded as `assay train --force REASON` records it.
#[test]
fn a_refused_start_offers_a_waiver_that_needs_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (store, ds) = accepted_unaudited(&dir.path().join("s.db"));
    let mut hs = Harness::new(store, 80, 24, None).unwrap();
    hs.app.train.exe = Some(env!("CARGO_BIN_EXE_assay").into());
    hs.keys("T n down left down");
    // Relative to the working directory, which the run's command is started in: a picture
    // that is the same on every machine.
    hs.type_text("sh tests/scripts/hf_trainer.sh");
    // The model field starts on a machine-specific path, too.
    hs.app.train.form.as_mut().unwrap().set("model", "my-model");
    hs.keys("enter");
    assert!(
        matches!(hs.app.prompt, Some(Prompt::Waiver { .. })),
        "{}",
        hs.frame()
    );
    assert!(hs.store.runs().unwrap().is_empty());
    // Enter without a reason: still refused, still asking.
    hs.keys("enter");
    assert!(matches!(hs.app.prompt, Some(Prompt::Waiver { .. })));
    hs.type_text("   ");
    hs.keys("enter");
    assert!(hs.frame().contains("a waiver needs a reason"));
    // Esc: the refusal stands, the form stays.
    hs.keys("esc");
    assert!(hs.app.prompt.is_none() && hs.app.train.form.is_some());
    assert!(hs.frame().contains("Enter asks again"));
    assert!(hs.store.runs().unwrap().is_empty());
    assert!(hs.store.waivers(ds).unwrap().is_empty(), "nothing waived");
    hs.keys("enter");
    hs.type_text("smoke test of the script");
    let f = hs.frame();
    assert!(f.contains("marked as waived"), "{f}");
    insta::assert_snapshot!("train_waiver_80x24", f);
    hs.keys("enter");
    assert!(hs.app.train.form.is_none(), "{}", hs.frame());
    assert!(hs.frame().contains("audit waived"), "{}", hs.frame());
    let waivers = hs.store.waivers(ds).unwrap();
    assert_eq!(waivers.len(), 1);
    assert_eq!(
        (waivers[0].reason.as_str(), waivers[0].who.as_str()),
        ("smoke test of the script", "tester")
    );
    let run = wait_until_done(&hs, 1);
    assert_eq!(run.status, RunStatus::Completed, "{run:#?}");
    let audit = run.config["audit"].to_string();
    assert!(audit.contains("Audit waived"), "{audit}");
    assert!(audit.contains("smoke test of the script"), "{audit}");
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
    hs.keys("T n down left down");
    hs.type_text(&script());
    // The model field starts on the built-in trainer's base; {model} gets this instead.
    hs.app.train.form.as_mut().unwrap().set("model", "my-model");
    hs.keys("enter");
    assert!(hs.app.train.form.is_none(), "{}", hs.frame());
    let run = wait_until_done(&hs, 1);
    assert_eq!(run.status, RunStatus::Completed, "{run:#?}");
    hs.app.update(Msg::Tick);
    hs.settle();
    let f = hs.frame();
    assert!(f.contains("#1 cmd · completed · step 4/4"), "{f}");
    // The same session's next form opens on what the run was started with.
    hs.keys("n");
    let form = hs.app.train.form.as_ref().unwrap();
    assert_eq!(
        (form.trainer(), form.get("command")),
        ("cmd".into(), script())
    );
    hs.keys("esc");
    drop(hs);
    let kept = std::fs::read_to_string(dir.path().join("train-form.json")).unwrap();
    assert!(!kept.contains("dataset"), "{kept}");
    let mut again = Harness::new(Store::open(&db).unwrap(), 120, 40, None).unwrap();
    again.keys("T");
    let f = again.frame();
    assert!(f.contains("completed"), "{f}");
    assert!(f.contains("trainer exited with code 0"), "{f}");
    assert_eq!(again.app.train.points_of(1).len(), 5);
    // A new session's form too: the trainer, its fields, the values.
    again.keys("n");
    let form = again.app.train.form.as_ref().unwrap();
    assert_eq!(
        (form.trainer(), form.get("command"), form.get("model")),
        ("cmd".into(), script(), "my-model".into())
    );
    let f = again.frame();
    assert!(
        f.contains("new training run · cmd") && !f.contains("rank"),
        "{f}"
    );
}
