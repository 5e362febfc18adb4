//! Shared parts of the reliability suite (`tests/reliability_*.rs`): the binary under test, a
//! seeded random source so that a failing run can be replayed (`ASSAY_SEED`), the kill count
//! (`ASSAY_KILLS`), SIGKILL by pid, database checks, and the figures line each part prints.
#![allow(dead_code)]

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The binary under test; ASSAY_BIN overrides it (a shared target directory can be rebuilt by
/// another checkout while the test runs).
pub fn bin() -> PathBuf {
    std::env::var_os("ASSAY_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_assay")))
}

/// How many kills a crash scenario makes: `ASSAY_KILLS`, else `default` (the CI-bounded count).
pub fn kills(default: usize) -> usize {
    std::env::var("ASSAY_KILLS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// A random source seeded from `ASSAY_SEED` (else a fixed seed), printed so a failure replays.
pub fn rng(part: &str) -> ChaCha8Rng {
    let seed = std::env::var("ASSAY_SEED")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0x5eed_a55a_u64);
    eprintln!("{part}: ASSAY_SEED={seed}");
    ChaCha8Rng::seed_from_u64(seed)
}

/// SIGKILL: no handler runs, no buffer is flushed, exactly what a crash or an OOM kill does.
pub fn kill9(pid: u32) {
    // SAFETY: kill(2) with a pid we spawned and a constant signal has no memory effects.
    let rc = unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
    assert!(
        rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH),
        "kill -9 {pid}: {}",
        std::io::Error::last_os_error()
    );
}

/// `PRAGMA integrity_check` on a file, through the store (it opens like assay does).
pub fn integrity(db: &Path) -> String {
    let store = assay::store::Store::open(db).expect("open the database after a kill");
    store.integrity_check().expect("integrity_check")
}

/// Where the figures go: `<target dir>/reliability-figures.txt` (CI prints that file).
pub fn figures_file() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("..")
        .join("reliability-figures.txt")
}

/// Prints one line of figures to stderr and appends it to [`figures_file`].
pub fn figures(part: &str, line: &str) {
    let text = format!("reliability {part}: {line}");
    eprintln!("{text}");
    // This part's line replaces the one from an earlier run; other parts' lines stay. Tests of
    // one binary run on parallel threads: one at a time here.
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let path = figures_file();
    let own = format!("reliability {part}: ");
    let mut lines: Vec<String> = std::fs::read_to_string(&path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with(&own))
        .map(str::to_string)
        .collect();
    lines.push(text);
    if let Ok(mut f) = std::fs::File::create(&path) {
        let _ = writeln!(f, "{}", lines.join("\n"));
    }
}

/// Every file under `dir`, recursively (symlinks not followed).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let Ok(t) = e.file_type() else { continue };
            if t.is_dir() {
                stack.push(e.path());
            } else if t.is_file() {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out
}

/// How many times `needle` occurs in `hay`.
pub fn occurrences(hay: &[u8], needle: &[u8]) -> usize {
    if needle.is_empty() || hay.len() < needle.len() {
        return 0;
    }
    memchr::memmem::find_iter(hay, needle).count()
}

/// A private tmux server (its own socket), killed when dropped, even when a test fails.
pub struct Tmux {
    pub socket: PathBuf,
}

impl Tmux {
    /// `None` (with a loud notice) when tmux is missing, unless ASSAY_REQUIRE_TMUX=1.
    pub fn start(dir: &Path) -> Option<Tmux> {
        let ok = std::process::Command::new("tmux")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            assert!(
                std::env::var("ASSAY_REQUIRE_TMUX").as_deref() != Ok("1"),
                "tmux is required (ASSAY_REQUIRE_TMUX=1) but not installed: apt-get install -y tmux"
            );
            eprintln!("\n!!!! SKIPPED: tmux is not installed (apt-get install -y tmux) !!!!\n");
            return None;
        }
        Some(Tmux {
            socket: dir.join("tmux.sock"),
        })
    }

    pub fn run(&self, args: &[&str]) -> String {
        let out = std::process::Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .env_remove("TMUX")
            .output()
            .expect("running tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Starts `assay --db DB --reviewer NAME` in a new session called `name`.
    pub fn start_tui(&self, name: &str, home: &Path, db: &Path, reviewer: &str) {
        let cmd = format!(
            "ASSAY_HOME='{}' exec '{}' --db '{}' --reviewer {reviewer}",
            home.display(),
            bin().display(),
            db.display()
        );
        self.run(&[
            "new-session",
            "-d",
            "-s",
            name,
            "-x",
            "100",
            "-y",
            "30",
            &cmd,
        ]);
    }

    pub fn screen(&self, name: &str) -> String {
        self.run(&["capture-pane", "-p", "-t", name])
    }

    pub fn pid(&self, name: &str) -> u32 {
        self.run(&["list-panes", "-t", name, "-F", "#{pane_pid}"])
            .trim()
            .parse()
            .expect("a pane pid")
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = std::process::Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("kill-server")
            .output();
    }
}
