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
            "true" | "yes" | "pass" | "是" | "正确" => Some(true),
            "false" | "no" | "fail" | "否" | "错误" => Some(false),
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
    fn dedup_and_emptiness() {
        assert_eq!(dedup_key("What is  A?"), dedup_key("what is a"));
        assert!(near_empty("?? 1"));
        assert!(!near_empty("什么是光合"));
    }
}
