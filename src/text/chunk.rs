//! The recursive splitter that cuts raw documents into overlapping pre-training chunks.
//!
//! Like LangChain's `RecursiveCharacterTextSplitter`, a span longer than the chunk size is cut at
//! the first separator level that occurs in it (paragraphs, lines, sentence ends, commas, spaces)
//! and a piece still too long goes down a level, down to grapheme clusters. Unlike it, this one
//! works on byte offsets into the input (no copies, no per-character allocation), keeps every
//! byte (no whitespace stripping), so that chunks with their overlaps removed give the input back,
//! and packs the pieces of all levels greedily. Sizes are in characters (Unicode scalar values).
//! It is hand-written because no crate splits with configurable Chinese separators at this speed
//! and reports offsets; aho-corasick does the multi-separator search.

use aho_corasick::{AhoCorasick, MatchKind};
use unicode_segmentation::GraphemeCursor;

/// Default chunk size in characters.
pub const DEFAULT_SIZE: usize = 1024;
/// Default overlap in characters.
pub const DEFAULT_OVERLAP: usize = 50;

/// Closing quotes and brackets that stay with the sentence end before them (`。”` is one end).
const CLOSERS: &[char] = &[
    '”', '’', '」', '』', '）', '》', '】', '〉', ')', ']', '"', '\'',
];

/// The default separator levels, tried in order; single graphemes are always the last resort.
pub fn default_separators() -> Vec<Vec<String>> {
    let level = |seps: &[&str]| seps.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    vec![
        level(&["\n\n"]),
        level(&["\n"]),
        level(&["。", "！", "？", "；", "……", "…"]),
        level(&[". ", "! ", "? ", "; "]),
        level(&["，", "、", ", "]),
        level(&[" "]),
    ]
}

/// Why a splitter cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    #[error("chunk size must be at least 1 character (got {0})")]
    ZeroSize(usize),
    #[error(
        "overlap ({overlap}) must be smaller than the chunk size ({size}); lower --overlap or raise --size"
    )]
    OverlapTooLarge { size: usize, overlap: usize },
    #[error("separator level {level} is empty or holds an empty separator; remove it")]
    EmptySeparator { level: usize },
    #[error("cannot build the separator search for level {level}: {reason}")]
    Search { level: usize, reason: String },
}

/// One chunk: a slice of the input and where it sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunk<'a> {
    pub text: &'a str,
    /// Byte offset of `text` in the input.
    pub offset: usize,
    /// How many leading bytes of `text` repeat the end of the previous chunk.
    pub overlap: usize,
    /// Length of `text` in characters.
    pub chars: usize,
}

/// A configured splitter; build it once and reuse it.
#[derive(Debug, Clone)]
pub struct Splitter {
    size: usize,
    overlap: usize,
    levels: Vec<Level>,
}

#[derive(Debug, Clone)]
struct Level {
    /// Used when the level has one separator: memmem is faster than an automaton.
    single: Option<memchr::memmem::Finder<'static>>,
    multi: AhoCorasick,
    /// Whether a match may absorb closing quotes after it.
    absorb_closers: bool,
}

impl Level {
    fn new(seps: &[String], index: usize) -> Result<Level, ChunkError> {
        if seps.is_empty() || seps.iter().any(|s| s.is_empty()) {
            return Err(ChunkError::EmptySeparator { level: index });
        }
        let multi = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(seps)
            .map_err(|e| ChunkError::Search {
                level: index,
                reason: e.to_string(),
            })?;
        let single =
            (seps.len() == 1).then(|| memchr::memmem::Finder::new(seps[0].as_bytes()).into_owned());
        let absorb_closers = seps
            .iter()
            .all(|s| s.chars().last().is_some_and(|c| !c.is_whitespace()));
        Ok(Level {
            single,
            multi,
            absorb_closers,
        })
    }

    /// Calls `f` with the end (exclusive) of every separator match in `text`, in order.
    fn for_each_end(&self, text: &str, mut f: impl FnMut(usize)) {
        let mut last = 0;
        let mut emit = |end: usize| {
            let end = if self.absorb_closers {
                absorb_closers(text, end)
            } else {
                end
            };
            if end > last {
                last = end;
                f(end);
            }
        };
        match &self.single {
            Some(finder) => {
                let n = finder.needle().len();
                for start in finder.find_iter(text.as_bytes()) {
                    emit(start + n);
                }
            }
            None => {
                for m in self.multi.find_iter(text) {
                    emit(m.end());
                }
            }
        }
    }

    fn first_end(&self, text: &str) -> Option<usize> {
        let end = match &self.single {
            Some(finder) => finder
                .find(text.as_bytes())
                .map(|s| s + finder.needle().len()),
            None => self.multi.find(text).map(|m| m.end()),
        }?;
        Some(if self.absorb_closers {
            absorb_closers(text, end)
        } else {
            end
        })
    }
}

fn absorb_closers(text: &str, mut end: usize) -> usize {
    while let Some(c) = text[end..].chars().next() {
        if !CLOSERS.contains(&c) {
            break;
        }
        end += c.len_utf8();
    }
    end
}

/// Characters in `s`: bytes that do not continue a UTF-8 sequence (vectorises well).
pub fn char_count(s: &str) -> usize {
    s.as_bytes().iter().filter(|&&b| (b as i8) >= -0x40).count()
}

fn is_grapheme_boundary(text: &str, at: usize) -> bool {
    if at == 0 || at >= text.len() {
        return true;
    }
    if let Some(answer) = quick_boundary(text, at) {
        return answer;
    }
    // With the whole text as the chunk, the cursor never asks for more context.
    GraphemeCursor::new(at, text.len(), true)
        .is_boundary(text, 0)
        .unwrap_or(true)
}

/// Answers the common cases without the full segmentation tables (most of the splitting time
/// otherwise): a following ASCII or CJK ideograph is always a cluster of its own (UAX #29 class
/// Other or Control), unless the preceding character is a Prepend (all in U+0600..U+0D4F or above
/// U+FFFF) or the pair is CR LF. Everything else goes to the full rules.
fn quick_boundary(text: &str, at: usize) -> Option<bool> {
    let bytes = text.as_bytes();
    if !text.is_char_boundary(at) {
        return Some(false);
    }
    let next = text[at..].chars().next()?;
    let next_simple = next.is_ascii() || ('\u{3400}'..='\u{9FFF}').contains(&next);
    if !next_simple {
        return None;
    }
    let mut start = at - 1;
    while start > 0 && (bytes[start] as i8) < -0x40 {
        start -= 1;
    }
    let prev = text[start..at].chars().next()?;
    let prev_simple = prev.is_ascii() || ('\u{1000}'..='\u{FFFF}').contains(&prev);
    if !prev_simple {
        return None;
    }
    Some(!(prev == '\r' && next == '\n'))
}

/// The first grapheme boundary at or after `at`.
fn boundary_at_or_after(text: &str, at: usize) -> usize {
    if is_grapheme_boundary(text, at) {
        return at;
    }
    let mut cur = GraphemeCursor::new(at, text.len(), true);
    cur.next_boundary(text, 0)
        .ok()
        .flatten()
        .unwrap_or(text.len())
}

/// Byte position `n` characters before `end` (or `floor` if the text there is shorter).
fn back_chars(text: &str, end: usize, n: usize, floor: usize) -> usize {
    let bytes = text.as_bytes();
    let mut pos = end;
    let mut seen = 0;
    while pos > floor && seen < n {
        pos -= 1;
        if (bytes[pos] as i8) >= -0x40 {
            seen += 1;
        }
    }
    pos
}

/// Byte position `n` characters after `start` (or the end of `text`).
fn forward_chars(text: &str, start: usize, n: usize) -> usize {
    match text[start..].char_indices().nth(n) {
        Some((i, _)) => start + i,
        None => text.len(),
    }
}

impl Splitter {
    /// A splitter with the default separators.
    pub fn new(size: usize, overlap: usize) -> Result<Splitter, ChunkError> {
        Self::with_separators(size, overlap, &default_separators())
    }

    /// A splitter with separator levels of your own, tried in order (alternatives within a level
    /// are equal); single graphemes are always tried last.
    pub fn with_separators(
        size: usize,
        overlap: usize,
        levels: &[Vec<String>],
    ) -> Result<Splitter, ChunkError> {
        if size == 0 {
            return Err(ChunkError::ZeroSize(size));
        }
        if overlap >= size {
            return Err(ChunkError::OverlapTooLarge { size, overlap });
        }
        let levels = levels
            .iter()
            .enumerate()
            .map(|(i, seps)| Level::new(seps, i))
            .collect::<Result<_, _>>()?;
        Ok(Splitter {
            size,
            overlap,
            levels,
        })
    }

    pub fn size(&self) -> usize {
        self.size
    }

    pub fn overlap(&self) -> usize {
        self.overlap
    }

    /// Cuts `text` into chunks of at most `size` characters. Empty text gives no chunk.
    pub fn split<'a>(&self, text: &'a str) -> Vec<Chunk<'a>> {
        let mut pieces = Vec::with_capacity(text.len() / (self.size * 2) + 4);
        // A text of more than four bytes per allowed character is too long whatever it holds,
        // which spares counting a large input as a whole.
        let chars = if text.len() > 4 * self.size {
            usize::MAX
        } else {
            char_count(text)
        };
        self.pieces(text, 0, text.len(), chars, 0, &mut pieces);
        self.merge(text, &pieces)
    }

    /// Appends to `out` the (end, chars) of consecutive pieces covering `text[start..end]`, each
    /// at most `size` characters (or one grapheme where a single grapheme is longer).
    fn pieces(
        &self,
        text: &str,
        start: usize,
        end: usize,
        chars: usize,
        level: usize,
        out: &mut Vec<(usize, usize)>,
    ) {
        if chars <= self.size {
            if end > start {
                out.push((end, chars));
            }
            return;
        }
        let Some(lv) = self.levels.get(level) else {
            self.grapheme_pieces(text, start, end, out);
            return;
        };
        let span = &text[start..end];
        let mut from = 0;
        let mut split_any = false;
        lv.for_each_end(span, |cut| {
            if cut >= span.len() || !is_grapheme_boundary(text, start + cut) {
                return;
            }
            split_any = true;
            let piece = &span[from..cut];
            self.pieces(
                text,
                start + from,
                start + cut,
                char_count(piece),
                level + 1,
                out,
            );
            from = cut;
        });
        if !split_any {
            self.pieces(text, start, end, chars, level + 1, out);
            return;
        }
        let rest = &span[from..];
        self.pieces(text, start + from, end, char_count(rest), level + 1, out);
    }

    /// The last resort: runs of graphemes short enough that an overlap still fits beside them.
    fn grapheme_pieces(&self, text: &str, start: usize, end: usize, out: &mut Vec<(usize, usize)>) {
        let step = (self.size - self.overlap).max(1);
        let mut pos = start;
        while pos < end {
            let mut cut = boundary_at_or_after(text, forward_chars(text, pos, step)).min(end);
            if cut == pos {
                cut = end;
            }
            let chars = char_count(&text[pos..cut]);
            if chars > self.size {
                // A single grapheme cluster longer than the size: it cannot be cut, so the piece
                // ends at the cluster's first boundary after `pos`.
                let mut cur = GraphemeCursor::new(pos, text.len(), true);
                cut = cur
                    .next_boundary(text, 0)
                    .ok()
                    .flatten()
                    .unwrap_or(end)
                    .min(end);
            }
            out.push((cut, char_count(&text[pos..cut])));
            pos = cut;
        }
    }

    /// Packs pieces into chunks, each starting with an overlap from the previous one.
    fn merge<'a>(&self, text: &'a str, pieces: &[(usize, usize)]) -> Vec<Chunk<'a>> {
        let mut chunks = Vec::new();
        let mut start = 0;
        let mut overlap_bytes = 0;
        let mut chars = 0;
        let mut end = 0;
        for &(piece_end, piece_chars) in pieces {
            if chars > 0 && chars + piece_chars > self.size && end > start + overlap_bytes {
                chunks.push(Chunk {
                    text: &text[start..end],
                    offset: start,
                    overlap: overlap_bytes,
                    chars,
                });
                let ov_start = self.overlap_start(text, start, end);
                let ov_chars = char_count(&text[ov_start..end]);
                if ov_chars + piece_chars <= self.size && ov_start > start {
                    start = ov_start;
                    chars = ov_chars;
                } else {
                    start = end;
                    chars = 0;
                }
                overlap_bytes = end - start;
            }
            chars += piece_chars;
            end = piece_end;
        }
        if end > start {
            chunks.push(Chunk {
                text: &text[start..end],
                offset: start,
                overlap: overlap_bytes,
                chars,
            });
        }
        chunks
    }

    /// Where the overlap of the next chunk starts: after the first match of the highest separator
    /// level found in the last `overlap` characters of the chunk, else exactly `overlap`
    /// characters back (moved forward to a grapheme boundary).
    fn overlap_start(&self, text: &str, chunk_start: usize, chunk_end: usize) -> usize {
        if self.overlap == 0 {
            return chunk_end;
        }
        let window = back_chars(text, chunk_end, self.overlap, chunk_start);
        let window = boundary_at_or_after(text, window);
        let tail = &text[window..chunk_end];
        for lv in &self.levels {
            if let Some(cut) = lv.first_end(tail)
                && cut < tail.len()
                && is_grapheme_boundary(text, window + cut)
            {
                return window + cut;
            }
        }
        window
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_that_fit_are_packed_together() {
        let s = Splitter::new(10, 0).unwrap();
        let chunks = s.split("aaaa\n\nbbbb\n\ncccc");
        let texts: Vec<_> = chunks.iter().map(|c| c.text).collect();
        assert_eq!(texts, ["aaaa\n\n", "bbbb\n\ncccc"]);
    }

    #[test]
    fn chinese_sentence_ends_keep_their_closing_quote() {
        let s = Splitter::new(8, 0).unwrap();
        let chunks = s.split("他说：“好。”然后走了。再见！");
        assert_eq!(chunks[0].text, "他说：“好。”");
        assert!(chunks.iter().all(|c| c.chars <= 8));
    }

    #[test]
    fn overlap_starts_after_a_separator_in_the_window() {
        let s = Splitter::new(12, 5).unwrap();
        let chunks = s.split("一二三四五六七，八九。十一二三四五六七八");
        assert_eq!(chunks[0].text, "一二三四五六七，八九。");
        // The window is "，八九。" plus one more char; its first boundary is after the comma.
        assert_eq!(&chunks[1].text[..chunks[1].overlap], "八九。");
    }

    #[test]
    fn rejects_bad_settings() {
        assert!(Splitter::new(0, 0).is_err());
        assert!(Splitter::new(10, 10).is_err());
        assert!(Splitter::with_separators(10, 1, &[vec![String::new()]]).is_err());
    }
}
