//! The status bar: dataset, the audit's progress, review progress, jobs, search, model backend
//! and the help hint, laid out by priority rather than clipped. Each part has a full and a
//! short form; when the line does not fit, parts are shortened or dropped in a fixed order
//! (the model first, the audit and the help hint never), so that at 80 columns the reviewer
//! still sees where the audit stands.

use super::super::action::Action;
use super::super::app::{App, Screen};
use super::super::text::fit;
use super::common::safe_line;
use crate::audit::AuditStatus;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthStr;

/// One part of the bar: its forms from the fullest to the shortest ("" drops it).
struct Part {
    forms: Vec<String>,
    style: Style,
    /// Which form is shown.
    at: usize,
}

impl Part {
    fn new(style: Style, forms: Vec<String>) -> Part {
        Part {
            forms,
            style,
            at: 0,
        }
    }

    fn text(&self) -> &str {
        &self.forms[self.at]
    }
}

/// The widest the dataset's name gets before it is cut.
const DATASET_W: usize = 24;

pub fn draw(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    buf.set_style(area, t.status_bar);
    let dataset = app
        .dataset_info()
        .map(|d| safe_line(&d.name))
        .unwrap_or_else(|| "no dataset".into());
    let mut parts = Vec::new();
    // 0: the dataset, cut to fit.
    parts.push(Part::new(
        t.status_key,
        vec![
            format!(" {} ", fit(&dataset, DATASET_W)),
            format!(" {} ", fit(&dataset, 12)),
        ],
    ));
    // 1: the audit (in the walk the screen's own figures, fresher; else the dataset's).
    let walk = (app.review.from == Screen::Audit && app.screen == Screen::Review)
        || app.screen == Screen::Audit;
    let audit = match (&app.audit.loaded, &app.ctx.audit) {
        (Some((s, _)), _) if walk => Some(s),
        (_, Some(s)) => Some(s),
        _ => None,
    };
    parts.push(Part::new(t.status_key, audit_forms(audit)));
    // 2: review progress.
    let progress = app.ctx.summary.as_ref().map(|s| {
        let unreviewed = s.by_status.get("unreviewed").copied().unwrap_or(0);
        (s.samples - unreviewed.min(s.samples), s.samples)
    });
    parts.push(Part::new(
        t.status_bar,
        match progress {
            Some((done, n)) => vec![
                format!("│ {done}/{n} reviewed "),
                format!("│ {done}/{n} "),
                String::new(),
            ],
            None => vec![String::new()],
        },
    ));
    // 3: jobs and commits.
    parts.push(Part::new(
        t.status_bar,
        vec![
            format!("│ jobs {} │ {} done ", app.jobs, app.committed),
            format!("│ j{} ✓{} ", app.jobs, app.committed),
            String::new(),
        ],
    ));
    // 4: search progress.
    parts.push(Part::new(
        t.status_bar,
        if app.search.running {
            vec![
                format!("│ search: {} read ", app.search.results.scanned),
                "│ searching ".into(),
                String::new(),
            ]
        } else {
            vec![String::new()]
        },
    ));
    // 5: the model backend.
    let backend = app
        .ctx
        .llm
        .as_ref()
        .map(|l| safe_line(&l.describe()))
        .unwrap_or_else(|| "no model".into());
    parts.push(Part::new(
        t.status_bar,
        vec![format!("│ {backend} "), String::new()],
    ));
    let help = app
        .keymap
        .key_for(app.mode(), Action::Help)
        .map(|k| format!(" {k}:help "))
        .unwrap_or_default();
    let room = (area.width as usize).saturating_sub(help.width());
    // What gives way first: the model, then the short forms, then the optional parts.
    const ORDER: [usize; 9] = [5, 3, 4, 2, 1, 0, 3, 4, 2];
    for &i in &ORDER {
        if total(&parts) <= room {
            break;
        }
        let p = &mut parts[i];
        if p.at + 1 < p.forms.len() {
            p.at += 1;
        }
    }
    let spans: Vec<Span> = parts
        .iter()
        .filter(|p| !p.text().is_empty())
        .map(|p| Span::styled(p.text().to_string(), p.style))
        .collect();
    buf.set_line(area.x, area.y, &Line::from(spans), room as u16);
    if !help.is_empty() && area.width as usize >= help.width() {
        buf.set_string(
            area.right() - help.width() as u16,
            area.y,
            &help,
            t.status_key,
        );
    }
}

fn total(parts: &[Part]) -> usize {
    parts.iter().map(|p| p.text().width()).sum()
}

/// The audit's forms: "audit 37/100 · 2 defects · ≤8.1%" down to "A 37/100 2✗ ≤8.1%".
fn audit_forms(s: Option<&AuditStatus>) -> Vec<String> {
    let Some(s) = s else {
        return vec![String::new()];
    };
    if s.audit_id.is_none() {
        return vec!["│ no audit ".into(), "│ no audit ".into()];
    }
    let state = if s.passed {
        "passed"
    } else if s.complete {
        "failed"
    } else {
        ""
    };
    let bound = if s.census { "=" } else { "≤" };
    let mut full = format!(
        "│ audit {}/{} · {} defects · {bound}{:.1}% ",
        s.reviewed,
        s.drawn,
        s.defects,
        s.defect_rate_upper_95 * 100.0
    );
    let mut short = format!(
        "│ A {}/{} {}✗ {bound}{:.1}% ",
        s.reviewed,
        s.drawn,
        s.defects,
        s.defect_rate_upper_95 * 100.0
    );
    if !state.is_empty() {
        full.push_str(&format!("{state} "));
        short.push_str(if s.passed { "✓ " } else { "✗ " });
    }
    if s.not_covered > 0 {
        full.push_str(&format!("· {} new ", s.not_covered));
        short.push_str(&format!("+{} ", s.not_covered));
    }
    vec![full, short]
}
