//! Crash harness: the real binary is SIGKILLed at seeded random moments during import, review
//! (the TUI in tmux), generation (`assay gen questions` against the test server) and training
//! (`assay train` on a tiny random llama), and after every kill the database must be sound,
//! every decision shown as done present, and the rerun must finish with nothing lost or doubled.
//! `ASSAY_KILLS` sets the kills per part (CI runs a bounded count), `ASSAY_SEED` replays a run.

#[path = "support/reliability.rs"]
mod rel;
mod support;
#[path = "support/tiny_model.rs"]
mod tiny_model;

use assay::model::ReviewStatus;
use assay::store::Store;
use rand::Rng;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::fixtures::{endpoint_env, gen_questions_args};
use support::{Reply, SeenRequest, TestServer};

fn samples_in(db: &Path, dataset: &str) -> (i64, i64) {
    let store = Store::open(db).unwrap();
    let Some(id) = store.dataset_id(dataset).unwrap() else {
        return (0, 0);
    };
    store
        .conn()
        .query_row(
            "SELECT count(*), count(DISTINCT content_hash) FROM samples WHERE dataset_id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
}

/// Kills `child` after `delay`; true when it was still running (a real crash, not a late kill).
fn kill_after(child: &mut std::process::Child, delay: Duration) -> bool {
    let until = Instant::now() + delay;
    while Instant::now() < until {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5).min(until - Instant::now()));
    }
    // A child reaped by try_wait is not killed: its pid may already belong to another process.
    let alive = child.try_wait().unwrap().is_none();
    if alive {
        rel::kill9(child.id());
    }
    let _ = child.wait();
    alive
}

// ---------------------------------------------------------------------------------------------
// Import

const IMPORT_RECORDS: usize = 60_000;

#[test]
fn import_killed_at_random_keeps_a_sound_file_and_reruns_to_a_no_op() {
    let kills = rel::kills(50);
    let mut rng = rel::rng("crash/import");
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("big.jsonl");
    let mut text = String::with_capacity(IMPORT_RECORDS * 80);
    for i in 0..IMPORT_RECORDS {
        text.push_str(&format!(
            "{{\"instruction\": \"问题 {i}: what is {i} + 1?\", \"output\": \"答案 {}\"}}\n",
            i + 1
        ));
    }
    std::fs::write(&input, text).unwrap();
    let db = dir.path().join("import.db");
    let import = || {
        let mut c = Command::new(rel::bin());
        c.arg("--db")
            .arg(&db)
            .env("ASSAY_HOME", dir.path().join("home"))
            .args(["import", "--dataset", "big"])
            .arg(&input)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    };
    // How long a whole import takes here, so the kills land across all of it.
    let scratch = dir.path().join("scratch.db");
    let t0 = Instant::now();
    let st = Command::new(rel::bin())
        .arg("--db")
        .arg(&scratch)
        .env("ASSAY_HOME", dir.path().join("home"))
        .args(["import", "--dataset", "big"])
        .arg(&input)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let full = t0.elapsed();

    let mut survived = 0;
    let mut attempts = 0;
    while survived < kills {
        attempts += 1;
        assert!(attempts < kills * 4, "too few kills landed mid-import");
        if samples_in(&db, "big").0 as usize == IMPORT_RECORDS {
            // Finished between kills: start over on a fresh file so kills keep landing mid-run.
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
            }
        }
        let delay = full.mul_f64(rng.random_range(0.05..1.1));
        let mut child = import().spawn().unwrap();
        if !kill_after(&mut child, delay) {
            continue;
        }
        survived += 1;
        assert_eq!(rel::integrity(&db), "ok", "after kill {survived}");
        let (n, distinct) = samples_in(&db, "big");
        assert_eq!(n, distinct, "a duplicate after kill {survived}");
        assert!(n as usize <= IMPORT_RECORDS);
    }
    // Rerun to the end: everything is there exactly once; a second rerun changes nothing.
    let out = import().output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        samples_in(&db, "big"),
        (IMPORT_RECORDS as i64, IMPORT_RECORDS as i64)
    );
    let again = import().output().unwrap();
    let said = String::from_utf8_lossy(&again.stdout);
    assert!(again.status.success(), "{said}");
    assert!(
        said.contains(&format!(
            "0 imported, {IMPORT_RECORDS} duplicates, 0 rejected"
        )),
        "{said}"
    );
    assert_eq!(
        samples_in(&db, "big"),
        (IMPORT_RECORDS as i64, IMPORT_RECORDS as i64)
    );
    assert!(!dir.path().join("big.jsonl.rejects.jsonl").exists());
    rel::figures(
        "crash/import",
        &format!(
            "{survived} kills survived mid-import ({attempts} runs), {IMPORT_RECORDS} records, \
             integrity ok after each, rerun imported 0 and lost 0"
        ),
    );
}

// ---------------------------------------------------------------------------------------------
// Generation

const ASPECTS: usize = 60;

fn gen_script(r: &SeenRequest) -> Reply {
    let t = r.last_user();
    let aspect = t
        .split("Aspect: ")
        .nth(1)
        .and_then(|s| s.split('.').next())
        .unwrap_or("?")
        .to_string();
    Reply::text(format!(
        "[\"First question on {aspect}?\", \"Second question on {aspect}?\"]"
    ))
}

fn gen_command(base_url: &str, dir: &Path, db: &Path) -> Command {
    let mut cmd = Command::new(rel::bin());
    cmd.envs(endpoint_env(
        db,
        &dir.join("home"),
        base_url,
        "sk-crash-canary",
    ))
    .env_remove("ASSAY_CONCURRENCY")
    .args(gen_questions_args("t", 4, ASPECTS))
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    cmd
}

/// Questions per aspect.
type PerAspect = std::collections::BTreeMap<String, Vec<String>>;

/// Per aspect, its questions; and the job's items by status.
fn gen_state(db: &Path) -> (PerAspect, Vec<(String, String)>) {
    let store = Store::open(db).unwrap();
    let mut per = PerAspect::new();
    if let Some(id) = store.dataset_id("qs").unwrap() {
        store
            .for_each_sample(&assay::store::Filter::dataset(id), |s| {
                per.entry(s.meta.aspect.clone().unwrap_or_default())
                    .or_default()
                    .push(s.head.content.question().unwrap_or("").to_string());
                Ok(())
            })
            .unwrap();
    }
    let items = match store.jobs().unwrap().first() {
        Some(j) => store
            .job_items(j.id, None)
            .unwrap()
            .into_iter()
            .map(|i| {
                (
                    i.input["aspect"].as_str().unwrap_or(&i.key).to_string(),
                    i.status,
                )
            })
            .collect(),
        None => Vec::new(),
    };
    (per, items)
}

fn check_gen(db: &Path, finished: bool) {
    let (per, items) = gen_state(db);
    for (aspect, qs) in &per {
        let want = vec![
            format!("First question on {aspect}?"),
            format!("Second question on {aspect}?"),
        ];
        assert_eq!(qs, &want, "aspect {aspect}: lost or doubled questions");
    }
    let done = items.iter().filter(|(_, s)| s == "done").count();
    // An item marked done has its samples; samples may precede their item's mark (resume
    // regenerates them from the cache, a no-op by content hash).
    for (aspect, status) in &items {
        assert!(
            status != "done" || per.contains_key(aspect),
            "item {aspect} is done but its questions are missing"
        );
    }
    assert!(
        per.len() >= done,
        "{} aspects stored, {done} items done",
        per.len()
    );
    if finished {
        assert_eq!(per.len(), ASPECTS);
        assert_eq!(done, ASPECTS, "{items:?}");
    }
}

#[test]
fn generation_killed_at_random_resumes_with_no_duplicate_and_no_lost_item() {
    let kills = rel::kills(50);
    let mut rng = rel::rng("crash/gen");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(TestServer::start(Duration::from_millis(30), gen_script));
    let dir = tempfile::tempdir().unwrap();
    let mut round = 0;
    let mut survived = 0;
    let mut attempts = 0;
    let mut resumed_jobs = 0;
    while survived < kills {
        round += 1;
        let db = dir.path().join(format!("gen{round}.db"));
        // Kill this job again and again until a run gets to its end on its own.
        loop {
            attempts += 1;
            assert!(attempts < kills * 6, "too few kills landed mid-job");
            let mut child = gen_command(&server.base_url, dir.path(), &db)
                .spawn()
                .unwrap();
            let delay = Duration::from_millis(rng.random_range(50..700));
            if !kill_after(&mut child, delay) {
                break;
            }
            survived += 1;
            assert_eq!(rel::integrity(&db), "ok", "after kill {survived}");
            check_gen(&db, false);
            if survived >= kills {
                break;
            }
        }
        let out = gen_command(&server.base_url, dir.path(), &db)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        check_gen(&db, true);
        resumed_jobs += 1;
    }
    rel::figures(
        "crash/gen",
        &format!(
            "{survived} kills survived mid-job ({attempts} runs, {resumed_jobs} jobs of \
             {ASPECTS} items resumed to done), 0 duplicates, 0 lost items"
        ),
    );
}

// ---------------------------------------------------------------------------------------------
// Training

#[test]
fn training_killed_at_random_resumes_from_its_checkpoint() {
    let kills = rel::kills(50);
    let mut rng = rel::rng("crash/train");
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("tiny");
    tiny_model::write_hf_folder(&base);
    let db = dir.path().join("t.db");
    let assay = |args: &[&str]| {
        let mut c = Command::new(rel::bin());
        c.arg("--db")
            .arg(&db)
            .env("ASSAY_HOME", dir.path().join("home"))
            .env("USER", "tester")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    };
    tiny_model::accepted_dataset(&db, "tiny-qa", 12);
    const STEPS: usize = 40;
    let out = dir.path().join("lora");
    let steps = STEPS.to_string();
    let train_args = |resume: bool| {
        let mut v = vec![
            "train",
            "--dataset",
            "tiny-qa",
            "--base",
            base.to_str().unwrap(),
            "--max-steps",
            &steps,
            "--batch-size",
            "2",
            "--max-seq-len",
            "64",
            "--eval-fraction",
            "0",
            "--checkpoint-every",
            "1",
            "--force",
            "crash test",
            "--out",
            out.to_str().unwrap(),
        ];
        if resume {
            v.push("--resume");
        }
        v.into_iter().map(String::from).collect::<Vec<_>>()
    };
    // One clean step timing for the kill window.
    let t0 = Instant::now();
    let first = assay(
        &train_args(false)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    )
    .output()
    .unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let full = t0.elapsed();
    std::fs::remove_dir_all(&out).unwrap();

    let mut survived = 0;
    let mut attempts = 0;
    let mut resumed_at = Vec::new();
    while survived < kills {
        attempts += 1;
        assert!(attempts < kills * 4, "too few kills landed mid-training");
        let args = train_args(true);
        let mut child = assay(&args.iter().map(String::as_str).collect::<Vec<_>>())
            .spawn()
            .unwrap();
        let delay = full.mul_f64(rng.random_range(0.1..0.6));
        if !kill_after(&mut child, delay) {
            // Ran to the end: start a fresh run so the kills keep landing mid-training.
            std::fs::remove_dir_all(&out).unwrap();
            continue;
        }
        survived += 1;
        assert_eq!(rel::integrity(&db), "ok");
        // The next run names the checkpoint it resumes from, and it is the newest complete one.
        if let Some(step) = latest_complete_checkpoint(&out) {
            resumed_at.push(step);
        }
    }
    // Resume to the end: the steps printed continue from the checkpoint, up to STEPS.
    let before = latest_complete_checkpoint(&out);
    let args = train_args(true);
    let last = assay(&args.iter().map(String::as_str).collect::<Vec<_>>())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&last.stderr);
    assert!(last.status.success(), "{stderr}");
    let steps_run: Vec<u64> = String::from_utf8_lossy(&last.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["step"]
                .as_u64()
                .unwrap()
        })
        .collect();
    let from = before.unwrap_or(0) as u64;
    let want: Vec<u64> = (from + 1..=STEPS as u64).collect();
    assert_eq!(steps_run, want, "{stderr}");
    if before.is_some() {
        assert!(stderr.contains("resumed from"), "{stderr}");
    }
    assert!(out.join("adapter_model.safetensors").is_file());
    rel::figures(
        "crash/train",
        &format!(
            "{survived} kills survived mid-training ({attempts} runs), resumed from checkpoints \
             at steps {resumed_at:?}, final run continued from step {from} to {STEPS}"
        ),
    );
}

/// The newest checkpoint whose trainer state was written whole.
fn latest_complete_checkpoint(out: &Path) -> Option<usize> {
    std::fs::read_dir(out)
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let n: usize = e
                .file_name()
                .to_str()?
                .strip_prefix("checkpoint-")?
                .parse()
                .ok()?;
            let text = std::fs::read_to_string(e.path().join("trainer_state.json")).ok()?;
            serde_json::from_str::<serde_json::Value>(&text).ok()?;
            Some(n)
        })
        .max()
}

// ---------------------------------------------------------------------------------------------
// Review

/// The "N done" figure of the status bar.
fn shown_done(screen: &str) -> Option<usize> {
    let at = screen.find(" done")?;
    screen[..at]
        .rsplit(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

#[test]
fn review_killed_at_random_keeps_every_decision_shown_as_done() {
    let dir = tempfile::tempdir().unwrap();
    let Some(tmux) = rel::Tmux::start(dir.path()) else {
        return;
    };
    let kills = rel::kills(50);
    let mut rng = rel::rng("crash/review");
    let mut shown_total = 0;
    let mut present_total = 0;
    for k in 0..kills {
        let db = dir.path().join(format!("r{k}.db"));
        drop(assay::tui::harness::fixture_store(&db, 20).unwrap());
        let name = format!("r{k}");
        tmux.start_tui(&name, dir.path(), &db, "crash");
        let start = Instant::now();
        while !tmux.screen(&name).contains("20 samples") {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "the TUI did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let pid = tmux.pid(&name);
        let n = rng.random_range(1..=14);
        let keys: Vec<&str> = (0..n)
            .map(|_| ["a", "x", "f"][rng.random_range(0..3)])
            .collect();
        for key in &keys {
            tmux.run(&["send-keys", "-t", &name, key]);
            if rng.random_bool(0.3) {
                std::thread::sleep(Duration::from_millis(rng.random_range(0..30)));
            }
        }
        std::thread::sleep(Duration::from_millis(rng.random_range(0..150)));
        // What the reviewer sees at the moment of the crash.
        let screen = tmux.screen(&name);
        rel::kill9(pid);
        let shown = shown_done(&screen).unwrap_or(0);
        let store = Store::open(&db).unwrap();
        assert_eq!(store.integrity_check().unwrap(), "ok");
        let mut present = 0;
        for (i, key) in keys.iter().enumerate() {
            let want = match *key {
                "a" => ReviewStatus::Accepted,
                "x" => ReviewStatus::Rejected,
                _ => ReviewStatus::Flagged,
            };
            let got = store.sample(i as i64 + 1).unwrap().status;
            if i < shown {
                assert_eq!(got, want, "kill {k}: #{} shown as done is missing", i + 1);
            } else {
                assert!(
                    got == want || got == ReviewStatus::Unreviewed,
                    "#{}: {got:?}",
                    i + 1
                );
            }
            present += usize::from(got == want);
        }
        assert!(present >= shown);
        shown_total += shown;
        present_total += present;
    }
    rel::figures(
        "crash/review",
        &format!(
            "{kills} kills survived mid-review, {shown_total} decisions shown as done all \
             present ({present_total} committed in all), integrity ok after each"
        ),
    );
}
