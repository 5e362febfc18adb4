//! The list screen: one row per sample on screen (never more), status, verdict, kind, aspect and
//! the first line.

use crate::model::{ReviewStatus, VerdictSummary};
use crate::store::SampleRow;
use crate::tui::app::App;
use crate::tui::text::fit;
use crate::tui::ui::common::frame;
use crate::tui::ui::common::safe_line;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

pub fn status_style(app: &App, s: ReviewStatus) -> Style {
    let t = &app.theme;
    match s {
        ReviewStatus::Unreviewed => t.unreviewed,
        ReviewStatus::Accepted => t.accepted,
        ReviewStatus::Rejected => t.rejected,
        ReviewStatus::Flagged | ReviewStatus::Conflict => t.flagged,
    }
}

pub fn verdict_style(app: &App, v: VerdictSummary) -> Style {
    let t = &app.theme;
    match v {
        VerdictSummary::None => t.muted,
        VerdictSummary::Pass => t.verdict_pass,
        VerdictSummary::Fail | VerdictSummary::Mixed => t.verdict_fail,
    }
}

pub fn status_glyph(s: ReviewStatus) -> &'static str {
    match s {
        ReviewStatus::Unreviewed => "·",
        ReviewStatus::Accepted => "✓",
        ReviewStatus::Rejected => "✗",
        ReviewStatus::Flagged => "⚑",
        ReviewStatus::Conflict => "≠",
    }
}

/// One row of the list, laid out for `width` columns.
pub fn row_line(app: &App, r: &SampleRow, width: usize, selected: bool) -> Line<'static> {
    row_line_with(app, r, width, selected, false)
}

/// As [`row_line`]; `blind` hides the verdict (the audit walk, before a decision).
pub fn row_line_with(
    app: &App,
    r: &SampleRow,
    width: usize,
    selected: bool,
    blind: bool,
) -> Line<'static> {
    let wide = width >= 100;
    let aspect_w = if wide { 14 } else { 8 };
    let fixed = 8 + 13 + 8 + if wide { 17 } else { 5 } + aspect_w + 1;
    let kind = if wide {
        format!("{:<16} ", r.kind.as_str())
    } else {
        format!("{:<4} ", short_kind(r.kind))
    };
    let aspect = fit(&safe_line(r.aspect.as_deref().unwrap_or("-")), aspect_w);
    let preview = fit(&safe_line(&r.preview), width.saturating_sub(fixed));
    let mut line = Line::from(vec![
        Span::styled(format!("{:>7} ", r.id), app.theme.muted),
        Span::styled(
            format!("{} {:<11}", status_glyph(r.status), r.status.as_str()),
            status_style(app, r.status),
        ),
        if blind {
            Span::styled(format!("{:<7}", "hidden"), app.theme.muted)
        } else {
            Span::styled(
                format!("{:<7}", r.verdict.as_str()),
                verdict_style(app, r.verdict),
            )
        },
        Span::styled(kind, app.theme.muted),
        Span::styled(pad(&aspect, aspect_w + 1), app.theme.muted),
        Span::styled(preview, app.theme.text),
    ]);
    if selected {
        line = line.patch_style(app.theme.selection);
    }
    line
}

fn pad(s: &str, w: usize) -> String {
    let sw = unicode_width::UnicodeWidthStr::width(s);
    format!("{s}{}", " ".repeat(w.saturating_sub(sw)))
}

fn short_kind(k: crate::model::SampleKind) -> &'static str {
    use crate::model::SampleKind::*;
    match k {
        Qa => "qa",
        Cot => "cot",
        Conversation => "conv",
        AgentTrajectory => "agent",
        Pretrain => "pre",
        MultipleChoice => "mc",
    }
}

/// What a database without datasets shows: how to get data in, not "loading".
fn empty_state(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let db = safe_line(&app.ctx.db_path.display().to_string());
    let text = format!(
        "{db} has no datasets yet.\n\nImport one from the shell:\n  assay --db {db} import FILE\n(JSON or \
         JSONL: Alpaca, ShareGPT, OpenAI messages, xtuner, CAMEL, multiple choice; the format is \
         detected)\n\nor cut documents into pre-training samples:\n  assay --db {db} chunk DIR\n\nor \
         look around in the bundled sample data:\n  assay demo\n\nq quits."
    );
    let lines = crate::tui::ui::common::para(&text, area.width as usize, 1, t.text);
    crate::tui::ui::common::draw_lines(&lines, 0, area, buf);
}

pub fn draw(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let mut title = match app.dataset_info() {
        Some(d) => match &app.ctx.summary {
            Some(s) => format!("{} · {} samples", safe_line(&d.name), s.samples),
            None => safe_line(&d.name),
        },
        None => "no dataset".into(),
    };
    // A list narrowed by a search says by what, so that its rows are never taken for all.
    let narrowed = app.ctx.filter.describe();
    if !narrowed.is_empty() {
        title.push_str(&format!(" · only {}", safe_line(&narrowed)));
    }
    let order = app.ctx.filter.order;
    if order != crate::store::Order::default() {
        title.push_str(&format!(" · {}", order.label()));
    }
    let title = crate::tui::text::fit(&title, (area.width as usize).saturating_sub(4));
    let inner = frame(&title, area, buf, t.border, t.title);
    if inner.height == 0 {
        return;
    }
    if app.ctx.datasets_loaded && app.ctx.datasets.is_empty() {
        empty_state(app, inner, buf);
        return;
    }
    let (kind_w, aspect_w) = if inner.width >= 100 { (17, 15) } else { (5, 9) };
    let header = format!(
        "{:>7} {:<13}{:<8}{:<kind_w$}{:<aspect_w$}first line",
        "id", "status", "verdict", "kind", "aspect"
    );
    buf.set_stringn(inner.x, inner.y, header, inner.width as usize, t.heading);
    let rows_area = Rect {
        y: inner.y + 1,
        height: inner.height - 1,
        ..inner
    };
    if app.list.rows.is_empty() {
        let msg = if app.list.loaded {
            "no samples match"
        } else {
            "loading…"
        };
        buf.set_string(rows_area.x + 1, rows_area.y, msg, t.muted);
        return;
    }
    let visible = app
        .list
        .rows
        .iter()
        .enumerate()
        .skip(app.list.top)
        .take(rows_area.height as usize);
    for (y, (i, r)) in visible.enumerate() {
        let line = row_line(app, r, rows_area.width as usize, i == app.list.cursor);
        if i == app.list.cursor {
            buf.set_style(
                Rect {
                    y: rows_area.y + y as u16,
                    height: 1,
                    ..rows_area
                },
                t.selection,
            );
        }
        buf.set_line(rows_area.x, rows_area.y + y as u16, &line, rows_area.width);
    }
}
