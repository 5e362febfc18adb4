//! The status bar: dataset, review progress, model backend, jobs, the last message, a hint.

use super::super::action::Action;
use super::super::app::{App, Screen};
use super::common::safe_line;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

pub fn draw(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    buf.set_style(area, t.status_bar);
    let dataset = app
        .dataset_info()
        .map(|d| safe_line(&d.name))
        .unwrap_or_else(|| "no dataset".into());
    let progress = app.ctx.summary.as_ref().map(|s| {
        let unreviewed = s.by_status.get("unreviewed").copied().unwrap_or(0);
        format!(
            "{}/{} reviewed",
            s.samples - unreviewed.min(s.samples),
            s.samples
        )
    });
    let backend = app
        .ctx
        .llm
        .as_ref()
        .map(|l| safe_line(&l.describe()))
        .unwrap_or_else(|| "no model".into());
    let help = app
        .keymap
        .key_for(app.mode(), Action::Help)
        .map(|k| format!("{k}:help"))
        .unwrap_or_default();
    let mut spans = vec![
        Span::styled(format!(" {dataset} "), t.status_key),
        Span::styled(format!(" {} ", progress.unwrap_or_default()), t.status_bar),
        Span::styled(format!("│ {backend} "), t.status_bar),
        Span::styled(
            format!("│ jobs {} │ {} done ", app.jobs, app.committed),
            t.status_bar,
        ),
    ];
    if app.search.running {
        spans.push(Span::styled(
            format!("│ search: {} read ", app.search.results.scanned),
            t.status_bar,
        ));
    }
    // The audit walk: k of n, defects and the bound, live while reviewing drawn samples.
    if app.review.from == Screen::Audit
        && app.screen == Screen::Review
        && let Some((s, _)) = &app.audit.loaded
    {
        spans.push(Span::styled(
            format!(
                "│ audit {}/{} · {} defects · ≤{:.1}% ",
                s.reviewed,
                s.drawn,
                s.defects,
                s.defect_rate_upper_95 * 100.0
            ),
            t.status_key,
        ));
    }
    let line = Line::from(spans);
    buf.set_line(area.x, area.y, &line, area.width);
    let hint_w = help.chars().count() as u16 + 1;
    if area.width > hint_w + 40 {
        buf.set_string(area.right() - hint_w, area.y, &help, t.status_key);
    }
}
