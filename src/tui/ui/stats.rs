//! The stats screen: counts by status, verdict and kind, and agreement between reviewers
//! (Cohen's kappa on the samples both reviewed).

use super::super::app::App;
use super::common::{frame, heading};
use super::safe_line;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

pub fn draw(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let inner = frame("stats", area, buf, t.border_focus, t.title);
    let Some((stats, agreement)) = &app.stats else {
        buf.set_string(inner.x + 1, inner.y, "loading…", t.muted);
        return;
    };
    let mut lines: Vec<Line> = Vec::new();
    if let Some(s) = stats {
        lines.push(heading(
            &format!(
                "{}: {} samples, {} revisions, {} decisions",
                safe_line(&s.dataset),
                s.samples,
                s.revisions,
                s.reviews
            ),
            t.heading,
        ));
        for (name, map) in [
            ("status ", &s.by_status),
            ("verdict", &s.by_verdict),
            ("kind   ", &s.by_kind),
        ] {
            let parts: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{} {v}", safe_line(k)))
                .collect();
            lines.push(Line::from(vec![
                Span::styled(format!("{name}  "), t.muted),
                Span::styled(parts.join(" · "), t.text),
            ]));
        }
    }
    lines.push(Line::default());
    lines.push(heading("reviewer agreement (Cohen's kappa)", t.heading));
    if agreement.is_empty() {
        lines.push(Line::from(Span::styled(
            "no sample reviewed by two reviewers yet",
            t.muted,
        )));
    }
    for a in agreement {
        let kappa = a
            .kappa
            .map_or("undefined".to_string(), |k| format!("{k:.3}"));
        lines.push(Line::from(Span::styled(
            format!(
                "{} & {}: κ = {kappa}, agree {:.0}% on {} shared samples",
                safe_line(&a.a),
                safe_line(&a.b),
                a.observed * 100.0,
                a.shared
            ),
            t.text,
        )));
    }
    for (i, l) in lines.iter().take(inner.height as usize).enumerate() {
        buf.set_line(inner.x, inner.y + i as u16, l, inner.width);
    }
}
