//! The invariants every fuzz target checks, shared by the libFuzzer binaries (`fuzz_targets/`)
//! and by `tests/fuzz_regressions.rs`, which replays each saved crash and seed through them in
//! plain `cargo test`. A check panics with what broke; libFuzzer reports that panic as a crash.

use assay::formats::read::ReadError;
use assay::formats::scan::{Cut, Layout, Scanner};
use assay::formats::{DEFAULT_MAX_RECORD_BYTES, Format, Item, ReadOptions, Reader};
use assay::llm::sse::SseParser;
use assay::model::{Content, NewSample, SampleMeta, Source};
use assay::prompting::{answer_match, extract, judge, parse, steps};
use assay::store::ImportRecord;

/// A target's check: panics when an invariant breaks.
pub type Check = fn(&[u8]);

/// Every target by name, as `.ci/fuzz` builds them and the regression test replays them.
pub const TARGETS: [(&str, Check); 7] = [
    ("import", import),
    ("scan", scan),
    ("parse_list", parse_list),
    ("extract", extract),
    ("steps", steps),
    ("verdict", verdict),
    ("sse", sse),
];

/// The path the importer targets give their reader.
const PATH: &str = "fuzz-input";

/// What the first byte of an `import` input selects: the format (detected, or one of nine), JSONL
/// or JSON, and a size limit small enough that records over it occur.
pub fn import_options(sel: u8) -> (Option<Format>, bool, usize) {
    let format = match sel % 10 {
        0 => None,
        i => Some(Format::ALL[usize::from(i) - 1]),
    };
    let prefer_lines = (sel / 10).is_multiple_of(2);
    let max = if (sel / 20) % 2 == 1 {
        256
    } else {
        DEFAULT_MAX_RECORD_BYTES
    };
    (format, prefer_lines, max)
}

/// Where the scanner put one record: its first line and byte, and the byte after it.
#[derive(Debug, Clone, Copy)]
struct Span {
    line: u64,
    offset: u64,
    end: u64,
}

fn newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}

/// Importers: every record the scanner cuts gives samples or rejections (never nothing), each
/// rejection names a line and byte offset inside its record and a reason, and every sample
/// serialises for the store and reads back from what the store would hold.
pub fn import(data: &[u8]) {
    let Some((&sel, input)) = data.split_first() else {
        return;
    };
    let (format, prefer_lines, max) = import_options(sel);
    let spans = cut_all(input, max, prefer_lines);
    let opts = ReadOptions {
        format,
        max_record_bytes: max,
        ..ReadOptions::default()
    };
    let mut reader = Reader::new(input, PATH.to_string(), prefer_lines, opts);
    loop {
        let before = reader.records_read();
        let item = match reader.next_item() {
            Ok(Some(item)) => item,
            Ok(None) => {
                assert_eq!(
                    reader.records_read(),
                    spans.len() as u64,
                    "the reader saw a different number of records than the scanner cut"
                );
                return;
            }
            Err(ReadError::Undetectable { line, .. }) => {
                assert!(format.is_none(), "a given format was not used");
                let span = spans[reader.records_read() as usize - 1];
                assert_eq!(line, span.line, "undetectable record's line");
                return;
            }
            Err(e) => panic!("reading from memory failed: {e}"),
        };
        let read = reader.records_read();
        assert!(
            read == before || read == before + 1,
            "record {} gave neither a sample nor a rejection",
            before + 1
        );
        let span = spans[read as usize - 1];
        match item {
            Item::Samples(samples) => {
                assert!(!samples.is_empty(), "an empty list of samples");
                for s in samples {
                    check_sample(s, span.line);
                }
            }
            Item::Rejected(r) => {
                assert!(!r.reason.trim().is_empty(), "a rejection without a reason");
                let last_line =
                    span.line + newlines(&input[span.offset as usize..span.end as usize]);
                assert!(
                    (span.line..=last_line).contains(&r.line),
                    "rejection line {} outside its record's lines {}..={last_line}: {r:?}",
                    r.line,
                    span.line
                );
                assert!(
                    (span.offset..=span.end).contains(&r.offset),
                    "rejection offset {} outside its record's bytes {}..={}: {r:?}",
                    r.offset,
                    span.offset,
                    span.end
                );
            }
        }
    }
}

fn check_sample(s: NewSample, line: u64) {
    assert_eq!(
        s.source,
        Source::File {
            path: PATH.to_string(),
            line
        },
        "a sample's source is not its record's line"
    );
    let meta_json = serde_json::to_string(&s.meta).expect("the meta serialises");
    if let Err(e) = serde_json::from_str::<SampleMeta>(&meta_json) {
        panic!("stored meta cannot be read back ({e}): {meta_json:.200}");
    }
    let turns = s.content.turns.len();
    let rec = ImportRecord::new(s).expect("a sample serialises for the store");
    match serde_json::from_str::<Content>(&rec.content_json) {
        Ok(back) => assert_eq!(back.turns.len(), turns, "turns lost in the stored content"),
        Err(e) => panic!(
            "stored content cannot be read back ({e}): {:.200}",
            rec.content_json
        ),
    }
}

/// Runs a scanner over `input` and returns where each record lay.
fn cut_all(input: &[u8], max: usize, prefer_lines: bool) -> Vec<Span> {
    let mut s = Scanner::new(input, max, prefer_lines);
    let mut spans = Vec::new();
    loop {
        let cut = s.next_cut().expect("reading from memory");
        if cut == Cut::End {
            return spans;
        }
        spans.push(Span {
            line: s.record_line,
            offset: s.record_offset,
            end: s.position(),
        });
        assert!(
            spans.len() <= input.len() + 1,
            "the scanner does not advance"
        );
    }
}

/// The splitter: records lie in order, each at the line and offset it claims, holding exactly the
/// file's bytes there (up to the limit); only blanks, commas and brackets lie between them.
pub fn scan(data: &[u8]) {
    let Some((&sel, input)) = data.split_first() else {
        return;
    };
    let prefer_lines = sel & 1 == 0;
    let max = if sel & 2 != 0 {
        DEFAULT_MAX_RECORD_BYTES
    } else {
        1 + usize::from(sel >> 2) * 8
    };
    let mut s = Scanner::new(input, max, prefer_lines);
    let mut last_end = 0usize;
    // Lines before `counted`, kept as the records advance (recounting from 0 is quadratic).
    let (mut counted, mut lines) = (0usize, 1u64);
    for _ in 0..=input.len() + 1 {
        let cut = s.next_cut().expect("reading from memory");
        let off = s.record_offset as usize;
        let end = s.position() as usize;
        let bom = if input.starts_with(b"\xEF\xBB\xBF") {
            3
        } else {
            0
        };
        let gap_from = if last_end == 0 { bom } else { last_end };
        assert!(
            off >= gap_from && end >= off && end <= input.len(),
            "{cut:?} at {off}..{end}"
        );
        let gap = &input[gap_from..off];
        assert!(
            gap.iter().all(|b| b" \t\r\n,[]".contains(b)),
            "bytes skipped between records: {:?}",
            String::from_utf8_lossy(gap)
        );
        if cut == Cut::End {
            let rest = &input[gap_from..];
            assert!(
                rest.iter().all(|b| b" \t\r\n,[]".contains(b)),
                "bytes left unread at the end: {:?}",
                String::from_utf8_lossy(rest)
            );
            assert_eq!(end, input.len(), "the scanner stopped before the end");
            return;
        }
        lines += newlines(&input[counted..off]);
        counted = off;
        assert_eq!(
            s.record_line, lines,
            "{cut:?} at byte {off} claims the wrong line"
        );
        let rec = &input[off..end];
        let kept = &rec[..rec.len().min(max)];
        match cut {
            Cut::Record => {
                assert!(rec.len() <= max, "a record over the limit was not flagged");
                assert_eq!(s.record, rec, "record bytes differ from the file's");
                if s.layout() == Some(Layout::Lines) {
                    let body = rec.strip_suffix(b"\n").unwrap_or(rec);
                    assert!(!body.contains(&b'\n'), "a JSONL record spans lines");
                }
            }
            Cut::TooLarge { size } => {
                assert_eq!(size, rec.len() as u64, "size of a record over the limit");
                assert!(
                    rec.len() > max,
                    "a record within the limit flagged as over it"
                );
                assert_eq!(s.record, kept, "kept bytes of a record over the limit");
            }
            Cut::Truncated => {
                assert_eq!(end, input.len(), "truncated before the end of the file");
                assert_eq!(s.record, kept, "kept bytes of a truncated record");
            }
            Cut::UnclosedArray => {
                assert_eq!(
                    end,
                    input.len(),
                    "unclosed array before the end of the file"
                );
            }
            Cut::End => {}
        }
        last_end = end;
    }
    panic!("the scanner does not advance");
}

/// Lists a model wrote: items are trimmed and never empty.
pub fn parse_list(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    for item in parse::parse_list(&text) {
        assert!(!item.is_empty(), "an empty list item");
        assert_eq!(item, item.trim(), "an untrimmed list item");
        let _ = parse::dedup_key(&item);
        let _ = parse::near_empty(&item);
    }
}

/// Final answers, option letters and the golden match: an answer is non-empty, trimmed and taken
/// from the text; a letter is within the options (the first byte is how many); an answer matches
/// itself.
pub fn extract(data: &[u8]) {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    if let Some(a) = extract::final_answer(&text) {
        assert!(!a.is_empty(), "an empty final answer");
        assert_eq!(a, a.trim(), "an untrimmed final answer");
        assert!(
            text.contains(a.as_str()),
            "an answer not in the text: {a:?}"
        );
    }
    let n = usize::from(n);
    if let Ok(c) = extract::option_letter(&text, n) {
        let last = char::from(b'A' + n.clamp(1, 26) as u8 - 1);
        assert!(('A'..=last).contains(&c), "option {c} out of A..={last}");
    }
    // The golden-answer match: a text that states one answer, with a letter or digit in it,
    // matches itself (one that states none, or conflicting ones, matches nothing).
    if let Some(said) = extract::final_answer(&text)
        && said.chars().any(char::is_alphanumeric)
    {
        assert!(
            answer_match::answers_match(&text, &text),
            "{said:?} does not match itself"
        );
    }
    if let Some((answer, reference)) = text.split_once('\n') {
        let _ = answer_match::answers_match(answer, reference);
    }
}

/// The step splitter: steps are trimmed and non-empty, no text is lost, and numbering the steps
/// and splitting again gives the same count.
pub fn steps(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let got = steps::split_steps(&text);
    for s in &got {
        assert!(!s.is_empty(), "an empty step");
        assert_eq!(s.as_str(), s.trim(), "an untrimmed step");
    }
    let solid = |t: &str| t.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    assert_eq!(
        solid(&got.concat()),
        solid(&text),
        "text lost between steps"
    );
    // Four-digit numbers are not markers (a year is not a step), so the count holds up to 999.
    if got.len() < 1000 {
        let again = steps::split_steps(&steps::number_steps(&got));
        assert_eq!(again.len(), got.len(), "numbered steps split differently");
    }
}

/// Judge verdicts: the score is within 0..=1 and the first wrong step within the steps shown
/// (the first byte is how many), and absent when the verdict passes.
pub fn verdict(data: &[u8]) {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let _ = parse::parse_json_object(&text);
    let n = usize::from(n);
    if let Ok(v) = judge::parse_verdict(&text, n) {
        if let Some(s) = v.score {
            assert!((0.0..=1.0).contains(&s), "score {s} out of 0..=1");
        }
        if let Some(k) = v.first_wrong_step {
            assert!(!v.passed, "a passing verdict names a wrong step");
            assert!(
                k >= 1 && k as usize <= n,
                "first wrong step {k} out of 1..={n}"
            );
        }
    }
}

/// Server-sent events: the same bytes give the same events however the network cuts them (the
/// first byte is the chunk size).
pub fn sse(data: &[u8]) {
    let Some((&k, stream)) = data.split_first() else {
        return;
    };
    let mut whole = SseParser::default();
    let mut a = whole.push(stream);
    a.extend(whole.finish());
    let mut cut = SseParser::default();
    let mut b = Vec::new();
    for chunk in stream.chunks(usize::from(k).max(1)) {
        b.extend(cut.push(chunk));
    }
    b.extend(cut.finish());
    assert_eq!(a, b, "events depend on where the stream was cut");
}
