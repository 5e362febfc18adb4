//! The help overlay, generated from the live keymap so that rebinding shows here: grouped by
//! purpose (decide, move, edit, search, audit, train, screens), one line per action with all
//! its keys, descriptions wrapped (never cut) to the column, two columns when one is too long.

use crate::tui::action::{Action, Group};
use crate::tui::app::App;
use crate::tui::keymap::Mode;
use crate::tui::text::wrap;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Widget};

/// Columns for the keys of one action ("j, down", "ctrl-c, q").
const KEYS_W: usize = 9;

pub fn draw(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let mode = app.screen_mode();
    // Inside the screen's own frame, so that no border runs into another.
    let w = area.width.saturating_sub(4).min(100);
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
    let rows = inner.height as usize;
    let one = blocks(app, mode, inner.width as usize);
    let two = one.iter().map(Vec::len).sum::<usize>() > rows && inner.width >= 60;
    let (blocks, col_w) = if two {
        let col_w = inner.width / 2;
        (blocks(app, mode, col_w.saturating_sub(1) as usize), col_w)
    } else {
        (one, inner.width)
    };
    // An entry is never split across columns; what does not fit waits below a "more" line.
    let first = app.help_scroll.min(blocks.len().saturating_sub(1));
    let columns = if two { 2 } else { 1 };
    let (mut col, mut row) = (0usize, 0usize);
    for (i, block) in blocks.iter().enumerate().skip(first) {
        let last_col = col + 1 == columns;
        // Room for a "more" line in the last column unless this is the last entry.
        let reserve = usize::from(last_col && i + 1 < blocks.len());
        if row + block.len() + reserve > rows && row > 0 {
            if last_col {
                let key = |a: Action| app.keymap.key_for(Mode::Help, a).unwrap_or_default();
                let more = Line::from(Span::styled(
                    format!(
                        "… {} more: {}/{} scroll",
                        blocks.len() - i,
                        key(Action::Next),
                        key(Action::Prev)
                    ),
                    t.muted,
                ));
                let y = inner.y + rows.saturating_sub(1) as u16;
                buf.set_line(
                    inner.x + col as u16 * col_w,
                    y,
                    &more,
                    col_w.saturating_sub(1),
                );
                return;
            }
            col += 1;
            row = 0;
        }
        for l in block {
            if row >= rows {
                break;
            }
            buf.set_line(
                inner.x + col as u16 * col_w,
                inner.y + row as u16,
                l,
                col_w.saturating_sub(1),
            );
            row += 1;
        }
    }
}

/// The help's entries for `mode` at `width` columns: each action's keys and its description
/// wrapped below itself, the first of each group under the group's heading.
fn blocks(app: &App, mode: Mode, width: usize) -> Vec<Vec<Line<'static>>> {
    let t = &app.theme;
    let bindings = app.keymap.bindings(mode);
    let desc_w = width.saturating_sub(KEYS_W + 2).max(10);
    let mut out = Vec::new();
    for group in Group::ALL {
        let actions: Vec<(Action, Vec<&str>)> = Action::ALL
            .iter()
            .filter(|a| a.group() == group && **a != Action::NoOp)
            .filter_map(|a| {
                let keys: Vec<&str> = bindings
                    .iter()
                    .filter(|(_, b)| b == a)
                    .map(|(k, _)| k.as_str())
                    .collect();
                (!keys.is_empty()).then_some((*a, keys))
            })
            .collect();
        if actions.is_empty() {
            continue;
        }
        // The heading travels with its first action, so it never ends a column.
        let mut block = vec![Line::from(Span::styled(
            group.title().to_string(),
            t.heading,
        ))];
        for (a, keys) in actions {
            let keys = crate::tui::text::fit(&keys.join(", "), KEYS_W);
            for (i, part) in wrap(a.describe(), desc_w).into_iter().enumerate() {
                let k = if i == 0 { keys.as_str() } else { "" };
                block.push(Line::from(vec![
                    Span::styled(format!("{k:>KEYS_W$}  "), key_style(t)),
                    Span::styled(part, t.text),
                ]));
            }
            out.push(std::mem::take(&mut block));
        }
    }
    if mode == Mode::Search {
        let mut block = vec![Line::from(Span::styled("query".to_string(), t.heading))];
        for part in wrap(
            "status:unreviewed kind:cot verdict:fail,mixed tag:T aspect:A dataset:D dup:yes view:NAME, \
             then any text (fuzzy)",
            width.saturating_sub(2),
        ) {
            block.push(Line::from(Span::styled(format!("  {part}"), t.muted)));
        }
        out.push(block);
    }
    out
}

fn key_style(t: &crate::tui::theme::Theme) -> Style {
    t.status_key.patch(t.heading)
}
