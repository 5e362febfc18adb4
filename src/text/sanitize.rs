//! Untrusted text (datasets, model output) made safe to put on a terminal.
//!
//! Control characters, escape-sequence introducers, bidi overrides and isolates, zero-width and
//! separator characters become visible escapes (`\x1b`, `\u{202e}`) so that a sample can neither
//! drive the terminal (CVE-2021-25743, CVE-2022-46663) nor hide or reorder what a reviewer reads.
//! Hand-written because no maintained crate covers this exact policy (escape, do not strip).
//!
//! This is the one policy: the screens escape what [`is_unsafe`] names, and the one-line
//! [`excerpt`]s that error messages quote (a server's body, a model's answer) blank the same set.

use std::borrow::Cow;
use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthChar;

/// Combining marks kept on one base character; the rest are dropped ("zalgo" text would
/// otherwise spill over neighbouring rows in some terminals).
pub const MAX_COMBINING: usize = 4;

/// Spaces a tab becomes, so that widths are known before the terminal sees the text.
pub const TAB_WIDTH: usize = 4;

/// How a character must be shown.
enum Class {
    Keep,
    Escape,
}

fn classify(c: char) -> Class {
    match c {
        // C0 (includes ESC, BEL, NUL), DEL and C1 (includes CSI, OSC, DCS, APC, ST as 8-bit).
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' => Class::Escape,
        // Bidi embeddings, overrides, isolates and marks.
        '\u{202a}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}'
        | '\u{200e}'
        | '\u{200f}'
        | '\u{061c}' => Class::Escape,
        // Zero-width space, (non-)joiners, word joiner, invisible operators, BOM.
        '\u{200b}'..='\u{200d}' | '\u{2060}'..='\u{2064}' | '\u{feff}' => Class::Escape,
        // Line and paragraph separators: some terminals break lines on them.
        '\u{2028}' | '\u{2029}' => Class::Escape,
        // Interlinear annotation and object replacement controls, private-use-free specials.
        '\u{fff9}'..='\u{fffb}' => Class::Escape,
        _ => Class::Keep,
    }
}

fn push_escape(out: &mut String, c: char) {
    use std::fmt::Write;
    let n = c as u32;
    // Writing to a String cannot fail.
    let _ = if n < 0x100 {
        write!(out, "\\x{n:02x}")
    } else {
        write!(out, "\\u{{{n:x}}}")
    };
}

/// Makes `text` terminal-safe keeping its line breaks: `\n` stays (a `\r\n` pair becomes `\n`),
/// tabs become spaces, everything unsafe is escaped. Borrowed when nothing needed changing.
pub fn sanitize(text: &str) -> Cow<'_, str> {
    convert(text, true)
}

/// Like [`sanitize`] for one-line places (list rows, status bar): a line break becomes `⏎`.
pub fn sanitize_line(text: &str) -> Cow<'_, str> {
    convert(text, false)
}

fn needs_work(text: &str) -> bool {
    text.chars().any(|c| {
        c == '\t'
            || matches!(classify(c), Class::Escape)
            || (c as u32 >= 0x300 && c.width() == Some(0))
    })
}

fn convert(text: &str, keep_newlines: bool) -> Cow<'_, str> {
    if !needs_work(text) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for g in text.graphemes(true) {
        if g == "\r\n" || g == "\n" {
            if keep_newlines {
                out.push('\n');
            } else {
                out.push('⏎');
            }
            continue;
        }
        let mut marks = 0;
        for (i, c) in g.chars().enumerate() {
            if c == '\t' {
                out.extend(std::iter::repeat_n(' ', TAB_WIDTH));
                continue;
            }
            if let Class::Escape = classify(c) {
                push_escape(&mut out, c);
                continue;
            }
            if i > 0 && c.width() == Some(0) {
                marks += 1;
                if marks > MAX_COMBINING {
                    continue;
                }
            }
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Whether `c` may never reach a terminal raw: controls, bidi, zero-width and separator
/// characters, as listed in `classify`.
pub fn is_unsafe(c: char) -> bool {
    matches!(classify(c), Class::Escape)
}

/// Characters an [`excerpt`] keeps.
const EXCERPT_CHARS: usize = 300;

/// The start of a text (a response body, a model's answer) for an error message: one line,
/// unsafe characters (line breaks included) blanked, at most 300 characters.
pub fn excerpt(text: &str) -> String {
    let one_line: String = text
        .chars()
        .take(EXCERPT_CHARS)
        .map(|c| if is_unsafe(c) { ' ' } else { c })
        .collect();
    if text.chars().count() > EXCERPT_CHARS {
        format!("{one_line}...")
    } else {
        one_line
    }
}

/// True when `text` can be written to a terminal as it is.
pub fn is_safe(text: &str) -> bool {
    sanitize(text) == text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed() {
        for s in ["hello", "税率是多少？", "naïve café", "emoji 😀", ""] {
            assert!(matches!(sanitize(s), Cow::Borrowed(_)), "{s}");
        }
    }

    #[test]
    fn escape_sequences_are_visible() {
        let payloads = [
            ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
            ("\x1b]0;pwned\x07", "\\x1b]0;pwned\\x07"),
            (
                "\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\",
                "\\x1b]8;;http://x\\x1b\\link\\x1b]8;;\\x1b\\",
            ),
            ("\x1bP+q\x1b\\", "\\x1bP+q\\x1b\\"),
            ("\x1b_apc\x1b\\", "\\x1b_apc\\x1b\\"),
            ("\u{9b}2J", "\\x9b2J"),
            ("\u{9d}0;t\u{9c}", "\\x9d0;t\\x9c"),
            ("a\u{7}b", "a\\x07b"),
            ("a\u{7f}b", "a\\x7fb"),
            ("nul\0", "nul\\x00"),
            ("cr\roverwrite", "cr\\x0doverwrite"),
            ("back\u{8}space", "back\\x08space"),
        ];
        for (input, want) in payloads {
            assert_eq!(sanitize(input), want, "{input:?}");
        }
    }

    #[test]
    fn bidi_and_invisible_characters_are_visible() {
        assert_eq!(sanitize("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert_eq!(sanitize("\u{2066}x\u{2069}"), "\\u{2066}x\\u{2069}");
        assert_eq!(
            sanitize("\u{200e}\u{200f}\u{61c}"),
            "\\u{200e}\\u{200f}\\u{61c}"
        );
        assert_eq!(sanitize("a\u{200b}b"), "a\\u{200b}b");
        assert_eq!(sanitize("\u{feff}bom"), "\\u{feff}bom");
        assert_eq!(sanitize("l\u{2028}p\u{2029}"), "l\\u{2028}p\\u{2029}");
        for c in '\u{202a}'..='\u{202e}' {
            assert!(!sanitize(&c.to_string()).contains(c));
        }
    }

    #[test]
    fn newlines_and_tabs() {
        assert_eq!(sanitize("a\r\nb\nc"), "a\nb\nc");
        assert_eq!(sanitize_line("a\r\nb\nc"), "a⏎b⏎c");
        assert_eq!(sanitize("\tx"), "    x");
    }

    #[test]
    fn combining_marks_are_capped() {
        let zalgo = format!("e{}", "\u{301}".repeat(50));
        let out = sanitize(&zalgo);
        assert_eq!(out.chars().count(), 1 + MAX_COMBINING);
        // A normal accent is untouched.
        assert_eq!(sanitize("e\u{301}"), "e\u{301}");
    }

    #[test]
    fn output_never_contains_unsafe_characters() {
        let mut all = String::new();
        for n in (0u32..0x3000).chain(0xfff0..0x10000) {
            if let Some(c) = char::from_u32(n) {
                all.push(c);
            }
        }
        let out = sanitize(&all);
        for c in out.chars() {
            assert!(
                c == '\n' || matches!(classify(c), Class::Keep),
                "unsafe {:?} left",
                c
            );
        }
        assert!(is_safe(&out));
    }

    #[test]
    fn excerpts_blank_what_the_screens_escape() {
        assert_eq!(excerpt("a\x1b[31mb\nc\td"), "a [31mb c d");
        // Zero-width, BOM, separators, the Arabic letter mark and interlinear controls are
        // blanked too (the HTTP client's own list missed them before it used this policy).
        assert_eq!(
            excerpt("a\u{200b}b\u{feff}c\u{2028}d\u{61c}e\u{fff9}f\u{2060}g"),
            "a b c d e f g"
        );
        assert_eq!(excerpt("x\u{202e}y\u{2066}z"), "x y z");
        let mut all = String::new();
        for n in (0u32..0x3000).chain(0xfff0..0x10000) {
            if let Some(c) = char::from_u32(n) {
                all.push(c);
            }
        }
        for c in all.chars().filter(|&c| is_unsafe(c)) {
            assert_eq!(excerpt(&format!("a{c}b")), "a b", "{c:?}");
        }
        assert_eq!(excerpt("税率"), "税率");
        let long = "字".repeat(301);
        assert_eq!(excerpt(&long), format!("{}...", "字".repeat(300)));
    }

    #[test]
    fn chinese_text_keeps_its_width() {
        let s = "增值税的税率是多少？\t答：13%。";
        let out = sanitize(s);
        assert!(out.contains("增值税"));
        assert!(!out.contains('\t'));
    }
}
