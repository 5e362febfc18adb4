//! The review screen: the sample on the left (system, question, numbered reasoning steps with
//! the first wrong one highlighted, answer, golden), every verdict on the right, and on request
//! the revision history with a diff between the last two revisions.

use crate::model::{Content, Role, Verdict};
use crate::prompting::steps::split_steps;
use crate::tui::action::Action;
use crate::tui::app::{App, Screen};
use crate::tui::screens::list::view::status_glyph;
use crate::tui::text::{DiffLine, diff_lines, fit, wrap};
use crate::tui::ui::common::{draw_lines, frame, heading, para};
use crate::tui::ui::common::{safe, safe_line};
use crate::verify::first_wrong::FirstWrong;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};

pub fn draw(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let Some(d) = app
        .review
        .detail
        .as_ref()
        .filter(|d| app.list.current().is_none_or(|r| r.id == d.record.id))
    else {
        let inner = frame("review", area, buf, t.border, t.title);
        buf.set_string(inner.x + 1, inner.y, "loading…", t.muted);
        return;
    };
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(58), Constraint::Percentage(42)]).areas(area);
    let r = &d.record;
    let title = format!(
        "#{} {} · {} {} · rev {}",
        r.id,
        r.kind.as_str(),
        status_glyph(r.status),
        r.status.as_str(),
        r.head.number
    );
    // A blind audit walk: the reviewer judges the content alone, verdicts and other reviewers'
    // decisions appear once they decided.
    // The walk's own status counts: a sample only a rule decided is still undecided there.
    let walk_status = app
        .audit
        .loaded
        .as_ref()
        .and_then(|(_, rows)| rows.iter().find(|w| w.id == r.id))
        .map_or(r.status, |w| w.status);
    let blind = app.review.from == Screen::Audit && app.audit.blind && !walk_status.is_decided();
    let (left, below) = match &d.candidate {
        Some(_) => {
            let [a, b] = Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)])
                .areas(left);
            (a, Some(b))
        }
        None => (left, None),
    };
    let inner = frame(&title, left, buf, t.border_focus, t.title);
    let wrong = if blind {
        None
    } else {
        d.first_wrong
            .as_ref()
            .map(|w| (w.step, wrong_step_source(w, r.head.id)))
    };
    let mut lines = about_lines(app, r, inner.width as usize);
    lines.extend(sample_lines(
        app,
        &r.head.content,
        inner.width as usize,
        wrong,
    ));
    lines.extend(super::cot_tree::lines(&r.meta.extra, t));
    let max_skip = lines.len().saturating_sub(inner.height as usize);
    draw_lines(
        &lines,
        (app.review.scroll as usize).min(max_skip),
        inner,
        buf,
    );
    if let (Some(area), Some((c, cv))) = (below, &d.candidate) {
        let title = format!(
            "candidate rev {} · c take · o keep original · r another",
            c.number
        );
        let inner = frame(&title, area, buf, t.border_focus, t.title);
        let wrong = if blind { None } else { first_wrong_step(cv) };
        let lines = sample_lines(app, &c.content, inner.width as usize, wrong);
        draw_lines(&lines, 0, inner, buf);
    }

    let (vert, hist) = if app.review.show_history {
        let [a, b] =
            Layout::vertical([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(right);
        (a, Some(b))
    } else {
        (right, None)
    };
    // The pane's lines are built before its frame, whose title says when it scrolls.
    let w = vert.width.saturating_sub(2) as usize;
    let mut v = Vec::new();
    if blind {
        let inner = frame("verdicts", vert, buf, t.border, t.title);
        v.push(Line::from(Span::styled(
            fit("hidden until you decide (blind audit)", w),
            t.muted,
        )));
        draw_lines(&v, 0, inner, buf);
        return;
    }
    if let Some((c, cv)) = &d.candidate {
        v.push(heading(
            &format!("candidate (rev {}):", c.number),
            t.heading,
        ));
        if cv.is_empty() {
            v.push(Line::from(Span::styled("no verdict on it", t.muted)));
        }
        for verdict in cv {
            v.extend(verdict_lines(app, verdict, w));
        }
        v.push(heading(
            &format!("head (rev {}):", r.head.number),
            t.heading,
        ));
    }
    if d.verdicts.is_empty() {
        v.push(Line::from(Span::styled(
            "no verdict on this revision",
            t.muted,
        )));
    }
    for verdict in &d.verdicts {
        v.extend(verdict_lines(app, verdict, w));
    }
    if app.review.show_history && !d.previous_verdicts.is_empty() {
        v.push(heading("before (previous revision):", t.heading));
        for verdict in &d.previous_verdicts {
            v.extend(verdict_lines(app, verdict, w));
        }
    }
    if !d.reviews.is_empty() {
        v.push(heading("decisions:", t.heading));
        for rv in d.reviews.iter().rev().take(5) {
            v.push(Line::from(Span::styled(
                fit(
                    &format!(
                        "{} {} {}",
                        safe_line(&rv.reviewer),
                        rv.decision.as_str(),
                        safe_line(&rv.reason)
                    ),
                    w,
                ),
                t.muted,
            )));
        }
    }
    let rows = vert.height.saturating_sub(2) as usize;
    let max_skip = v.len().saturating_sub(rows);
    let skip = (app.review.verdict_scroll as usize).min(max_skip);
    let key = |a: Action| app.keymap.key_for(app.mode(), a).unwrap_or_default();
    let more = match (skip > 0, skip < max_skip) {
        (false, false) => String::new(),
        (false, true) => format!(" · {} more", key(Action::VerdictsDown)),
        (true, true) => format!(
            " · {}/{} scroll",
            key(Action::VerdictsDown),
            key(Action::VerdictsUp)
        ),
        (true, false) => format!(" · {} back", key(Action::VerdictsUp)),
    };
    let inner = frame(
        &format!("verdicts ({}){more}", d.verdicts.len()),
        vert,
        buf,
        t.border,
        t.title,
    );
    draw_lines(&v, skip, inner, buf);

    if let Some(hist) = hist {
        let inner = frame(
            &format!(
                "history ({} revisions) · [ ] pick · R revert",
                d.revisions.len()
            ),
            hist,
            buf,
            t.border,
            t.title,
        );
        let w = inner.width as usize;
        let revs = super::history(d);
        let pick = app.review.history_pick.min(revs.len().saturating_sub(1));
        let first = pick.saturating_sub(2);
        let mut h: Vec<Line> = revs
            .iter()
            .enumerate()
            .skip(first)
            .take(3)
            .map(|(i, rev)| {
                let mark = if i == pick { "▸" } else { " " };
                let head = if i == 0 { " (head)" } else { "" };
                Line::from(Span::styled(
                    fit(
                        &format!(
                            "{mark} rev {} by {}{head}",
                            rev.number,
                            safe_line(&rev.author)
                        ),
                        w,
                    ),
                    if i == pick { t.text } else { t.muted },
                ))
            })
            .collect();
        // The diff from the picked revision (or the one before the head) to the head.
        let from = if pick > 0 {
            revs.get(pick)
        } else {
            revs.get(1)
        };
        match from {
            Some(old) => {
                h.push(heading(
                    &format!("diff rev {} → {}:", old.number, r.head.number),
                    t.heading,
                ));
                let old = flatten(&old.content);
                let new = flatten(&r.head.content);
                for line in diff_lines(&old, &new) {
                    let (mark, text, style) = match line {
                        DiffLine::Same(s) => (" ", s, t.muted),
                        DiffLine::Added(s) => ("+", s, t.diff_add),
                        DiffLine::Removed(s) => ("-", s, t.diff_del),
                    };
                    for l in wrap(&safe(&text), w.saturating_sub(2)) {
                        h.push(Line::from(Span::styled(format!("{mark} {l}"), style)));
                    }
                }
            }
            None => h.push(Line::from(Span::styled(
                "only the original revision",
                t.muted,
            ))),
        }
        draw_lines(&h, 0, inner, buf);
    }
}

/// Who named the head's first wrong step, and where: a step carried over from an earlier
/// revision's verdict says so (and whether the head replaced that step).
fn wrong_step_source(w: &FirstWrong, head_id: i64) -> String {
    if w.revision_id == head_id {
        w.verifier.clone()
    } else if w.same_text {
        format!("{} on rev {}", w.verifier, w.revision_number)
    } else {
        format!(
            "{} on rev {} (rewritten from here)",
            w.verifier, w.revision_number
        )
    }
}

/// The first wrong step any failing verdict names (1-based).
fn first_wrong_step(verdicts: &[Verdict]) -> Option<(u32, String)> {
    verdicts
        .iter()
        .filter(|v| !v.passed)
        .filter_map(|v| v.first_wrong_step.map(|s| (s, v.verifier.clone())))
        .min_by_key(|(s, _)| *s)
}

fn verdict_lines(app: &App, v: &Verdict, width: usize) -> Vec<Line<'static>> {
    let t = &app.theme;
    let (mark, style) = if v.passed {
        ("✓ pass", t.verdict_pass)
    } else {
        ("✗ FAIL", t.verdict_fail)
    };
    // What decides the review first (pass/fail, score, step), then who said it: at 80 columns
    // a long model name wraps below instead of pushing the score and step off the pane.
    let mut head = mark.to_string();
    if let Some(s) = v.score {
        head.push_str(&format!(" {s:.2}"));
    }
    if let Some(s) = v.first_wrong_step {
        head.push_str(&format!(" step {s}"));
    }
    head.push_str(&format!(" · {}", safe_line(&v.verifier)));
    if let Some(m) = &v.model {
        head.push_str(&format!(" ({})", safe_line(m)));
    }
    let mut out: Vec<Line<'static>> = wrap(&head, width)
        .into_iter()
        .map(|l| Line::from(Span::styled(l, style)))
        .collect();
    out.extend(para(&v.rationale, width, 2, t.text));
    out
}

/// Where the sample came from and how it is labelled, on its first line(s): the source file
/// and line (or the generator and model), aspect, label, tags and a note.
fn about_lines(app: &App, r: &crate::store::SampleRecord, width: usize) -> Vec<Line<'static>> {
    let mut parts = vec![match &r.source {
        crate::model::Source::File { path, line } => format!("from {path}:{line}"),
        crate::model::Source::Generated {
            generator, model, ..
        } => format!("generated by {generator} ({model})"),
    }];
    let m = &r.meta;
    if let Some(a) = &m.aspect {
        parts.push(format!("aspect {a}"));
    }
    if let Some(l) = m.label {
        parts.push(format!("label {}", l.as_str()));
    }
    if !m.tags.is_empty() {
        parts.push(format!("tags {}", m.tags.join(",")));
    }
    if let Some(note) = m.extra.get("note").and_then(|v| v.as_str()) {
        parts.push(format!("note: {note}"));
    }
    para(&parts.join(" · "), width, 0, app.theme.muted)
}

/// The sample as text lines: each section under a heading, reasoning as numbered steps.
fn sample_lines(
    app: &App,
    c: &Content,
    width: usize,
    wrong: Option<(u32, String)>,
) -> Vec<Line<'static>> {
    let t = &app.theme;
    let mut out = Vec::new();
    let section = |out: &mut Vec<Line<'static>>, name: &str, text: &str| {
        out.push(heading(name, t.heading));
        out.extend(para(text, width, 2, t.text));
    };
    if let Some(s) = &c.system {
        section(&mut out, "system", s);
    }
    let simple = c.turns.len() <= 2;
    for (i, turn) in c.turns.iter().enumerate() {
        let is_answer = c.answer_turn().is_some_and(|a| std::ptr::eq(a, turn));
        let name = match turn.role {
            Role::User if simple => "question".to_string(),
            Role::Assistant if simple || is_answer => "answer".to_string(),
            r => format!("{} (turn {})", r.as_str(), i + 1),
        };
        if let Some(reasoning) = &turn.reasoning {
            let steps = split_steps(reasoning);
            out.push(heading(
                &format!("reasoning ({} steps)", steps.len()),
                t.heading,
            ));
            for (n, step) in steps.iter().enumerate() {
                let n = n as u32 + 1;
                let is_wrong = wrong.as_ref().is_some_and(|(w, _)| *w == n);
                let style = if is_wrong { t.wrong_step } else { t.text };
                let label = format!("{n:>3}. ");
                for (j, l) in wrap(&safe(step), width.saturating_sub(5))
                    .into_iter()
                    .enumerate()
                {
                    let prefix = if j == 0 {
                        label.clone()
                    } else {
                        "     ".into()
                    };
                    out.push(Line::from(vec![
                        Span::styled(prefix, t.step_number),
                        Span::styled(l, style),
                    ]));
                }
                if is_wrong && let Some((_, by)) = &wrong {
                    out.push(Line::from(Span::styled(
                        fit(
                            &format!("     ↑ first wrong step, per {}", safe_line(by)),
                            width,
                        ),
                        t.verdict_fail,
                    )));
                }
            }
        }
        for call in &turn.tool_calls {
            section(
                &mut out,
                &format!("tool call {}", call.name),
                &call.arguments.to_string(),
            );
        }
        section(&mut out, &name, &turn.content);
    }
    if !c.options.is_empty() {
        out.push(heading("options", t.heading));
        for (i, o) in c.options.iter().enumerate() {
            let letter = char::from(b'A' + (i as u8 % 26));
            out.extend(para(&format!("{letter}. {o}"), width, 2, t.text));
        }
    }
    if let Some(g) = &c.golden {
        section(&mut out, "golden", g);
    }
    out
}

/// A revision as plain text for diffs.
fn flatten(c: &Content) -> String {
    let mut s = String::new();
    if let Some(sys) = &c.system {
        s.push_str(&format!("system: {sys}\n"));
    }
    for t in &c.turns {
        if let Some(r) = &t.reasoning {
            for step in split_steps(r) {
                s.push_str(&format!("reasoning: {step}\n"));
            }
        }
        s.push_str(&format!("{}: {}\n", t.role.as_str(), t.content));
    }
    if let Some(g) = &c.golden {
        s.push_str(&format!("golden: {g}\n"));
    }
    s
}
