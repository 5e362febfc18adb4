//! Every input a fuzzer crashed on (`fuzz/regressions/<target>/`), the seed corpora and the sample
//! data, replayed through the same invariant checks the libFuzzer targets run
//! (`fuzz/src/lib.rs`), so a fixed crash stays fixed in plain `cargo test`; and, for each crash,
//! a named test of what a user sees now.

#[path = "../fuzz/src/lib.rs"]
mod checks;

use assay::formats::{Format, Item, ReadOptions, Reader, Rejection};
use assay::model::Turn;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `check` on `data`, returning the panic message if an invariant broke.
fn broken(check: checks::Check, data: &[u8]) -> Option<String> {
    let r = std::panic::catch_unwind(|| check(data)).err()?;
    Some(
        r.downcast_ref::<String>()
            .cloned()
            .or_else(|| r.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default(),
    )
}

#[test]
fn every_saved_input_passes_its_targets_checks() {
    let mut failures = Vec::new();
    let mut replayed = 0;
    for (name, check) in checks::TARGETS {
        for kind in ["regressions", "seeds"] {
            let Ok(dir) = std::fs::read_dir(root().join("fuzz").join(kind).join(name)) else {
                continue;
            };
            for entry in dir {
                let path = entry.unwrap().path();
                replayed += 1;
                if let Some(msg) = broken(check, &std::fs::read(&path).unwrap()) {
                    failures.push(format!("{}: {msg}", path.display()));
                }
            }
        }
    }
    // The sample data under each importer and splitter setting `.ci/fuzz` seeds it with.
    for entry in std::fs::read_dir(root().join("sample-data")).unwrap() {
        let path = entry.unwrap().path();
        if !path
            .extension()
            .is_some_and(|e| e == "json" || e == "jsonl")
        {
            continue;
        }
        let body = std::fs::read(&path).unwrap();
        for (check, sel) in [
            (checks::import as checks::Check, 0u8),
            (checks::import, 10),
            (checks::import, 20),
        ]
        .into_iter()
        .chain([
            (checks::scan as checks::Check, 2u8),
            (checks::scan, 3),
            (checks::scan, 66),
        ]) {
            replayed += 1;
            let mut data = vec![sel];
            data.extend_from_slice(&body);
            if let Some(msg) = broken(check, &data) {
                failures.push(format!("{} (selector {sel}): {msg}", path.display()));
            }
        }
    }
    assert!(replayed > 50, "only {replayed} inputs found");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn read_all(text: &str, format: Option<Format>, prefer_lines: bool) -> (Vec<Item>, Vec<Rejection>) {
    let opts = ReadOptions {
        format,
        ..ReadOptions::default()
    };
    let mut r = Reader::new(text.as_bytes(), "t".into(), prefer_lines, opts);
    let (mut samples, mut rejects) = (Vec::new(), Vec::new());
    while let Some(item) = r.next_item().unwrap() {
        match item {
            Item::Rejected(x) => rejects.push(x),
            other => samples.push(other),
        }
    }
    (samples, rejects)
}

/// Crash 1 (import): `{}` read as a CAMEL export or golden map gave no sample and no rejection:
/// the record vanished without a word.
#[test]
fn an_empty_camel_record_is_rejected_not_dropped() {
    assert_eq!(broken(checks::import, b"\x11{}\xff"), None);
    for format in [Format::CamelExport, Format::CamelGolden] {
        let (samples, rejects) = read_all("{}\n", Some(format), false);
        assert!(samples.is_empty());
        assert_eq!(rejects.len(), 1, "{format}");
        assert_eq!(rejects[0].reason, "the record holds no sample");
        assert_eq!((rejects[0].line, rejects[0].offset), (1, 0));
    }
}

fn nested(depth: usize) -> String {
    format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
}

/// Records nested close to serde_json's limit of 128 parsed, but the stored sample holds them a
/// few levels deeper, so the store could not read the sample back. JSON inside a string (tool
/// arguments) escaped the record's own limit altogether.
#[test]
fn nesting_near_the_parser_limit_cannot_make_an_unreadable_sample() {
    // An unknown field kept in `meta.extra`, 126 levels deep.
    let deep_extra = format!(
        "{{\"instruction\": \"q\", \"output\": \"a\", \"x\": {}}}\n",
        nested(126)
    );
    let mut data = vec![1u8];
    data.extend_from_slice(deep_extra.as_bytes());
    assert_eq!(broken(checks::import, &data), None);
    let (samples, rejects) = read_all(&deep_extra, None, true);
    assert!(samples.is_empty());
    assert!(
        rejects[0].reason.starts_with("nesting too deep"),
        "{:?}",
        rejects[0]
    );

    // Tool-call arguments as a JSON string nested 127 levels: kept as the string.
    let args = serde_json::to_string(&nested(127)).unwrap();
    let openai = format!(
        r#"{{"messages": [{{"role": "user", "content": "q"}}, {{"role": "assistant", "content": "", "tool_calls": [{{"id": "c", "type": "function", "function": {{"name": "f", "arguments": {args}}}}}]}}]}}"#
    );
    let mut data = vec![3u8];
    data.extend_from_slice(openai.as_bytes());
    assert_eq!(broken(checks::import, &data), None);
    let (samples, rejects) = read_all(&openai, None, true);
    assert!(rejects.is_empty(), "{rejects:?}");
    let Item::Samples(s) = &samples[0] else {
        panic!("no sample")
    };
    let turn: &Turn = &s[0].content.turns[1];
    assert_eq!(
        turn.tool_calls[0].arguments,
        serde_json::Value::String(nested(127))
    );
    // Shallow arguments still become JSON.
    let shallow = openai.replace(&args, r#""{\"q\": [1]}""#);
    let (samples, _) = read_all(&shallow, None, true);
    let Item::Samples(s) = &samples[0] else {
        panic!("no sample")
    };
    assert_eq!(
        s[0].content.turns[1].tool_calls[0].arguments,
        serde_json::json!({"q": [1]})
    );
}

/// Crash 3 (scan): a backslash before a raw line break inside a string (bad JSON) hid that line
/// break from the line count, so every later record in the file named a line one too early.
#[test]
fn an_escaped_line_break_still_counts_as_a_line() {
    assert_eq!(broken(checks::scan, b"\x03\"\\\n\","), None);
    let text = "[{\"instruction\": \"a\\\nb\", \"output\": \"x\"},\n{\"instruction\": 5}]";
    let (samples, rejects) = read_all(text, Some(Format::Alpaca), false);
    assert!(samples.is_empty());
    let lines: Vec<u64> = rejects.iter().map(|r| r.line).collect();
    // The first is rejected where serde_json stopped, at the escaped break on line 2.
    assert_eq!(lines, vec![2, 3], "{rejects:?}");
    assert_eq!(
        rejects[1].offset,
        text.find("{\"instruction\": 5").unwrap() as u64
    );
}

/// Crash 2 (extract): `\boxed{}` gave an empty final answer; and markers found in fully
/// lowercased text were sliced out of the original at offsets that `İ` and `K` had moved, which
/// panicked inside `中`.
#[test]
fn final_answers_are_never_empty_and_never_cut_inside_a_character() {
    use assay::prompting::extract::final_answer;
    assert_eq!(broken(checks::extract, b"c\\boxed{}"), None);
    assert_eq!(final_answer("c\\boxed{}"), None);
    assert_eq!(broken(checks::extract, "\x04İanswer:中Kİ".as_bytes()), None);
    assert_eq!(final_answer("İanswer:中Kİ").as_deref(), Some("中Kİ"));
}
