//! Everything the command line prints on stdout goes through here, for two reasons.
//!
//! - **Untrusted text never reaches the terminal raw.** Dataset names, file names, log lines
//!   and model output are escaped by the one policy ([`crate::text::sanitize`]); in JSON, the
//!   characters that policy names are written as `\uXXXX` escapes, which is the same JSON value
//!   (`serde_json` escapes only C0 controls, not C1 controls or bidi overrides).
//! - **A closed pipe is not an error.** `assay stats | head` closes stdout early; `println!`
//!   would panic with a backtrace. Here a write to a closed stdout returns [`StdoutClosed`], and
//!   `main` ends quietly with [`PIPE_CLOSED_EXIT`], the status a shell reports for a process a
//!   closed pipe stopped (128 + SIGPIPE).

use crate::text::sanitize::{is_unsafe, sanitize};
use std::fmt::Write as _;
use std::io::Write as _;

/// The exit status after stdout was closed by its reader: 128 + SIGPIPE (13), as `yes | head`.
pub const PIPE_CLOSED_EXIT: u8 = 141;

/// Stdout was closed by whoever reads it (`| head`, a closed SSH channel): stop quietly.
#[derive(Debug, thiserror::Error)]
#[error("stdout was closed")]
pub struct StdoutClosed;

/// Writes `text` and a line break to stdout, escaped for the terminal (line breaks kept).
pub fn line(text: impl AsRef<str>) -> anyhow::Result<()> {
    let mut s = sanitize(text.as_ref()).into_owned();
    s.push('\n');
    write_raw(&s)
}

/// Writes `value` to stdout as pretty JSON with the terminal-unsafe characters escaped.
pub fn json<T: serde::Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    let mut s = terminal_safe_json(&serde_json::to_string_pretty(value)?);
    s.push('\n');
    write_raw(&s)
}

/// Prints `value` as JSON when `as_json`, else `human` (already made of sanitised lines).
pub fn json_or<T: serde::Serialize + ?Sized>(
    as_json: bool,
    value: &T,
    human: impl FnOnce() -> anyhow::Result<String>,
) -> anyhow::Result<()> {
    if as_json { json(value) } else { line(human()?) }
}

/// JSON text with every character [`is_unsafe`] names written as a `\uXXXX` escape, but the
/// line breaks of the pretty layout (inside strings `serde_json` already writes `\n`). Other
/// such characters can only occur inside JSON strings, where the escape denotes the same
/// character; all of them lie in the Basic Multilingual Plane, so one escape each suffices.
pub fn terminal_safe_json(text: &str) -> String {
    let unsafe_char = |c: char| c != '\n' && is_unsafe(c);
    if !text.chars().any(unsafe_char) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if unsafe_char(c) {
            // Writing to a String cannot fail.
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

fn write_raw(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(StdoutClosed.into()),
        Err(e) => Err(anyhow::Error::new(e).context("writing to stdout")),
    }
}

/// Pads or cuts `text` (one line, escaped) to `width` terminal columns, for tables.
pub fn cell(text: &str, width: usize) -> String {
    crate::text::width::pad(&crate::text::sanitize::sanitize_line(text), width)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_escapes_what_the_terminal_must_not_see_and_stays_the_same_value() {
        let value = serde_json::json!({ "name": "evil\u{9b}31m\u{202e}txt.gpj", "n": 1 });
        let text = terminal_safe_json(&serde_json::to_string_pretty(&value).unwrap());
        assert!(!text.chars().any(|c| c != '\n' && is_unsafe(c)), "{text}");
        assert!(
            text.contains("\\u009b") && text.contains("\\u202e"),
            "{text}"
        );
        assert!(
            text.lines().count() > 2,
            "the pretty layout keeps its lines: {text}"
        );
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn cells_fit_their_width_in_columns_with_chinese_text() {
        assert_eq!(cell("abc", 5), "abc  ");
        assert_eq!(cell("数学应用题", 6), "数学… ");
        assert_eq!(cell("数学", 4), "数学");
        assert_eq!(cell("a\u{1b}[31m", 6), "a\\x1b…");
    }
}
