//! export(import(x)) == x for every format, through a real SQLite file: Chinese, emoji, empty
//! and very long strings, unknown fields kept.

use assay::formats::write::Container;
use assay::formats::{Format, ReadOptions, SampleView, SampleWriter, Tags};
use assay::ingest::import::import_file;
use assay::store::{Filter, Store};
use proptest::prelude::*;
use serde_json::{Value, json};

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-zA-Z0-9 ,.?!\n\"\\\\]{1,30}",
        "[\u{4e00}-\u{9fa5}，。？ ]{1,30}",
        "[\u{1F600}-\u{1F64F}\u{1F680}-\u{1F6C5}a]{1,8}",
        "[a-z\u{4e00}-\u{4e20}]{1,8}".prop_map(|s| s.repeat(2000)),
    ]
}

fn nonempty() -> impl Strategy<Value = String> {
    text().prop_map(|s| if s.is_empty() { "x".into() } else { s })
}

/// Imports `records` (written as `file`), exports everything in `format`, returns the output.
fn round_trip(format: Format, file: &str, body: &str, container: Container) -> String {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join(file);
    std::fs::write(&input, body).unwrap();
    let mut store = Store::open(&dir.path().join("t.db")).unwrap();
    let opts = ReadOptions {
        format: Some(format),
        ..ReadOptions::default()
    };
    let (counts, _, rejects) = import_file(&mut store, &input, "d", opts).unwrap();
    assert_eq!(counts.rejected, 0, "rejected: {rejects:?}");
    let mut out = Vec::new();
    let mut w = SampleWriter::new(&mut out, format, container, Tags::default()).unwrap();
    store
        .for_each_sample(&Filter::default(), |s| {
            let v = SampleView {
                kind: s.kind,
                content: &s.head.content,
                meta: &s.meta,
            };
            assert!(w.write(&v).unwrap(), "skipped: {s:?}");
            Ok(())
        })
        .unwrap();
    let summary = w.finish().unwrap();
    assert_eq!(summary.skipped_total(), 0);
    String::from_utf8(out).unwrap()
}

fn one_line(format: Format, rec: &Value) -> Value {
    let out = round_trip(format, "in.jsonl", &format!("{rec}\n"), Container::Lines);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "{out}");
    serde_json::from_str(lines[0]).unwrap()
}

fn output() -> impl Strategy<Value = String> {
    prop_oneof![
        text(),
        (text(), text()).prop_map(|(r, a)| format!("<think>{r}</think>\n{a}")),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn alpaca(ins in text(), inp in text(), out in output(), sys in proptest::option::of(text()),
              hist in proptest::collection::vec((text(), output()), 0..3), id in proptest::option::of(0u32..1000)) {
        let mut rec = json!({"instruction": ins, "input": inp, "output": out});
        if let Some(s) = sys { rec["system"] = s.into(); }
        if !hist.is_empty() { rec["history"] = json!(hist.iter().map(|(u, a)| json!([u, a])).collect::<Vec<_>>()); }
        if let Some(id) = id { rec["id"] = id.into(); }
        // Every row carries the columns dataset_info.json declares: "" and [] when there are none.
        let mut want = rec.clone();
        if want.get("system").is_none() { want["system"] = "".into(); }
        if want.get("history").is_none() { want["history"] = json!([]); }
        prop_assert_eq!(one_line(Format::Alpaca, &rec), want);
    }

    #[test]
    fn sharegpt(turns in proptest::collection::vec((text(), output()), 1..4), sys in proptest::option::of(text()),
                call in proptest::option::of((nonempty(), text(), text(), text()))) {
        let mut conv = Vec::new();
        for (u, a) in &turns {
            conv.push(json!({"from": "human", "value": u}));
            conv.push(json!({"from": "gpt", "value": a}));
        }
        let mut rec = json!({});
        if let Some((name, arg, obs, answer)) = call {
            conv.push(json!({"from": "human", "value": "use the tool"}));
            conv.push(json!({"from": "function_call", "value": json!({"name": name, "arguments": {"q": arg}}).to_string()}));
            conv.push(json!({"from": "observation", "value": obs}));
            conv.push(json!({"from": "gpt", "value": answer}));
            rec["tools"] = json!([{"name": name, "description": "工具",
                "parameters": {"type": "object", "properties": {}}}]).to_string().into();
        }
        rec["conversations"] = conv.into();
        if let Some(s) = sys { rec["system"] = s.into(); }
        // Every row carries the columns dataset_info.json declares: "" when there are none.
        let mut want = rec.clone();
        for k in ["system", "tools"] {
            if want.get(k).is_none() { want[k] = "".into(); }
        }
        // `tools` is JSON inside a string: the same value, whatever the order of its keys.
        let mut got = one_line(Format::Sharegpt, &rec);
        for row in [&mut got, &mut want] {
            if let Some(t) = row["tools"].as_str().filter(|t| !t.is_empty()) {
                row["tools"] = serde_json::from_str::<Value>(t).unwrap();
            }
        }
        prop_assert_eq!(got, want);
    }

    #[test]
    fn openai(sys in proptest::option::of(text()), u in text(), a in output(),
              call in proptest::option::of((nonempty(), text(), text(), text()))) {
        let mut msgs = Vec::new();
        if let Some(s) = &sys { msgs.push(json!({"role": "system", "content": s})); }
        msgs.push(json!({"role": "user", "content": u}));
        if let Some((name, arg, obs, id)) = &call {
            msgs.push(json!({"role": "assistant", "content": "", "tool_calls": [{"id": id, "type": "function",
                "function": {"name": name, "arguments": json!({"q": arg}).to_string()}}]}));
            msgs.push(json!({"role": "tool", "tool_call_id": id, "content": obs}));
        }
        msgs.push(json!({"role": "assistant", "content": a}));
        let rec = json!({"messages": msgs});
        prop_assert_eq!(one_line(Format::Openai, &rec), rec);
    }

    #[test]
    fn xtuner(sys in proptest::option::of(text()), first in nonempty(),
              rounds in proptest::collection::vec((text(), output()), 1..3)) {
        let mut conv = Vec::new();
        for (i, (inp, out)) in rounds.iter().enumerate() {
            let mut r = json!({"input": if i == 0 { &first } else { inp }, "output": out});
            if i == 0 && let Some(s) = &sys { r["system"] = s.clone().into(); }
            conv.push(r);
        }
        let rec = json!({"conversation": conv});
        prop_assert_eq!(one_line(Format::Xtuner, &rec), rec);
    }

    #[test]
    fn xtuner_pretrain(t in text()) {
        let rec = json!({"conversation": [{"input": "", "output": t}]});
        prop_assert_eq!(one_line(Format::Xtuner, &rec), rec);
    }

    #[test]
    fn agent(q in text(), thought in text(), tool in nonempty(), arg in text(), obs in text(), ans in text()) {
        let rec = json!({
            "tools": [{"name": tool, "description": "查询", "parameters": {"q": "string"}}],
            "conversation": [
                {"role": "user", "content": q},
                {"role": "assistant", "content": {"thought": thought, "action": {"tool_name": tool, "parameters": {"q": arg}}}},
                {"role": "tool", "content": {"result": obs}},
                {"role": "assistant", "content": {"thought": "好", "final_answer": ans}},
            ]});
        prop_assert_eq!(one_line(Format::Agent, &rec), rec);
    }

    #[test]
    fn pretrain(t in text(), id in proptest::option::of("[a-z]{1,5}")) {
        let mut rec = json!({"text": t});
        if let Some(id) = id { rec["doc"] = id.into(); }
        prop_assert_eq!(one_line(Format::Pretrain, &rec), rec);
    }

    #[test]
    fn choice(problem in text(), qs in proptest::collection::vec((text(), proptest::collection::vec(text(), 2..5)), 1..4)) {
        let questions: Vec<Value> = qs.iter().enumerate().map(|(i, (q, opts))| {
            json!({"question": format!("{i}. {q}"), "options": opts, "answer": if i % 2 == 0 { "A" } else { "B" }})
        }).collect();
        let rec = json!({"problem": problem, "questions": questions});
        prop_assert_eq!(one_line(Format::Choice, &rec), rec);
    }

    #[test]
    fn camel_golden(map in proptest::collection::btree_map(nonempty(), text(), 1..6)) {
        let rec = json!(map);
        let out = round_trip(Format::CamelGolden, "golden.json", &serde_json::to_string_pretty(&rec).unwrap(), Container::Array);
        prop_assert_eq!(serde_json::from_str::<Value>(&out).unwrap(), rec);
    }

    #[test]
    fn camel_export(sol in proptest::collection::btree_map(nonempty(), output(), 1..5),
                    golden_only in proptest::collection::btree_map("[a-z]{1,8}\\?", text(), 0..3)) {
        let mut golden = serde_json::Map::new();
        for (i, q) in sol.keys().enumerate() { golden.insert(q.clone(), format!("答{i}").into()); }
        for (q, g) in &golden_only {
            if !sol.contains_key(q) { golden.insert(q.clone(), g.clone().into()); }
        }
        let rec = json!({"solutions": sol, "golden_answers": golden, "export_time": "2026-01-01T00:00:00"});
        let out = round_trip(Format::CamelExport, "camel.json", &rec.to_string(), Container::Array);
        let got: Value = serde_json::from_str(&out).unwrap();
        prop_assert_eq!(&got["solutions"], &rec["solutions"]);
        prop_assert_eq!(&got["golden_answers"], &rec["golden_answers"]);
    }
}

#[test]
fn json_array_input_reads_like_jsonl() {
    let recs = json!([{"text": "一"}, {"text": "二\n三"}, {"text": "😀"}]);
    let out = round_trip(
        Format::Pretrain,
        "in.json",
        &serde_json::to_string_pretty(&recs).unwrap(),
        Container::Array,
    );
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap(), recs);
}

#[test]
fn agent_trajectory_exports_as_sharegpt_and_openai_tool_calls() {
    let rec = json!({
        "tools": [{"name": "get_weather", "description": "天气", "parameters": {"location": "string"}}],
        "conversation": [
            {"role": "user", "content": "北京天气怎样?要带伞吗?"},
            {"role": "assistant", "content": {"thought": "先查天气。", "action": {"tool_name": "get_weather", "parameters": {"location": "北京"}}}},
            {"role": "tool", "content": {"result": {"condition": "多云", "precipitation": 70}}},
            {"role": "assistant", "content": {"thought": "降水概率70%。", "final_answer": "建议带伞。"}}]});
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("agent.jsonl");
    std::fs::write(&input, format!("{rec}\n")).unwrap();
    let mut store = Store::open(&dir.path().join("t.db")).unwrap();
    import_file(&mut store, &input, "d", ReadOptions::default()).unwrap();
    let export = |format| {
        let mut out = Vec::new();
        let mut w = SampleWriter::new(&mut out, format, Container::Lines, Tags::default()).unwrap();
        store
            .for_each_sample(&Filter::default(), |s| {
                assert!(
                    w.write(&SampleView {
                        kind: s.kind,
                        content: &s.head.content,
                        meta: &s.meta
                    })
                    .unwrap()
                );
                Ok(())
            })
            .unwrap();
        w.finish().unwrap();
        serde_json::from_slice::<Value>(&out).unwrap()
    };
    let sg = export(Format::Sharegpt);
    let roles: Vec<&str> = sg["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["from"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["human", "function_call", "observation", "gpt"]);
    // The thought in LLaMA-Factory's thought words, which its function formatter cuts off.
    assert_eq!(
        sg["conversations"][1]["value"],
        "<think>\n先查天气。\n</think>\n\n{\"name\":\"get_weather\",\"arguments\":{\"location\":\"北京\"}}"
    );
    assert_eq!(
        sg["conversations"][3]["value"],
        "<think>降水概率70%。</think>\n建议带伞。"
    );
    // The short name->type map becomes JSON Schema, which LLaMA-Factory's tool formatter reads.
    let schema = json!([{"name": "get_weather", "description": "天气", "parameters": {
        "type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}}]);
    let tools: Value = serde_json::from_str(sg["tools"].as_str().unwrap()).unwrap();
    assert_eq!(tools, schema);
    assert_eq!(sg["system"], "");
    let oa = export(Format::Openai);
    let call = &oa["messages"][1]["tool_calls"][0];
    assert_eq!(call["function"]["name"], "get_weather");
    assert_eq!(
        serde_json::from_str::<Value>(call["function"]["arguments"].as_str().unwrap()).unwrap(),
        json!({"location": "北京"})
    );
    assert_eq!(oa["messages"][2]["role"], "tool");
    assert_eq!(oa["messages"][2]["tool_call_id"], call["id"]);
    assert_eq!(
        oa["tools"],
        json!([{"type": "function", "function": schema[0]}])
    );
}

#[test]
fn detection_picks_each_format() {
    use assay::formats::detect::detect;
    let t = Tags::default();
    let d = |v: Value| detect(v.as_object().unwrap(), &t);
    assert_eq!(
        d(json!({"instruction": "", "output": ""})),
        Some(Format::Alpaca)
    );
    assert_eq!(d(json!({"conversations": []})), Some(Format::Sharegpt));
    assert_eq!(
        d(json!({"messages": [{"role": "user"}]})),
        Some(Format::Openai)
    );
    assert_eq!(
        d(json!({"messages": [{"from": "human"}]})),
        Some(Format::Sharegpt)
    );
    assert_eq!(
        d(json!({"conversation": [{"input": "", "output": ""}]})),
        Some(Format::Xtuner)
    );
    assert_eq!(
        d(json!({"tools": [], "conversation": [{"role": "user"}]})),
        Some(Format::Agent)
    );
    assert_eq!(d(json!({"问题": "答案"})), Some(Format::CamelGolden));
    assert_eq!(
        d(json!({"solutions": {}, "golden_answers": {}, "export_time": ""})),
        Some(Format::CamelExport)
    );
    assert_eq!(
        d(json!({"problem": "", "questions": []})),
        Some(Format::Choice)
    );
    assert_eq!(d(json!({"text": ""})), Some(Format::Pretrain));
    assert_eq!(d(json!({"a": 1})), None);
}

#[test]
fn provider_reasoning_fields_become_the_turns_reasoning() {
    // DeepSeek / vLLM write `reasoning_content`, OpenRouter / Ollama `reasoning`; either way the
    // export carries it once, as LLaMA-Factory's `<think>` prefix, and the answer stays bare.
    for key in ["reasoning_content", "reasoning"] {
        let rec = json!({"messages": [
            {"role": "user", "content": "3个苹果加2个？"},
            {"role": "assistant", "content": "5个。", key: "3+2=5。"}
        ]});
        let got = one_line(Format::Openai, &rec);
        let answer = got["messages"][1]["content"].as_str().unwrap();
        assert_eq!(answer.matches("3+2=5").count(), 1, "{key}: {got}");
        assert!(answer.starts_with("<think>"), "{key}: {got}");
        assert!(answer.ends_with("5个。"), "{key}: {got}");
        assert!(got["messages"][1].get(key).is_none(), "{key}: {got}");
    }
    // A separate field wins over inline thinking; an empty one does not erase it.
    let rec = json!({"messages": [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": "<think>inline</think>\na", "reasoning_content": ""}
    ]});
    let got = one_line(Format::Openai, &rec);
    assert!(
        got["messages"][1]["content"]
            .as_str()
            .unwrap()
            .contains("inline"),
        "{got}"
    );
}
