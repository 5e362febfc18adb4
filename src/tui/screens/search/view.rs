//! The search screen: the query line, the match count or the query's error, and the visible
//! matches with their matched characters highlighted.

use crate::tui::app::App;
use crate::tui::ui::common::frame;
use crate::tui::ui::common::safe_line;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthChar;

pub fn draw(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let s = &app.search;
    // The scope in the title: which dataset the query searches, and its filters.
    let scope = s.loaded_filter.as_ref().map(|f| {
        let name = f
            .dataset_id
            .and_then(|id| app.ctx.datasets.iter().find(|d| d.id == id))
            .map_or("every dataset".to_string(), |d| safe_line(&d.name));
        let narrowed = f.describe();
        if narrowed.is_empty() {
            format!("search in {name}")
        } else {
            format!("search in {name} · {}", safe_line(&narrowed))
        }
    });
    let title = crate::tui::text::fit(
        scope.as_deref().unwrap_or("search"),
        (area.width as usize).saturating_sub(4),
    );
    let inner = frame(&title, area, buf, t.border_focus, t.title);
    if inner.height < 3 {
        return;
    }
    let q = format!("/ {}▏", safe_line(&s.query));
    buf.set_stringn(inner.x, inner.y, q, inner.width as usize, t.text);
    let info = match s.error.as_ref().or(s.results.error.as_ref()) {
        Some(e) => Span::styled(safe_line(e), t.error),
        None => Span::styled(
            format!(
                "{} matches{}{}{} · filters: status: verdict: kind: aspect: tag: dataset: dup: view:",
                s.matched(),
                if s.running {
                    format!(" (matching… {} read)", s.results.scanned)
                } else {
                    String::new()
                },
                if s.shown() < s.matched() as usize {
                    format!(" · best {} shown", s.shown())
                } else {
                    String::new()
                },
                if s.indexing() { " · indexing" } else { "" },
            ),
            t.muted,
        ),
    };
    buf.set_line(inner.x, inner.y + 1, &Line::from(info), inner.width);
    let rows = (inner.height - 2) as usize;
    let first = s.cursor.saturating_sub(rows.saturating_sub(1));
    for (i, (id, text, idx)) in s.visible(first, rows).into_iter().enumerate() {
        let y = inner.y + 2 + i as u16;
        let selected = first + i == s.cursor;
        let base = if selected { t.selection } else { t.text };
        let mut spans = vec![Span::styled(format!("{id:>7} "), t.muted.patch(base))];
        let mut width = 8usize;
        for (ci, c) in text.chars().enumerate() {
            let w = c.width().unwrap_or(0);
            if width + w > inner.width as usize {
                break;
            }
            width += w;
            let style = if idx.binary_search(&(ci as u32)).is_ok() {
                base.patch(t.matched)
            } else {
                base
            };
            spans.push(Span::styled(c.to_string(), style));
        }
        if selected {
            buf.set_style(
                Rect {
                    y,
                    height: 1,
                    ..inner
                },
                t.selection,
            );
        }
        buf.set_line(inner.x, y, &Line::from(spans), inner.width);
    }
}
