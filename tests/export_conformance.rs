//! What the real tools require of an export, pinned as tests (tests/conformance/ runs the tools
//! themselves): samples that cannot be a training example are skipped with their reason and
//! counted; LLaMA-Factory rows carry every declared column; Hugging Face rows keep `tools` as a
//! JSON string and no file-level `export_time`; the card has its metadata. And `aspect`,
//! `topic`, `label` and notes survive import and export in every format.

use assay::export::{Card, ExportTarget};
use assay::formats::write::Container;
use assay::formats::{Format, ReadOptions, SampleView, SampleWriter, Tags, WriteSummary};
use assay::ingest::import::import_file;
use assay::model::{Content, Label, Role, SampleKind, SampleMeta, ToolCall, Turn};
use assay::store::{Filter, Store};
use serde_json::{Value, json};

fn write(format: Format, kind: SampleKind, content: &Content) -> (Vec<Value>, WriteSummary) {
    let meta = SampleMeta::default();
    let mut out = Vec::new();
    let mut w = SampleWriter::new(&mut out, format, Container::Lines, Tags::default()).unwrap();
    w.write(&SampleView {
        kind,
        content,
        meta: &meta,
    })
    .unwrap();
    let summary = w.finish().unwrap();
    let rows = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (rows, summary)
}

/// The one reason `content` is skipped for, in each conversation format.
fn skipped_for(content: &Content) -> Vec<String> {
    [Format::Sharegpt, Format::Openai]
        .into_iter()
        .map(|f| {
            let (rows, summary) = write(f, SampleKind::Conversation, content);
            assert!(rows.is_empty(), "{f}: written {rows:?}");
            assert_eq!(summary.skipped_total(), 1, "{f}");
            summary.skipped.keys().next().unwrap().clone()
        })
        .collect()
}

fn turns(t: Vec<Turn>) -> Content {
    Content {
        turns: t,
        ..Content::default()
    }
}

fn call(name: &str) -> Turn {
    Turn {
        tool_calls: vec![ToolCall {
            id: None,
            name: name.into(),
            arguments: json!({"location": "上海"}),
        }],
        ..Turn::assistant("")
    }
}

#[test]
fn a_question_without_an_answer_is_skipped_with_its_reason() {
    for why in skipped_for(&turns(vec![Turn::user("只有问题?")])) {
        assert!(why.contains("question but no answer"), "{why}");
    }
}

#[test]
fn bad_role_order_is_skipped_with_its_reason() {
    let c = turns(vec![
        Turn::user("q"),
        Turn::user("q again"),
        Turn::assistant("a"),
    ]);
    for why in skipped_for(&c) {
        assert!(why.contains("bad role order"), "{why}");
    }
}

#[test]
fn an_odd_message_count_is_skipped_with_its_reason() {
    let c = turns(vec![
        Turn::user("q"),
        Turn::assistant("a"),
        Turn::user("q2"),
    ]);
    for why in skipped_for(&c) {
        assert!(why.contains("odd message count"), "{why}");
    }
}

#[test]
fn a_trajectory_ending_in_a_call_is_skipped_with_its_reason() {
    let c = turns(vec![Turn::user("q"), call("get_weather")]);
    for why in skipped_for(&c) {
        assert!(
            why.contains("tool call that no tool result follows"),
            "{why}"
        );
    }
}

#[test]
fn a_tool_with_an_unreadable_parameter_type_is_skipped_with_its_reason() {
    let c = Content {
        tools: Some(json!([{"name": "get_weather", "parameters": {"location": "place"}}])),
        ..turns(vec![
            Turn::user("q"),
            call("get_weather"),
            Turn::new(Role::Tool, "{}"),
            Turn::assistant("a"),
        ])
    };
    for why in skipped_for(&c) {
        assert!(
            why.contains("\"location\"") && why.contains("JSON Schema"),
            "{why}"
        );
    }
}

#[test]
fn sharegpt_rows_carry_system_and_tools_even_when_empty() {
    let (rows, _) = write(
        Format::Sharegpt,
        SampleKind::Qa,
        &turns(vec![Turn::user("q"), Turn::assistant("a")]),
    );
    assert_eq!(rows[0]["system"], "");
    assert_eq!(rows[0]["tools"], "");
}

#[test]
fn openai_tool_messages_link_their_calls() {
    let c = turns(vec![
        Turn::user("q"),
        call("get_weather"),
        Turn::new(Role::Tool, "{\"condition\": \"rain\"}"),
        Turn::assistant("a"),
    ]);
    let (rows, _) = write(Format::Openai, SampleKind::AgentTrajectory, &c);
    let m = &rows[0]["messages"];
    assert_eq!(m[1]["tool_calls"][0]["id"], "call_1_0");
    assert_eq!(m[2]["tool_call_id"], "call_1_0");
}

fn store_with(dir: &std::path::Path, file: &str, body: &str) -> Store {
    store_as(dir, file, body, None)
}

fn store_as(dir: &std::path::Path, file: &str, body: &str, format: Option<Format>) -> Store {
    let input = dir.join(file);
    std::fs::write(&input, body).unwrap();
    let mut store = Store::open(&dir.join("t.db")).unwrap();
    let opts = ReadOptions {
        format,
        ..ReadOptions::default()
    };
    let (counts, _, rejects) = import_file(&mut store, &input, "d", opts).unwrap();
    assert_eq!(counts.rejected, 0, "{rejects:?}");
    store
}

#[test]
fn hugging_face_rows_keep_tools_as_a_string_and_the_card_its_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let agent = json!({"tools": [{"name": "calc", "description": "计算", "parameters": {"e": "string"}}],
        "conversation": [
            {"role": "user", "content": "一加一 (1+1)?"},
            {"role": "assistant", "content": {"thought": "算", "action": {"tool_name": "calc", "parameters": {"e": "1+1"}}}},
            {"role": "tool", "content": {"value": 2}},
            {"role": "assistant", "content": {"final_answer": "2"}}]});
    let store = store_with(dir.path(), "a.jsonl", &format!("{agent}\n"));
    let out = dir.path().join("hf");
    let card = Card {
        dataset: Some("d".into()),
        license: Some("cc-by-4.0".into()),
        ..Card::default()
    };
    let s = assay::export::export(
        &store,
        ExportTarget::HuggingFace,
        &out,
        &Filter::default(),
        &card,
    )
    .unwrap();
    assert_eq!(s.written, 1);
    let row: Value = serde_json::from_str(
        std::fs::read_to_string(out.join("data/train.jsonl"))
            .unwrap()
            .trim(),
    )
    .unwrap();
    let tools: Value = serde_json::from_str(row["tools"].as_str().unwrap()).unwrap();
    assert_eq!(tools[0]["function"]["parameters"]["type"], "object");
    let readme = std::fs::read_to_string(out.join("README.md")).unwrap();
    for want in [
        "license: cc-by-4.0",
        "language:\n- en\n- zh",
        "task_categories:\n- text-generation",
    ] {
        assert!(readme.contains(want), "{want:?} not in\n{readme}");
    }
}

#[test]
fn camel_export_time_stays_out_of_the_rows() {
    let dir = tempfile::tempdir().unwrap();
    let camel = json!({"solutions": {"1+1?": "1. 1+1=2\n答案：2"}, "golden_answers": {"1+1?": "2"},
                       "export_time": "2026-01-01T00:00:00"});
    let store = store_with(dir.path(), "cot.json", &camel.to_string());
    let out = dir.path().join("lf");
    assay::export::export(
        &store,
        ExportTarget::LlamaFactory,
        &out,
        &Filter::default(),
        &Card::default(),
    )
    .unwrap();
    let text = std::fs::read_to_string(out.join("assay.jsonl")).unwrap();
    assert!(!text.contains("export_time"), "{text}");
}

/// aspect, topic, label and notes in one record of `format`; they must come back out.
fn fields_round_trip(format: Format, file: &str, mut rec: Value) {
    for (k, v) in [
        ("aspect", "数据清洗"),
        ("topic", "pandas"),
        ("label", "negative"),
        ("notes", "checked by hand"),
    ] {
        rec[k] = v.into();
    }
    let dir = tempfile::tempdir().unwrap();
    // The format is named: a `{"text"}` row whose other values are all strings is detected as
    // a CAMEL golden-answer map (see the report).
    let store = store_as(dir.path(), file, &format!("{rec}\n"), Some(format));
    let mut out = Vec::new();
    let mut w = SampleWriter::new(&mut out, format, Container::Lines, Tags::default()).unwrap();
    let mut seen = 0;
    store
        .for_each_sample(&Filter::default(), |s| {
            // Kept in their own fields, where stats, filters and the audit's strata look.
            assert_eq!(
                s.meta.aspect.as_deref(),
                Some("数据清洗"),
                "{format}: {:?}",
                s.meta
            );
            assert_eq!(s.meta.topic.as_deref(), Some("pandas"));
            assert_eq!(s.meta.label, Some(Label::Negative));
            assert_eq!(s.meta.extra.get("notes"), Some(&json!("checked by hand")));
            seen += 1;
            assert!(
                w.write(&SampleView {
                    kind: s.kind,
                    content: &s.head.content,
                    meta: &s.meta,
                })
                .unwrap()
            );
            Ok(())
        })
        .unwrap();
    w.finish().unwrap();
    assert_eq!(seen, 1, "{format}");
    let got: Value = serde_json::from_slice(&out).unwrap();
    for k in ["aspect", "topic", "label", "notes"] {
        assert_eq!(got[k], rec[k], "{format}: {k} in {got}");
    }
}

#[test]
fn aspect_topic_label_and_notes_round_trip_in_every_format() {
    fields_round_trip(
        Format::Alpaca,
        "a.jsonl",
        json!({"instruction": "q", "input": "", "output": "a"}),
    );
    fields_round_trip(
        Format::Sharegpt,
        "s.jsonl",
        json!({"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]}),
    );
    fields_round_trip(
        Format::Openai,
        "o.jsonl",
        json!({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}),
    );
    fields_round_trip(
        Format::Xtuner,
        "x.jsonl",
        json!({"conversation": [{"input": "q", "output": "a"}]}),
    );
    fields_round_trip(
        Format::Agent,
        "g.jsonl",
        json!({"tools": [], "conversation": [{"role": "user", "content": "q"},
               {"role": "assistant", "content": {"final_answer": "a"}}]}),
    );
    fields_round_trip(Format::Pretrain, "p.jsonl", json!({"text": "doc"}));
}
