//! The list shapes real models return for "write N questions", as a table: the reply and the
//! exact items expected (an empty expectation: the reply must be refused). Every shape quoted in
//! issue 16 is here.

use super::list::read_list;

const Q2: &[&str] = &["What is A?", "Why is B?"];
const Z2: &[&str] = &["什么是光合作用？", "为什么天是蓝的？"];

const SHAPES: &[(&str, &[&str])] = &[
    // JSON and near-JSON.
    (r#"["What is A?", "Why is B?"]"#, Q2),
    ("```json\n[\"What is A?\", \"Why is B?\"]\n```", Q2),
    (
        "Sure! Here they are:\n```json\n[\"What is A?\", \"Why is B?\"]\n```\nHope it helps",
        Q2,
    ),
    (
        r#"[{"question": "什么是光合作用？"}, {"q": "为什么天是蓝的？"}]"#,
        Z2,
    ),
    (r#"{"questions": ["What is A?", "Why is B?"]}"#, Q2),
    (
        "[\"What is A?\", \"Why is B?\"]\n\nThese questions cover [basics] and [depth].",
        Q2,
    ),
    (r#"['What is A?', 'Why is B?']"#, Q2),
    (r#"['What\'s A?', "It's B?"]"#, &["What's A?", "It's B?"]),
    ("[“什么是光合作用？”, “为什么天是蓝的？”]", Z2),
    ("【“什么是光合作用？”，“为什么天是蓝的？”】", Z2),
    ("[「什么是光合作用？」、「为什么天是蓝的？」]", Z2),
    (
        "{\"question\": \"What is A?\"}\n{\"question\": \"Why is B?\"}",
        Q2,
    ),
    (r#"["1. What is A?", "2. Why is B?"]"#, Q2),
    (
        "<think>The user wants two questions.</think>\n[\"What is A?\", \"Why is B?\"]",
        Q2,
    ),
    (
        "<think>Let me list [a, b].</think>\n1. What is A?\n2. Why is B?",
        Q2,
    ),
    // Numbered.
    ("1. What is A?\n2. Why is B?", Q2),
    ("1) What is A?\n2) Why is B?", Q2),
    ("1、什么是光合作用？\n2、为什么天是蓝的？", Z2),
    ("(1) What is A?\n(2) Why is B?", Q2),
    ("（1）什么是光合作用？\n（2）为什么天是蓝的？", Z2),
    ("①什么是光合作用？\n②为什么天是蓝的？", Z2),
    ("【1】什么是光合作用？\n【2】为什么天是蓝的？", Z2),
    ("一、什么是光合作用？\n二、为什么天是蓝的？", Z2),
    ("1.什么是光合作用？\n2.为什么天是蓝的？", Z2),
    ("１．什么是光合作用？\n２．为什么天是蓝的？", Z2),
    (
        "1. 3.5倍的数据量意味着什么？\n2. 2024年的趋势是什么？",
        &["3.5倍的数据量意味着什么？", "2024年的趋势是什么？"],
    ),
    (
        "3.5倍的数据量意味着什么？\n为什么天是蓝的？",
        &["3.5倍的数据量意味着什么？", "为什么天是蓝的？"],
    ),
    // Labels and emphasis.
    ("Question 1: What is A?\nQuestion 2: Why is B?", Q2),
    ("Q1: What is A?\nQ2: Why is B?", Q2),
    ("问题1：什么是光合作用？\n问题2：为什么天是蓝的？", Z2),
    ("**1. What is A?**\n**2. Why is B?**", Q2),
    ("1. **What is A?**\n2. **Why is B?**", Q2),
    ("**Question 1:** What is A?\n**Question 2:** Why is B?", Q2),
    ("第1题：什么是光合作用？\n第2题：为什么天是蓝的？", Z2),
    ("- \"What is A?\"\n- \"Why is B?\"", Q2),
    // Bullets and quotes.
    ("- What is A?\n- Why is B?", Q2),
    ("* What is A?\n* Why is B?", Q2),
    ("• 什么是光合作用？\n• 为什么天是蓝的？", Z2),
    ("「什么是光合作用？」\n「为什么天是蓝的？」", Z2),
    // Preambles, headings, trailing explanations.
    (
        "Here are two questions about the topic\n1. What is A?\n2. Why is B?",
        Q2,
    ),
    (
        "以下是关于光合作用的问题\n1. 什么是光合作用？\n2. 为什么天是蓝的？",
        Z2,
    ),
    ("### Questions\n1. What is A?\n2. Why is B?", Q2),
    (
        "1. What is A?\n2. Why is B?\n\nThese questions test basic understanding of the topic.",
        Q2,
    ),
    (
        "## 基础\n- 什么是光合作用？\n## 进阶\n- 为什么天是蓝的？",
        Z2,
    ),
    ("What is A?\nWhy is B?", Q2),
    (
        "Questions:\nWhat is A?\nWhy is B?\nLet me know if you need more.",
        Q2,
    ),
    // Several fences.
    (
        "Basics:\n```\n[\"What is A?\"]\n```\nDepth:\n```\n[\"Why is B?\"]\n```",
        Q2,
    ),
    ("```\n1. What is A?\n```\n```\n2. Why is B?\n```", Q2),
    // Not lists: refused.
    ("I cannot help with that.", &[]),
    ("", &[]),
    ("<think>hmm</think>", &[]),
    (
        "Sorry, as an AI I prefer not to write questions about this topic.",
        &[],
    ),
];

#[test]
fn list_shapes() {
    let mut bad = Vec::new();
    for (reply, want) in SHAPES {
        let got = read_list(reply);
        let ok = match &got {
            Ok(items) => !want.is_empty() && items == want,
            Err(why) => want.is_empty() && !why.is_empty(),
        };
        if !ok {
            bad.push(format!("{reply:?}: want {want:?}, got {got:?}"));
        }
    }
    assert!(SHAPES.len() >= 40);
    assert!(bad.is_empty(), "{} wrong:\n{}", bad.len(), bad.join("\n"));
}

#[test]
fn refusals_say_why() {
    let e = read_list("I cannot help with that.").unwrap_err();
    assert!(e.contains("not a list"), "{e}");
    assert_eq!(read_list("  ").unwrap_err(), "the reply is empty");
}
