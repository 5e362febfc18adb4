//! Reading a list a model wrote, in the shapes real models use: a JSON array (of strings, or of
//! objects with a `question` field, or under a key of an object), a Python list, a list in
//! full-width brackets and quotes (`[“…”, “…”]`, `【“…”，“…”】`), JSON lines, numbered lines
//! (`1.` `1、` `(1)` `①` `【1】` `一、` `Q1:` `Question 1:` `问题1：`), bulleted lines, `「…」`
//! lines, and any of these inside one or several code fences, after a `<think>` block.
//!
//! Numbering, markdown emphasis and question labels are stripped without touching the content
//! (`3.5倍…` keeps its `3.5`); preambles, headings and trailing explanations are dropped. What is
//! not a list is refused with a reason, which a pipeline keeps as the item's failure. Hand-written
//! because no crate parses this mix of near-formats.

use super::extract::strip_think;
use serde_json::Value;

/// The items of a list a model wrote, in order, trimmed, none empty; empty when it wrote none.
pub fn parse_list(text: &str) -> Vec<String> {
    read_list(text).unwrap_or_default()
}

/// The items of a list a model wrote, or why the text is not a list.
pub fn read_list(text: &str) -> Result<Vec<String>, String> {
    let body = strip_think(text);
    if body.trim().is_empty() {
        return Err("the reply is empty".into());
    }
    let fences = fenced_blocks(&body);
    let mut items = Vec::new();
    for block in &fences {
        items.extend(list_in(block));
    }
    if items.is_empty() {
        items = list_in(&body);
    }
    if items.is_empty() {
        return Err(
            "the reply is not a list (no JSON or quoted list, no numbered, bulleted or question \
             lines)"
                .into(),
        );
    }
    Ok(items)
}

/// The contents of every ``` fence (an unclosed last fence runs to the end).
fn fenced_blocks(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("```") {
        let after = &rest[open + 3..];
        // Skip the language tag on the fence line.
        let after = match after.find('\n') {
            Some(nl) if !after[..nl].contains(' ') || after[..nl].trim().is_empty() => {
                &after[nl + 1..]
            }
            _ => after,
        };
        match after.find("```") {
            Some(close) => {
                out.push(&after[..close]);
                rest = &after[close + 3..];
            }
            None => {
                out.push(after);
                break;
            }
        }
    }
    out
}

fn list_in(text: &str) -> Vec<String> {
    let text = text.trim();
    if text.is_empty() {
        return Vec::new();
    }
    if let Some(items) = json_list(text).filter(|v| !v.is_empty()) {
        return items;
    }
    if let Some(items) = quoted_list(text).filter(|v| !v.is_empty()) {
        return items;
    }
    if let Some(items) = json_lines(text).filter(|v| !v.is_empty()) {
        return items;
    }
    lines_list(text)
}

/// The first JSON array in the text (prose and brackets after it ignored), or an array under a
/// key of the first JSON object (`{"questions": [...]}`).
fn json_list(text: &str) -> Option<Vec<String>> {
    for (i, _) in text.match_indices(['[', '{']).take(50) {
        let mut stream = serde_json::Deserializer::from_str(&text[i..]).into_iter::<Value>();
        let Some(Ok(v)) = stream.next() else {
            continue;
        };
        let arr = match v {
            Value::Array(a) => a,
            Value::Object(o) => match o.into_iter().find_map(|(_, v)| match v {
                Value::Array(a) => Some(a),
                _ => None,
            }) {
                Some(a) => a,
                None => continue,
            },
            _ => continue,
        };
        let items: Vec<String> = arr.iter().filter_map(item_text).collect();
        if !items.is_empty() {
            return Some(items);
        }
    }
    None
}

/// A list item: a string, or an object's `question` / `q` / `text` field.
fn item_text(v: &Value) -> Option<String> {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Object(o) => ["question", "q", "text", "content", "问题"]
            .iter()
            .find_map(|k| o.get(*k).and_then(Value::as_str))?
            .to_string(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    // `["1. What?", "2. Why?"]`: numbering inside the strings.
    let s = strip_marker(&s).1;
    (!s.is_empty()).then_some(s)
}

/// One JSON object per line, each with a `question` field.
fn json_lines(text: &str) -> Option<Vec<String>> {
    let mut items = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let v: Value = serde_json::from_str(line.trim_end_matches(',')).ok()?;
        if !v.is_object() {
            return None;
        }
        items.push(item_text(&v)?);
    }
    Some(items)
}

/// `['a', "b's"]`, `[“a”, “b”]`, `【“a”，“b”】`, `「a」「b」` in brackets: quoted items with
/// backslash escapes, separated by commas (either width), `、` or spaces.
fn quoted_list(text: &str) -> Option<Vec<String>> {
    text.match_indices(['[', '【'])
        .take(50)
        .find_map(|(start, _)| quoted_list_at(&text[start..]).filter(|v| !v.is_empty()))
}

fn quoted_list_at(text: &str) -> Option<Vec<String>> {
    let mut chars = text.chars();
    chars.next();
    let mut items = Vec::new();
    loop {
        let close = loop {
            match chars.next() {
                None => return None,
                Some(']' | '】') => return Some(items),
                Some('\'') => break '\'',
                Some('"') => break '"',
                Some('“') => break '”',
                Some('‘') => break '’',
                Some('「') => break '」',
                Some('『') => break '』',
                Some(c) if c == ',' || c == '，' || c == '、' || c.is_whitespace() => continue,
                Some(_) => return None,
            }
        };
        let mut s = String::new();
        loop {
            match chars.next() {
                None => return None,
                Some('\\') => match chars.next() {
                    Some('n') => s.push('\n'),
                    Some('t') => s.push('\t'),
                    Some(c) => s.push(c),
                    None => return None,
                },
                Some(c) if c == close => break,
                Some(c) => s.push(c),
            }
        }
        let s = clean_item(&s);
        if !s.is_empty() {
            items.push(s);
        }
    }
}

/// One item per marked line (numbered, bulleted, labelled or quoted), with preambles, headings
/// and trailing explanations dropped. Without any marked line, only lines that are questions
/// count; prose (a refusal, a remark) gives nothing.
fn lines_list(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !is_heading(l))
        .collect();
    let marked: Vec<(bool, String)> = lines
        .iter()
        .map(|l| {
            let (m, rest) = strip_marker(l);
            (m, rest)
        })
        .collect();
    let any_marked = marked.iter().filter(|(m, _)| *m).count() >= 1;
    let is_question = |s: &str| s.ends_with('?') || s.ends_with('？');
    let candidates: Vec<String> = marked
        .into_iter()
        .filter(|(m, s)| if any_marked { *m } else { is_question(s) })
        .map(|(_, s)| s)
        .filter(|s| !(s.is_empty() || s.ends_with(':') || s.ends_with('：')))
        .collect();
    // A numbered section title among numbered questions ("1. 基础概念") is a heading.
    let questions = candidates.iter().filter(|s| is_question(s)).count();
    if questions * 2 > candidates.len() {
        let short_titles = candidates
            .iter()
            .filter(|s| !is_question(s) && s.chars().count() <= 12)
            .count();
        if short_titles > 0 {
            return candidates
                .into_iter()
                .filter(|s| is_question(s) || s.chars().count() > 12)
                .collect();
        }
    }
    candidates
}

/// Markdown headings, rules and table borders: never items.
fn is_heading(line: &str) -> bool {
    line.starts_with('#')
        || line.chars().all(|c| "-=*_|: ".contains(c))
        || (line.starts_with('|') && line.ends_with('|'))
}

/// Strips a line's list marker; whether it had one, and the rest cleaned.
fn strip_marker(line: &str) -> (bool, String) {
    let mut l = line.trim();
    let mut marked = false;
    for _ in 0..4 {
        let before = l;
        l = strip_emphasis_open(l);
        for b in ["- ", "* ", "• ", "· ", "+ ", "– ", "— ", "> "] {
            if let Some(rest) = l.strip_prefix(b) {
                l = rest.trim_start();
                marked = true;
            }
        }
        if let Some(rest) = strip_number(l) {
            l = rest;
            marked = true;
        }
        if let Some(rest) = strip_label(l) {
            l = rest;
            marked = true;
        }
        if (l.starts_with('「') && l.ends_with('」')) || (l.starts_with('“') && l.ends_with('”'))
        {
            marked = true;
        }
        if l == before {
            break;
        }
    }
    (marked, clean_item(l))
}

/// A leading `**` or `__` (the closing one is removed by [`clean_item`]).
fn strip_emphasis_open(l: &str) -> &str {
    for e in ["**", "__"] {
        if let Some(rest) = l.strip_prefix(e) {
            return rest.trim_start();
        }
    }
    l
}

const CIRCLED: &str = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳";
const CJK_DIGITS: &str = "一二三四五六七八九十";

/// `1.` `1)` `1、` `1:` `(1)` `（1）` `[1]` `【1】` `①` `一、` `（一）` `第1题`: the rest after it. A
/// number followed by a digit or a decimal point and digit (`3.5倍`) is content, not a marker.
fn strip_number(l: &str) -> Option<&str> {
    if let Some(c) = l.chars().next()
        && CIRCLED.contains(c)
    {
        return Some(after_sep(&l[c.len_utf8()..]));
    }
    for (open, close) in [("(", ")"), ("（", "）"), ("[", "]"), ("【", "】")] {
        if let Some(rest) = l.strip_prefix(open) {
            let n = rest
                .chars()
                .take_while(|c| c.is_ascii_digit() || CJK_DIGITS.contains(*c))
                .map(char::len_utf8)
                .sum::<usize>();
            if n > 0
                && n <= 9
                && let Some(r) = rest[n..].strip_prefix(close)
            {
                return Some(after_sep(r));
            }
        }
    }
    if let Some(rest) = l.strip_prefix('第') {
        let n = rest
            .chars()
            .take_while(|c| c.is_ascii_digit() || CJK_DIGITS.contains(*c))
            .map(char::len_utf8)
            .sum::<usize>();
        if n > 0
            && let Some(r) = rest[n..]
                .strip_prefix('题')
                .or_else(|| rest[n..].strip_prefix('个'))
        {
            return Some(after_sep(r));
        }
    }
    let cjk = l
        .chars()
        .take_while(|c| CJK_DIGITS.contains(*c))
        .map(char::len_utf8)
        .sum::<usize>();
    if cjk > 0 && cjk <= 9 {
        let r = &l[cjk..];
        if let Some(r) = r.strip_prefix('、').or_else(|| r.strip_prefix('．')) {
            return Some(r.trim_start());
        }
    }
    let is_digit = |c: &char| c.is_ascii_digit() || ('０'..='９').contains(c);
    let digits = l.chars().take_while(is_digit).count();
    if digits == 0 || digits > 3 {
        return None;
    }
    let width: usize = l.chars().take(digits).map(char::len_utf8).sum();
    let rest = &l[width..];
    let next_is_digit = |s: &str| s.chars().next().is_some_and(|c| is_digit(&c));
    for sep in [".", ")", "）", "、", ":", "：", "．", "-"] {
        if let Some(r) = rest.strip_prefix(sep) {
            if next_is_digit(r) {
                return None;
            }
            // `1.` followed by text without a space is still a marker in CJK (`1.什么是…`), but
            // `1.5` is not (checked above).
            return Some(r.trim_start());
        }
    }
    None
}

/// Skips `.`, `、`, `:` or a space after a circled or bracketed number.
fn after_sep(r: &str) -> &str {
    r.trim_start_matches(['.', '、', ':', '：', '．', ')', '）'])
        .trim_start()
}

/// `Q1:`, `Q:`, `Question 1:`, `Question:`, `问题1：`, `问题一：`, `题目：`, `问：`.
fn strip_label(l: &str) -> Option<&str> {
    let lower = l.to_ascii_lowercase();
    for label in ["question", "q", "问题", "题目", "问", "题"] {
        if !lower.starts_with(label) {
            continue;
        }
        let rest = &l[label.len()..];
        let r = rest.trim_start();
        let n = r
            .chars()
            .take_while(|c| c.is_ascii_digit() || CJK_DIGITS.contains(*c))
            .map(char::len_utf8)
            .sum::<usize>();
        let r = r[n..].trim_start_matches(['*', '_']);
        for sep in [":", "：", ".", ")", "、", "．"] {
            if let Some(x) = r.strip_prefix(sep) {
                // `Q.` without a number is not a label; `Q1.` is.
                if sep != ":" && sep != "：" && n == 0 {
                    break;
                }
                return Some(x.trim_start_matches(['*', '_']).trim_start());
            }
        }
        if n > 0 && label.len() > 1 && r.starts_with(' ') && label.is_ascii() {
            return Some(r.trim_start());
        }
    }
    None
}

/// An item without emphasis markers, wrapping quotes or brackets around it.
fn clean_item(s: &str) -> String {
    let mut t = s.trim();
    for _ in 0..3 {
        let before = t;
        for e in ["**", "__"] {
            if t.starts_with(e) && t.ends_with(e) && t.len() >= 2 * e.len() {
                t = t[e.len()..t.len() - e.len()].trim();
            }
        }
        t = t.trim_end_matches("**").trim_start_matches("**").trim();
        for (o, c) in [
            ('"', '"'),
            ('\'', '\''),
            ('“', '”'),
            ('「', '」'),
            ('『', '』'),
            ('‘', '’'),
        ] {
            if t.starts_with(o) && t.ends_with(c) && t.len() >= o.len_utf8() + c.len_utf8() {
                t = t[o.len_utf8()..t.len() - c.len_utf8()].trim();
            }
        }
        t = t.trim_end_matches([',', '，']).trim();
        if t == before {
            break;
        }
    }
    t.to_string()
}

/// How many came back against how many were asked, for the job's output: None when enough.
pub fn shortfall(asked: usize, got: usize) -> Option<String> {
    (got < asked).then(|| format!("asked for {asked}, the model returned {got}"))
}
