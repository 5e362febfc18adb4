//! Pulling the final answer out of what a model wrote: `答案是:X` / `答案是：X`,
//! `The answer is X`, `Candidate: X`, `\boxed{X}`, and option letters for multiple choice.

/// The text after the last answer marker, up to the end of its line; None when there is none.
pub fn final_answer(text: &str) -> Option<String> {
    let markers = [
        "答案是：",
        "答案是:",
        "答案是",
        "最终答案：",
        "最终答案:",
        "候选答案：",
        "候选答案:",
        "the answer is:",
        "the answer is",
        "final answer:",
        "candidate:",
        "answer:",
    ];
    // The markers are ASCII or caseless CJK, so ASCII lowercasing finds them all and keeps every
    // byte offset valid in `text` (full Unicode lowercasing moves them: `İ` grows, `K` shrinks).
    let hay = text.to_ascii_lowercase();
    let mut best: Option<(usize, usize)> = None;
    for m in markers {
        if let Some(p) = hay.rfind(m)
            && best.is_none_or(|(bp, _)| p > bp)
        {
            best = Some((p, m.len()));
        }
    }
    if let Some(inner) = boxed(text)
        && best.is_none()
    {
        // `\boxed{}` holds no answer.
        return (!inner.is_empty()).then_some(inner);
    }
    let (p, len) = best?;
    let rest = text[p + len..].lines().next().unwrap_or("").trim();
    let rest = rest
        .trim_start_matches(|c: char| c == '*' || c == '$' || c.is_whitespace())
        .trim_end_matches(|c: char| "*$。.！!".contains(c) || c.is_whitespace());
    let answer = boxed(rest).unwrap_or_else(|| rest.to_string());
    (!answer.is_empty()).then_some(answer)
}

/// The content of the last `\boxed{...}`.
fn boxed(text: &str) -> Option<String> {
    let p = text.rfind("\\boxed{")?;
    let rest = &text[p + 7..];
    let mut depth = 1;
    for (i, c) in rest.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(rest[..i].trim().to_string());
                }
            }
            _ => {}
        }
    }
    None
}

/// The option letter a model chose (A-Z within `n_options`), from its final answer.
pub fn option_letter(text: &str, n_options: usize) -> Option<char> {
    let ans = final_answer(text)?;
    let max = (b'A' + n_options.clamp(1, 26) as u8 - 1) as char;
    ans.chars()
        .map(|c| c.to_ascii_uppercase())
        .find(|c| c.is_ascii_uppercase())
        .filter(|c| *c <= max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_in_both_languages() {
        assert_eq!(final_answer("推理……\n答案是:B").as_deref(), Some("B"));
        assert_eq!(final_answer("答案是：42。").as_deref(), Some("42"));
        assert_eq!(
            final_answer("so The answer is **7**.").as_deref(),
            Some("7")
        );
        assert_eq!(
            final_answer("x \\boxed{\\frac{1}{2}} y").as_deref(),
            Some("\\frac{1}{2}")
        );
        assert_eq!(final_answer("no marker here"), None);
        assert_eq!(final_answer("答案是"), None);
        assert_eq!(final_answer("x \\boxed{} y"), None);
        assert_eq!(final_answer("İanswer:中Kİ").as_deref(), Some("中Kİ"));
        assert_eq!(
            final_answer("ÄNSWER? The Answer Is Ω").as_deref(),
            Some("Ω")
        );
        assert_eq!(final_answer("答案是：\\boxed{ }"), None);
    }

    #[test]
    fn option_letters() {
        assert_eq!(option_letter("分析。答案是:c", 4), Some('C'));
        assert_eq!(option_letter("The answer is (B)", 4), Some('B'));
        assert_eq!(option_letter("答案是：E", 4), None);
        assert_eq!(option_letter("Candidate: A\nThe answer is D", 4), Some('D'));
    }
}
