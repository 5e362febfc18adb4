//! The train screen: past and live runs on the left; on the right the selected run's raw and
//! smoothed loss, eval loss and learning rate (ratatui charts), a second run overlaid when one
//! is pinned, throughput and ETA (while it runs); its log tail below (sanitised). The new-run
//! form replaces the panel while it is open: the chosen trainer's fields only, and after a
//! refusal of the audit gate, what is missing and the waiver on offer.

use super::{TrainForm, TrainPanel, Value};
use crate::store::RunInfo;
use crate::train::curves::{Curves, duration, padded, progress, range};
use crate::tui::app::App;
use crate::tui::text::wrap;
use crate::tui::theme::Theme;
use crate::tui::ui::common::frame;
use crate::tui::ui::common::safe_line;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Widget};

pub fn draw(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let inner = frame("train", area, buf, t.border_focus, t.title);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    if let Some(form) = &app.train.form {
        let waiving = matches!(app.prompt, Some(crate::tui::app::Prompt::Waiver { .. }));
        return draw_form(form, waiving, t, inner, buf);
    }
    let panel = &app.train;
    if panel.runs.is_empty() {
        let lines = [
            "no training runs yet",
            "n: start one on an audited dataset (built-in, LLaMA-Factory or a script)",
            "or from a shell: assay train --dataset NAME",
        ];
        for (i, l) in lines.iter().take(inner.height as usize).enumerate() {
            buf.set_stringn(
                inner.x + 1,
                inner.y + i as u16,
                l,
                inner.width as usize,
                t.muted,
            );
        }
        return;
    }
    let log_h = if inner.height >= 30 { 10 } else { 5 }.min(inner.height / 3);
    let [top, log] = Layout::vertical([Constraint::Min(3), Constraint::Length(log_h)]).areas(inner);
    let runs_w = (top.width / 3).clamp(16.min(top.width), 40);
    let [list, right] =
        Layout::horizontal([Constraint::Length(runs_w), Constraint::Min(1)]).areas(top);
    draw_runs(panel, t, list, buf);
    if let Some(run) = panel.selected() {
        draw_charts(panel, run, t, right, buf);
        draw_log(run, t, log, buf);
    }
}

fn status_style(t: &Theme, run: &RunInfo) -> Style {
    use crate::store::RunStatus::*;
    match run.status {
        Completed => t.accepted,
        Failed => t.rejected,
        Stopped | Stopping => t.flagged,
        Queued | Running => t.unreviewed,
        // Its trainer runs elsewhere and nothing follows it now.
        External => t.muted,
    }
}

fn draw_runs(panel: &TrainPanel, t: &Theme, area: Rect, buf: &mut Buffer) {
    let inner = frame("runs", area, buf, t.border, t.title);
    let h = inner.height as usize;
    // Keep the cursor visible: scroll by whole pages.
    let first = (panel.cursor / h.max(1)) * h.max(1);
    for (row, (i, r)) in panel
        .runs
        .iter()
        .enumerate()
        .skip(first)
        .take(h)
        .enumerate()
    {
        let pin = if panel.compare == Some(r.id) {
            "◆"
        } else {
            " "
        };
        let loss = panel
            .points_of(r.id)
            .iter()
            .rev()
            .find_map(|p| p.loss)
            .map_or(String::new(), |l| format!(" {l:.3}"));
        let line = Line::from(vec![
            Span::styled(format!("{pin}#{:<3} ", r.id), t.text),
            Span::styled(format!("{:<9} ", r.status.as_str()), status_style(t, r)),
            Span::styled(format!("{}{loss}", r.trainer), t.muted),
        ]);
        let y = inner.y + row as u16;
        buf.set_line(inner.x, y, &line, inner.width);
        if i == panel.cursor {
            buf.set_style(Rect::new(inner.x, y, inner.width, 1), t.selection);
        }
    }
}

/// Every `n`th point so a chart gets about two per cell column; the last always stays.
fn decimate(points: &[(f64, f64)], max: usize) -> Vec<(f64, f64)> {
    if points.len() <= max.max(2) {
        return points.to_vec();
    }
    let stride = points.len().div_ceil(max.max(2));
    let mut out: Vec<(f64, f64)> = points.iter().step_by(stride).copied().collect();
    if let (Some(last), Some(kept)) = (points.last(), out.last())
        && last != kept
    {
        out.push(*last);
    }
    out
}

fn axis_labels(lo: f64, hi: f64, fmt: fn(f64) -> String) -> Vec<Line<'static>> {
    vec![
        Line::from(fmt(lo)),
        Line::from(fmt((lo + hi) / 2.0)),
        Line::from(fmt(hi)),
    ]
}

fn draw_charts(panel: &TrainPanel, run: &RunInfo, t: &Theme, area: Rect, buf: &mut Buffer) {
    if area.height < 3 || area.width < 8 {
        return;
    }
    let points = panel.points_of(run.id);
    let p = progress(points);
    let compare = panel.compare.filter(|c| *c != run.id);
    let mut info = format!("#{} {} · {}", run.id, run.trainer, run.status);
    // The comparison goes first: on a narrow terminal the end of the line is cut.
    if let Some(c) = compare {
        info.push_str(&format!(" vs #{c}"));
    }
    match p.total_steps {
        Some(total) => info.push_str(&format!(" · step {}/{total}", p.step)),
        None => info.push_str(&format!(" · step {}", p.step)),
    }
    if let Some(tps) = p.tokens_per_s {
        info.push_str(&format!(" · {tps:.0} tok/s"));
    }
    if let Some(r) = p.steps_per_s {
        info.push_str(&format!(" · {r:.2} step/s"));
    }
    // Only a run still working has time left: not one that ended or is being stopped.
    if matches!(
        run.status,
        crate::store::RunStatus::Queued | crate::store::RunStatus::Running
    ) && let Some(eta) = p.eta_s
    {
        info.push_str(&format!(" · ETA {}", duration(eta)));
    }
    let lr_h = (area.height / 4).clamp(3, 10);
    let [head, loss_area, lr_area] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(lr_h),
    ])
    .areas(area);
    buf.set_stringn(
        head.x + 1,
        head.y,
        &info,
        head.width.saturating_sub(1) as usize,
        t.heading,
    );

    let width = loss_area.width as usize * 2;
    let mine = Curves::from_points(points);
    let other = compare.map(|c| Curves::from_points(panel.points_of(c)));
    let all: Vec<&Curves> = std::iter::once(&mine).chain(other.as_ref()).collect();
    let total = p.total_steps.map(|s| s as f64);
    let steps = range(
        all.iter()
            .filter_map(|c| c.step_range())
            .flat_map(|(a, b)| [a, b])
            .chain(total),
    );
    let Some((x0, x1)) = steps.map(padded) else {
        buf.set_stringn(
            loss_area.x + 1,
            loss_area.y,
            "no points logged yet",
            loss_area.width as usize,
            t.muted,
        );
        return;
    };
    let x0 = x0.max(0.0);
    let (y0, y1) = padded(
        range(
            all.iter()
                .filter_map(|c| c.loss_range())
                .flat_map(|(a, b)| [a, b]),
        )
        .unwrap_or((0.0, 1.0)),
    );
    let series = |c: &Curves, mine: bool| {
        let (raw, smooth, eval) = (
            decimate(&c.loss, width),
            decimate(&c.smoothed, width),
            decimate(&c.eval_loss, width),
        );
        (raw, smooth, eval, mine)
    };
    let data: Vec<_> = std::iter::once(series(&mine, true))
        .chain(other.as_ref().map(|c| series(c, false)))
        .collect();
    let mut sets = Vec::new();
    for (raw, smooth, eval, is_mine) in &data {
        let id = if *is_mine {
            run.id
        } else {
            compare.unwrap_or(0)
        };
        if *is_mine {
            sets.push(
                Dataset::default()
                    .name("loss")
                    .marker(Marker::Braille)
                    .graph_type(GraphType::Line)
                    .style(t.muted)
                    .data(raw),
            );
        }
        let style = if *is_mine { t.heading } else { t.matched };
        sets.push(
            Dataset::default()
                .name(format!("#{id} smoothed"))
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(style)
                .data(smooth),
        );
        if !eval.is_empty() {
            sets.push(
                Dataset::default()
                    .name(format!("#{id} eval"))
                    .marker(Marker::Dot)
                    .graph_type(GraphType::Scatter)
                    .style(if *is_mine { t.flagged } else { t.matched })
                    .data(eval),
            );
        }
    }
    Chart::new(sets)
        .x_axis(
            Axis::default()
                .bounds([x0, x1])
                .style(t.muted)
                .labels(axis_labels(x0, x1, |v| format!("{v:.0}"))),
        )
        .y_axis(
            Axis::default()
                .title("loss")
                .bounds([y0, y1])
                .style(t.muted)
                .labels(axis_labels(y0, y1, |v| format!("{v:.2}"))),
        )
        .hidden_legend_constraints((Constraint::Ratio(1, 2), Constraint::Ratio(1, 2)))
        .render(loss_area, buf);

    let lr = decimate(&mine.lr, width);
    if let Some(r) = mine.lr_range() {
        let (l0, l1) = padded(r);
        // A schedule never goes below zero: keep the axis from suggesting it does.
        let l0 = if r.0 >= 0.0 { l0.max(0.0) } else { l0 };
        Chart::new(vec![
            Dataset::default()
                .name("learning rate")
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(t.verdict_pass)
                .data(&lr),
        ])
        .x_axis(Axis::default().bounds([x0, x1]).style(t.muted))
        .y_axis(
            Axis::default()
                .title("lr")
                .bounds([l0, l1])
                .style(t.muted)
                .labels(axis_labels(l0, l1, |v| format!("{v:.1e}"))),
        )
        .hidden_legend_constraints((Constraint::Ratio(1, 2), Constraint::Ratio(1, 2)))
        .render(lr_area, buf);
    }
}

fn draw_log(run: &RunInfo, t: &Theme, area: Rect, buf: &mut Buffer) {
    if area.height == 0 {
        return;
    }
    let inner = frame("log", area, buf, t.border, t.title);
    let mut lines: Vec<(String, Style)> = Vec::new();
    if let Some(m) = &run.message {
        let style = if run.status == crate::store::RunStatus::Failed {
            t.error
        } else {
            t.message
        };
        lines.push((safe_line(m), style));
    }
    let room = (inner.height as usize).saturating_sub(lines.len());
    let skip = run.log_tail.len().saturating_sub(room);
    for l in &run.log_tail[skip..] {
        lines.push((safe_line(l), t.text));
    }
    for (i, (l, style)) in lines.iter().take(inner.height as usize).enumerate() {
        buf.set_stringn(inner.x, inner.y + i as u16, l, inner.width as usize, *style);
    }
}

/// The form; `waiving`: the prompt line asks for a waiver's reason.
fn draw_form(form: &TrainForm, waiving: bool, t: &Theme, area: Rect, buf: &mut Buffer) {
    let trainer = form.trainer();
    let mut y = area.y;
    let bottom = area.bottom();
    let width = area.width.saturating_sub(1);
    let put = |y: &mut u16, line: Line<'_>, buf: &mut Buffer| {
        if *y < bottom {
            buf.set_line(area.x + 1, *y, &line, width);
            *y += 1;
        }
    };
    put(
        &mut y,
        Line::from(Span::styled(
            format!("new training run · {trainer}"),
            t.heading,
        )),
        buf,
    );
    for i in form.visible() {
        let f = &form.fields[i];
        let focus = i == form.focus;
        let value = match &f.value {
            Value::Choice(opts, _) if opts.is_empty() => "(none)".to_string(),
            Value::Choice(opts, k) => format!("‹ {} ›", safe_line(&opts[(*k).min(opts.len() - 1)])),
            Value::Text(s) if focus => format!("{}▏", safe_line(s)),
            Value::Text(s) => safe_line(s),
        };
        put(
            &mut y,
            Line::from(vec![
                Span::styled(format!("{:>12}  ", f.name), t.muted),
                Span::styled(value, if focus { t.selection } else { t.text }),
            ]),
            buf,
        );
    }
    if let Some(f) = form.fields.get(form.focus) {
        put(
            &mut y,
            Line::from(Span::styled(f.help_for(&trainer), t.muted)),
            buf,
        );
    }
    if let Some((_, why)) = &form.error {
        put(
            &mut y,
            Line::from(Span::styled(safe_line(why), t.error)),
            buf,
        );
    }
    if let Some(missing) = &form.refused {
        let text = format!("the audit gate refused: {}", safe_line(missing));
        let offer = if waiving {
            "To start anyway, type a reason below: the run is then marked as waived (the \
             waiver is recorded with your name and stated in the run's audit notes). Esc keeps \
             the refusal."
        } else {
            "Refused. Enter asks again for a waiver, which needs a reason."
        };
        // The offer goes last but is never pushed off by a long refusal.
        let offer_lines = wrap(offer, width as usize);
        let room = (bottom.saturating_sub(y) as usize).saturating_sub(offer_lines.len() + 1);
        for l in wrap(&text, width as usize).into_iter().take(room.max(1)) {
            put(&mut y, Line::from(Span::styled(l, t.error)), buf);
        }
        for l in offer_lines {
            put(&mut y, Line::from(Span::styled(l, t.flagged)), buf);
        }
    }
    put(
        &mut y,
        Line::from(Span::styled(
            "tab/↓ next field · ←/→ choose · enter start · esc cancel",
            t.muted,
        )),
        buf,
    );
}
