//! Rendering: a pure function of `&App` into a frame. The frame is laid out here (the screen's
//! view from `tui::screens`, the prompt line, the status bar, the message, the help overlay);
//! `common` holds the pieces the views share. Every string that came from a dataset or a model
//! goes through `text::sanitize` first, and a last pass over the finished buffer replaces any
//! unsafe cell that slipped through (the editor's text area draws raw text).

pub mod common;
mod status;

use super::app::{App, Prompt, Screen};
use super::screens::{audit, editor, help, list, review, search, stats, train};
use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout};

pub use common::{safe, safe_line};

/// Below this size (columns, rows) only a request to enlarge the terminal is shown.
pub const MIN_SIZE: (u16, u16) = (24, 6);

/// Draws the whole screen.
pub fn draw(app: &App, frame: &mut Frame<'_>) {
    let full = frame.area();
    if full.width < MIN_SIZE.0 || full.height < MIN_SIZE.1 {
        let buf = frame.buffer_mut();
        let text = format!("enlarge to {}x{}", MIN_SIZE.0, MIN_SIZE.1);
        buf.set_stringn(full.x, full.y, text, full.width as usize, app.theme.error);
        return;
    }
    let [main, prompt, bar] = Layout::vertical([
        Constraint::Min(1),
        Constraint::Length(u16::from(app.prompt.is_some())),
        Constraint::Length(1),
    ])
    .areas(full);
    let buf = frame.buffer_mut();
    match app.screen {
        Screen::List => list::view::draw(app, main, buf),
        Screen::Review => review::view::draw(app, main, buf),
        Screen::Editor => editor::view::draw(app, main, buf),
        Screen::Search => search::view::draw(app, main, buf),
        Screen::Audit => audit::view::draw(app, main, buf),
        Screen::Stats => stats::view::draw(app, main, buf),
        Screen::Train => train::view::draw(app, main, buf),
    }
    if let Some(p) = &app.prompt {
        let width = prompt.width as usize;
        let text = match p {
            Prompt::RejectReason { sample_id, input } => typed(
                &format!("reject #{sample_id}, reason or tag (enter: reject, esc: cancel): "),
                input,
                width,
            ),
            Prompt::Discard => "discard your changes? (enter: discard, esc: keep editing)".into(),
            Prompt::Rule(plan) => super::app::rules::question(plan),
            Prompt::Waiver { input } => {
                typed("waiver reason (enter: start · esc: no): ", input, width)
            }
            Prompt::StopRun { run, .. } => format!(
                "stop run {}? y/enter: stop · esc: keep it running",
                safe_line(run)
            ),
        };
        buf.set_stringn(prompt.x, prompt.y, text, width, app.theme.message);
    }
    status::draw(app, bar, buf);
    if let Some(m) = &app.message {
        // On the main frame's bottom border, right-aligned, so it never crowds the status bar.
        let style = if m.error {
            app.theme.error
        } else {
            app.theme.message
        };
        let text = super::text::fit(
            &format!(" {} ", safe_line(&m.text)),
            main.width.saturating_sub(4) as usize,
        );
        let w = unicode_width::UnicodeWidthStr::width(text.as_str()) as u16;
        if main.height > 0 {
            buf.set_string(
                main.right().saturating_sub(w + 2),
                main.bottom() - 1,
                text,
                style,
            );
        }
    }
    if app.help {
        help::view::draw(app, full, buf);
    }
    scrub(buf);
}

/// A question and the answer being typed, with the cursor: when the answer outgrows the line,
/// its end is shown (where the typing is), cut at the front with `…`.
fn typed(question: &str, input: &str, width: usize) -> String {
    use unicode_segmentation::UnicodeSegmentation;
    use unicode_width::UnicodeWidthStr;
    let input = safe_line(input);
    let room = width.saturating_sub(question.width() + 1);
    if input.width() <= room {
        return format!("{question}{input}▏");
    }
    let mut tail = Vec::new();
    let mut w = 1; // the `…`
    for g in input.graphemes(true).rev() {
        if w + g.width() > room {
            break;
        }
        w += g.width();
        tail.push(g);
    }
    tail.reverse();
    format!("{question}…{}▏", tail.concat())
}

/// Replaces any cell whose symbol could drive the terminal with a visible `�`.
pub fn scrub(buf: &mut Buffer) {
    for cell in buf.content.iter_mut() {
        if !crate::text::sanitize::is_safe(cell.symbol()) || cell.symbol().contains('\n') {
            cell.set_symbol("�");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::typed;
    use unicode_width::UnicodeWidthStr;

    #[test]
    fn a_long_answer_shows_its_end_within_the_line() {
        let q = "reason (enter: start): ";
        assert_eq!(typed(q, "短い", 40), format!("{q}短い▏"));
        let long = "因为这批数据已经人工抽查过".repeat(3);
        let line = typed(q, &long, 40);
        assert!(line.width() <= 40, "{line}");
        assert!(line.starts_with(&format!("{q}…")), "{line}");
        assert!(line.ends_with("抽查过▏"), "{line}");
        // Control characters are shown as escapes, never passed on.
        assert!(!typed(q, "a\u{1b}[2Jb", 40).contains('\u{1b}'));
    }
}
