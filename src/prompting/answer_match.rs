//! Whether a model's answer matches a reference: the final answer ([`super::extract`]) against
//! the golden one, as letters when the golden answer is an option letter, as numbers when it is
//! a number (`1,000` = `1000`, `0.5` = `1/2` = `\frac{1}{2}` = `50%`, `42个` = `42`), else as
//! normalised text. The same answer in another surface form matches; a number that only appears
//! in the working does not. The golden-match verifier, CoT generation's checks and votes, and
//! eval's scoring all compare this way.

use super::extract::{Extraction, extract};
use super::values::{self, Letter};

/// How an answer compares with the golden one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judgement {
    Match,
    /// It states this answer, which is not the golden one.
    Mismatch(String),
    /// It states different answers with equal weight.
    Ambiguous(Vec<String>),
    /// It states no final answer.
    NoAnswer,
}

impl Judgement {
    pub fn passed(&self) -> bool {
        *self == Judgement::Match
    }

    /// One line for a verdict's rationale.
    pub fn rationale(&self, golden: &str) -> String {
        match self {
            Judgement::Match => format!("the answer matches the golden {golden:?}"),
            Judgement::Mismatch(said) => format!("answer {said:?} vs golden {golden:?}"),
            Judgement::Ambiguous(all) => format!(
                "ambiguous: the answer states {} (golden {golden:?})",
                all.iter()
                    .map(|a| format!("{a:?}"))
                    .collect::<Vec<_>>()
                    .join(" and ")
            ),
            Judgement::NoAnswer => format!("no final answer found (golden {golden:?})"),
        }
    }
}

/// Whether `answer` (a whole response or just the answer) matches `golden`.
pub fn answers_match(answer: &str, golden: &str) -> bool {
    judge_answer(answer, golden).passed()
}

/// How `answer` (a whole response or just the answer) compares with `golden`.
pub fn judge_answer(answer: &str, golden: &str) -> Judgement {
    let golden = golden_value(golden);
    let said = match extract(answer) {
        Extraction::Found(a) => a,
        Extraction::Ambiguous(all) => return Judgement::Ambiguous(all),
        Extraction::Missing => return Judgement::NoAnswer,
    };
    let verdict = |ok: bool| {
        if ok {
            Judgement::Match
        } else {
            Judgement::Mismatch(said.clone())
        }
    };
    let golden_letter =
        values::lone_letter(&golden).filter(|g| values::letter(&golden, 'Z') == Letter::One(*g));
    if let Some(g) = golden_letter {
        return match values::letter(&said, 'Z') {
            Letter::One(c) => verdict(c == g),
            Letter::Several(cs) => Judgement::Ambiguous(cs.into_iter().map(String::from).collect()),
            // The option's text itself, e.g. "Paris" for "B. Paris", cannot be checked here.
            Letter::None => verdict(false),
        };
    }
    if let Some(g) = golden_number(&golden) {
        let alts = values::alternatives(&said);
        return match alts.as_slice() {
            [] => verdict(false),
            [one] => verdict(values::same_number(*one, g)),
            _ => Judgement::Ambiguous(alts.iter().map(|n| format!("{}", n.value)).collect()),
        };
    }
    let (g, c) = (values::normalise(&golden), values::normalise(&said));
    verdict(!g.is_empty() && g == c)
}

/// The golden answer itself: a marked answer inside it (`#### 42`, `答案是 B`) or all of it.
fn golden_value(golden: &str) -> String {
    match extract(golden) {
        Extraction::Found(a) => a,
        _ => golden.trim().to_string(),
    }
}

/// A golden answer that is a number (with a unit or a currency sign at most).
fn golden_number(golden: &str) -> Option<values::Num> {
    let n = match values::alternatives(golden).as_slice() {
        [one] => *one,
        _ => return None,
    };
    // "3 apples and 2 pears" or "Chapter 3" are text; a number with a unit is a number.
    let f = values::fold_width(golden);
    let before_digit = f
        .split(|c: char| c.is_ascii_digit())
        .next()
        .unwrap_or_default();
    let lead_ok = before_digit
        .trim()
        .trim_end_matches(['-', '$', '¥', '￥', '€', '£', '约', '≈', '~', '('])
        .trim()
        .is_empty()
        || f.contains('=')
        || f.contains("\\frac");
    let digit_runs = f
        .split(|c: char| !(c.is_ascii_digit() || c == '.' || c == ','))
        .filter(|r| r.chars().any(|c| c.is_ascii_digit()))
        .count();
    let single = digit_runs <= 1 || f.contains('/') || f.contains("\\frac") || f.contains('=');
    (lead_ok && single).then_some(n)
}
