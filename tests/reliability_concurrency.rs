//! Concurrency: four reviewing processes (the real TUI in tmux, each with its own reviewer name)
//! and one generating process (`assay gen questions` against the test server) on one database
//! file. Every decision and every generated sample lands, counted in the file afterwards, and
//! "database is locked" reaches no screen, no output and no log. Also: five processes opening
//! a database that does not exist yet, at once (each runs the migrations).

#[path = "support/reliability.rs"]
mod rel;
mod support;

use assay::store::{Filter, Store};
use rand::Rng;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::fixtures::{endpoint_env, gen_questions_args};
use support::{Reply, TestServer};

const REVIEWERS: usize = 4;
const DECISIONS: usize = 60;
const ASPECTS: usize = 150;

fn says_locked(text: &str) -> bool {
    let t = text.to_lowercase();
    t.contains("database is locked") || t.contains("database is busy") || t.contains("sqlite_busy")
}

#[test]
fn four_reviewers_and_a_generator_on_one_file_lose_no_write() {
    let dir = tempfile::tempdir().unwrap();
    let Some(tmux) = rel::Tmux::start(dir.path()) else {
        return;
    };
    let mut rng = rel::rng("concurrency");
    let db = dir.path().join("shared.db");
    let home = dir.path().join("home");
    drop(assay::tui::harness::fixture_store(&db, DECISIONS + 20).unwrap());
    let mut names = Vec::new();
    for r in 0..REVIEWERS {
        let name = format!("rev{r}");
        tmux.start_tui(&name, &home, &db, &name);
        names.push(name);
    }
    for name in &names {
        let start = Instant::now();
        while !tmux.screen(name).contains(" samples") {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "{name} did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(TestServer::start(Duration::from_millis(2), |r| {
        let aspect = r
            .last_user()
            .split("Aspect: ")
            .nth(1)
            .and_then(|s| s.split('.').next())
            .unwrap_or("?")
            .to_string();
        Reply::text(format!("[\"One on {aspect}?\", \"Two on {aspect}?\"]"))
    }));
    let mut gen_cmd = Command::new(rel::bin());
    gen_cmd
        .envs(endpoint_env(&db, &home, &server.base_url, "sk-concurrency"))
        .env_remove("ASSAY_CONCURRENCY")
        .args(gen_questions_args("t", 8, ASPECTS))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let generator = gen_cmd.spawn().unwrap();

    // The four reviewers decide in interleaved bursts while the generator writes.
    let keys = ["a", "x", "f"];
    let mut plan: Vec<Vec<&str>> = (0..REVIEWERS)
        .map(|_| {
            (0..DECISIONS)
                .map(|_| keys[rng.random_range(0..3)])
                .collect()
        })
        .collect();
    let mut sent = [0usize; REVIEWERS];
    while sent.iter().any(|s| *s < DECISIONS) {
        for r in 0..REVIEWERS {
            let burst = rng.random_range(1..=6).min(DECISIONS - sent[r]);
            if burst == 0 {
                continue;
            }
            let mut args = vec!["send-keys", "-t", names[r].as_str()];
            args.extend(&plan[r][sent[r]..sent[r] + burst]);
            tmux.run(&args);
            sent[r] += burst;
        }
        std::thread::sleep(Duration::from_millis(rng.random_range(0..20)));
    }
    let mut screens = Vec::new();
    for name in &names {
        let start = Instant::now();
        let want = format!("{DECISIONS} done");
        loop {
            let s = tmux.screen(name);
            assert!(!says_locked(&s), "{name}'s screen: {s}");
            if s.contains(&want) {
                screens.push(s);
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "{name} never showed {want}:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        tmux.run(&["send-keys", "-t", name, "q"]);
    }
    let out = generator.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!says_locked(&stderr), "{stderr}");

    // Count every write in the file.
    let store = Store::open(&db).unwrap();
    assert_eq!(store.integrity_check().unwrap(), "ok");
    let mut reviews_checked = 0;
    for (r, decisions) in plan.iter_mut().enumerate() {
        let reviewer = format!("rev{r}");
        for (i, key) in decisions.iter().enumerate() {
            let mine: Vec<_> = store
                .reviews(i as i64 + 1)
                .unwrap()
                .into_iter()
                .filter(|rv| rv.reviewer == reviewer)
                .collect();
            assert_eq!(mine.len(), 1, "{reviewer} on #{}: {mine:?}", i + 1);
            let want = match *key {
                "a" => assay::model::Decision::Accept,
                "x" => assay::model::Decision::Reject,
                _ => assay::model::Decision::Flag,
            };
            assert_eq!(mine[0].decision, want, "{reviewer} on #{}", i + 1);
            reviews_checked += 1;
        }
    }
    let qs = store.dataset_id("qs").unwrap().unwrap();
    let generated = store.count(&Filter::dataset(qs)).unwrap() as usize;
    assert_eq!(generated, 2 * ASPECTS);
    let job = store.jobs().unwrap().remove(0);
    assert_eq!(job.items.get("done").copied(), Some(ASPECTS as u64));
    let log = std::fs::read_to_string(home.join("logs/assay.log")).unwrap_or_default();
    assert!(!says_locked(&log), "the log says the database was locked");
    rel::figures(
        "concurrency",
        &format!(
            "{REVIEWERS} TUI reviewers + 1 generator on one file: {reviews_checked} decisions \
             and {generated} generated samples ({ASPECTS} job items) checked present, 0 \
             \"database is locked\" on screens, output or log"
        ),
    );
}

#[test]
fn five_processes_creating_the_same_database_at_once_all_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let rounds = 6;
    let mut runs = 0;
    // `import` creates the database it is pointed at (read-only commands such as `stats`
    // refuse a missing one); every process imports the same record, one stores it.
    let data = dir.path().join("one.jsonl");
    std::fs::write(&data, "{\"instruction\": \"1+1?\", \"output\": \"2\"}\n").unwrap();
    for round in 0..rounds {
        let db = dir.path().join(format!("fresh{round}.db"));
        let children: Vec<_> = (0..5)
            .map(|_| {
                Command::new(rel::bin())
                    .arg("--db")
                    .arg(&db)
                    .env("ASSAY_HOME", dir.path().join("home"))
                    .arg("import")
                    .arg(&data)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for c in children {
            let out = c.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "round {round}: {stderr}");
            assert!(!says_locked(&stderr), "{stderr}");
            runs += 1;
        }
        assert_eq!(rel::integrity(&db), "ok");
    }
    rel::figures(
        "concurrency/first-open",
        &format!("{runs} processes opened {rounds} new databases 5 at a time, 0 failures"),
    );
}
