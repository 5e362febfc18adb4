//! The editor screen: field tabs, the text area, and the keys that save or leave.

use super::FIELDS;
use crate::tui::action::Action;
use crate::tui::app::App;
use crate::tui::keymap::Mode;
use crate::tui::ui::common::frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

pub fn draw(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let Some(e) = &app.editor else {
        return;
    };
    let title = format!(
        "edit #{} (new revision on save){}",
        e.sample_id,
        if e.modified { " · modified" } else { "" }
    );
    let inner = frame(&title, area, buf, t.border_focus, t.title);
    let [tabs, body, hint] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    let spans: Vec<Span> = FIELDS
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let style = if i == e.field { t.selection } else { t.muted };
            Span::styled(format!(" {f} "), style)
        })
        .collect();
    buf.set_line(tabs.x, tabs.y, &Line::from(spans), tabs.width);
    let mut area = e.area.clone();
    area.set_style(t.text);
    area.set_cursor_line_style(ratatui::style::Style::default());
    (&area).render(body, buf);
    let k = |a| {
        app.keymap
            .key_for(Mode::Editor, a)
            .unwrap_or_else(|| "?".into())
    };
    let hint_text = format!(
        "{}: save · {}: next field · {}: leave · drafts autosave every 2 s",
        k(Action::Save),
        k(Action::NextField),
        k(Action::Back)
    );
    buf.set_stringn(hint.x, hint.y, hint_text, hint.width as usize, t.muted);
}
