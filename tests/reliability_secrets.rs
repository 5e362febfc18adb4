//! Secrets: with a canary API key (from the environment, and from a config-file profile), every
//! pipeline runs through the real binary (questions, grounded answers, CoT, multiple choice,
//! the LLM judge), then an export, a SIGKILL mid-job, a server that echoes the key back in its
//! error bodies, and trace-level logging; then every byte written under the temp folder (the
//! database and its WAL, exports, rejects, logs, ASSAY_HOME) and every output is searched for
//! the key. Also: a config file holding a key that others can read is refused; a trainer that
//! prints its HF_TOKEN, WANDB_API_KEY and an `sk-` key of its own leaves none of them in the
//! database, `runs show` / `runs list` / `train` output or the run folder, whose folders and
//! logs are 0755 / 0644 under a 077 umask.

#[path = "support/reliability.rs"]
mod rel;
mod support;

use assay::model::{Content, Decision, SampleKind, Turn};
use assay::store::{Filter, Store};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;
use support::fixtures::{gen_questions_args, seed};
use support::{Reply, SeenRequest, TestServer};

const CANARY: &str = "sk-canary-7f3a9c1e5b2d4a6890cafe";
const PROFILE_CANARY: &str = "sk-profile-canary-0d15ea5e";

/// Answers every pipeline's prompts plausibly; one request in seven is refused with a body that
/// echoes the Authorization header back, as some proxies do.
fn script(r: &SeenRequest) -> Reply {
    if r.n % 7 == 3 {
        return Reply::StatusBody {
            code: 401,
            body: format!(
                "{{\"error\": {{\"message\": \"invalid key: {}\"}}}}",
                r.authorization.clone().unwrap_or_default()
            ),
        };
    }
    let t = r.last_user();
    let all = r.all_text();
    if let Some(rest) = t.split("Aspect: ").nth(1) {
        let a = rest.split('.').next().unwrap_or("?");
        Reply::text(format!("[\"What is {a} one?\", \"What is {a} two?\"]"))
    } else if t.contains("Answer the multiple-choice question") {
        Reply::text("The answer is B")
    } else if all.contains("olver") {
        Reply::text("The solver is right.\nThe answer is B")
    } else if t.contains("Solve the problem step by step") {
        Reply::text("Step 1: We add 2 and 2.\nStep 2: 2+2=4.\nThe answer is: 4")
    } else if t.contains("Write only the next step") || t.contains("Continue from there") {
        Reply::text("Step 2: 2+2=4.\nThe answer is: 4")
    } else if t.contains("assages") {
        Reply::text("Plants turn light into sugar.\nSources: [1]")
    } else {
        Reply::text(
            "{\"pass\": true, \"score\": 0.9, \"rationale\": \"fine\", \"first_wrong_step\": null}",
        )
    }
}

struct Env {
    dir: tempfile::TempDir,
    db: PathBuf,
    home: PathBuf,
    base_url: String,
    outputs: Vec<u8>,
}

impl Env {
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(rel::bin());
        c.env("ASSAY_DB", &self.db)
            .env("ASSAY_HOME", &self.home)
            .env("OPENAI_BASE_URL", &self.base_url)
            .env("OPENAI_API_KEY", CANARY)
            .env("ASSAY_MODEL", "m")
            .env("ASSAY_LOG", "trace")
            .env("ASSAY_TIMEOUT_SECS", "5")
            .env_remove("ASSAY_CONCURRENCY")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    }
    fn run(&mut self, args: &[&str]) -> Output {
        let out = self.cmd(args).output().unwrap();
        self.outputs.extend_from_slice(&out.stdout);
        self.outputs.extend_from_slice(&out.stderr);
        out
    }
    /// Runs a command that must succeed; a `gen` job may end with exit code 2 (some items
    /// failed on the echoing 401s, each with its reason).
    fn ok(&mut self, args: &[&str]) -> Output {
        let out = self.run(args);
        let partial = args.first() == Some(&"gen") && out.status.code() == Some(2);
        assert!(
            out.status.success() || partial,
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }
}

#[test]
fn the_canary_key_is_written_nowhere() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(TestServer::start(Duration::from_millis(2), script));
    let dir = tempfile::tempdir().unwrap();
    let mut env = Env {
        db: dir.path().join("s.db"),
        home: dir.path().join("home"),
        base_url: server.base_url.clone(),
        dir,
        outputs: Vec::new(),
    };
    let root = env.dir.path().to_path_buf();
    let mut pipelines = Vec::new();

    // Questions (some items fail on the echoing 401s: their reasons are stored and logged).
    let q = gen_questions_args("tax", 4, 12);
    env.ok(&q.iter().map(String::as_str).collect::<Vec<_>>());
    pipelines.push("gen questions");
    // Grounded answers over documents cut by `assay chunk`.
    let doc = root.join("doc.txt");
    std::fs::write(
        &doc,
        "Photosynthesis lets plants turn light into chemical energy stored in sugar.\n\n\
         The Great Wall was built over many centuries.\n",
    )
    .unwrap();
    env.ok(&["chunk", doc.to_str().unwrap(), "--dataset", "docs"]);
    env.ok(&[
        "gen",
        "answers",
        "--questions",
        "qs",
        "--documents",
        "docs",
        "--output",
        "grounded",
        "--lang",
        "en",
    ]);
    pipelines.push("gen answers");
    // CoT and multiple choice over seeded inputs.
    seed(
        &mut Store::open(&env.db).unwrap(),
        "maths",
        (0..4)
            .map(|i| {
                (
                    SampleKind::Qa,
                    Content {
                        turns: vec![Turn::user(format!("What is 2 + 2? ({i})"))],
                        golden: Some("4".into()),
                        ..Content::default()
                    },
                )
            })
            .collect(),
    );
    env.ok(&[
        "gen", "cot", "--input", "maths", "--output", "cot-out", "--budget", "6", "--lang", "en",
    ]);
    pipelines.push("gen cot");
    seed(
        &mut Store::open(&env.db).unwrap(),
        "mcq",
        (0..4)
            .map(|i| {
                (
                    SampleKind::MultipleChoice,
                    Content {
                        turns: vec![Turn::user(format!("Capital of France? ({i})"))],
                        options: vec!["Lyon".into(), "Paris".into(), "Nice".into()],
                        golden: Some("B".into()),
                        ..Content::default()
                    },
                )
            })
            .collect(),
    );
    env.ok(&[
        "gen", "mc", "--input", "mcq", "--output", "mc-out", "--lang", "en",
    ]);
    pipelines.push("gen mc");
    env.ok(&[
        "verify",
        "--dataset",
        "qs",
        "--verifier",
        "judge",
        "--lang",
        "en",
    ]);
    pipelines.push("verify judge");

    // The same through a config-file profile holding a second canary (mode 600: accepted).
    let config = env.home.join("config.toml");
    std::fs::create_dir_all(&env.home).unwrap();
    std::fs::write(
        &config,
        format!(
            "[profiles.canary]\nbase_url = \"{}\"\nmodel = \"m\"\napi_key = \"{PROFILE_CANARY}\"\n",
            server.base_url
        ),
    )
    .unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    env.ok(&[
        "gen",
        "questions",
        "--topic",
        "vat",
        "--dataset",
        "qs2",
        "-n",
        "2",
        "--lang",
        "en",
        "--aspect",
        "p1",
        "--aspect",
        "p2",
        "--aspect",
        "p3",
        "--generator-profile",
        "canary",
    ]);
    pipelines.push("gen questions (profile)");
    let via_profile = server
        .seen()
        .iter()
        .filter(|r| r.authorization.as_deref() == Some(&format!("Bearer {PROFILE_CANARY}")))
        .count();
    assert!(via_profile > 0, "the profile's key was not used");

    // Exports, every format and folder.
    for (fmt, name) in [
        ("alpaca", "e.jsonl"),
        ("sharegpt", "s.json"),
        ("openai", "o.jsonl"),
        ("llamafactory", "lf"),
        ("hf", "hf"),
    ] {
        let out = root.join("exports").join(name);
        std::fs::create_dir_all(root.join("exports")).unwrap();
        let r = env.run(&[
            "export",
            "--format",
            fmt,
            "--out",
            out.to_str().unwrap(),
            "--dataset",
            "qs",
            "--all",
            "--force",
            "canary test",
        ]);
        // 4: nothing written (every question-only sample skipped by this format).
        assert!(
            r.status.success() || r.status.code() == Some(4),
            "export {fmt}: {}",
            String::from_utf8_lossy(&r.stderr)
        );
    }

    // A crash mid-job, with the trace log on.
    let mut long = vec![
        "gen",
        "questions",
        "--topic",
        "kill",
        "--dataset",
        "qk",
        "-n",
        "2",
        "--lang",
        "en",
        "--concurrency",
        "2",
        "--no-cache",
    ];
    let many: Vec<String> = (0..200).map(|i| format!("k{i}")).collect();
    for a in &many {
        long.extend(["--aspect", a]);
    }
    let mut child = env.cmd(&long).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(400));
    rel::kill9(child.id());
    let _ = child.wait();

    // Search everything written. The config file is the user's own key store: left out.
    let mut files = 0;
    let mut bytes = 0;
    let mut found = Vec::new();
    for f in rel::files_under(&root) {
        if f == config {
            continue;
        }
        let data = std::fs::read(&f).unwrap();
        files += 1;
        bytes += data.len();
        for key in [CANARY, PROFILE_CANARY] {
            let n = rel::occurrences(&data, key.as_bytes());
            if n > 0 {
                found.push(format!("{}: {n}", f.display()));
            }
        }
    }
    for key in [CANARY, PROFILE_CANARY] {
        let n = rel::occurrences(&env.outputs, key.as_bytes());
        if n > 0 {
            found.push(format!("stdout/stderr: {n}"));
        }
    }
    assert!(
        env.db.with_extension("db-wal").exists() || files > 0,
        "nothing was written"
    );
    assert!(found.is_empty(), "the key was written: {found:?}");
    let echoed = server
        .seen()
        .iter()
        .filter(|r| r.n % 7 == 3 && r.authorization.is_some())
        .count();
    rel::figures(
        "secrets",
        &format!(
            "{} pipelines + 5 exports + 1 SIGKILL + {echoed} key-echoing error replies with \
             trace logging: {files} files ({bytes} bytes) and all output searched, 0 canary \
             occurrences",
            pipelines.len()
        ),
    );
}

#[test]
fn a_config_file_with_a_key_that_others_can_read_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let config = home.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[profiles.default]\nbase_url = \"http://127.0.0.1:9/v1\"\nmodel = \"m\"\napi_key = \"{PROFILE_CANARY}\"\n"
        ),
    )
    .unwrap();
    let generate = |mode: u32| {
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(mode)).unwrap();
        Command::new(rel::bin())
            .arg("--db")
            .arg(dir.path().join("c.db"))
            .env("ASSAY_HOME", &home)
            .env_remove("OPENAI_BASE_URL")
            .env_remove("OPENAI_API_KEY")
            .args([
                "gen",
                "questions",
                "--topic",
                "t",
                "--dataset",
                "d",
                "--aspect",
                "a",
                "-n",
                "1",
            ])
            .output()
            .unwrap()
    };
    for mode in [0o644, 0o604, 0o640] {
        let out = generate(mode);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "mode {mode:o} was accepted");
        assert!(
            err.contains(config.to_str().unwrap()) && err.contains("chmod 600"),
            "mode {mode:o}: {err}"
        );
        assert!(!err.contains(PROFILE_CANARY));
    }
    // Mode 600 passes the check (it then fails to reach the closed port, which is fine).
    let out = generate(0o600);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("chmod 600"), "{err}");
    // A file that only names an environment variable holds no secret: any mode is fine.
    std::fs::write(
        &config,
        "[profiles.default]\nbase_url = \"http://127.0.0.1:9/v1\"\nmodel = \"m\"\napi_key_env = \"NOPE_KEY\"\n",
    )
    .unwrap();
    let out = generate(0o644);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("chmod 600"));
}

#[test]
fn a_trainers_printed_secrets_are_scrubbed_and_run_files_get_plain_modes() {
    const HF: &str = "hf_trainer0canary0123456789abcdef";
    // Not shaped like any known key: only its variable's name gives it away.
    const WANDB: &str = "wandb-canary-4242-deadbeef-cafe";
    const OWN: &str = "sk-leaky-trainer-canary-5c0ffee0d15ea5e";
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let db = root.join("s.db");
    let mut outputs = Vec::new();
    let mut assay = |args: &[&str]| {
        // The binary under a private umask: the modes below must not come from it.
        let out = Command::new("sh")
            .arg("-c")
            .arg("umask 077; exec \"$0\" \"$@\"")
            .arg(rel::bin())
            .arg("--db")
            .arg(&db)
            .args(args)
            .env("USER", "tester")
            .env("HF_TOKEN", HF)
            .env("WANDB_API_KEY", WANDB)
            .output()
            .unwrap();
        outputs.extend_from_slice(&out.stdout);
        outputs.extend_from_slice(&out.stderr);
        out
    };
    assert!(assay(&["demo", "--no-tui", "--no-model"]).status.success());
    {
        let mut store = Store::open(&db).unwrap();
        let ds = store.require_dataset("alpaca-qa").unwrap();
        for r in store.list_page(&Filter::dataset(ds), None, 4).unwrap() {
            let rev = store.sample(r.id).unwrap().head.id;
            store
                .add_review(r.id, rev, "tester", Decision::Accept, "")
                .unwrap();
        }
    }
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scripts/leaky_trainer.sh");
    let cmd = format!("sh {}", script.display());
    let train = assay(&[
        "train",
        "--dataset",
        "alpaca-qa",
        "--force",
        "test",
        "--trainer",
        "cmd",
        "--cmd",
        &cmd,
    ]);
    // The trainer fails (exit 3): its last lines are kept and printed as the reason.
    assert!(!train.status.success());
    let err = String::from_utf8_lossy(&train.stderr);
    assert!(err.contains("[redacted]"), "{err}");
    let run = Store::open(&db).unwrap().runs().unwrap().remove(0);
    let id = run.id.to_string();
    let show = assay(&["runs", "show", &id]);
    assert!(show.status.success());
    assert!(String::from_utf8_lossy(&show.stdout).contains("[redacted]"));
    assert!(assay(&["runs", "list"]).status.success());
    // Both loss lines still became points: scrubbing leaves the rest of a line alone.
    assert_eq!(
        Store::open(&db)
            .unwrap()
            .run_points(run.id, 0)
            .unwrap()
            .len(),
        2
    );

    let run_dir = PathBuf::from(&run.out_dir);
    let train_log = std::fs::read_to_string(run_dir.join("train.log")).unwrap();
    assert!(train_log.contains("HF_TOKEN=[redacted]"), "{train_log}");
    assert!(train_log.contains("api_key='[redacted]'"), "{train_log}");
    let mut found = Vec::new();
    let files = rel::files_under(&root);
    for f in &files {
        let data = std::fs::read(f).unwrap();
        for key in [HF, WANDB, OWN] {
            if rel::occurrences(&data, key.as_bytes()) > 0 {
                found.push(format!("{key} in {}", f.display()));
            }
        }
    }
    for key in [HF, WANDB, OWN] {
        if rel::occurrences(&outputs, key.as_bytes()) > 0 {
            found.push(format!("{key} in the output"));
        }
    }
    assert!(found.is_empty(), "secrets written: {found:?}");
    assert!(files.iter().any(|f| f.ends_with("train.log")));

    // Modes, whatever the umask: folders 0755, logs and data 0644.
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    for d in [
        run_dir.clone(),
        run_dir.join("data"),
        run_dir.join("output"),
    ] {
        assert_eq!(mode(&d), 0o755, "{}", d.display());
    }
    for f in [
        "train.log",
        "supervisor.log",
        "data/README.md",
        "data/data/train.jsonl",
    ] {
        let p = run_dir.join(f);
        assert!(p.exists(), "{f}");
        assert_eq!(mode(&p), 0o644, "{f}");
    }
    assert_eq!(mode(&run_dir.join("data/data")), 0o755);
}
