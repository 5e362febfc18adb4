//! Small pieces the screens share: safe text, section headings, wrapped paragraphs.

use super::super::text::wrap;
use crate::text::sanitize::{sanitize, sanitize_line};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Widget};

/// Untrusted multi-line text made safe.
pub fn safe(text: &str) -> String {
    sanitize(text).into_owned()
}

/// Untrusted one-line text made safe (line breaks shown as ⏎).
pub fn safe_line(text: &str) -> String {
    sanitize_line(text).into_owned()
}

/// Lines of untrusted `text` wrapped to `width`, indented by `indent` spaces, in `style`.
pub fn para(text: &str, width: usize, indent: usize, style: Style) -> Vec<Line<'static>> {
    let pad = " ".repeat(indent);
    wrap(&safe(text), width.saturating_sub(indent))
        .into_iter()
        .map(|l| Line::from(vec![Span::raw(pad.clone()), Span::styled(l, style)]))
        .collect()
}

/// `lines` made to fit `width` columns without losing words: spans stay on one row while they
/// fit; a span that does not fit starts a new row and wraps onto the rows below it (the text
/// is already safe).
pub fn flow(lines: Vec<Line<'static>>, width: usize) -> Vec<Line<'static>> {
    let width = width.max(2);
    let mut out = Vec::new();
    for line in lines {
        if line.width() <= width {
            out.push(line);
            continue;
        }
        let mut row: Vec<Span<'static>> = Vec::new();
        let mut used = 0;
        for span in line.spans {
            let w = span.width();
            if used + w <= width {
                used += w;
                row.push(span);
                continue;
            }
            if !row.is_empty() {
                out.push(Line::from(std::mem::take(&mut row)));
            }
            let mut pieces = wrap(span.content.trim_start(), width);
            let last = pieces.pop().unwrap_or_default();
            for p in pieces {
                out.push(Line::from(Span::styled(p, span.style)));
            }
            used = unicode_width::UnicodeWidthStr::width(last.as_str());
            row.push(Span::styled(last, span.style));
        }
        if !row.is_empty() {
            out.push(Line::from(row));
        }
    }
    out
}

pub fn heading(text: &str, style: Style) -> Line<'static> {
    Line::from(Span::styled(text.to_string(), style))
}

/// A bordered block with a title; returns the inner area.
pub fn frame(title: &str, area: Rect, buf: &mut Buffer, border: Style, title_style: Style) -> Rect {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(border)
        .title(Span::styled(format!(" {title} "), title_style));
    let inner = block.inner(area);
    block.render(area, buf);
    inner
}

/// Draws `lines` into `area` from line `skip`, one line per row, no wrapping (already wrapped).
pub fn draw_lines(lines: &[Line<'_>], skip: usize, area: Rect, buf: &mut Buffer) {
    for (i, line) in lines
        .iter()
        .skip(skip)
        .take(area.height as usize)
        .enumerate()
    {
        buf.set_line(area.x, area.y + i as u16, line, area.width);
    }
}
