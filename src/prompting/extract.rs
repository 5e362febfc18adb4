//! Finding the final answer a model stated, the one extraction every verifier, pipeline and eval
//! shares. Models state answers in many ways (`答案是：B`, `选 B。`, `正确选项为(A)`, `故选B`,
//! `**Answer:** 7`, "The correct option is C", `\boxed{}`, `#### 42`) and change their minds
//! ("答案是41。不对，应为42"), so every marker in the text is read, in order:
//!
//! - a marker must stand on a word boundary and be followed by what it introduces (`答案：`,
//!   "answer is"); letter markers (`选`, "option") only count when a letter follows;
//! - a negated statement ("the answer is not 42", `答案不是42`) states nothing, unless it goes
//!   on with what the answer is instead ("but 41", `而是41`);
//! - a correction (`应为`, `更正为`, "should be") replaces the answers before it;
//! - final markers (`最终答案`, `正确答案`, `故选`, `\boxed`, `####`) outrank plain ones, which
//!   outrank candidates (`候选答案`, "Candidate:");
//! - two different answers of the top rank are [`Extraction::Ambiguous`]: a failing verdict
//!   that says so, never silently the last.
//!
//! Without any marker, a short one-line reply is the answer, or a last line that concludes
//! (`所以`, "Therefore"); a number somewhere in the working is not. `<think>` blocks are skipped.

use super::values::{self, Letter, fold_width};

/// What a text states as its final answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Extraction {
    Found(String),
    /// Different answers stated with equal weight, in order of appearance.
    Ambiguous(Vec<String>),
    Missing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Tier {
    Candidate,
    Plain,
    Final,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Introduces any answer.
    Any,
    /// Introduces an option letter only (`选`, "option").
    Letter,
    /// Replaces the answers stated before it.
    Correction,
}

/// What must follow a marker for it to count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Needs {
    Nothing,
    /// `:` (or `：`) after optional `*`.
    Colon,
    /// `:`, `=`, or a verb: is / was / would be / should be / 是 / 为.
    Verb,
}

struct Marker {
    text: &'static str,
    tier: Tier,
    kind: Kind,
    needs: Needs,
}

const fn m(text: &'static str, tier: Tier, kind: Kind, needs: Needs) -> Marker {
    Marker {
        text,
        tier,
        kind,
        needs,
    }
}

use Kind::{Any, Correction, Letter as L};
use Needs::{Colon, Nothing, Verb};
use Tier::{Candidate, Final, Plain};

/// Longest first at any position, so `最终答案是` wins over `答案是`. Matched on ASCII-lowercased,
/// width-folded text.
const MARKERS: &[Marker] = &[
    m("最终答案", Final, Any, Verb),
    m("最后答案", Final, Any, Verb),
    m("正确答案", Final, Any, Verb),
    m("正确选项", Final, L, Verb),
    m("正确的选项", Final, L, Verb),
    m("正确的答案", Final, Any, Verb),
    m("故选", Final, L, Nothing),
    m("因此选", Final, L, Nothing),
    m("所以选", Final, L, Nothing),
    m("故答案", Final, Any, Verb),
    m("候选答案", Candidate, Any, Verb),
    m("初步答案", Candidate, Any, Verb),
    m("答案应为", Plain, Any, Nothing),
    m("答案应该是", Plain, Any, Nothing),
    m("答案是", Plain, Any, Nothing),
    m("答案为", Plain, Any, Nothing),
    m("答案", Plain, Any, Verb),
    m("答", Plain, Any, Colon),
    m("应选", Plain, L, Nothing),
    m("选择", Plain, L, Nothing),
    m("选项", Plain, L, Nothing),
    m("选", Plain, L, Nothing),
    m("更正为", Plain, Correction, Nothing),
    m("更正", Plain, Correction, Colon),
    m("应该是", Plain, Correction, Nothing),
    m("应为", Plain, Correction, Nothing),
    m("应是", Plain, Correction, Nothing),
    m("改为", Plain, Correction, Nothing),
    m("\\boxed{", Final, Any, Nothing),
    m("####", Final, Any, Nothing),
    m("final answer", Final, Any, Verb),
    m("correct answer", Final, Any, Verb),
    m("correct option", Final, L, Verb),
    m("correct choice", Final, L, Verb),
    m("right answer", Final, Any, Verb),
    m("candidate answer", Candidate, Any, Verb),
    m("candidate", Candidate, Any, Colon),
    m("answer", Plain, Any, Verb),
    m("option", Plain, L, Nothing),
    m("choice", Plain, L, Nothing),
    m("correction", Plain, Correction, Colon),
    m("should be", Plain, Correction, Nothing),
];

/// The text's final answer, when it states exactly one.
pub fn final_answer(text: &str) -> Option<String> {
    match extract(text) {
        Extraction::Found(a) => Some(a),
        _ => None,
    }
}

/// The final answer `text` states with a marker (`答案是`, "The answer is", `\boxed{}`), with
/// no fallback to a short reply: whether one step of reasoning concludes.
pub fn marked_answer(text: &str) -> Option<String> {
    match extract_with(text, false) {
        Extraction::Found(a) => Some(a),
        _ => None,
    }
}

/// What `text` states as its final answer. Answers are slices of `text` (trimmed, never empty).
pub fn extract(text: &str) -> Extraction {
    extract_with(text, true)
}

fn extract_with(text: &str, fallback_allowed: bool) -> Extraction {
    let plain = strip_think(text);
    let (body, map) = fold_with_map(&plain);
    let hay = body.to_ascii_lowercase();
    let found = occurrences(&hay);
    let original = |v: &str| -> Option<String> {
        let start = v.as_ptr() as usize - body.as_ptr() as usize;
        let orig = &plain[map[start]..map[start + v.len()]];
        let c = clean(orig);
        (!c.is_empty()).then(|| c.to_string())
    };
    let mut stated: Vec<(Tier, String)> = Vec::new();
    for (i, o) in found.iter().enumerate() {
        let end = found.get(i + 1).map(|n| n.start).unwrap_or(body.len());
        let Some(value) = read_value(&body, o, end).and_then(original) else {
            continue;
        };
        if o.marker.kind == Correction {
            // Only a correction of an answer already stated; before one it is working.
            if !stated.is_empty() {
                stated.clear();
                stated.push((Tier::Final, value));
            }
            continue;
        }
        stated.push((o.marker.tier, value));
    }
    let Some(top) = stated.iter().map(|(t, _)| *t).max() else {
        // `答案是` with nothing after it states nothing; only a text without any answer marker
        // may be an answer by itself.
        let introduced = |o: &Occurrence| {
            o.marker.text == "\\boxed{" || skip_intro(&body[o.after..], o.marker.needs).is_some()
        };
        if !fallback_allowed || found.iter().any(|o| o.marker.kind != L && introduced(o)) {
            return Extraction::Missing;
        }
        return match fallback(&body) {
            Some(v) => original(v).map_or(Extraction::Missing, Extraction::Found),
            None => Extraction::Missing,
        };
    };
    let mut answers: Vec<String> = Vec::new();
    for (t, v) in stated {
        if t == top && !answers.iter().any(|a| same_answer(a, &v)) {
            answers.push(v);
        }
    }
    match answers.len() {
        1 => Extraction::Found(answers.remove(0)),
        _ => Extraction::Ambiguous(answers),
    }
}

/// `text` width-folded, with the byte offset in `text` of every byte offset of the result.
fn fold_with_map(text: &str) -> (String, Vec<usize>) {
    let mut out = String::with_capacity(text.len());
    let mut map = Vec::with_capacity(text.len() + 1);
    for (i, c) in text.char_indices() {
        let folded = fold_width(c.encode_utf8(&mut [0u8; 4]));
        for _ in 0..folded.len() {
            map.push(i);
        }
        out.push_str(&folded);
    }
    map.push(text.len());
    (out, map)
}

/// The option letter a model chose, within the first `n_options` letters; the error says why
/// none could be read (no answer, conflicting answers, no letter, out of range).
pub fn option_letter(text: &str, n_options: usize) -> Result<char, String> {
    let max = (b'A' + n_options.clamp(1, 26) as u8 - 1) as char;
    match extract(text) {
        Extraction::Missing => Err("states no final answer".into()),
        Extraction::Ambiguous(a) => Err(format!("states conflicting answers: {}", a.join(" / "))),
        Extraction::Found(a) => match values::letter(&a, 'Z') {
            Letter::One(c) if c <= max => Ok(c),
            Letter::One(c) => Err(format!(
                "answers {c}, beyond the {n_options} options (A-{max})"
            )),
            Letter::Several(cs) => Err(format!(
                "answers several options: {}",
                cs.iter()
                    .map(char::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Letter::None => Err(format!("answer {a:?} names no option letter")),
        },
    }
}

/// Whether two stated answers say the same: the same letter, the same number or the same text.
pub fn same_answer(a: &str, b: &str) -> bool {
    if let (Letter::One(x), Letter::One(y)) = (values::letter(a, 'Z'), values::letter(b, 'Z')) {
        return x == y;
    }
    if let (Some(x), Some(y)) = (values::number(a), values::number(b)) {
        return values::same_number(x, y);
    }
    values::normalise(a) == values::normalise(b)
}

/// The text without `<think>...</think>` blocks, each replaced by a line break so that nothing
/// joins across one (an unclosed block hides everything after it).
pub fn strip_think(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    loop {
        let Some(open) = rest.find("<think>") else {
            out.push_str(rest);
            break;
        };
        out.push_str(&rest[..open]);
        out.push('\n');
        match rest[open..].find("</think>") {
            Some(close) => rest = &rest[open + close + "</think>".len()..],
            None => break,
        }
    }
    // A reply that opens with a closing tag only (the opening one was in the chat template).
    if let Some(p) = out.find("</think>") {
        out = out[p + "</think>".len()..].to_string();
    }
    out
}

struct Occurrence {
    start: usize,
    /// Just after the marker.
    after: usize,
    marker: &'static Marker,
}

/// Every marker in `hay` (folded, ASCII-lowercased), longest first at each position.
fn occurrences(hay: &str) -> Vec<Occurrence> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < hay.len() {
        let here = &hay[i..];
        let hit = MARKERS
            .iter()
            .filter(|mk| here.starts_with(mk.text))
            .max_by_key(|mk| mk.text.len())
            .filter(|mk| boundary_before(hay, i, mk.text))
            .filter(|mk| boundary_after(hay, i + mk.text.len(), mk.text));
        match hit {
            Some(mk) => {
                out.push(Occurrence {
                    start: i,
                    after: i + mk.text.len(),
                    marker: mk,
                });
                i += mk.text.len();
            }
            None => i += here.chars().next().map_or(1, char::len_utf8),
        }
    }
    out
}

fn boundary_before(hay: &str, at: usize, marker: &str) -> bool {
    if !marker.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return true;
    }
    !hay[..at]
        .chars()
        .next_back()
        .is_some_and(|c| c.is_ascii_alphanumeric())
}

fn boundary_after(hay: &str, at: usize, marker: &str) -> bool {
    if !marker.ends_with(|c: char| c.is_ascii_alphabetic()) {
        return true;
    }
    !hay[at..]
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
}

/// The answer an occurrence states (a slice of `body`), read up to the end of its clause or
/// the next marker.
fn read_value<'a>(body: &'a str, o: &Occurrence, end: usize) -> Option<&'a str> {
    if o.marker.text == "\\boxed{" {
        return boxed(&body[o.after..]).filter(|v| !v.is_empty());
    }
    let mut rest = &body[o.after..end.max(o.after)];
    rest = skip_intro(rest, o.marker.needs)?;
    // `答案是：\nB`: the answer on the next line.
    if rest.lines().next().is_none_or(|l| clean(l).is_empty()) {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace());
    }
    let line = rest.lines().next().unwrap_or("");
    let (line, negated) = match strip_negation(line) {
        Some(instead) => (instead?, true),
        None => (line, false),
    };
    let value = clean(clause(line));
    if value.is_empty() {
        return None;
    }
    let letter = values::letter(value, 'Z');
    if o.marker.kind == L || (negated && letter != Letter::None) {
        if letter == Letter::None {
            return None;
        }
        // `选项C是错误的`: a letter judged wrong is not the one chosen.
        let said = value.to_lowercase();
        if ["错误", "不正确", "不对", "wrong", "incorrect", "is false"]
            .iter()
            .any(|w| said.contains(w))
        {
            return None;
        }
        if o.marker.tier == Tier::Plain {
            // `选` and "option" state a choice only with the letter right after them.
            let first = value.trim_start_matches(['(', '[', '【', '*', ' ']);
            if !first.starts_with(|c: char| c.is_ascii_alphabetic()) {
                return None;
            }
        }
    }
    Some(value)
}

/// Skips what joins a marker to its answer (`:`, `是`, "is", `**`); None when what the marker
/// needs is missing. A negation right after the marker is kept for [`strip_negation`].
fn skip_intro(rest: &str, needs: Needs) -> Option<&str> {
    fn decor(s: &str) -> &str {
        s.trim_start_matches(['*', ' ', '\t'])
    }
    const VERBS: &[&str] = &[
        "would be",
        "should be",
        "must be",
        "will be",
        "is",
        "was",
        "是",
        "为",
        "应为",
        "应该是",
        "就是",
    ];
    let mut r = decor(rest);
    if NEGATIONS
        .iter()
        .any(|n| r.to_ascii_lowercase().starts_with(n))
    {
        return (needs != Needs::Colon).then_some(r);
    }
    let mut ok = needs == Needs::Nothing;
    if needs == Needs::Verb {
        let lower = r.to_ascii_lowercase();
        if let Some(v) = VERBS.iter().find(|v| {
            lower.starts_with(*v)
                && (!v.is_ascii()
                    || !lower[v.len()..].starts_with(|c: char| c.is_ascii_alphabetic()))
        }) {
            r = decor(&r[v.len()..]);
            ok = true;
            if NEGATIONS
                .iter()
                .any(|n| r.to_ascii_lowercase().starts_with(n))
            {
                return Some(r);
            }
        }
    }
    if let Some(x) = r.strip_prefix(':') {
        r = x;
        ok = true;
    } else if let Some(x) = r.strip_prefix('=')
        && needs != Needs::Colon
    {
        r = x;
        ok = true;
    }
    ok.then_some(decor(r))
}

const NEGATIONS: &[&str] = &["isn't", "is not", "not ", "不是", "并非", "不为", "不"];

/// A negation at the start of `line`: None when there is none; Some(None) when the statement is
/// negated and says nothing else; Some(Some(rest)) when it goes on with the answer instead.
fn strip_negation(line: &str) -> Option<Option<&str>> {
    let lower = line.to_ascii_lowercase();
    if !NEGATIONS.iter().any(|n| lower.trim_start().starts_with(n)) {
        return None;
    }
    for instead in ["而是", "but ", "rather ", "it is ", "it's ", "instead "] {
        if let Some(p) = lower.find(instead) {
            return Some(Some(&line[p + instead.len()..]));
        }
    }
    Some(None)
}

/// The clause an answer is stated in: up to a sentence end, a comma that is not a thousands
/// separator, or "because". `C) Paris` keeps its text for the reader.
fn clause(line: &str) -> &str {
    let b = line.as_bytes();
    for (i, c) in line.char_indices() {
        let next = line[i + c.len_utf8()..].chars().next();
        let stop = match c {
            '。' | ';' | '!' | '?' | '，' | '；' | '！' | '？' | '|' => true,
            ',' => {
                !(i > 0 && b[i - 1].is_ascii_digit() && next.is_some_and(|n| n.is_ascii_digit()))
            }
            '.' => i > 0 && next.is_none_or(|n| !n.is_ascii_digit()),
            _ => false,
        };
        let tail = &line[i..];
        if stop
            || [" because", " since", "因为", " which ", "(because"]
                .iter()
                .any(|w| tail.starts_with(w))
        {
            return &line[..i];
        }
    }
    line
}

/// Trims decoration around a stated answer (spaces, `*`, `$`, quotes, a closing dot) and takes
/// a `\boxed{}`'s content.
fn clean(s: &str) -> &str {
    let deco = |c: char| c.is_whitespace() || "*$`\"'“”‘’「」＊＄＂＇".contains(c);
    let s = s.trim_matches(deco);
    let s = s
        .trim_end_matches(['.', ':', ',', '：', '．', '，'])
        .trim_matches(deco);
    match s.strip_prefix("\\boxed{").and_then(boxed) {
        Some(inner) => inner.trim_matches(deco),
        None => s,
    }
}

/// The content of a `\boxed{...}` whose opening brace was just passed (on one line, without
/// an enclosing `\text{}`).
fn boxed(rest: &str) -> Option<&str> {
    let mut depth = 1;
    for (i, c) in rest.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    let inner = rest[..i].trim();
                    if inner.contains('\n') {
                        return None;
                    }
                    let inner = inner
                        .strip_prefix("\\text{")
                        .and_then(|s| s.strip_suffix('}'))
                        .unwrap_or(inner);
                    return Some(inner.trim());
                }
            }
            _ => {}
        }
    }
    None
}

/// Without a marker: a short single-line reply is its own answer; else a concluding last line
/// (`所以`, "Therefore"). A number somewhere in the working is not an answer.
fn fallback(body: &str) -> Option<&str> {
    let lines: Vec<&str> = body
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let v = match lines.as_slice() {
        [] => return None,
        [only] if only.chars().count() <= 80 => *only,
        [.., last] => {
            let lower = last.to_ascii_lowercase();
            let concludes = [
                "所以",
                "因此",
                "故",
                "综上",
                "therefore",
                "so ",
                "thus",
                "hence",
            ]
            .iter()
            .any(|w| lower.starts_with(w));
            if !concludes || last.chars().count() > 120 {
                return None;
            }
            *last
        }
    };
    let v = clean(v);
    // `先算 3+4=7，再乘 2 得 14`: with several numbers and no marker, which one is meant is
    // a guess.
    let tail = v.rsplit_once('=').map_or(v, |(_, t)| t);
    let runs = tail
        .split(|c: char| !(c.is_ascii_digit() || c == '.' || c == ',' || c == '/'))
        .filter(|r| r.chars().any(|c| c.is_ascii_digit()))
        .count();
    (!v.is_empty() && runs <= 1).then_some(v)
}
