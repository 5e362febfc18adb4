//! External trainers as real child processes of the real binary: LLaMA-Factory's
//! `trainer_log.jsonl` followed as it grows, Hugging Face Trainer lines among tqdm noise, stop
//! (SIGINT, then SIGTERM for a trainer that ignores SIGINT), a crash recorded with its exit
//! code and last lines, arguments that cannot inject shell commands, and a run that survives
//! the process that launched it. The trainers are the small sh scripts in tests/scripts.

use assay::model::Decision;
use assay::store::{Filter, RunInfo, RunStatus, Store};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

struct Env {
    dir: tempfile::TempDir,
    db: PathBuf,
}

fn script(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/scripts")
        .join(name)
        .display()
        .to_string()
}

impl Env {
    /// A database with the demo data and six accepted samples of `alpaca-qa`.
    fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("t.db");
        let env = Env { dir, db };
        let out = env.assay(&["demo", "--no-tui", "--no-model"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut store = Store::open(&env.db).unwrap();
        let ds = store.require_dataset("alpaca-qa").unwrap();
        for r in store.list_page(&Filter::dataset(ds), None, 6).unwrap() {
            let rev = store.sample(r.id).unwrap().head.id;
            store
                .add_review(r.id, rev, "tester", Decision::Accept, "")
                .unwrap();
        }
        env
    }

    fn assay(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_assay"))
            .arg("--db")
            .arg(&self.db)
            .args(args)
            .env("USER", "tester")
            .output()
            .unwrap()
    }

    /// `assay train` with an external trainer on the accepted samples, audit waived.
    fn train(&self, extra: &[&str]) -> Output {
        let base = ["train", "--dataset", "alpaca-qa", "--force", "test"];
        self.assay(&[&base[..], extra].concat())
    }

    fn store(&self) -> Store {
        Store::open(&self.db).unwrap()
    }

    /// The one run, polled until `done` says so (30 s at most: a hung run fails the test).
    fn wait_run(&self, done: impl Fn(&RunInfo, &Store) -> bool) -> RunInfo {
        let start = Instant::now();
        loop {
            let store = self.store();
            let run = store.runs().unwrap().remove(0);
            if done(&run, &store) {
                return run;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "run never reached the expected state: {run:#?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn ok(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn llamafactory_log_is_tailed_into_points() {
    let env = Env::new();
    let prog = script("fake_llamafactory.sh");
    let stdout = ok(&env.train(&[
        "--trainer",
        "llamafactory",
        "--program",
        &prog,
        "--model",
        "Qwen/Qwen2.5-0.5B-Instruct",
        "--template",
        "qwen",
        "--set",
        "bf16=true",
    ]));
    // Followed live: each point printed once, the partial line held back until complete.
    let printed: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(printed.len(), 5, "{stdout}");
    let store = env.store();
    let run = store.runs().unwrap().remove(0);
    assert_eq!(run.status, RunStatus::Completed);
    assert_eq!(run.exit_code, Some(0));
    assert_eq!(run.trainer, "llamafactory");
    assert_eq!(run.samples, 6);
    assert_eq!(store.run_snapshot(run.id).unwrap().len(), 6);
    let points: Vec<_> = store.run_points(run.id, 0).unwrap();
    let losses: Vec<_> = points.iter().filter_map(|p| p.1.loss).collect();
    assert_eq!(losses, vec![2.5, 2.0, 1.5, 1.0]);
    let last = &points.last().unwrap().1;
    assert_eq!((last.step, last.eval_loss), (4, Some(1.25)));
    assert_eq!(points[0].1.tokens_per_s, Some(100.5));
    assert_eq!(run.total_steps, Some(4));
    let out = Path::new(&run.out_dir);
    let yaml = std::fs::read_to_string(out.join("train.yaml")).unwrap();
    for line in [
        "model_name_or_path: \"Qwen/Qwen2.5-0.5B-Instruct\"",
        "finetuning_type: \"lora\"",
        "lora_rank: 8",
        "lora_target: \"q_proj,v_proj\"",
        "template: \"qwen\"",
        "bf16: true",
        "dataset: \"alpaca-qa\"",
    ] {
        assert!(yaml.lines().any(|l| l == line), "{line} missing:\n{yaml}");
    }
    let info: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("data/dataset_info.json")).unwrap())
            .unwrap();
    assert_eq!(info["alpaca-qa"]["formatting"], "sharegpt");
    let rows = std::fs::read_to_string(out.join("data/alpaca-qa.jsonl")).unwrap();
    assert_eq!(rows.lines().count(), 6);
    assert!(run.log_tail.iter().any(|l| l == "step 4 done"));
    assert!(run.artifacts.iter().any(|a| a.ends_with("output")));
    let config = &run.config;
    assert_eq!(config["spec"]["trainer"], "llamafactory");
    assert_eq!(config["launch"]["argv"][1], "train");
}

#[test]
fn hf_trainer_crash_is_recorded_with_exit_code_and_last_lines() {
    let env = Env::new();
    let cmd = format!("sh {} 3", script("hf_trainer.sh"));
    let out = env.train(&["--trainer", "cmd", "--cmd", &cmd]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("failed"), "{err}");
    assert!(err.contains("just kidding, last line"), "{err}");
    let store = env.store();
    let run = store.runs().unwrap().remove(0);
    assert_eq!(run.status, RunStatus::Failed);
    assert_eq!(run.exit_code, Some(3));
    assert!(run.message.unwrap().contains("exited with code 3"));
    assert!(
        run.log_tail
            .iter()
            .any(|l| l.contains("just kidding, last line"))
    );
    let points: Vec<_> = store
        .run_points(run.id, 0)
        .unwrap()
        .into_iter()
        .map(|p| p.1)
        .collect();
    let steps: Vec<_> = points
        .iter()
        .map(|p| (p.step, p.loss, p.eval_loss))
        .collect();
    assert_eq!(
        steps,
        vec![
            (1, Some(4.5), None),
            (2, Some(3.5), None),
            (3, Some(2.5), None),
            (4, Some(1.5), None),
            (4, None, Some(1.75))
        ]
    );
    assert_eq!(points[0].total_steps, Some(4));
    assert_eq!(points[0].lr, Some(2e-5));
    // The HF folder the command got as {data}.
    let data = Path::new(&run.out_dir).join("data/data/train.jsonl");
    assert_eq!(std::fs::read_to_string(data).unwrap().lines().count(), 6);
}

#[test]
fn names_cannot_inject_shell_commands() {
    let env = Env::new();
    let pwned = env.dir.path().join("pwned");
    let evil = format!(
        "x; touch {} $(touch {}) `touch {}`",
        pwned.display(),
        pwned.display(),
        pwned.display()
    );
    let cmd = format!("sh {} {{model}} {{output_dir}}", script("echo_args.sh"));
    ok(&env.train(&["--trainer", "cmd", "--cmd", &cmd, "--model", &evil]));
    let run = env.store().runs().unwrap().remove(0);
    assert_eq!(run.status, RunStatus::Completed);
    let args = std::fs::read_to_string(Path::new(&run.out_dir).join("output/args.txt")).unwrap();
    assert_eq!(
        args.lines().next(),
        Some(evil.as_str()),
        "one argument, verbatim"
    );
    // LLaMA-Factory: the model name goes into the YAML as an inert string, argv stays fixed.
    let out = env.train(&[
        "--trainer",
        "llamafactory",
        "--program",
        &script("fake_llamafactory.sh"),
        "--model",
        &evil,
    ]);
    ok(&out);
    assert!(!pwned.exists(), "a shell ran part of a name");
}

#[test]
fn stop_escalates_from_sigint_to_sigterm() {
    let env = Env::new();
    let cmd = format!("sh {}", script("stubborn.sh"));
    let out = ok(&env.train(&[
        "--trainer",
        "cmd",
        "--cmd",
        &cmd,
        "--detach",
        "--stop-grace",
        "0.5",
    ]));
    let id = out.trim().to_string();
    env.wait_run(|r, s| !s.run_points(r.id, 0).unwrap().is_empty());
    let stopped = env.assay(&["runs", "stop", &id]);
    assert!(stopped.status.success());
    let run = env.wait_run(|r, _| !r.status.is_active());
    assert_eq!(run.status, RunStatus::Stopped, "{run:#?}");
    assert_eq!(run.exit_code, Some(143));
    let tail = run.log_tail.join("\n");
    assert!(tail.contains("SIGINT sent"), "{tail}");
    assert!(tail.contains("Terminate sent"), "{tail}");
    assert!(tail.contains("got TERM"), "{tail}");
}

#[test]
fn a_detached_run_outlives_its_launcher() {
    let env = Env::new();
    let go = env.dir.path().join("go");
    let cmd = format!("sh {} 0 {}", script("hf_trainer.sh"), go.display());
    let out = env.train(&["--trainer", "cmd", "--cmd", &cmd, "--detach"]);
    let id = ok(&out);
    // The launcher has exited; the trainer is still waiting for `go`.
    let run = env.wait_run(|r, s| s.run_points(r.id, 0).unwrap().len() >= 4);
    assert!(run.status.is_active(), "{run:#?}");
    assert!(run.pid.is_some() && run.child_pid.is_some());
    let list = ok(&env.assay(&["runs", "list"]));
    assert!(list.contains("running"), "{list}");
    std::fs::write(&go, "").unwrap();
    let run = env.wait_run(|r, _| !r.status.is_active());
    assert_eq!(run.status, RunStatus::Completed, "{run:#?}");
    assert_eq!(run.id.to_string(), id.trim());
    assert_eq!(env.store().run_points(run.id, 0).unwrap().len(), 5);
    let shown: serde_json::Value =
        serde_json::from_str(&ok(&env.assay(&["runs", "show", id.trim()]))).unwrap();
    assert_eq!(shown["status"], "completed");
    assert_eq!(shown["points_logged"], 5);
}
