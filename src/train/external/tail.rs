//! Following a growing log file: each poll reads only the bytes added since the last one and
//! returns the complete lines among them; a partial last line waits for its newline.
//!
//! LLaMA-Factory's own web UI re-reads the whole `trainer_log.jsonl` every few seconds; a run of
//! a hundred thousand steps makes that quadratic, so this keeps an offset instead.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

#[derive(Debug)]
pub struct Tail {
    path: PathBuf,
    offset: u64,
    partial: Vec<u8>,
}

impl Tail {
    pub fn new(path: &Path) -> Self {
        Tail {
            path: path.to_path_buf(),
            offset: 0,
            partial: Vec::new(),
        }
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
            self.partial.clear();
        }
        if len == self.offset {
            return Ok(Vec::new());
        }
        file.seek(SeekFrom::Start(self.offset))?;
        let mut buf = Vec::new();
        file.take(len - self.offset).read_to_end(&mut buf)?;
        self.offset += buf.len() as u64;
        self.partial.extend_from_slice(&buf);
        let Some(last_nl) = self.partial.iter().rposition(|&b| b == b'\n') else {
            return Ok(Vec::new());
        };
        let rest = self.partial.split_off(last_nl + 1);
        let done = std::mem::replace(&mut self.partial, rest);
        Ok(done
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| {
                String::from_utf8_lossy(l)
                    .trim_end_matches('\r')
                    .to_string()
            })
            .collect())
    }

    /// What is left unterminated at the end of the file (a trainer killed mid-line).
    pub fn remainder(&self) -> Option<String> {
        (!self.partial.is_empty()).then(|| String::from_utf8_lossy(&self.partial).into_owned())
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
        assert!(t.poll().unwrap().is_empty());
        f.write_all(b": 2}\n\n{\"a\": 3}\n").unwrap();
        f.flush().unwrap();
        assert_eq!(t.poll().unwrap(), vec!["{\"a\": 2}", "{\"a\": 3}"]);
        f.write_all("é partial".as_bytes()).unwrap();
        f.flush().unwrap();
        assert!(t.poll().unwrap().is_empty());
        assert_eq!(t.remainder().as_deref(), Some("é partial"));
        // Rewritten shorter: read again from the start.
        std::fs::write(&path, b"x\n").unwrap();
        assert_eq!(t.poll().unwrap(), vec!["x"]);
    }
}
