//! The one step splitter, used by CoT generation, the tree search, the judge's prompt and its
//! first wrong step, the stored verdict and the TUI, so that step N means the same step
//! everywhere: numbered or marked lines (`Step 3:`, `**Step 3:**`, `步骤3：`, `第三步`, `3.`, `3、`,
//! `(3)`, `③`, `- `) are steps, and unmarked lines after one belong to it; text without such
//! markers is split at sentence ends (`。！？`, and `.!?` before a space), never at `；` or
//! inside a decimal.

/// Splits reasoning into steps, trimmed, none empty.
pub fn split_steps(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    // Markers make the steps when two or more lines carry one, or when the text is one marked
    // line that is one step; `第一步，…。第二步，…。` on one line splits at its sentences.
    let marked = lines.iter().filter(|l| is_marked(l)).count();
    let one_marked_step = lines.len() == 1
        && marked == 1
        && sentences(lines[0]).iter().filter(|s| is_marked(s)).count() < 2;
    if marked >= 2 || one_marked_step {
        let mut steps: Vec<String> = Vec::new();
        for line in lines {
            match steps.last_mut() {
                Some(last) if !is_marked(line) => {
                    last.push('\n');
                    last.push_str(line);
                }
                _ => steps.push(line.to_string()),
            }
        }
        return steps;
    }
    lines.iter().flat_map(|l| sentences(l)).collect()
}

/// A step without its marker (`Step 3:`, `步骤3：`, `第三步：`, `3.`, `(3)`, `③`, `- `), for
/// telling whether two steps say the same whatever their numbers.
pub fn step_body(step: &str) -> &str {
    let t = step.trim().trim_start_matches(['*', '#', '>', '_', ' ']);
    if let Some(c) = t.chars().next()
        && "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳•".contains(c)
    {
        return tidy(&t[c.len_utf8()..]);
    }
    if let Some(r) = t.strip_prefix("- ") {
        return tidy(r);
    }
    let (rest, labelled) = if t.to_ascii_lowercase().starts_with("step ") {
        (&t[5..], true)
    } else if let Some(r) = t.strip_prefix("步骤").or_else(|| t.strip_prefix('第')) {
        (r, true)
    } else if let Some(r) = t.strip_prefix(['(', '（', '【']) {
        (r, false)
    } else {
        (t, false)
    };
    let n: usize = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || "一二三四五六七八九十".contains(*c))
        .map(char::len_utf8)
        .sum();
    if n == 0 {
        return t.trim();
    }
    let after = &rest[n..];
    let mut chars = after.chars();
    let sep = chars.next();
    let then_digit = chars.next().is_some_and(|c| c.is_ascii_digit());
    match sep {
        Some(c) if "步.．)）】、:：".contains(c) && !(c == '.' && then_digit) => tidy(after),
        _ if labelled => tidy(after),
        _ => t.trim(),
    }
}

fn tidy(s: &str) -> &str {
    s.trim_start_matches(|c: char| "步.．)）】、:：*- ".contains(c))
        .trim()
}

/// The key two steps share when they say the same thing: the body, letters and digits only.
pub fn step_key(step: &str) -> String {
    step_body(step)
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Steps numbered from 1, one per line, as prompts show them.
pub fn number_steps(steps: &[String]) -> String {
    steps
        .iter()
        .enumerate()
        .map(|(i, s)| format!("{}. {}", i + 1, s.replace('\n', " ")))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether a line starts a new step by its marker.
fn is_marked(line: &str) -> bool {
    // `**Step 1:**`, `### 步骤1`, `> 1.`: markdown around the marker.
    let line = line.trim_start_matches(['*', '#', '>', '_', ' ']);
    if line.starts_with(|c: char| "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳".contains(c))
    {
        return true;
    }
    for (open, close) in [("(", ")"), ("（", "）"), ("【", "】")] {
        if let Some(rest) = line.strip_prefix(open) {
            let n = rest.chars().take_while(char::is_ascii_digit).count();
            if (1..=3).contains(&n) && rest[n..].starts_with(close) {
                return true;
            }
        }
    }
    let lower = line.to_lowercase();
    for prefix in ["step ", "步骤", "第"] {
        if let Some(rest) = lower.strip_prefix(prefix) {
            let rest = rest.trim_start();
            if rest.starts_with(|c: char| c.is_ascii_digit() || "一二三四五六七八九十".contains(c))
            {
                return true;
            }
        }
    }
    if line.starts_with("- ") || line.starts_with("* ") || line.starts_with("• ") {
        return true;
    }
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    if digits > 0 && digits <= 3 {
        let after = &line[digits..];
        return after.starts_with(". ")
            || after.starts_with(')')
            || after.starts_with('、')
            || after.starts_with("．")
            || (after.starts_with('.')
                && after.len() > 1
                && !after[1..].starts_with(|c: char| c.is_ascii_digit()));
    }
    false
}

/// Sentences of one line: ends at `。！？` or at `.!?` followed by whitespace or the end.
fn sentences(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        cur.push(c);
        let end = match c {
            '。' | '！' | '？' => true,
            '.' | '!' | '?' => chars.peek().is_none_or(|n| n.is_whitespace()),
            _ => false,
        };
        if end {
            let s = cur.trim();
            if !s.is_empty() {
                out.push(s.to_string());
            }
            cur.clear();
        }
    }
    let s = cur.trim();
    if !s.is_empty() {
        out.push(s.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marked_lines_are_steps_and_continuations_stay_with_them() {
        let t = "步骤1：设 x=2。\n步骤2：则 2x=4。\n继续说明。\n答案是：4";
        let s = split_steps(t);
        assert_eq!(
            s,
            vec!["步骤1：设 x=2。", "步骤2：则 2x=4。\n继续说明。\n答案是：4"]
        );
        let t = "Step 1: a.\nStep 2: b.\n1. not\n";
        assert_eq!(split_steps(t).len(), 3);
        assert_eq!(split_steps("1. one\n2) two\n3、three").len(), 3);
    }

    #[test]
    fn plain_text_splits_at_sentence_ends_not_decimals() {
        let s = split_steps("先算 3.5 加 1.5。得 5！所以呢？ It is 5. Done");
        assert_eq!(
            s,
            vec![
                "先算 3.5 加 1.5。",
                "得 5！",
                "所以呢？",
                "It is 5.",
                "Done"
            ]
        );
        assert!(split_steps("").is_empty());
        assert!(split_steps("\n \n").is_empty());
    }

    #[test]
    fn step_keys_ignore_the_marker() {
        for s in [
            "Step 2: b=4",
            "步骤2：b=4",
            "第二步：b=4",
            "2. b=4",
            "(2) b=4",
            "② b=4",
            "- b=4",
            "**Step 2:** b=4",
        ] {
            assert_eq!(step_key(s), "b4", "{s:?}");
        }
        assert_eq!(step_key("3.5倍"), "35倍");
    }

    #[test]
    fn every_step_format_gives_the_same_steps() {
        let want = 3;
        for t in [
            "步骤1：设 x=2；则 y=3。\n步骤2：相加得 5。\n步骤3：答案是 5",
            "第一步：设 x=2；则 y=3。\n第二步：相加得 5。\n第三步：答案是 5",
            "Step 1: let x=2; y=3.\nStep 2: add, 5.\nStep 3: the answer is 5",
            "**Step 1:** let x=2.\n**Step 2:** add.\n**Step 3:** 5",
            "1. a\n2. b\n3. c",
            "1、a\n2、b\n3、c",
            "(1) a\n(2) b\n(3) c",
            "① a\n② b\n③ c",
            "- a\n- b\n- c",
            "先设 x=2；则 y=3。相加得 5。答案是 5",
            "第一步，设 x=2；则 y=3。第二步，相加得 5。第三步，答案是 5。",
        ] {
            assert_eq!(split_steps(t).len(), want, "{t:?}: {:?}", split_steps(t));
        }
    }

    #[test]
    fn numbering_round_trips_through_the_splitter() {
        let steps = vec!["a b".to_string(), "c".to_string()];
        assert_eq!(split_steps(&number_steps(&steps)), vec!["1. a b", "2. c"]);
    }
}
