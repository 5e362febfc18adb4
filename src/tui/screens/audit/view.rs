//! The audit screen: progress k of n, defects and pending items, the upper end of the two-sided
//! 95% Clopper-Pearson interval on the defect rate against the threshold, which way the gate
//! goes, and the drawn samples in the walk's order (verdicts hidden until decided: blind).

use crate::tui::app::App;
use crate::tui::screens::list::view::row_line_with;
use crate::tui::ui::common::safe_line;
use crate::tui::ui::common::{flow, frame};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

pub fn draw(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let inner = frame("audit", area, buf, t.border_focus, t.title);
    let Some((s, rows)) = &app.audit.loaded else {
        buf.set_string(inner.x + 1, inner.y, "loading…", t.muted);
        return;
    };
    let w = inner.width as usize;
    let mut lines: Vec<Line<'static>> = Vec::new();
    if s.audit_id.is_none() {
        lines.push(Line::from(Span::styled(
            format!(
                "no audit of {} yet: press {} to draw it (or `assay audit draw --dataset {}`)",
                safe_line(&s.dataset),
                draw_key(app),
                safe_line(&s.dataset)
            ),
            t.error,
        )));
    } else {
        let bar_w = w.saturating_sub(24).min(50);
        let filled = (bar_w as u64 * s.reviewed)
            .checked_div(s.drawn)
            .unwrap_or(0) as usize;
        lines.push(Line::from(vec![
            Span::styled(
                format!("reviewed {:>4} of {:<4} ", s.reviewed, s.drawn),
                t.heading,
            ),
            Span::styled("█".repeat(filled), t.accepted),
            Span::styled("░".repeat(bar_w - filled), t.muted),
        ]));
        lines.push(Line::from(vec![
            Span::styled(format!("defects {} ", s.defects), t.rejected),
            Span::styled(format!("· pending {} ", s.pending), t.flagged),
            Span::styled(
                if s.census {
                    format!(
                        "· defect rate {:.1}% (threshold {:.1}%; every sample reviewed, exact)",
                        s.defect_rate_upper_95 * 100.0,
                        s.max_defect_rate * 100.0,
                    )
                } else {
                    format!(
                        "· defect rate ≤ {:.1}% (threshold {:.1}%; upper end of the two-sided \
                         95% Clopper-Pearson interval, {} reviewed)",
                        s.defect_rate_upper_95 * 100.0,
                        s.max_defect_rate * 100.0,
                        s.reviewed
                    )
                },
                t.text,
            ),
        ]));
        let cover = if s.not_covered > 0 {
            Span::styled(
                format!(
                    "{} samples added since the draw: press {} for a top-up",
                    s.not_covered,
                    draw_key(app)
                ),
                t.flagged,
            )
        } else if s.passed {
            Span::styled(
                "passed: the bound is within the threshold; export and training may use this \
                 dataset",
                t.accepted,
            )
        } else if s.complete {
            Span::styled(
                "failed: the bound is above the threshold; export and training refuse this \
                 dataset (`assay audit status` says what to do)",
                t.rejected,
            )
        } else if s.pending > 0 && s.reviewed + s.pending == s.drawn {
            Span::styled(
                "pending: flagged or conflicting samples wait for a decision (or `assay audit \
                 adjudicate`)",
                t.flagged,
            )
        } else {
            Span::styled(
                "incomplete: export and training refuse this dataset",
                t.flagged,
            )
        };
        lines.push(Line::from(cover));
    }
    // Wrapped, not cut: the gate's words and the commands they name stay whole at 80 columns.
    let lines = flow(lines, w);
    for (i, l) in lines.iter().enumerate() {
        buf.set_line(inner.x, inner.y + i as u16, l, inner.width);
    }
    let top = inner.y + lines.len() as u16 + 1;
    let height = inner.bottom().saturating_sub(top) as usize;
    let first = app.audit.cursor.saturating_sub(height.saturating_sub(1));
    for (i, r) in rows.iter().enumerate().skip(first).take(height) {
        let y = top + (i - first) as u16;
        let selected = i == app.audit.cursor;
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
        // Blind: a verifier's verdict is not shown before the reviewer decided.
        let blind = app.audit.blind && !r.status.is_decided();
        buf.set_line(
            inner.x,
            y,
            &row_line_with(app, r, w, selected, blind),
            inner.width,
        );
    }
}

/// The key that draws the audit in the live keymap.
fn draw_key(app: &App) -> String {
    app.keymap
        .key_for(
            crate::tui::keymap::Mode::Audit,
            crate::tui::action::Action::DrawAudit,
        )
        .unwrap_or_else(|| "draw_audit".to_string())
}
