//! The stats screen: counts by status, verdict and kind, agreement between reviewers (Cohen's
//! kappa on the samples both reviewed), the dataset's diversity, and the generation jobs.

use crate::store::JobInfo;
use crate::text::diversity::Diversity;
use crate::tui::app::App;
use crate::tui::theme::Theme;
use crate::tui::ui::common::safe_line;
use crate::tui::ui::common::{frame, heading};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

pub fn draw(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let inner = frame("stats", area, buf, t.border_focus, t.title);
    let Some(panel) = &app.stats.panel else {
        buf.set_string(inner.x + 1, inner.y, "loading…", t.muted);
        return;
    };
    let mut lines: Vec<Line> = Vec::new();
    if let Some(s) = &panel.stats {
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
        let f = s.failing_verdicts;
        let text = match f.precision() {
            Some(p) => format!(
                "reviewers rejected {} of {} failing samples they decided: verifier precision {:.0}%",
                f.confirmed,
                f.decided,
                p * 100.0
            ),
            None => "no failing sample decided yet".to_string(),
        };
        lines.push(Line::from(vec![
            Span::styled("failing  ", t.muted),
            Span::styled(text, t.text),
        ]));
    }
    lines.push(Line::default());
    lines.push(heading("reviewer agreement (Cohen's kappa)", t.heading));
    if panel.agreement.is_empty() {
        lines.push(Line::from(Span::styled(
            "no sample reviewed by two reviewers yet",
            t.muted,
        )));
    }
    for a in &panel.agreement {
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
    if let Some(d) = &panel.diversity {
        diversity_lines(d, t, &mut lines);
    }
    jobs_lines(&panel.jobs, t, &mut lines);
    for (i, l) in lines.iter().take(inner.height as usize).enumerate() {
        buf.set_line(inner.x, inner.y + i as u16, l, inner.width);
    }
}

fn diversity_lines(d: &Diversity, t: &Theme, lines: &mut Vec<Line<'static>>) {
    lines.push(Line::default());
    lines.push(heading("diversity", t.heading));
    for (name, dist) in [
        ("aspects", &d.aspects),
        ("labels ", &d.labels),
        ("tags   ", &d.tags),
    ] {
        let mut parts: Vec<String> = dist
            .counts
            .iter()
            .map(|(k, v)| format!("{} {v}", safe_line(k)))
            .collect();
        if parts.is_empty() {
            parts.push("none".into());
        }
        let even = dist
            .evenness
            .map_or(String::new(), |e| format!("  (evenness {e:.2})"));
        lines.push(Line::from(vec![
            Span::styled(format!("{name}  "), t.muted),
            Span::styled(format!("{}{even}", parts.join(" · ")), t.text),
        ]));
    }
    lines.push(Line::from(vec![
        Span::styled("length   ", t.muted),
        Span::styled(
            format!(
                "question mean {:.0} chars (max {}), answer mean {:.0} chars (max {})",
                d.question_chars.mean,
                d.question_chars.max,
                d.answer_chars.mean,
                d.answer_chars.max
            ),
            t.text,
        ),
    ]));
    let dup = &d.near_duplicates;
    lines.push(Line::from(vec![
        Span::styled("near-dup ", t.muted),
        Span::styled(
            format!(
                "{} clusters, {:.1}% of samples in one, {:.1}% redundant (run `assay dedup`)",
                dup.clusters,
                dup.share * 100.0,
                dup.redundant_share * 100.0
            ),
            t.text,
        ),
    ]));
}

fn jobs_lines(jobs: &[JobInfo], t: &Theme, lines: &mut Vec<Line<'static>>) {
    lines.push(Line::default());
    lines.push(heading(
        "generation jobs (`assay gen jobs` for all)",
        t.heading,
    ));
    if jobs.is_empty() {
        lines.push(Line::from(Span::styled("no generation job yet", t.muted)));
    }
    for j in jobs {
        let items: Vec<String> = j.items.iter().map(|(k, v)| format!("{k} {v}")).collect();
        lines.push(Line::from(Span::styled(
            format!(
                "#{} {} {}: {} · {} requests ({} cached) · {} tokens",
                j.id,
                safe_line(&j.kind),
                safe_line(&j.status),
                items.join(" · "),
                j.requests,
                j.cached,
                j.prompt_tokens + j.completion_tokens
            ),
            t.text,
        )));
    }
}
