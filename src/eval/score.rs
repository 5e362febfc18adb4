//! Scoring one model answer against an item's golden answer: option letters for
//! multiple-choice items, [`answers_match`] (numbers as numbers, text normalised) for the rest.
//!
//! Reasoning in `<think>…</think>` is set aside first, so a number inside the reasoning cannot
//! stand in for the final answer.

use super::items::EvalItem;
use crate::prompting::answer_match::answers_match;
use crate::prompting::extract::{final_answer, option_letter};
use serde::Serialize;

/// How one answer scored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scored {
    pub correct: bool,
    /// What the model answered, as read by the scorer (a letter, or its final answer); None
    /// when no answer could be read.
    pub answer: Option<String>,
}

/// The text after the last `</think>`; when nothing follows it, the reasoning itself without
/// its tags (it is all there is to read); all of it when there is no reasoning block.
pub fn strip_reasoning(text: &str) -> &str {
    match text.rfind("</think>") {
        Some(p) if !text[p + 8..].trim().is_empty() => text[p + 8..].trim(),
        Some(p) => {
            let inner = &text[..p];
            match inner.rfind("<think>") {
                Some(o) => inner[o + 7..].trim(),
                None => inner.trim(),
            }
        }
        None => text.trim(),
    }
}

/// Scores `response` for `item`.
pub fn score(item: &EvalItem, response: &str) -> Scored {
    let body = strip_reasoning(response);
    if !item.options.is_empty() {
        let letter = choice_letter(body, &item.options);
        let golden = item.golden.trim().to_uppercase();
        return Scored {
            correct: letter.is_some_and(|l| golden == l.to_string()),
            answer: letter.map(String::from),
        };
    }
    let answer = final_answer(body).or_else(|| {
        let t: String = body.chars().take(200).collect();
        (!t.trim().is_empty()).then(|| t.trim().to_string())
    });
    Scored {
        correct: answers_match(body, &item.golden),
        answer,
    }
}

/// The option a multiple-choice answer picks: the letter after an answer marker (`答案是:B`,
/// `The answer is (B)`), else a reply that opens with a lone letter (`B`, `(B)`, `B. 北京`), else
/// the one option whose text the reply quotes.
pub fn choice_letter(text: &str, options: &[String]) -> Option<char> {
    let n = options.len();
    if let Ok(c) = option_letter(text, n) {
        return Some(c);
    }
    if let Some(c) = leading_letter(text, n) {
        return Some(c);
    }
    let quoted: Vec<usize> = options
        .iter()
        .enumerate()
        .filter(|(_, o)| !o.trim().is_empty() && text.contains(o.trim()))
        .map(|(i, _)| i)
        .collect();
    // Drop options contained in another quoted option ("北京" inside "北京市").
    let maximal: Vec<usize> = quoted
        .iter()
        .copied()
        .filter(|&i| {
            !quoted
                .iter()
                .any(|&j| j != i && options[j].trim().contains(options[i].trim()))
        })
        .collect();
    match maximal.as_slice() {
        [one] => Some((b'A' + *one as u8) as char),
        _ => None,
    }
}

/// A reply that starts with an option letter standing alone.
fn leading_letter(text: &str, n: usize) -> Option<char> {
    let t = text
        .trim_start()
        .trim_start_matches(['(', '（', '[', '*'])
        .trim_start_matches('选')
        .trim_start();
    let mut chars = t.chars();
    let c = chars.next()?.to_ascii_uppercase();
    let max = (b'A' + n.clamp(1, 26) as u8 - 1) as char;
    if !c.is_ascii_uppercase() || c > max {
        return None;
    }
    match chars.next() {
        None => Some(c),
        Some(next) if ")）].、:：*,，;；".contains(next) || next.is_whitespace() => Some(c),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SampleKind;

    fn item(golden: &str, options: &[&str]) -> EvalItem {
        EvalItem {
            sample_id: 1,
            kind: if options.is_empty() {
                SampleKind::Qa
            } else {
                SampleKind::MultipleChoice
            },
            system: None,
            turns: vec![crate::model::Turn::user("q")],
            golden: golden.into(),
            options: options.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn numbers_in_chinese_and_english() {
        let it = item("1000", &[]);
        assert!(score(&it, "答案是：1,000").correct);
        assert!(score(&it, "The answer is 1,000.").correct);
        assert!(!score(&it, "The answer is 100").correct);
        let it = item("3.50", &[]);
        assert!(score(&it, "总共花了3.5元。答案是:3.5").correct);
        assert!(score(&it, "It costs $3.50 in total.").correct);
        assert_eq!(score(&it, "答案是：3.5元").answer.as_deref(), Some("3.5元"));
        let it = item("5/8", &[]);
        assert!(score(&it, "答案是 0.625").correct);
        let it = item("15%", &[]);
        assert!(score(&it, "The answer is 0.15").correct);
    }

    #[test]
    fn reasoning_is_set_aside() {
        let it = item("42", &[]);
        assert!(!score(&it, "<think>maybe 42</think>\nThe answer is 41").correct);
        assert!(score(&it, "<think>6 × 7</think>\n答案是:42").correct);
        // Only reasoning, no text after it: the reasoning is all there is to read.
        assert!(score(&it, "<think>so the answer is 42</think>").correct);
    }

    #[test]
    fn text_answers() {
        let it = item("巴黎", &[]);
        assert!(score(&it, "答案是：巴黎。").correct);
        assert!(!score(&it, "答案是：里昂。").correct);
        let it = item("Paris", &[]);
        assert!(score(&it, "The answer is paris").correct);
        assert_eq!(score(&it, "").answer, None);
    }

    #[test]
    fn option_letters() {
        let opts = ["上海", "北京", "广州", "无法确定"];
        let it = item("B", &opts);
        assert!(score(&it, "分析……答案是:B").correct);
        assert!(score(&it, "答案是：b").correct);
        assert!(score(&it, "The answer is (B).").correct);
        assert!(score(&it, "B. 北京").correct);
        assert!(score(&it, "(B)").correct);
        assert!(score(&it, "小李来自北京。").correct, "quotes one option");
        assert!(!score(&it, "答案是:A").correct);
        // Quotes two options: no answer can be read.
        let s = score(&it, "不是上海就是北京");
        assert_eq!(s.answer, None);
        assert!(!s.correct);
        // A letter past the last option is no answer.
        assert_eq!(choice_letter("答案是:E", &opts.map(String::from)), None);
        // "Because" starts with B but is a word, not a letter.
        assert_eq!(
            choice_letter("Because of rule 2", &opts.map(String::from)),
            None
        );
        // An option inside a longer quoted option counts once.
        let nested = ["北京", "北京市", "上海"].map(String::from);
        assert_eq!(choice_letter("他住在北京市", &nested), Some('B'));
    }
}
