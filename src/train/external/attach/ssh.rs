//! A log followed over SSH: an `ssh` child process started from an argument vector (never a
//! shell string of ours), running `tail -c +OFFSET -F -- PATH` on the host with the path quoted
//! for the remote shell. Only bytes after the last complete line are asked for, so when the
//! link drops (ssh exits) the next connection resumes exactly there; reconnects back off from
//! half a second to eight.
//!
//! `ssh -o BatchMode=yes` never prompts; ServerAlive probes notice a dead link in ~15 s. The
//! program (`ASSAY_SSH`) and extra options (`ASSAY_SSH_OPTS`, `--ssh-opt`: `-i KEY`,
//! `-o UserKnownHostsFile=...`) come from the caller.

use super::source::SshTarget;
use crate::train::external::tail::Lines;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(8);
/// A connection that lasted this long was a working one: the next failure starts the backoff
/// afresh.
const HEALTHY: Duration = Duration::from_secs(10);

/// How to run ssh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshCommand {
    /// The ssh program (`ssh`, or `ASSAY_SSH`).
    pub program: String,
    /// Extra options placed before the destination (`-i`, `-o`, `-F`).
    pub options: Vec<String>,
}

impl Default for SshCommand {
    fn default() -> Self {
        SshCommand {
            program: "ssh".into(),
            options: Vec::new(),
        }
    }
}

/// The remote command: `tail` from byte `consumed + 1`, following the file by name (so it
/// waits for a log not written yet, and survives its rotation), the path quoted for a POSIX
/// shell (`~/` left outside the quotes, so the host's shell expands it).
pub fn remote_command(path: &str, consumed: u64) -> Option<String> {
    let quoted = match path.strip_prefix("~/") {
        Some(rest) => format!("~/{}", shlex::try_quote(rest).ok()?),
        None => shlex::try_quote(path).ok()?.into_owned(),
    };
    Some(format!(
        "exec tail -c +{} -F -- {quoted}",
        consumed.saturating_add(1)
    ))
}

/// The argument vector of one connection.
pub fn argv(cmd: &SshCommand, t: &SshTarget, consumed: u64) -> Option<Vec<String>> {
    let mut a: Vec<String> = [
        "-o",
        "BatchMode=yes",
        "-o",
        "ServerAliveInterval=5",
        "-o",
        "ServerAliveCountMax=3",
        "-o",
        "ConnectTimeout=10",
    ]
    .map(String::from)
    .into();
    a.extend(cmd.options.iter().cloned());
    if let Some(p) = t.port {
        a.extend(["-p".to_string(), p.to_string()]);
    }
    if let Some(u) = &t.user {
        a.extend(["-l".to_string(), u.clone()]);
    }
    a.push("--".into());
    a.push(t.host.clone());
    a.push(remote_command(&t.path, consumed)?);
    Some(a)
}

enum Chunk {
    Out(Vec<u8>),
    Err(String),
    Closed,
}

struct Connection {
    child: Child,
    rx: Receiver<Chunk>,
    since: Instant,
    open: usize,
}

/// The followed log, one connection at a time.
pub struct SshFeed {
    cmd: SshCommand,
    target: SshTarget,
    lines: Lines,
    conn: Option<Connection>,
    next_try: Instant,
    backoff: Duration,
    /// Connections made so far.
    pub connects: u64,
}

fn pump(mut src: impl Read, tx: &Sender<Chunk>) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match src.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if tx.send(Chunk::Out(buf[..n].to_vec())).is_err() {
                    return;
                }
            }
        }
    }
    let _ = tx.send(Chunk::Closed);
}

fn pump_lines(src: impl Read, tx: &Sender<Chunk>) {
    for line in BufReader::new(src).split(b'\n') {
        let Ok(line) = line else { break };
        let text = String::from_utf8_lossy(&line).trim_end().to_string();
        if !text.is_empty() && tx.send(Chunk::Err(text)).is_err() {
            return;
        }
    }
    let _ = tx.send(Chunk::Closed);
}

impl SshFeed {
    /// Follows `target` from byte `consumed`; the first connection is made on the first poll.
    pub fn new(cmd: SshCommand, target: SshTarget, consumed: u64) -> Self {
        SshFeed {
            cmd,
            target,
            lines: Lines::starting_at(consumed),
            conn: None,
            next_try: Instant::now(),
            backoff: FIRST_BACKOFF,
            connects: 0,
        }
    }

    pub fn consumed(&self) -> u64 {
        self.lines.consumed()
    }

    fn connect(&mut self, notes: &mut Vec<String>) {
        let consumed = self.lines.consumed();
        let Some(args) = argv(&self.cmd, &self.target, consumed) else {
            notes.push(format!(
                "[assay] the path {:?} cannot be quoted for the remote shell",
                self.target.path
            ));
            self.next_try = Instant::now() + MAX_BACKOFF;
            return;
        };
        let spawned = Command::new(&self.cmd.program)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group: a Ctrl-C meant for `runs attach` reaches it through us,
            // after the follower has decided what to do.
            .process_group(0)
            .spawn();
        let mut child = match spawned {
            Ok(c) => c,
            Err(e) => {
                notes.push(format!(
                    "[assay] cannot start {:?}: {e} (install openssh-client, or set ASSAY_SSH)",
                    self.cmd.program
                ));
                self.schedule_retry(notes);
                return;
            }
        };
        let (tx, rx) = mpsc::channel();
        let mut open = 0;
        if let Some(out) = child.stdout.take() {
            let tx = tx.clone();
            std::thread::spawn(move || pump(out, &tx));
            open += 1;
        }
        if let Some(err) = child.stderr.take() {
            let tx = tx.clone();
            std::thread::spawn(move || pump_lines(err, &tx));
            open += 1;
        }
        self.connects += 1;
        notes.push(format!(
            "[assay] connecting to {} (from byte {consumed})",
            self.target.host
        ));
        self.conn = Some(Connection {
            child,
            rx,
            since: Instant::now(),
            open,
        });
    }

    fn schedule_retry(&mut self, notes: &mut Vec<String>) {
        notes.push(format!(
            "[assay] reconnecting in {:.1}s",
            self.backoff.as_secs_f64()
        ));
        self.next_try = Instant::now() + self.backoff;
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
    }

    fn take(&mut self, chunk: Chunk, lines: &mut Vec<String>, notes: &mut Vec<String>) {
        match chunk {
            Chunk::Out(bytes) => lines.extend(self.lines.push(&bytes)),
            Chunk::Err(text) => notes.push(format!("ssh: {text}")),
            Chunk::Closed => {
                if let Some(c) = &mut self.conn {
                    c.open = c.open.saturating_sub(1);
                }
            }
        }
    }

    /// New complete lines, connecting or reconnecting as needed; what happened to the link
    /// goes to `notes`. Never blocks for long.
    pub fn poll(&mut self, notes: &mut Vec<String>) -> Vec<String> {
        let mut lines = Vec::new();
        if self.conn.is_none() {
            if Instant::now() < self.next_try {
                return lines;
            }
            self.connect(notes);
        }
        let Some(conn) = self.conn.as_mut() else {
            return lines;
        };
        let mut pending = Vec::new();
        while let Ok(chunk) = conn.rx.try_recv() {
            pending.push(chunk);
        }
        let exited = conn.child.try_wait().ok().flatten();
        for chunk in pending {
            self.take(chunk, &mut lines, notes);
        }
        let Some(status) = exited else {
            return lines;
        };
        // ssh is gone: what it had sent is still in the pipes; read it to their end (briefly:
        // a grandchild could hold them open).
        let deadline = Instant::now() + Duration::from_secs(2);
        while self.conn.as_ref().is_some_and(|c| c.open > 0) {
            let left = deadline.saturating_duration_since(Instant::now());
            let got = match self.conn.as_ref() {
                Some(c) => c.rx.recv_timeout(left),
                None => break,
            };
            match got {
                Ok(chunk) => self.take(chunk, &mut lines, notes),
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
            }
        }
        let lasted = self
            .conn
            .take()
            .map_or(Duration::ZERO, |c| c.since.elapsed());
        // An unfinished line is asked for again, whole, by the next connection.
        self.lines.drop_partial();
        if lasted >= HEALTHY {
            self.backoff = FIRST_BACKOFF;
        }
        let how = match status.code() {
            Some(255) => "ssh could not connect or lost the link (exit 255)".to_string(),
            Some(c) => format!("the remote tail ended with code {c}"),
            None => "ssh was killed by a signal".to_string(),
        };
        notes.push(format!("[assay] {how}"));
        self.schedule_retry(notes);
        lines
    }

    /// Ends the connection (the follower is done).
    pub fn close(&mut self) {
        if let Some(mut c) = self.conn.take() {
            let _ = c.child.kill();
            let _ = c.child.wait();
        }
    }
}

impl Drop for SshFeed {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_is_an_argument_vector_with_a_quoted_remote_path() {
        let t = SshTarget {
            user: Some("ann".into()),
            host: "h".into(),
            port: Some(2222),
            path: "/runs/it's here; rm -rf ~/output/trainer_log.jsonl".into(),
        };
        let cmd = SshCommand {
            program: "ssh".into(),
            options: vec!["-i".into(), "/k/id".into()],
        };
        let a = argv(&cmd, &t, 41).unwrap();
        assert_eq!(&a[..2], ["-o", "BatchMode=yes"]);
        let n = a.len();
        assert_eq!(
            &a[n - 9..n - 2],
            ["-i", "/k/id", "-p", "2222", "-l", "ann", "--"]
        );
        assert_eq!(a[n - 2], "h");
        let remote = &a[n - 1];
        assert!(remote.starts_with("exec tail -c +42 -F -- "), "{remote}");
        // The remote shell sees one word: the path, exactly.
        let words = shlex::split(remote).unwrap();
        assert_eq!(words.last().unwrap(), &t.path);
        assert_eq!(words.len(), 7);
        assert_eq!(
            remote_command("~/a b/x.jsonl", 0).unwrap(),
            "exec tail -c +1 -F -- ~/'a b/x.jsonl'"
        );
    }
}
