//! Reads a file record by record: each record becomes samples or a `Rejection` that says
//! where (line, byte offset), which field and why. Nothing is dropped silently.

use super::fields::{MAX_NESTING, too_deep};
use super::scan::{self, Cut, Layout, Scanner};
use super::{FieldError, Format, Tags, detect};
use crate::model::{NewSample, Source};
use serde_json::Value;
use std::collections::VecDeque;
use std::io::Read;
use std::path::Path;

/// How much of a rejected record the rejects file keeps.
const RAW_KEEP: usize = 4096;

#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// None: detect from the first record.
    pub format: Option<Format>,
    pub max_record_bytes: usize,
    pub tags: Tags,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            format: None,
            max_record_bytes: super::DEFAULT_MAX_RECORD_BYTES,
            tags: Tags::default(),
        }
    }
}

/// A record that could not be read, as written to `<input>.rejects.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rejection {
    pub line: u64,
    /// 0-based byte offset in the file of the problem (the record's start, or the bad byte).
    pub offset: u64,
    pub field: Option<String>,
    pub reason: String,
    /// The record's first bytes, decoded lossily.
    pub raw: String,
}

#[derive(Debug)]
pub enum Item {
    /// One record's samples (a multiple-choice item or a CAMEL map gives several).
    Samples(Vec<NewSample>),
    Rejected(Rejection),
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "{path}:{line}: cannot tell the format from the first record (keys: {keys}); pass --format"
    )]
    Undetectable {
        path: String,
        line: u64,
        keys: String,
    },
    /// Not UTF-8 JSON at all: said before a single record is read, with how to convert it.
    #[error("{path}: {what}")]
    NotJson { path: String, what: String },
}

pub struct Reader<R> {
    scan: Scanner<R>,
    opts: ReadOptions,
    path: String,
    queue: VecDeque<Item>,
    /// Records cut from the file so far (each gives at least one item).
    records: u64,
}

impl Reader<std::fs::File> {
    /// Opens `path`; a `.json` file that does not open with `[` is read as whole values, anything
    /// else as JSONL.
    pub fn open(path: &Path, opts: ReadOptions) -> Result<Self, ReadError> {
        let label = path.display().to_string();
        let file = std::fs::File::open(path).map_err(|e| ReadError::Io {
            path: label.clone(),
            source: e,
        })?;
        let json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        let mut head = Vec::with_capacity(SNIFF_BYTES);
        std::io::Read::by_ref(&mut &file)
            .take(SNIFF_BYTES as u64)
            .read_to_end(&mut head)
            .map_err(|e| ReadError::Io {
                path: label.clone(),
                source: e,
            })?;
        if let Some(what) = not_json(path, &head) {
            return Err(ReadError::NotJson { path: label, what });
        }
        std::io::Seek::rewind(&mut &file).map_err(|e| ReadError::Io {
            path: label.clone(),
            source: e,
        })?;
        Ok(Reader::new(file, label, !json, opts))
    }
}

/// Bytes looked at before reading, to tell an encoding or a table from JSON.
const SNIFF_BYTES: usize = 4096;

/// What a file is instead of UTF-8 JSON or JSONL, judged from its first bytes, with how to
/// convert it; None when it may be JSON (the reader then judges every record).
fn not_json(path: &Path, head: &[u8]) -> Option<String> {
    let name = path.display();
    let utf16 = if head.starts_with(b"\xFF\xFE") {
        Some("UTF-16LE")
    } else if head.starts_with(b"\xFE\xFF") {
        Some("UTF-16BE")
    } else if head.len() >= 4 && head[1] == 0 && head[3] == 0 && head[0] != 0 {
        Some("UTF-16LE")
    } else if head.len() >= 4 && head[0] == 0 && head[2] == 0 && head[1] != 0 {
        Some("UTF-16BE")
    } else {
        None
    };
    if let Some(enc) = utf16 {
        return Some(format!(
            "the file is {enc} text; assay reads UTF-8 JSON or JSONL. Convert it first: \
             iconv -f {enc} -t UTF-8 '{name}' > converted.jsonl"
        ));
    }
    let text = String::from_utf8_lossy(head);
    let text = text.trim_start_matches('\u{feff}');
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    let table_ext = matches!(ext.as_deref(), Some("csv" | "tsv"));
    // A record may follow a junk line (that line is rejected, the rest imported): only a file
    // none of whose first lines opens a JSON value is refused as a whole.
    let line = text.lines().find(|l| !l.trim().is_empty())?;
    if text.lines().any(|l| l.trim_start().starts_with(['{', '['])) {
        return None;
    }
    let table = table_ext || line.contains(',') || line.contains('\t');
    // Quoted with `{:?}`, which escapes controls; the message is escaped again where printed.
    let first: String = line.chars().take(60).collect();
    Some(if table {
        format!(
            "it looks like a CSV/TSV table (first line: {first:?}); assay imports JSON and JSONL. \
             Convert it with: python3 -c \"import csv,json,sys; [print(json.dumps(r, \
             ensure_ascii=False)) for r in csv.DictReader(open(sys.argv[1], encoding='utf-8'))]\" \
             '{name}' > converted.jsonl, then `assay import converted.jsonl` (with --format if \
             its columns need it)"
        )
    } else {
        format!(
            "none of its first lines opens a JSON object or array (first line: {first:?}); \
             assay imports JSON and JSONL, and `assay chunk` cuts plain text or Markdown into \
             pre-training samples"
        )
    })
}

impl<R: Read> Reader<R> {
    pub fn new(input: R, path: String, prefer_lines: bool, opts: ReadOptions) -> Self {
        Reader {
            scan: Scanner::new(input, opts.max_record_bytes, prefer_lines),
            opts,
            path,
            queue: VecDeque::new(),
            records: 0,
        }
    }

    /// The format in use: given, or detected once the first record was read.
    pub fn format(&self) -> Option<Format> {
        self.opts.format
    }

    pub fn layout(&self) -> Option<Layout> {
        self.scan.layout()
    }

    pub fn position(&self) -> u64 {
        self.scan.position()
    }

    /// How many records were cut from the file so far; each gave samples or rejections.
    pub fn records_read(&self) -> u64 {
        self.records
    }

    pub fn next_item(&mut self) -> Result<Option<Item>, ReadError> {
        loop {
            if let Some(item) = self.queue.pop_front() {
                return Ok(Some(item));
            }
            let cut = self.scan.next_cut().map_err(|e| ReadError::Io {
                path: self.path.clone(),
                source: e,
            })?;
            let (line, offset) = (self.scan.record_line, self.scan.record_offset);
            if cut != Cut::End {
                self.records += 1;
            }
            match cut {
                Cut::End => return Ok(None),
                Cut::Record => self.record(line, offset)?,
                Cut::TooLarge { size } => self.reject(
                    line,
                    offset,
                    None,
                    format!(
                        "record of {size} bytes is over the limit of {} bytes (raise --max-record-bytes)",
                        self.opts.max_record_bytes
                    ),
                ),
                Cut::Truncated => {
                    let reason = if scan::max_nesting(&self.scan.record) > MAX_NESTING {
                        format!("{}, and the file ends inside it", too_deep_reason())
                    } else {
                        "truncated JSON: the file ends inside this record".into()
                    };
                    self.reject(line, offset, None, reason)
                }
                Cut::UnclosedArray => self.reject(
                    line,
                    offset,
                    None,
                    "truncated JSON: the top-level array is not closed with ]".into(),
                ),
            }
        }
    }

    fn reject(&mut self, line: u64, offset: u64, field: Option<String>, reason: String) {
        let raw = &self.scan.record[..self.scan.record.len().min(RAW_KEEP)];
        self.queue.push_back(Item::Rejected(Rejection {
            line,
            offset,
            field,
            reason,
            raw: String::from_utf8_lossy(raw).into_owned(),
        }));
    }

    fn record(&mut self, line: u64, offset: u64) -> Result<(), ReadError> {
        let text = match std::str::from_utf8(&self.scan.record) {
            Ok(t) => t,
            Err(e) => {
                let at = offset + e.valid_up_to() as u64;
                self.reject(line, at, None, format!("invalid UTF-8 at byte offset {at}"));
                return Ok(());
            }
        };
        // Without the line break, a line cut inside a string reads as truncated, not as a
        // control character.
        let text = text.trim_end();
        let value: Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(_) if scan::max_nesting(text.as_bytes()) > MAX_NESTING => {
                self.reject(line, offset, None, too_deep_reason());
                return Ok(());
            }
            Err(e) => {
                let what = if e.is_eof() {
                    "truncated JSON"
                } else {
                    "invalid JSON"
                };
                let inner = text.matches('\n').count();
                let at = line + e.line().saturating_sub(1).min(inner) as u64;
                self.reject(at, offset, None, format!("{what}: {e}"));
                return Ok(());
            }
        };
        if too_deep(&value) {
            self.reject(line, offset, None, too_deep_reason());
            return Ok(());
        }
        let Value::Object(obj) = value else {
            let found = super::fields::type_name(&value);
            self.reject(
                line,
                offset,
                None,
                format!("expected a JSON object, found {found}"),
            );
            return Ok(());
        };
        let format = match self.opts.format {
            Some(f) => f,
            None => {
                let f = detect::detect(&obj, &self.opts.tags).ok_or_else(|| {
                    ReadError::Undetectable {
                        path: self.path.clone(),
                        line,
                        keys: obj.keys().take(8).cloned().collect::<Vec<_>>().join(", "),
                    }
                })?;
                self.opts.format = Some(f);
                f
            }
        };
        let src = Source::File {
            path: self.path.clone(),
            line,
        };
        let mut results: Vec<Result<NewSample, FieldError>> = match format {
            Format::CamelGolden => super::camel::parse_golden(obj, &src),
            Format::CamelExport => super::camel::parse_export(obj, &src),
            f => match parse_one(f, obj, &src, &self.opts.tags) {
                Ok(v) => v.into_iter().map(Ok).collect(),
                Err(e) => vec![Err(e)],
            },
        };
        // An empty CAMEL map (`{}`) or choice list gives nothing: say so rather than skip it.
        if results.is_empty() {
            results.push(Err(FieldError::new("", "the record holds no sample")));
        }
        let mut samples = Vec::with_capacity(results.len());
        for r in results {
            match r {
                Ok(s) => samples.push(s),
                Err(e) => {
                    let field = (!e.field.is_empty()).then_some(e.field);
                    self.reject(line, offset, field, e.reason);
                }
            }
        }
        if !samples.is_empty() {
            self.queue.push_back(Item::Samples(samples));
        }
        Ok(())
    }
}

fn too_deep_reason() -> String {
    format!(
        "nesting too deep: arrays and objects nest more than {MAX_NESTING} levels (assay reads at \
         most {MAX_NESTING}); flatten the record or fix the file"
    )
}

fn parse_one(
    format: Format,
    obj: super::fields::Obj,
    src: &Source,
    tags: &Tags,
) -> Result<Vec<NewSample>, FieldError> {
    match format {
        Format::Alpaca => super::alpaca::parse(obj, src),
        Format::Sharegpt => super::sharegpt::parse(obj, src, tags),
        Format::Openai => super::openai::parse(obj, src),
        Format::Xtuner => super::xtuner::parse(obj, src),
        Format::Agent => super::agent::parse(obj, src),
        Format::Choice => super::choice::parse(obj, src),
        Format::Pretrain => super::pretrain::parse(obj, src),
        Format::CamelGolden | Format::CamelExport => Ok(Vec::new()),
    }
}
