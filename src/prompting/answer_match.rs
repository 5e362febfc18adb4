//! Whether a model's answer matches a reference: the final answer against the golden one, with
//! numbers compared as numbers (`1,000`, `0.5`, `1/2`, `\frac{1}{2}`, `50%`), option letters as
//! letters, and text after normalisation (case, spaces and punctuation ignored). The golden-match
//! verifier, CoT generation's checks and votes, and eval's scoring all compare this way.

use super::extract::final_answer;

/// Whether `answer` (a whole response or just the answer) matches `golden`.
pub fn answers_match(answer: &str, golden: &str) -> bool {
    let golden = final_answer(golden).unwrap_or_else(|| golden.trim().to_string());
    let candidate = final_answer(answer).unwrap_or_else(|| answer.trim().to_string());
    if let Some(g) = letter(&golden) {
        return letter(&candidate) == Some(g);
    }
    if let Some(g) = number(&golden) {
        let c = number(&candidate).or_else(|| last_number(answer));
        return c.is_some_and(|c| close(c, g));
    }
    let (g, c) = (normalise(&golden), normalise(&candidate));
    !g.is_empty() && g == c
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0)
}

/// A lone option letter: `B`, `(B)`, `B.`, `B) text`, `选B`.
fn letter(s: &str) -> Option<char> {
    let t = s.trim().trim_start_matches(['(', '（', '选']).trim();
    let mut chars = t.chars();
    let c = chars.next()?.to_ascii_uppercase();
    if !c.is_ascii_uppercase() || c > 'J' {
        return None;
    }
    match chars.next() {
        None => Some(c),
        Some(n) if ")）.、:：".contains(n) || n.is_whitespace() => Some(c),
        _ => None,
    }
}

/// A number written in any of the usual ways.
pub fn number(s: &str) -> Option<f64> {
    let t: String = s
        .trim()
        .trim_end_matches(['。', '.'])
        .chars()
        .filter(|c| !matches!(c, ',' | '$' | ' ' | '，'))
        .collect();
    if let Some(p) = t.strip_suffix('%') {
        return p.parse::<f64>().ok().map(|v| v / 100.0);
    }
    if let Some(inner) = t
        .strip_prefix("\\frac{")
        .or_else(|| t.strip_prefix("\\dfrac{"))
    {
        let (a, b) = inner.strip_suffix('}')?.split_once("}{")?;
        return ratio(a, b);
    }
    if let Some((a, b)) = t.split_once('/') {
        return ratio(a, b);
    }
    t.parse::<f64>().ok().filter(|v| v.is_finite())
}

fn ratio(a: &str, b: &str) -> Option<f64> {
    let (a, b) = (a.trim().parse::<f64>().ok()?, b.trim().parse::<f64>().ok()?);
    (b != 0.0).then(|| a / b)
}

/// The last number in a text, for answers that state it without a marker.
fn last_number(s: &str) -> Option<f64> {
    s.split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '/' || c == '%'))
        .filter(|w| w.chars().any(|c| c.is_ascii_digit()))
        .filter_map(number)
        .next_back()
}

fn normalise(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_compare_as_numbers() {
        assert!(answers_match("答案是：1,000", "1000"));
        assert!(answers_match("The answer is 0.5", "1/2"));
        assert!(answers_match("The answer is \\frac{1}{2}", "0.5"));
        assert!(answers_match("答案是 50%", "0.5"));
        assert!(answers_match("so we get 42 apples in total", "42"));
        assert!(!answers_match("The answer is 41", "42"));
        assert!(!answers_match("no number", "42"));
    }

    #[test]
    fn letters_and_text() {
        assert!(answers_match("答案是:b", "B"));
        assert!(answers_match("The answer is (C).", "C"));
        assert!(!answers_match("答案是:A", "B"));
        assert!(answers_match("The answer is Paris.", "paris"));
        assert!(!answers_match("The answer is Lyon", "Paris"));
        assert!(!answers_match("", ""));
    }
}
