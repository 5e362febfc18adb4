//! `<input>.rejects.jsonl`: one JSON object per rejected record, created on the first rejection.

use super::Rejection;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

pub struct RejectsFile {
    path: PathBuf,
    out: Option<BufWriter<std::fs::File>>,
    pub count: u64,
}

impl RejectsFile {
    /// The rejects file of `input`. A stale one from an earlier run is removed, so the file on
    /// disk always describes the latest import.
    pub fn for_input(input: &Path) -> std::io::Result<Self> {
        let mut name = input.as_os_str().to_owned();
        name.push(".rejects.jsonl");
        Self::at(PathBuf::from(name))
    }

    /// The rejects file of `input` in the folder `dir` (`<file name>.rejects.jsonl`), for
    /// inputs in places one cannot write to.
    pub fn in_dir(dir: &Path, input: &Path) -> std::io::Result<Self> {
        let mut name = input
            .file_name()
            .map(|n| n.to_owned())
            .unwrap_or_else(|| "input".into());
        name.push(".rejects.jsonl");
        Self::at(dir.join(name))
    }

    fn at(path: PathBuf) -> std::io::Result<Self> {
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        Ok(RejectsFile {
            path,
            out: None,
            count: 0,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn write(&mut self, r: &Rejection) -> std::io::Result<()> {
        let out = match &mut self.out {
            Some(o) => o,
            None => self
                .out
                .insert(BufWriter::new(std::fs::File::create(&self.path)?)),
        };
        serde_json::to_writer(&mut *out, r)?;
        out.write_all(b"\n")?;
        self.count += 1;
        Ok(())
    }

    pub fn finish(self) -> std::io::Result<Option<PathBuf>> {
        match self.out {
            Some(mut o) => {
                o.flush()?;
                Ok(Some(self.path))
            }
            None => Ok(None),
        }
    }
}
