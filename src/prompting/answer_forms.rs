//! The answer forms the extraction layer must read right, as tables: what a model wrote, the
//! golden answer, and the expected judgement; option letters with the expected letter or
//! refusal. Every case quoted in issue 16 is here, with more of the shapes real models write.
//! The golden-match figures (false flags on correct answers, recall of planted errors) are
//! computed over the first table and printed.

use super::answer_match::{Judgement, judge_answer};
use super::extract::{Extraction, extract, option_letter};

#[derive(Debug, Clone, Copy, PartialEq)]
enum E {
    /// A correct answer: must match.
    Ok,
    /// A planted error: must not match.
    Wrong,
    /// Two different answers: ambiguous (fails).
    Amb,
    /// No final answer (fails).
    None,
}

const GOLDEN: &[(&str, &str, E)] = &[
    // Letters after every marker.
    ("选 B。", "B", E::Ok),
    ("正确选项为(A)", "A", E::Ok),
    ("答案：B", "B", E::Ok),
    ("所以选B。", "B", E::Ok),
    ("The correct option is C.", "C", E::Ok),
    ("The answer is clearly D", "D", E::Ok),
    ("The answer is definitely (B)", "B", E::Ok),
    ("正确答案为C", "C", E::Ok),
    ("答案是：\nB", "B", E::Ok),
    ("Option C", "C", E::Ok),
    ("分析……故选 D", "D", E::Ok),
    ("答案是：Ｂ", "B", E::Ok),
    ("答案是（Ｃ）", "C", E::Ok),
    ("**Answer:** B", "B", E::Ok),
    ("**答案**：A", "A", E::Ok),
    ("答案是:c", "C", E::Ok),
    ("The answer is (B) Paris.", "B", E::Ok),
    ("B", "B", E::Ok),
    ("(B)", "B", E::Ok),
    ("B. 北京", "B", E::Ok),
    ("最终答案：\\boxed{C}", "C", E::Ok),
    ("\\boxed{\\text{A}}", "A", E::Ok),
    ("Final answer: b)", "B", E::Ok),
    ("推理过程见上。\n答案是 B", "B. 北京", E::Ok),
    ("选项 D 正确", "D", E::Ok),
    ("The answer is clearly D", "C", E::Wrong),
    ("The answer is definitely (B)", "D", E::Wrong),
    ("答案是:A", "B", E::Wrong),
    ("Because of rule 2, the answer is A", "B", E::Wrong),
    ("选项C是错误的，答案是A", "A", E::Ok),
    ("选项C是错误的，答案是A", "C", E::Wrong),
    ("答案是A或B", "A", E::Amb),
    ("答案是:A\n复查后……\n答案是:B", "B", E::Amb),
    ("Candidate: A\nThe answer is D", "D", E::Ok),
    ("候选答案：A\n检查后发现第二步错了。\n答案是:C", "C", E::Ok),
    ("答案是A。\n再检查一遍，最终答案是B", "B", E::Ok),
    ("The answer is a bit unclear; I think B", "B", E::Wrong),
    // Numbers.
    ("答案是 41，不是 42", "42", E::Wrong),
    ("答案是 41，不是 42", "41", E::Ok),
    ("答案是42个苹果，比原来多了3个", "42", E::Ok),
    ("答案是：1,000", "1000", E::Ok),
    ("The answer is $1,234.50.", "1234.5", E::Ok),
    ("The answer is 0.5", "1/2", E::Ok),
    ("The answer is \\frac{1}{2}", "0.5", E::Ok),
    ("答案是 50%", "0.5", E::Ok),
    ("答案是 50%", "50", E::Ok),
    ("答案是 0.33", "1/3", E::Ok),
    ("答案是 0.3", "1/3", E::Wrong),
    ("答案是 3.5倍", "3.5", E::Ok),
    ("答案：x = 5", "5", E::Ok),
    ("The answer is 2 + 3 = 5.", "5", E::Ok),
    ("答案是１２", "12", E::Ok),
    ("The final answer is -3.", "-3", E::Ok),
    ("答案是 −3", "-3", E::Ok),
    ("#### 72", "72", E::Ok),
    (
        "Natalia sold 48 in April and 24 in May.\n#### 72",
        "72",
        E::Ok,
    ),
    ("答案是 41。不对，应为42。", "42", E::Ok),
    ("答案是 41。不对，应为42。", "41", E::Wrong),
    ("速度应为 5 m/s，时间 3 s，所以答案是 15 m", "15", E::Ok),
    ("The answer is not 42, but 41", "41", E::Ok),
    ("The answer is not 42, but 41", "42", E::Wrong),
    ("答案不是42，而是41", "41", E::Ok),
    ("The answer is 41, not 42.", "42", E::Wrong),
    ("The answer is 42 or 43", "42", E::Amb),
    ("答案是42。所以答案是 42 个。", "42", E::Ok),
    ("答案是42。\n验算……答案是 43。", "42", E::Amb),
    ("so we get 42 apples in total", "42", E::Ok),
    ("42", "42.0", E::Ok),
    ("先算 3+4=7，再乘 2 得 14", "7", E::None),
    (
        "先算 3+4=7。\n再乘 2 得 14。\n所以一共有 14 个",
        "14",
        E::Ok,
    ),
    (
        "He had 40 apples and bought 2 more.\nLater he ate some of the 42.",
        "42",
        E::None,
    ),
    ("The answer is twelve", "12", E::Ok),
    ("答案是 \\boxed{\\frac{3}{4}}", "0.75", E::Ok),
    ("<think>maybe 41? no: 42</think>答案是 42", "42", E::Ok),
    ("<think>答案是 41</think>\n答案是 42", "41", E::Wrong),
    ("答：一共有 18 人。", "18", E::Ok),
    ("The answer is 1990年", "1990", E::Ok),
    ("答案是 7 米", "7米", E::Ok),
    ("The answer is 7", "8", E::Wrong),
    ("答案是：$\\dfrac{2}{3}$", "2/3", E::Ok),
    ("答案是 0.667", "2/3", E::Ok),
    ("the answer is 100", "1,000", E::Wrong),
    ("Answer: 3 hours", "3 hours", E::Ok),
    // Text.
    ("答案是：巴黎。", "巴黎", E::Ok),
    ("答案是：里昂。", "巴黎", E::Wrong),
    ("The answer is Paris, the capital.", "paris", E::Ok),
    ("The answer is the Pacific Ocean.", "Pacific Ocean", E::Ok),
    ("The answer is Lyon", "Paris", E::Wrong),
    (
        "I cannot determine this from the information given, and I would need more context to answer properly.\nSorry.",
        "Paris",
        E::None,
    ),
    ("", "42", E::None),
    // Golden answers in their own forms.
    ("答案是 B", "答案是:B", E::Ok),
    ("The answer is 72.", "She sold 72 clips.\n#### 72", E::Ok),
];

#[test]
fn golden_answer_forms() {
    let mut bad = Vec::new();
    let (mut correct, mut flagged, mut planted, mut caught) = (0, 0, 0, 0);
    for (answer, golden, want) in GOLDEN {
        let j = judge_answer(answer, golden);
        let got = match &j {
            Judgement::Match => E::Ok,
            Judgement::Mismatch(_) => E::Wrong,
            Judgement::Ambiguous(_) => E::Amb,
            Judgement::NoAnswer => E::None,
        };
        if *want == E::Ok {
            correct += 1;
            flagged += usize::from(!j.passed());
        } else {
            planted += 1;
            caught += usize::from(!j.passed());
        }
        if got != *want {
            bad.push(format!(
                "{answer:?} vs {golden:?}: want {want:?}, got {j:?}"
            ));
        }
    }
    eprintln!(
        "golden match on {} forms: false flags {flagged}/{correct}, recall {caught}/{planted}",
        GOLDEN.len()
    );
    assert!(GOLDEN.len() >= 60);
    assert!(bad.is_empty(), "{} wrong:\n{}", bad.len(), bad.join("\n"));
}

/// (evaluation text, options, the letter or the start of the refusal).
const LETTERS: &[(&str, usize, Result<char, &str>)] = &[
    ("The answer is clearly D", 4, Ok('D')),
    ("definitely (B), the answer is (B)", 4, Ok('B')),
    ("正确答案为C", 4, Ok('C')),
    ("答案是：\nB", 4, Ok('B')),
    ("Option C", 4, Ok('C')),
    ("答案是:A\n答案是:B", 4, Err("states conflicting answers")),
    ("答案是：E", 4, Err("answers E, beyond")),
    ("分析。答案是:c", 4, Ok('C')),
    ("The answer is (B)", 4, Ok('B')),
    ("Candidate: A\nThe answer is D", 4, Ok('D')),
    ("所以选B。", 4, Ok('B')),
    ("选 B。", 4, Ok('B')),
    ("答案是 A 或 C", 4, Err("answers several options")),
    (
        "答案是巴黎",
        4,
        Err("answer \"巴黎\" names no option letter"),
    ),
    (
        "I am not sure.\nIt depends on the reading.\nMore context would help.",
        4,
        Err("states no final answer"),
    ),
    ("The answer is Ｄ．", 4, Ok('D')),
    ("作答者选了A，但正确答案是B", 4, Ok('B')),
    (
        "The answer: Because",
        4,
        Err("answer \"Because\" names no option letter"),
    ),
];

#[test]
fn option_letter_forms() {
    let mut bad = Vec::new();
    for (text, n, want) in LETTERS {
        let got = option_letter(text, *n);
        let ok = match (want, &got) {
            (Ok(w), Ok(g)) => w == g,
            (Err(w), Err(g)) => g.starts_with(w),
            _ => false,
        };
        if !ok {
            bad.push(format!("{text:?}: want {want:?}, got {got:?}"));
        }
    }
    assert!(bad.is_empty(), "{} wrong:\n{}", bad.len(), bad.join("\n"));
}

#[test]
fn answers_are_slices_of_the_text() {
    assert_eq!(extract("答案是：Ｂ"), Extraction::Found("Ｂ".into()));
    assert_eq!(
        extract("x \\boxed{\\frac{1}{2}} y"),
        Extraction::Found("\\frac{1}{2}".into())
    );
    assert_eq!(
        extract("no marker here\nand more\nlines"),
        Extraction::Missing
    );
    assert_eq!(extract("答案是"), Extraction::Missing);
    assert_eq!(extract("x \\boxed{} y\nmore"), Extraction::Missing);
    assert_eq!(extract("İanswer:中Kİ"), Extraction::Found("中Kİ".into()));
}
