//! Reading what models actually return: JSON arrays (possibly inside code fences or prose),
//! Python-style lists with single quotes, numbered or bulleted lines; JSON objects for verdicts,
//! and the loosely typed values in them (`"true"`, `"是"`, `"7"`). Hand-written because no crate
//! parses this mix of near-formats.

use serde_json::Value;

/// The items of a list a model wrote, in order, trimmed, none empty.
pub fn parse_list(text: &str) -> Vec<String> {
    let body = strip_fences(text);
    if let Some(items) = json_list(&body) {
        return items;
    }
    if let Some(items) = python_list(&body) {
        return items;
    }
    lines_list(&body)
}

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

fn json_list(text: &str) -> Option<Vec<String>> {
    let start = text.find('[')?;
    let end = text.rfind(']')?;
    let v: Value = serde_json::from_str(text.get(start..=end)?).ok()?;
    let arr = v.as_array()?;
    Some(arr.iter().filter_map(item_text).collect())
}

/// A list item: a string, or an object's `question` / `q` / `text` field.
fn item_text(v: &Value) -> Option<String> {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Object(o) => ["question", "q", "text", "content"]
            .iter()
            .find_map(|k| o.get(*k).and_then(Value::as_str))?
            .to_string(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    let s = s.trim().to_string();
    (!s.is_empty()).then_some(s)
}

/// `['a', "b's", 'c']`: quoted items with backslash escapes.
fn python_list(text: &str) -> Option<Vec<String>> {
    let start = text.find('[')?;
    let end = text.rfind(']')?;
    let inner = text.get(start + 1..end)?;
    let mut items = Vec::new();
    let mut chars = inner.chars();
    loop {
        // Find the next opening quote.
        let quote = loop {
            match chars.next() {
                None => return (!items.is_empty()).then_some(items),
                Some(c @ ('\'' | '"')) => break c,
                Some(c) if c == ',' || c.is_whitespace() => continue,
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
                Some(c) if c == quote => break,
                Some(c) => s.push(c),
            }
        }
        let s = s.trim().to_string();
        if !s.is_empty() {
            items.push(s);
        }
    }
}

/// One item per line, with numbering, bullets and `Q1:` labels removed; header lines that end
/// in a colon are skipped. Without any list marker the text is prose (a refusal, a remark), and
/// only lines that are questions count.
fn lines_list(text: &str) -> Vec<String> {
    let marked = text.lines().any(|l| strip_marker(l) != l.trim());
    text.lines()
        .map(strip_marker)
        .filter(|l| !(l.is_empty() || l.ends_with(':') || l.ends_with('：')))
        .filter(|l| marked || l.ends_with('?') || l.ends_with('？'))
        .collect()
}

fn strip_marker(line: &str) -> String {
    let mut l = line.trim();
    for b in ["- ", "* ", "• ", "· "] {
        if let Some(rest) = l.strip_prefix(b) {
            l = rest.trim_start();
        }
    }
    let l2 = l.trim_start_matches(['(', '（', 'Q', 'q']);
    let digits = l2.chars().take_while(char::is_ascii_digit).count();
    if digits > 0 {
        let rest = &l2[digits..];
        for sep in [". ", ".", ")", "）", "、", ":", "：", " "] {
            if let Some(r) = rest.strip_prefix(sep) {
                l = r.trim_start();
                break;
            }
        }
    }
    l.trim_matches(|c: char| c == '"' || c == '\'' || c == '“' || c == '”')
        .trim()
        .to_string()
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
    fn json_arrays_in_fences_and_prose() {
        let t =
            "Sure! Here they are:\n```json\n[\"What is A?\", \"What is B?\"]\n```\nHope it helps";
        assert_eq!(parse_list(t), vec!["What is A?", "What is B?"]);
        let t = r#"[{"question": "什么是光合作用？"}, {"q": "为什么天是蓝的？"}]"#;
        assert_eq!(parse_list(t), vec!["什么是光合作用？", "为什么天是蓝的？"]);
    }

    #[test]
    fn python_lists_with_single_quotes() {
        let t = r#"['What\'s up?', "It's fine?", '第三个问题？']"#;
        assert_eq!(
            parse_list(t),
            vec!["What's up?", "It's fine?", "第三个问题？"]
        );
    }

    #[test]
    fn numbered_and_bulleted_lines() {
        let t = "Questions:\n1. First one?\n2) Second one?\n3、第三个？\n- Fourth?\n(5) Fifth?\nQ6: Sixth?\n";
        assert_eq!(
            parse_list(t),
            vec![
                "First one?",
                "Second one?",
                "第三个？",
                "Fourth?",
                "Fifth?",
                "Sixth?"
            ]
        );
    }

    #[test]
    fn prose_is_not_a_list() {
        assert!(parse_list("I cannot help with that.").is_empty());
        assert_eq!(
            parse_list("What is X?\nWhy Y？"),
            vec!["What is X?", "Why Y？"]
        );
    }

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
