//! Text layout for the screens: wrapping by display width (CJK characters take two columns),
//! cutting to a width, and line diffs (steps come from `prompting::steps`, the one splitter).
//! Wrapping is done here rather than by `Paragraph` so that screens know line counts for
//! scrolling and can style a step's lines (the first wrong step) before drawing.

use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

/// Wraps sanitised `text` to `width` columns: at spaces where a line has them, else at any
/// grapheme (Chinese has no spaces). Every returned line fits in `width`.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(2);
    let mut out = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        let mut line_w = 0;
        // Index in `line` just after the last space, for word breaks.
        let mut last_space: Option<usize> = None;
        for g in para.graphemes(true) {
            let w = g.width();
            if line_w + w > width {
                match last_space {
                    Some(at) if at > 0 && at < line.len() => {
                        let rest = line.split_off(at);
                        out.push(line.trim_end().to_string());
                        line = rest;
                    }
                    _ => out.push(std::mem::take(&mut line).trim_end().to_string()),
                }
                line_w = line.width();
                last_space = None;
            }
            line.push_str(g);
            line_w += w;
            if g == " " {
                last_space = Some(line.len());
            }
        }
        out.push(line);
    }
    out
}

/// The longest prefix of `text` that fits in `width` columns, with `…` when cut.
pub fn fit(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_string();
    }
    let mut out = String::new();
    let mut w = 0;
    for g in text.graphemes(true) {
        let gw = g.width();
        if w + gw + 1 > width {
            break;
        }
        out.push_str(g);
        w += gw;
    }
    out.push('…');
    out
}

/// One line of a diff between two texts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiffLine {
    Same(String),
    Added(String),
    Removed(String),
}

/// A line diff of `old` to `new` (Myers, via `similar`).
pub fn diff_lines(old: &str, new: &str) -> Vec<DiffLine> {
    similar::TextDiff::from_lines(old, new)
        .iter_all_changes()
        .map(|c| {
            let s = c.value().trim_end_matches('\n').to_string();
            match c.tag() {
                similar::ChangeTag::Equal => DiffLine::Same(s),
                similar::ChangeTag::Insert => DiffLine::Added(s),
                similar::ChangeTag::Delete => DiffLine::Removed(s),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_chinese_by_width() {
        let lines = wrap("增值税的一般税率是百分之十三", 10);
        assert_eq!(lines, vec!["增值税的一", "般税率是百", "分之十三"]);
        for l in wrap("一二三四五六七八九十一二三", 7) {
            assert!(l.width() <= 7, "{l}");
        }
    }

    #[test]
    fn wraps_words_and_keeps_paragraphs() {
        assert_eq!(
            wrap("the quick brown fox", 10),
            vec!["the quick", "brown fox"]
        );
        assert_eq!(wrap("a\n\nb", 10), vec!["a", "", "b"]);
        assert_eq!(wrap("", 5), vec![""]);
        assert_eq!(wrap("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
    }

    #[test]
    fn fits_to_width() {
        assert_eq!(fit("增值税税率", 6), "增值…");
        assert_eq!(fit("abc", 3), "abc");
    }

    #[test]
    fn diffs_lines() {
        let d = diff_lines("a\nb\nc", "a\nB\nc");
        assert_eq!(
            d,
            vec![
                DiffLine::Same("a".into()),
                DiffLine::Removed("b".into()),
                DiffLine::Added("B".into()),
                DiffLine::Same("c".into())
            ]
        );
    }
}
