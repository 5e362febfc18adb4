//! The help overlay, generated from the live keymap so that rebinding shows here.

use crate::tui::app::App;
use crate::tui::keymap::Mode;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Widget};

pub fn draw(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let mode = app.screen_mode();
    let w = area.width.saturating_sub(4).min(76);
    let h = area.height.saturating_sub(2);
    let popup = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + 1,
        width: w,
        height: h,
    };
    Clear.render(popup, buf);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border_focus)
        .title(Span::styled(format!(" keys: {} ", mode.name()), t.title));
    let inner = block.inner(popup);
    block.render(popup, buf);
    let mut lines: Vec<Line> = app
        .keymap
        .bindings(mode)
        .into_iter()
        .map(|(k, a)| {
            Line::from(vec![
                Span::styled(format!("{k:>10}  "), t.status_key.patch(t.heading)),
                Span::styled(a.describe().to_string(), t.text),
            ])
        })
        .collect();
    if mode == Mode::Search {
        lines.push(Line::from(Span::styled(
            "query: status:unreviewed kind:cot verdict:fail,mixed tag:T aspect:A dataset:D dup:yes text",
            t.muted,
        )));
    }
    // Two columns when the list is long.
    let rows = inner.height as usize;
    let col_w = if lines.len() > rows {
        inner.width / 2
    } else {
        inner.width
    };
    for (i, l) in lines.iter().enumerate() {
        let (col, row) = (i / rows.max(1), i % rows.max(1));
        if col > 1 {
            break;
        }
        buf.set_line(inner.x + col as u16 * col_w, inner.y + row as u16, l, col_w);
    }
}
