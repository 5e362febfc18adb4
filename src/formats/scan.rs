//! Cuts a file into raw JSON records in bounded memory: lines of JSONL, the elements of a
//! top-level JSON array, or consecutive top-level values (a CAMEL map spread over many lines).
//!
//! Hand-written because serde_json's `StreamDeserializer` does not step into arrays, and a
//! crate that does would have to parse each element into a value first; here the splitter
//! only tracks strings and bracket depth, so a record over the size limit is skipped without
//! being held (a 2 GB single line costs one buffer), and each record keeps its line and offset.

use memchr::{memchr, memchr2};
use std::io::{BufRead, BufReader, Read};

pub const DEFAULT_MAX_RECORD_BYTES: usize = 16 * 1024 * 1024;

/// How the file is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One record per line (JSONL).
    Lines,
    /// A top-level array: each element is a record.
    Array,
    /// Top-level values one after another, each a record (a `.json` file holding one object).
    Values,
}

/// One cut from the file.
#[derive(Debug, PartialEq, Eq)]
pub enum Cut {
    /// A complete record is in `Scanner::record`.
    Record,
    /// The record ran past the size limit and was skipped; `record` holds its first bytes.
    TooLarge {
        size: u64,
    },
    /// The file ended inside a record; `record` holds what there was (up to the limit).
    Truncated,
    /// The array's closing `]` is missing after the last record.
    UnclosedArray,
    End,
}

pub struct Scanner<R> {
    input: BufReader<R>,
    layout: Option<Layout>,
    prefer_lines: bool,
    max: usize,
    /// Bytes consumed so far.
    pos: u64,
    /// 1-based line at `pos`.
    line: u64,
    /// The current record's bytes, its 1-based line and 0-based byte offset.
    pub record: Vec<u8>,
    pub record_line: u64,
    pub record_offset: u64,
    array_closed: bool,
}

impl<R: Read> Scanner<R> {
    /// `prefer_lines`: read a file that does not open with `[` as JSONL (else as whole values).
    pub fn new(input: R, max_record_bytes: usize, prefer_lines: bool) -> Self {
        Scanner {
            input: BufReader::with_capacity(1 << 20, input),
            layout: None,
            prefer_lines,
            max: max_record_bytes.max(1),
            pos: 0,
            line: 1,
            record: Vec::with_capacity(4096),
            record_line: 1,
            record_offset: 0,
            array_closed: false,
        }
    }

    pub fn layout(&self) -> Option<Layout> {
        self.layout
    }

    /// Bytes read so far (for progress).
    pub fn position(&self) -> u64 {
        self.pos
    }

    fn consume(&mut self, n: usize) {
        self.input.consume(n);
        self.pos += n as u64;
    }

    /// Skips whitespace (and, in an array, separating commas); returns the next byte, if any.
    fn skip_blank(&mut self, commas: bool) -> std::io::Result<Option<u8>> {
        loop {
            let buf = self.input.fill_buf()?;
            if buf.is_empty() {
                return Ok(None);
            }
            let mut i = 0;
            let mut lines = 0;
            while i < buf.len() {
                match buf[i] {
                    b'\n' => lines += 1,
                    b' ' | b'\t' | b'\r' => {}
                    b',' if commas => {}
                    b => {
                        self.line += lines;
                        self.consume(i);
                        return Ok(Some(b));
                    }
                }
                i += 1;
            }
            self.line += lines;
            self.consume(i);
        }
    }

    pub fn next_cut(&mut self) -> std::io::Result<Cut> {
        self.record.clear();
        let layout = match self.layout {
            Some(l) => l,
            None => {
                // A UTF-8 byte order mark is not JSON; skip it.
                if self.input.fill_buf()?.starts_with(b"\xEF\xBB\xBF") {
                    self.consume(3);
                }
                let l = match self.skip_blank(false)? {
                    Some(b'[') => {
                        self.consume(1);
                        Layout::Array
                    }
                    _ if self.prefer_lines => Layout::Lines,
                    _ => Layout::Values,
                };
                self.layout = Some(l);
                l
            }
        };
        let first = self.skip_blank(layout == Layout::Array)?;
        self.record_line = self.line;
        self.record_offset = self.pos;
        match (layout, first) {
            (Layout::Array, None) if !self.array_closed => {
                self.array_closed = true;
                Ok(Cut::UnclosedArray)
            }
            (_, None) => Ok(Cut::End),
            (Layout::Array, Some(b']')) => {
                self.consume(1);
                self.array_closed = true;
                // Anything after the closing bracket is cut as further values.
                self.layout = Some(Layout::Values);
                self.next_cut()
            }
            (Layout::Lines, Some(_)) => self.cut_line(),
            (_, Some(_)) => self.cut_value(),
        }
    }

    fn cut_line(&mut self) -> std::io::Result<Cut> {
        let mut size = 0u64;
        loop {
            let buf = self.input.fill_buf()?;
            if buf.is_empty() {
                return Ok(self.verdict(size, true));
            }
            let (n, done) = match memchr(b'\n', buf) {
                Some(i) => (i + 1, true),
                None => (buf.len(), false),
            };
            // Only the bytes within the limit are copied; the rest of a long line is skipped.
            let room = self.max.saturating_sub(self.record.len());
            let take = n.min(room);
            self.record.extend_from_slice(&buf[..take]);
            size += n as u64;
            self.consume(n);
            if done {
                self.line += 1;
                return Ok(self.verdict(size, true));
            }
        }
    }

    fn verdict(&self, size: u64, complete: bool) -> Cut {
        if size > self.max as u64 {
            Cut::TooLarge { size }
        } else if complete {
            Cut::Record
        } else {
            Cut::Truncated
        }
    }

    /// Cuts one JSON value by tracking strings and bracket depth.
    fn cut_value(&mut self) -> std::io::Result<Cut> {
        let mut depth = 0usize;
        let mut in_string = false;
        let mut escape = false;
        let mut size = 0u64;
        let mut started = false;
        loop {
            let buf = self.input.fill_buf()?;
            if buf.is_empty() {
                // The record's own rejection says the file was cut; no second one for the array.
                self.array_closed = true;
                return Ok(self.verdict(size, false));
            }
            let mut i = 0;
            let mut end = None;
            let mut lines = 0;
            while i < buf.len() {
                if in_string {
                    if escape {
                        // A backslash before a raw line break is bad JSON, but the break still
                        // starts a line.
                        if buf[i] == b'\n' {
                            lines += 1;
                        }
                        escape = false;
                        i += 1;
                        continue;
                    }
                    match memchr2(b'"', b'\\', &buf[i..]) {
                        Some(j) => {
                            lines += memchr::memchr_iter(b'\n', &buf[i..i + j]).count() as u64;
                            i += j;
                            if buf[i] == b'\\' {
                                escape = true;
                            } else {
                                in_string = false;
                            }
                            i += 1;
                        }
                        None => {
                            lines += memchr::memchr_iter(b'\n', &buf[i..]).count() as u64;
                            i = buf.len();
                        }
                    }
                    continue;
                }
                let b = buf[i];
                match b {
                    b'"' => in_string = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' if depth > 0 => {
                        depth -= 1;
                        if depth == 0 {
                            end = Some(i + 1);
                            break;
                        }
                    }
                    // A scalar at the top ends at a separator.
                    b',' | b']' | b' ' | b'\t' | b'\r' | b'\n' if depth == 0 && started => {
                        end = Some(i);
                        break;
                    }
                    b'}' | b']' if depth == 0 && !started => {
                        // A stray closer: cut it alone so the parser reports it.
                        end = Some(i + 1);
                        break;
                    }
                    b'\n' => lines += 1,
                    _ => {}
                }
                started = true;
                i += 1;
            }
            let n = end.unwrap_or(buf.len());
            let room = self.max.saturating_sub(self.record.len());
            self.record.extend_from_slice(&buf[..n.min(room)]);
            size += n as u64;
            self.line += lines;
            self.consume(n);
            if end.is_some() {
                return Ok(self.verdict(size, true));
            }
        }
    }
}

/// The deepest nesting of arrays and objects in `bytes`, strings skipped; used to name the
/// problem when a record does not parse.
pub fn max_nesting(bytes: &[u8]) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    let (mut in_string, mut escape) = (false, false);
    for &b in bytes {
        if in_string {
            match (escape, b) {
                (true, _) => escape = false,
                (false, b'\\') => escape = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}
