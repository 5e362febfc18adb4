//! Kill-and-resume of a real `assay gen questions` process: the binary is killed (SIGKILL)
//! midway through a job, rerun with the same command, and every aspect ends with exactly its
//! questions: no duplicate and no lost item.

mod support;

use assay::store::{Filter, Store};
use std::process::Stdio;
use std::time::Duration;
use support::fixtures::{endpoint_env, gen_questions_args};
use support::{Reply, SeenRequest, TestServer};

const ASPECTS: usize = 24;

fn command(server: &TestServer, dir: &std::path::Path) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_assay"));
    cmd.envs(endpoint_env(
        &dir.join("a.db"),
        &dir.join("home"),
        &server.base_url,
        "sk-resume-secret",
    ))
    .env_remove("ASSAY_CONCURRENCY")
    .args(gen_questions_args("t", 2, ASPECTS))
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .kill_on_drop(true);
    cmd
}

fn script(r: &SeenRequest) -> Reply {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_job_resumes_with_no_duplicate_and_no_lost_item() {
    let server = TestServer::start(Duration::from_millis(150), script).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");

    let mut child = command(&server, dir.path()).spawn().unwrap();
    // Wait until some, not all, items are done, then kill without warning.
    let mut done_before_kill = 0;
    for _ in 0..600 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if !db.exists() {
            continue;
        }
        let Ok(store) = Store::open(&db) else {
            continue;
        };
        if let Some(job) = store.jobs().ok().and_then(|j| j.into_iter().next()) {
            done_before_kill = job.items.get("done").copied().unwrap_or(0);
            if done_before_kill >= 4 {
                break;
            }
        }
    }
    child.kill().await.unwrap();
    assert!(
        done_before_kill >= 4 && (done_before_kill as usize) < ASPECTS,
        "done {done_before_kill}"
    );

    let out = command(&server, dir.path()).output().await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["status"], "done");
    assert_eq!(summary["done"], ASPECTS);

    let store = Store::open(&db).unwrap();
    let id = store.dataset_id("qs").unwrap().unwrap();
    let mut per_aspect = std::collections::BTreeMap::<String, Vec<String>>::new();
    store
        .for_each_sample(&Filter::dataset(id), |s| {
            per_aspect
                .entry(s.meta.aspect.clone().unwrap())
                .or_default()
                .push(s.head.content.question().unwrap().to_string());
            Ok(())
        })
        .unwrap();
    assert_eq!(per_aspect.len(), ASPECTS);
    for (aspect, qs) in &per_aspect {
        assert_eq!(
            qs,
            &vec![
                format!("First question on {aspect}?"),
                format!("Second question on {aspect}?")
            ]
        );
    }
    let job = store.jobs().unwrap().remove(0);
    assert_eq!(job.items.get("done").copied(), Some(ASPECTS as u64));
    // Items done before the kill were not asked again: at most the two in flight were.
    assert!(server.count() <= ASPECTS + 2, "{} requests", server.count());
    // `assay gen jobs` and `assay gen show` report the same from another process.
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
    let jobs = run(&["gen", "jobs"]);
    assert_eq!(jobs[0]["items"]["done"], ASPECTS);
    assert_eq!(jobs[0]["status"], "done");
    let shown = run(&["gen", "show", &job.id.to_string()]);
    assert_eq!(shown["items"].as_array().unwrap().len(), ASPECTS);
    assert!(
        shown["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["status"] == "done")
    );
    // The key reached neither the database nor the log.
    for f in [db.clone(), dir.path().join("home/logs/assay.log")] {
        if let Ok(bytes) = std::fs::read(&f) {
            let key = b"sk-resume-secret";
            assert!(
                !bytes.windows(key.len()).any(|w| w == key),
                "{}",
                f.display()
            );
        }
    }
}
