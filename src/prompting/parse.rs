//! Reading what models actually return: JSON objects for verdicts (inside fences or prose, with
//! Python literals and trailing commas), the loosely typed values in them (`"true"`, `"是"`,
//! `"7"`), and the keys that tell two questions apart. Lists are [`super::list`]'s. Hand-written
//! because no crate parses this mix of near-formats.

use serde_json::Value;

pub use super::list::{parse_list, read_list};

/// The first JSON object in a model's answer (fences, prose and trailing commas tolerated).
pub fn parse_json_object(text: &str) -> Option<serde_json::Map<String, Value>> {
    let body = strip_fences(text);
    let start = body.find('{')?;
    let end = body.rfind('}')?;
    if end <= start {
        return None;
    }
    let slice = &body[start..=end];
    if let Ok(Value::Object(m)) = serde_json::from_str(slice) {
        return Some(m);
    }
    // Common slips: Python literals and trailing commas.
    let fixed = slice
        .replace("True", "true")
        .replace("False", "false")
        .replace("None", "null")
        .replace(",}", "}")
        .replace(", }", "}");
    match serde_json::from_str(&fixed) {
        Ok(Value::Object(m)) => Some(m),
        _ => None,
    }
}

/// A true/false a model wrote as a JSON bool, a word (`"yes"`, `"fail"`, `"正确"`) or a number.
pub fn boolish(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.trim().to_lowercase().as_str() {
            "true" | "yes" | "y" | "pass" | "passed" | "correct" | "right" | "ok" | "是" | "对"
            | "正确" | "通过" | "真" => Some(true),
            "false" | "no" | "n" | "fail" | "failed" | "incorrect" | "wrong" | "否" | "不对"
            | "错" | "错误" | "不正确" | "不通过" | "假" => Some(false),
            _ => None,
        },
        Value::Number(n) => n.as_f64().map(|x| x != 0.0),
        _ => None,
    }
}

/// A finite number a model wrote as a JSON number or as a string.
pub fn numberish(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|x: &f64| x.is_finite())
}

/// The text inside the first ``` fence, or the whole text.
fn strip_fences(text: &str) -> String {
    let Some(open) = text.find("```") else {
        return text.trim().to_string();
    };
    let after = &text[open + 3..];
    // Skip the language tag on the fence line.
    let after = after.split_once('\n').map(|x| x.1).unwrap_or(after);
    let inner = after
        .find("```")
        .map(|close| &after[..close])
        .unwrap_or(after);
    inner.trim().to_string()
}

/// A step check's or judge's verdict however it was written: a JSON object with `correct` /
/// `pass` / `passed` / `正确` (fenced, with Python literals, booleans as words), or loose lines
/// (`correct: yes`, `正确：是`, `结论：错误`), or a reply that is one word (`正确`, "Incorrect").
/// Returns (correct, score).
pub fn parse_check(text: &str) -> Option<(bool, Option<f64>)> {
    let text = super::extract::strip_think(text);
    if let Some(m) = parse_json_object(&text) {
        let verdict = ["correct", "pass", "passed", "is_correct", "正确", "结果"]
            .iter()
            .find_map(|k| m.get(*k).and_then(boolish));
        if let Some(v) = verdict {
            return Some((v, m.get("score").and_then(numberish).map(unit_score)));
        }
    }
    let mut verdict = None;
    let mut score = None;
    for line in text.lines() {
        let line = line
            .trim()
            .trim_matches(['*', '"', '\'', '`', '-', ' ', '{', '}', ',']);
        let Some((k, v)) = line.split_once([':', '：', '=']) else {
            continue;
        };
        let k = k.trim().trim_matches(['*', '"', '\'', ' ']).to_lowercase();
        let v = v.trim().trim_matches(['*', '"', '\'', ' ', ',', '。', '.']);
        match k.as_str() {
            "correct" | "pass" | "passed" | "verdict" | "正确" | "是否正确" | "结论" | "判断"
            | "结果" => {
                // `错误。第二步算错了`: the verdict is the first word or clause.
                let first = v.split(['。', '，', ',', ';', '；', ' ', '(', '（']).next();
                verdict = verdict.or_else(|| boolish(&Value::String(first?.to_string())));
            }
            "score" | "分数" | "得分" => {
                score = score.or_else(|| v.parse::<f64>().ok().filter(|x| x.is_finite()));
            }
            _ => {}
        }
    }
    if let Some(v) = verdict {
        return Some((v, score.map(unit_score)));
    }
    let word = text.trim().trim_matches(|c: char| !c.is_alphanumeric());
    boolish(&Value::String(word.to_string())).map(|v| (v, score.map(unit_score)))
}

/// The answer to a yes/no question: its first word (`Yes, the steps are right.`, `否。`,
/// "Incorrect: step 2"), or a verdict in any shape [`parse_check`] reads.
pub fn yes_no(text: &str) -> Option<bool> {
    let text = super::extract::strip_think(text);
    let first: String = text
        .trim()
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    let cjk: String = text.trim().chars().take(3).collect();
    boolish(&Value::String(first))
        .or_else(|| {
            ["不正确", "不对", "错误", "正确", "是", "否", "对", "错"]
                .iter()
                .find(|w| cjk.starts_with(*w))
                .and_then(|w| boolish(&Value::String((*w).to_string())))
        })
        .or_else(|| parse_check(&text).map(|v| v.0))
        // "1. 2 + 4 = 6 The answer is no, ...": a marked yes/no after restated steps.
        .or_else(|| {
            super::extract::marked_answer(&text)
                .and_then(|a| boolish(&Value::String(a.split([' ', ',']).next()?.to_string())))
        })
}

/// A score in [0, 1] from one that may be out of 10 or 100.
fn unit_score(s: f64) -> f64 {
    if s > 1.0 && s <= 10.0 {
        s / 10.0
    } else if s > 10.0 && s <= 100.0 {
        s / 100.0
    } else {
        s
    }
    .clamp(0.0, 1.0)
}

/// The key two questions share when they are the same question: lowercase letters, digits
/// and CJK only.
pub fn dedup_key(q: &str) -> String {
    q.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Whether a question has too little in it to keep (fewer than 4 letters or CJK characters).
pub fn near_empty(q: &str) -> bool {
    q.chars().filter(|c| c.is_alphanumeric()).count() < 4
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_objects_are_found_and_repaired() {
        let m = parse_json_object("Verdict:\n```\n{\"pass\": True, \"score\": 0.5,}\n```").unwrap();
        assert_eq!(m["pass"], true);
        assert!(parse_json_object("no json").is_none());
    }

    #[test]
    fn verdicts_in_every_shape() {
        let cases: &[(&str, Option<bool>)] = &[
            ("{\"correct\": true, \"score\": 0.9}", Some(true)),
            ("```json\n{\"correct\": \"false\"}\n```", Some(false)),
            ("{'correct': True}", Some(true)),
            ("{\"correct\": \"是\", \"score\": 8}", Some(true)),
            ("{\"正确\": \"否\"}", Some(false)),
            ("correct: yes\nscore: 0.8", Some(true)),
            ("**Correct:** no", Some(false)),
            ("正确：是\n分数：0.9", Some(true)),
            ("结论：错误。第二步算错了。", Some(false)),
            ("判断：正确", Some(true)),
            ("正确", Some(true)),
            ("Incorrect.", Some(false)),
            ("<think>check</think>{\"correct\": false}", Some(false)),
            ("I am not sure about this one.", None),
            ("", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_check(text).map(|v| v.0), *want, "{text:?}");
        }
        assert_eq!(
            parse_check("correct: yes\nscore: 8"),
            Some((true, Some(0.8)))
        );
    }

    #[test]
    fn yes_or_no_answers() {
        assert_eq!(yes_no("Yes, every step is right."), Some(true));
        assert_eq!(yes_no("no. Step 2 is wrong"), Some(false));
        assert_eq!(yes_no("Incorrect: 2 + 3 is 5"), Some(false));
        assert_eq!(yes_no("不正确，第二步错了"), Some(false));
        assert_eq!(yes_no("正确。"), Some(true));
        assert_eq!(yes_no("2 + 3 = 5"), None);
        assert_eq!(
            yes_no("1. 2 + 4 = 6 The answer is no, the step is wrong."),
            Some(false)
        );
    }

    #[test]
    fn dedup_and_emptiness() {
        assert_eq!(dedup_key("What is  A?"), dedup_key("what is a"));
        assert!(near_empty("?? 1"));
        assert!(!near_empty("什么是光合"));
    }
}
