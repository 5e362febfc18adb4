//! `assay runs attach` on the real binary, following a bundle's `trainer_log.jsonl` while a
//! writer process appends to it (each line in two writes, so partial lines occur):
//! - from a shared folder, with a Ctrl-C in the middle and a second attach that resumes, while
//!   `assay runs show --follow` prints the points as for a local run;
//! - over SSH to an `sshd` this test starts on 127.0.0.1 (its own host key, client key and
//!   known_hosts), killed mid-run with its sessions and started again, so that attach must
//!   reconnect.
//!
//! Both check that the stored points are exactly the written lines (steps, losses, eval
//! losses): none twice, none lost, and that the run ends completed. The SSH test is skipped
//! with a loud notice when sshd, ssh or ssh-keygen is missing, unless ASSAY_REQUIRE_SSHD=1.

use assay::model::Decision;
use assay::store::{Filter, RunInfo, RunStatus, Store};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Hang protection only: nothing here asserts on how long anything took.
const PATIENCE: Duration = Duration::from_secs(90);

/// A stored point as compared here: step, loss, eval loss.
type Seen = (u64, Option<f64>, Option<f64>);

struct Env {
    dir: tempfile::TempDir,
    db: PathBuf,
    bundle: PathBuf,
    id: i64,
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

impl Env {
    /// A database with six accepted samples and a bundle run made of them.
    fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("t.db");
        let bundle = dir.path().join("bundle");
        let mut env = Env {
            dir,
            db,
            bundle,
            id: 0,
        };
        ok(&env
            .assay()
            .args(["demo", "--no-tui", "--no-model"])
            .output()
            .unwrap());
        {
            let mut store = Store::open(&env.db).unwrap();
            let ds = store.require_dataset("alpaca-qa").unwrap();
            for r in store.list_page(&Filter::dataset(ds), None, 6).unwrap() {
                let rev = store.sample(r.id).unwrap().head.id;
                store
                    .add_review(r.id, rev, "tester", Decision::Accept, "")
                    .unwrap();
            }
        }
        let out = ok(&env
            .assay()
            .args([
                "train",
                "--dataset",
                "alpaca-qa",
                "--force",
                "test",
                "--trainer",
                "llamafactory",
                "--model",
                "Qwen/Qwen2.5-0.5B-Instruct",
                "--bundle",
                env.bundle.to_str().unwrap(),
            ])
            .output()
            .unwrap());
        env.id = out.trim().parse().unwrap();
        env
    }

    fn assay(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_assay"));
        c.arg("--db").arg(&self.db).env("USER", "tester");
        c
    }

    fn log(&self) -> PathBuf {
        self.bundle.join("output/trainer_log.jsonl")
    }

    fn run(&self) -> RunInfo {
        Store::open(&self.db).unwrap().run(self.id).unwrap()
    }

    fn points(&self) -> Vec<Seen> {
        Store::open(&self.db)
            .unwrap()
            .run_points(self.id, 0)
            .unwrap()
            .into_iter()
            .map(|(_, p)| (p.step, p.loss, p.eval_loss))
            .collect()
    }

    /// Polls until `done` holds; fails the test (with the run as it stands) after PATIENCE.
    fn wait(&self, what: &str, done: impl Fn(&Env) -> bool) {
        let start = Instant::now();
        while !done(self) {
            assert!(
                start.elapsed() < PATIENCE,
                "waiting for {what}: {:#?}\npoints: {:?}",
                self.run(),
                self.points()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `runs attach` as a child, its output into files (so a full pipe never blocks it).
    fn attach(&self, source: &str, name: &str, envs: &[(&str, String)]) -> Child {
        let out = std::fs::File::create(self.dir.path().join(format!("{name}.out"))).unwrap();
        let err = std::fs::File::create(self.dir.path().join(format!("{name}.err"))).unwrap();
        self.assay()
            .args(["runs", "attach", &self.id.to_string(), source])
            .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap()
    }

    fn output_of(&self, name: &str) -> (String, String) {
        let read = |ext: &str| {
            std::fs::read_to_string(self.dir.path().join(format!("{name}.{ext}"))).unwrap()
        };
        (read("out"), read("err"))
    }
}

/// The lines a trainer writes: train loss every step, an eval loss at step 6, and the
/// Trainer's closing summary (no loss) at the end. Returns the plan file and the points it
/// must give.
fn plan(dir: &Path, steps: u64) -> (PathBuf, Vec<Seen>) {
    let mut lines = Vec::new();
    let mut points = Vec::new();
    for s in 1..=steps {
        let loss = 3.0 - s as f64 * 0.0625;
        lines.push(format!(
            r#"{{"current_steps": {s}, "total_steps": {steps}, "loss": {loss}, "lr": 0.0001, "epoch": {:.2}, "percentage": {:.2}, "elapsed_time": "0:00:{s:02}", "remaining_time": "0:00:10"}}"#,
            s as f64 / steps as f64,
            s as f64 * 100.0 / steps as f64
        ));
        points.push((s, Some(loss), None));
        if s == 6 {
            lines.push(format!(
                r#"{{"current_steps": 6, "total_steps": {steps}, "eval_loss": 2.5, "epoch": 0.3}}"#
            ));
            points.push((6, None, Some(2.5)));
        }
    }
    lines.push(format!(
        r#"{{"current_steps": {steps}, "total_steps": {steps}, "epoch": 1.0, "percentage": 100.0, "elapsed_time": "0:00:30", "remaining_time": "0:00:00"}}"#
    ));
    let path = dir.join("plan.jsonl");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    (path, points)
}

/// The writer process: appends lines FROM..=TO of the plan.
fn write_lines(plan: &Path, log: &Path, from: usize, to: usize) -> Child {
    Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scripts/append_log.sh"))
        .arg(plan)
        .arg(log)
        .args([from.to_string(), to.to_string()])
        .spawn()
        .unwrap()
}

fn wait_child(c: &mut Child, what: &str) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(s) = c.try_wait().unwrap() {
            return s;
        }
        if start.elapsed() > PATIENCE {
            let _ = c.kill();
            panic!("{what} did not end");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig} {pid}");
}

#[test]
fn attach_follows_a_shared_folder_through_a_ctrl_c() {
    let env = Env::new();
    assert_eq!(env.run().status, RunStatus::External);
    let (plan, want) = plan(env.dir.path(), 16);
    let log = env.log();
    assert!(wait_child(&mut write_lines(&plan, &log, 1, 5), "writer").success());

    // First attach: the points so far, then Ctrl-C.
    let mut first = env.attach(env.bundle.to_str().unwrap(), "first", &[]);
    env.wait("5 points", |e| e.points().len() == 5);
    assert_eq!(env.run().status, RunStatus::Running);
    assert_eq!(env.run().pid, Some(first.id()));
    // A second follower is refused while the first one holds the run.
    let refused = env
        .assay()
        .args([
            "runs",
            "attach",
            &env.id.to_string(),
            env.bundle.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("already followed"));
    signal(first.id(), "-INT");
    assert!(wait_child(&mut first, "attach after Ctrl-C").success());
    let run = env.run();
    assert_eq!((run.status, run.pid), (RunStatus::External, None));
    let (_, err) = env.output_of("first");
    assert!(err.contains("no longer followed"), "{err}");

    // Written while nobody follows; then a second attach resumes, watched by `runs show`.
    assert!(wait_child(&mut write_lines(&plan, &log, 6, 10), "writer").success());
    let mut second = env.attach(log.to_str().unwrap(), "second", &[]);
    env.wait("the second attach", |e| {
        e.run().status == RunStatus::Running
    });
    let watcher = env
        .assay()
        .args(["runs", "show", &env.id.to_string(), "--follow"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut writer = write_lines(&plan, &log, 11, 18);
    assert!(wait_child(&mut writer, "writer").success());
    assert!(wait_child(&mut second, "second attach").success());
    let watched = watcher.wait_with_output().unwrap();
    let watched_out = ok(&watched);

    let run = env.run();
    assert_eq!(run.status, RunStatus::Completed, "{run:#?}");
    assert_eq!(env.points(), want);
    assert_eq!(run.total_steps, Some(16));
    let steps: Vec<u64> = watched_out
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["step"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(steps, want.iter().map(|p| p.0).collect::<Vec<_>>());
    let (out, err) = env.output_of("second");
    assert!(err.contains("completed"), "{err}");
    // The second attach printed only what the first had not stored.
    assert_eq!(out.lines().count(), want.len() - 5);
    let follow = Store::open(&env.db)
        .unwrap()
        .run_follow(env.id)
        .unwrap()
        .unwrap();
    assert_eq!(follow.consumed, std::fs::metadata(&log).unwrap().len());
}

/// A private sshd on 127.0.0.1: host key, client key, authorized_keys and known_hosts in a
/// temp folder, no PAM, no system service. Killed with its sessions when dropped.
struct Sshd {
    dir: PathBuf,
    port: u16,
    child: Option<Child>,
}

fn program(candidates: &[&str]) -> Option<PathBuf> {
    candidates.iter().map(PathBuf::from).find(|p| p.is_file())
}

/// Every process below `pid` (children first found through /proc).
fn descendants(pid: u32) -> Vec<u32> {
    let mut parent_of: Vec<(u32, u32)> = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(p) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
            continue;
        };
        // The command may hold spaces and parentheses: the fields after its last `)`.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        if let Some(ppid) = rest.split_whitespace().nth(1).and_then(|s| s.parse().ok()) {
            parent_of.push((p, ppid));
        }
    }
    let mut out = Vec::new();
    let mut frontier = vec![pid];
    while let Some(p) = frontier.pop() {
        for &(child, parent) in &parent_of {
            if parent == p && !out.contains(&child) {
                out.push(child);
                frontier.push(child);
            }
        }
    }
    out
}

impl Sshd {
    fn new(dir: &Path) -> Option<Sshd> {
        let sshd = program(&["/usr/sbin/sshd", "/usr/local/sbin/sshd", "/sbin/sshd"]);
        let runs = |p: &str, arg: &str| {
            Command::new(p)
                .arg(arg)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok()
        };
        if sshd.is_none() || !runs("ssh", "-V") || !runs("ssh-keygen", "-?") {
            assert!(
                std::env::var("ASSAY_REQUIRE_SSHD").as_deref() != Ok("1"),
                "sshd, ssh and ssh-keygen are required (ASSAY_REQUIRE_SSHD=1) but missing: \
                 apt-get install -y openssh-server openssh-client"
            );
            eprintln!(
                "\n!!!! SKIPPED: sshd / ssh / ssh-keygen not installed (apt-get install -y \
                 openssh-server openssh-client) !!!!\n"
            );
            return None;
        }
        let dir = dir.join("sshd");
        std::fs::create_dir_all(&dir).unwrap();
        for (key, comment) in [("host_key", "host"), ("client_key", "client")] {
            let st = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
                .arg(dir.join(key))
                .status()
                .unwrap();
            assert!(st.success(), "ssh-keygen");
        }
        std::fs::copy(dir.join("client_key.pub"), dir.join("authorized_keys")).unwrap();
        // Root's sshd wants its privilege-separation folder, which only the system service
        // would otherwise make.
        let is_root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        if is_root && !Path::new("/run/sshd").exists() {
            std::fs::create_dir_all("/run/sshd").unwrap();
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let d = dir.display();
        std::fs::write(
            dir.join("sshd_config"),
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nPidFile {d}/sshd.pid\n\
                 AuthorizedKeysFile {d}/authorized_keys\nStrictModes no\nUsePAM no\n\
                 PasswordAuthentication no\nKbdInteractiveAuthentication no\n\
                 PubkeyAuthentication yes\nPermitRootLogin prohibit-password\n\
                 AllowTcpForwarding no\nX11Forwarding no\nPrintMotd no\nLogLevel ERROR\n"
            ),
        )
        .unwrap();
        let mut s = Sshd {
            dir,
            port,
            child: None,
        };
        s.child = Some(s.spawn(sshd.as_deref().unwrap_or(Path::new("/usr/sbin/sshd"))));
        Some(s)
    }

    fn spawn(&self, sshd: &Path) -> Child {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("sshd.log"))
            .unwrap();
        let child = Command::new(sshd)
            .args(["-D", "-e", "-f"])
            .arg(self.dir.join("sshd_config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                start.elapsed() < PATIENCE,
                "sshd did not listen: {}",
                std::fs::read_to_string(self.dir.join("sshd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        child
    }

    /// Kills the listener and every session under it: the link drops at once.
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let mut all = descendants(c.id());
            all.push(c.id());
            for p in all {
                let _ = Command::new("kill").args(["-9", &p.to_string()]).status();
            }
            let _ = c.wait();
        }
    }

    fn restart(&mut self) {
        let sshd = program(&["/usr/sbin/sshd", "/usr/local/sbin/sshd", "/sbin/sshd"]).unwrap();
        self.child = Some(self.spawn(&sshd));
    }

    /// What attach needs to reach this server: its key, its own known_hosts, no user config.
    fn client_env(&self) -> Vec<(&'static str, String)> {
        let d = self.dir.display();
        vec![(
            "ASSAY_SSH_OPTS",
            format!(
                "-F /dev/null -i {d}/client_key -o IdentitiesOnly=yes \
                 -o UserKnownHostsFile={d}/known_hosts -o StrictHostKeyChecking=accept-new \
                 -o LogLevel=ERROR"
            ),
        )]
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.kill();
    }
}

#[test]
fn attach_over_ssh_reconnects_without_losing_or_repeating_a_point() {
    let env = Env::new();
    let Some(mut sshd) = Sshd::new(env.dir.path()) else {
        return;
    };
    let (plan, want) = plan(env.dir.path(), 20);
    let log = env.log();
    assert!(wait_child(&mut write_lines(&plan, &log, 1, 7), "writer").success());

    let source = format!("ssh://127.0.0.1:{}{}/", sshd.port, env.bundle.display());
    let mut attach = env.attach(&source, "ssh", &sshd.client_env());
    // 7 lines: 6 losses and the eval loss at step 6.
    env.wait("7 points over ssh", |e| e.points().len() == 7);

    // The link drops: sshd and its sessions killed; lines go on being written meanwhile.
    sshd.kill();
    assert!(wait_child(&mut write_lines(&plan, &log, 8, 12), "writer").success());
    // attach notices and retries against a closed port at least once.
    env.wait("a failed reconnect", |e| {
        e.run()
            .log_tail
            .iter()
            .filter(|l| l.contains("reconnecting in"))
            .count()
            >= 2
    });
    sshd.restart();
    let mut writer = write_lines(&plan, &log, 13, 22);
    assert!(wait_child(&mut writer, "writer").success());
    let status = wait_child(&mut attach, "attach over ssh");
    let (out, err) = env.output_of("ssh");
    assert!(status.success(), "{out}\n{err}");

    let run = env.run();
    assert_eq!(run.status, RunStatus::Completed, "{run:#?}\n{err}");
    assert_eq!(env.points(), want, "{err}");
    assert_eq!(out.lines().count(), want.len());
    assert!(
        err.matches("connecting to 127.0.0.1").count() >= 2,
        "no reconnect seen: {err}"
    );
    let follow = Store::open(&env.db)
        .unwrap()
        .run_follow(env.id)
        .unwrap()
        .unwrap();
    assert_eq!(
        follow.source,
        format!("ssh://127.0.0.1:{}{}", sshd.port, log.display())
    );
    assert_eq!(follow.consumed, std::fs::metadata(&log).unwrap().len());
}
