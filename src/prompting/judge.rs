//! The LLM judge: a rubric prompt that returns `{pass, score, rationale, first_wrong_step}` as
//! JSON, parsed robustly (fences, prose around it, Python literals, numbers as strings), with
//! the first wrong step checked against the steps the judge was shown.
//!
//! It is a verifier (`assay verify --judge`), but CoT generation asks it too, so it lives here,
//! below both `verify` and `generate`.

use super::ask;
use super::parse::{boolish, numberish, parse_check, parse_json_object};
use super::prompts::{self, Lang};
use super::steps::{number_steps, split_steps};
use crate::llm::Llm;
use crate::model::{Content, NewVerdict};
use crate::text::sanitize::excerpt;
use serde_json::Value;

pub const DEFAULT_RUBRIC: &str =
    "correct, complete, relevant to the question, and every step follows from the previous ones";

/// The steps a judge sees for a sample: its reasoning, then its answer.
pub fn judged_steps(content: &Content) -> Vec<String> {
    let Some(turn) = content.answer_turn() else {
        return Vec::new();
    };
    let mut steps = turn
        .reasoning
        .as_deref()
        .map(split_steps)
        .unwrap_or_default();
    steps.extend(split_steps(&turn.content));
    steps
}

/// Asks the judge about one sample.
pub async fn judge(
    llm: &dyn Llm,
    lang: Lang,
    content: &Content,
    rubric: &str,
) -> Result<NewVerdict, String> {
    let question = content.question().unwrap_or_default();
    let steps = judged_steps(content);
    if steps.is_empty() {
        return Err("the sample has no answer to judge".into());
    }
    let golden = golden_line(lang, content.golden.as_deref());
    let prompt = prompts::prompt(
        lang,
        "judge",
        &[
            ("rubric", rubric),
            ("golden", &golden),
            ("question", question),
            ("answer", &number_steps(&steps)),
        ],
    )?;
    let r = ask(llm, prompt, 0.0, None, Some(super::schemas::judge()))
        .await
        .map_err(|e| e.to_string())?;
    let mut v = parse_verdict(&r.text, steps.len())?;
    v.model = Some(r.model);
    Ok(v)
}

/// The line telling the judge the reference answer, if there is one.
pub fn golden_line(lang: Lang, golden: Option<&str>) -> String {
    match (golden, lang) {
        (Some(g), Lang::Zh) => format!("参考答案：{g}"),
        (Some(g), Lang::En) => format!("Reference answer: {g}"),
        (None, _) => String::new(),
    }
}

/// Reads a judge's answer; `n_steps` bounds the first wrong step.
pub fn parse_verdict(text: &str, n_steps: usize) -> Result<NewVerdict, String> {
    let m = parse_json_object(text).unwrap_or_default();
    let json_pass = ["pass", "passed", "correct"]
        .iter()
        .find_map(|k| m.get(*k).and_then(boolish));
    let (passed, loose_score) = match json_pass {
        Some(p) => (p, None),
        None => parse_check(text).ok_or_else(|| {
            format!(
                "the judge stated no verdict (JSON with a true/false \"pass\", or `pass: yes`): {}",
                excerpt(text)
            )
        })?,
    };
    let score = m
        .get("score")
        .and_then(numberish)
        .or(loose_score)
        .map(|s| if s > 1.0 && s <= 10.0 { s / 10.0 } else { s }.clamp(0.0, 1.0));
    let first_wrong_step = m
        .get("first_wrong_step")
        .and_then(numberish)
        .or_else(|| loose_step(text))
        .map(|n| n as u32)
        .filter(|&n| n >= 1 && (n as usize) <= n_steps);
    Ok(NewVerdict {
        verifier: "llm_judge".into(),
        model: None,
        passed,
        score,
        rationale: m
            .get("rationale")
            .or_else(|| m.get("reason"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        first_wrong_step: if passed { None } else { first_wrong_step },
    })
}

/// `first_wrong_step: 2` / `第一个错误步骤：2` / `错误步骤：第2步` in a verdict written as lines.
fn loose_step(text: &str) -> Option<f64> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once([':', '：', '='])?;
        let k = k.to_lowercase();
        if !(k.contains("first_wrong_step") || k.contains("wrong step") || k.contains("错误步骤"))
        {
            return None;
        }
        let digits: String = v
            .chars()
            .skip_while(|c| !c.is_ascii_digit())
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse::<f64>().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_parse_from_messy_answers() {
        let v = parse_verdict("```json\n{\"pass\": \"false\", \"score\": \"7\", \"rationale\": \"step 2 wrong\", \"first_wrong_step\": 2}\n```", 3).unwrap();
        assert!(!v.passed);
        assert_eq!(v.score, Some(0.7));
        assert_eq!(v.first_wrong_step, Some(2));
        let v = parse_verdict(
            "Here: {\"pass\": True, \"score\": 1, \"first_wrong_step\": None}",
            3,
        )
        .unwrap();
        assert!(v.passed && v.first_wrong_step.is_none());
        let v = parse_verdict("{\"pass\": false, \"first_wrong_step\": 9}", 3).unwrap();
        assert_eq!(v.first_wrong_step, None);
        assert!(parse_verdict("I think it is fine", 3).is_err());
        // With no steps shown there is no step to name.
        let v = parse_verdict("{\"pass\": false, \"first_wrong_step\": 1}", 0).unwrap();
        assert_eq!(v.first_wrong_step, None);
        assert!(parse_verdict("{\"score\": 1}", 3).is_err());
        // Loose lines, Chinese booleans.
        let v = parse_verdict("pass: no\nscore: 3\nfirst_wrong_step: 2", 3).unwrap();
        assert!(!v.passed);
        assert_eq!((v.score, v.first_wrong_step), (Some(0.3), Some(2)));
        let v = parse_verdict("结论：错误\n第一个错误步骤：第3步", 3).unwrap();
        assert_eq!((v.passed, v.first_wrong_step), (false, Some(3)));
        assert!(parse_verdict("{\"pass\": \"正确\"}", 3).unwrap().passed);
    }
}
