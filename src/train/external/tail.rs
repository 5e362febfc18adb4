//! Following a growing log: [`Lines`] turns bytes read in pieces into complete lines and counts
//! the bytes those lines took (a partial last line waits for its newline, and a reader that
//! starts again at that count neither repeats nor skips a line); [`Tail`] applies it to a local
//! file, reading only the bytes added since the last poll. `runs attach` applies the same
//! [`Lines`] to what `tail -F` sends over SSH.
//!
//! LLaMA-Factory's own web UI re-reads the whole `trainer_log.jsonl` every few seconds; a run of
//! a hundred thousand steps makes that quadratic, so this keeps an offset instead.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// A line longer than this is dropped (up to its newline) rather than held in memory.
pub const MAX_LINE: usize = 1 << 20;

/// Complete lines out of a byte stream.
#[derive(Debug, Default)]
pub struct Lines {
    consumed: u64,
    partial: Vec<u8>,
    /// Inside an overlong line: bytes are dropped up to the next newline.
    skipping: bool,
}

impl Lines {
    /// A stream whose first `consumed` bytes were already taken.
    pub fn starting_at(consumed: u64) -> Self {
        Lines {
            consumed,
            ..Lines::default()
        }
    }

    /// Bytes of the stream taken by complete lines so far (where a restart should begin).
    pub fn consumed(&self) -> u64 {
        self.consumed
    }

    /// Forgets an unfinished last line (its bytes will be read again after a restart).
    pub fn drop_partial(&mut self) {
        self.partial.clear();
        self.skipping = false;
    }

    /// The complete lines `bytes` finishes, without their newlines (and a `\r` before one);
    /// empty lines are skipped.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        let mut rest = bytes;
        while let Some(nl) = memchr::memchr(b'\n', rest) {
            let (piece, after) = (&rest[..nl], &rest[nl + 1..]);
            let taken = self.partial.len() + piece.len() + 1;
            if !self.skipping {
                self.partial.extend_from_slice(piece);
                let line = String::from_utf8_lossy(&self.partial);
                let line = line.trim_end_matches('\r');
                if !line.is_empty() {
                    out.push(line.to_string());
                }
            }
            self.consumed += taken as u64;
            self.partial.clear();
            self.skipping = false;
            rest = after;
        }
        if self.skipping {
            self.consumed += rest.len() as u64;
        } else if self.partial.len() + rest.len() > MAX_LINE {
            self.consumed += (self.partial.len() + rest.len()) as u64;
            self.partial.clear();
            self.skipping = true;
        } else {
            self.partial.extend_from_slice(rest);
        }
        out
    }

    /// What is left unterminated (a trainer killed mid-line).
    pub fn remainder(&self) -> Option<String> {
        (!self.partial.is_empty()).then(|| String::from_utf8_lossy(&self.partial).into_owned())
    }
}

#[derive(Debug)]
pub struct Tail {
    path: PathBuf,
    /// Bytes of the file read so far (complete lines and the partial one).
    offset: u64,
    lines: Lines,
}

impl Tail {
    pub fn new(path: &Path) -> Self {
        Tail::resume(path, 0)
    }

    /// Follows `path` from byte `consumed` (the end of a line read before).
    pub fn resume(path: &Path, consumed: u64) -> Self {
        Tail {
            path: path.to_path_buf(),
            offset: consumed,
            lines: Lines::starting_at(consumed),
        }
    }

    /// Bytes taken by complete lines.
    pub fn consumed(&self) -> u64 {
        self.lines.consumed()
    }

    /// New complete lines (without their newline). A file that does not exist yet gives none;
    /// a file that shrank (rewritten from scratch, as a restarted trainer does) is read again
    /// from its start.
    pub fn poll(&mut self) -> std::io::Result<Vec<String>> {
        let mut file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let len = file.metadata()?.len();
        if len < self.offset {
            self.offset = 0;
            self.lines = Lines::default();
        }
        if len == self.offset {
            return Ok(Vec::new());
        }
        file.seek(SeekFrom::Start(self.offset))?;
        let mut buf = Vec::new();
        file.take(len - self.offset).read_to_end(&mut buf)?;
        self.offset += buf.len() as u64;
        Ok(self.lines.push(&buf))
    }

    /// What is left unterminated at the end of the file (a trainer killed mid-line).
    pub fn remainder(&self) -> Option<String> {
        self.lines.remainder()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn reads_only_new_bytes_and_waits_for_partial_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        let mut t = Tail::new(&path);
        assert!(t.poll().unwrap().is_empty());
        let mut f = File::create(&path).unwrap();
        f.write_all(b"{\"a\": 1}\n{\"a\"").unwrap();
        f.flush().unwrap();
        assert_eq!(t.poll().unwrap(), vec!["{\"a\": 1}"]);
        assert_eq!(t.consumed(), 9);
        assert!(t.poll().unwrap().is_empty());
        f.write_all(b": 2}\n\n{\"a\": 3}\n").unwrap();
        f.flush().unwrap();
        assert_eq!(t.poll().unwrap(), vec!["{\"a\": 2}", "{\"a\": 3}"]);
        // A follower that starts again where this one stood reads nothing twice.
        let mut again = Tail::resume(&path, 9);
        assert_eq!(again.poll().unwrap(), vec!["{\"a\": 2}", "{\"a\": 3}"]);
        assert_eq!(again.consumed(), t.consumed());
        f.write_all("é partial".as_bytes()).unwrap();
        f.flush().unwrap();
        assert!(t.poll().unwrap().is_empty());
        assert_eq!(t.remainder().as_deref(), Some("é partial"));
        // Rewritten shorter: read again from the start.
        std::fs::write(&path, b"x\n").unwrap();
        assert_eq!(t.poll().unwrap(), vec!["x"]);
    }

    #[test]
    fn lines_count_bytes_across_pieces_and_drop_overlong_lines() {
        let mut l = Lines::starting_at(100);
        assert!(l.push(b"ab").is_empty());
        assert_eq!(l.push(b"c\r\nd"), vec!["abc"]);
        assert_eq!(l.consumed(), 105);
        l.drop_partial();
        assert_eq!(l.push(b"d\n"), vec!["d"]);
        assert_eq!(l.consumed(), 107);
        let long = vec![b'x'; MAX_LINE + 1];
        assert!(l.push(&long).is_empty());
        assert!(l.push(b"yy").is_empty());
        assert_eq!(l.push(b"y\nok\n"), vec!["ok"]);
        assert_eq!(l.consumed(), 107 + MAX_LINE as u64 + 1 + 4 + 3);
    }
}
