//! Text layout for the screens: wrapping by display width (CJK characters take two columns),
//! cutting to a width, and line diffs (steps come from `prompting::steps`, the one splitter).
//! Wrapping is done here rather than by `Paragraph` so that screens know line counts for
//! scrolling and can style a step's lines (the first wrong step) before drawing.

/// Cutting to a width lives with the other text rules, shared with the command line's tables.
pub use crate::text::width::fit;

/// Wraps sanitised `text` to `width` columns by the Unicode line breaking algorithm (UAX #14,
/// through `textwrap`): Chinese breaks between any two characters, English at spaces, and no
/// line starts with closing punctuation (`，。、；：？！）」』】` belong to the character before
/// them). A word wider than the line is cut by grapheme. Every returned line fits in `width`;
/// each `\n` starts a new line.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(2);
    let options = textwrap::Options::new(width)
        .word_separator(textwrap::WordSeparator::UnicodeBreakProperties)
        .wrap_algorithm(textwrap::WrapAlgorithm::FirstFit)
        .break_words(true);
    let mut out = Vec::new();
    for para in text.split('\n') {
        if para.is_empty() {
            out.push(String::new());
            continue;
        }
        out.extend(
            textwrap::wrap(para, &options)
                .into_iter()
                .map(|l| l.into_owned()),
        );
    }
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
    use unicode_width::UnicodeWidthStr;

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
    fn chinese_lines_never_start_with_closing_punctuation_and_fill_the_width() {
        let text = "小明买了3本笔记本，每本8元，应为40 × 0.75 = 30（元）。所以答案是：30元；\
                    对吗？是的！「引号」『书名』【注】、顿号。";
        for width in 10..40 {
            let lines = wrap(text, width);
            for (i, l) in lines.iter().enumerate() {
                assert!(l.width() <= width, "{width}: {l:?}");
                if i > 0 {
                    let first = l.chars().next().unwrap();
                    assert!(
                        !"，。、；：？！）」』】".contains(first),
                        "width {width}: line {i} starts with {first}: {lines:?}"
                    );
                }
            }
            // Nothing is lost: only the spaces at the breaks are dropped.
            let joined: String = lines.concat().chars().filter(|c| *c != ' ').collect();
            let want: String = text.chars().filter(|c| *c != ' ').collect();
            assert_eq!(joined, want, "width {width}");
        }
        // Chinese mixed with a few spaces is not broken at the spaces first (no half-empty
        // lines): the first line is filled.
        let lines = wrap(
            "第3步 把剩下部分的1/4算成了全长的1/4，应为8 × 3/4 = 6米",
            20,
        );
        assert!(lines[0].width() >= 18, "{lines:?}");
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
