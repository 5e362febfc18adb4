//! The reducer's entry: `App::update` takes every message, resolves keys through the keymap and
//! hands each action to the screen that owns it. A new screen adds one arm to `on_action`.

use super::{App, Mode, Msg, Prompt, Screen};
use crate::tui::action::Action;
use crate::tui::keymap::Key;
use crossterm::event::KeyEvent;

impl App {
    /// The one place state changes.
    pub fn update(&mut self, msg: Msg) {
        self.dirty = true;
        if self.deciding && queue_while_deciding(&msg) {
            self.queued.push_back(msg);
            return;
        }
        match msg {
            Msg::Key(ev) => self.on_key(ev),
            Msg::Action(a) => self.on_action(a),
            Msg::Resize(w, h) => {
                self.size = (w, h);
                let h = self.list_height();
                self.list.scroll_into_view(h);
            }
            Msg::Reply(r) => {
                self.jobs = self.jobs.saturating_sub(1);
                self.on_reply(r);
            }
            Msg::Regenerated { sample_id, result } => self.on_regenerated(sample_id, result),
            Msg::SearchTick => self.search.tick(0),
            Msg::Tick => {
                self.autosave();
                self.train_tick();
            }
        }
        self.prefetch();
        // Replay what waited for a decision, in order, once it is committed.
        while !self.deciding {
            let Some(m) = self.queued.pop_front() else {
                break;
            };
            self.update(m);
        }
    }

    fn on_key(&mut self, ev: KeyEvent) {
        let mode = self.mode();
        let action = Key::from_event(&ev).and_then(|k| self.keymap.action(mode, &k));
        match (action, mode) {
            (Some(a), _) => self.on_action(a),
            (None, Mode::Editor) => {
                if let Some(e) = &mut self.editor
                    && e.area.input(ev)
                {
                    e.modified = true;
                    e.draft_dirty = true;
                }
            }
            (None, Mode::Search) => self.search_input(ev),
            (None, Mode::TrainForm) => self.train_form_input(ev),
            (None, Mode::Prompt) => {
                if let Some(Prompt::RejectReason { input, .. }) = &mut self.prompt {
                    edit_line(input, ev);
                }
            }
            _ => {}
        }
    }

    fn on_action(&mut self, a: Action) {
        if self.prompt.is_some() {
            return self.prompt_action(a);
        }
        if self.help {
            if matches!(a, Action::Back | Action::Help | Action::Quit) {
                self.help = false;
            }
            return;
        }
        match a {
            Action::NoOp => {}
            Action::Quit => self.quit = true,
            Action::Help => self.help = true,
            Action::Search => self.open_search(),
            Action::ListScreen => self.screen = Screen::List,
            Action::AuditScreen => self.open_audit(),
            Action::StatsScreen => self.open_stats(),
            Action::TrainScreen => self.open_train(),
            Action::NextDataset => self.next_dataset(),
            _ => match self.screen {
                Screen::Editor => self.editor_action(a),
                Screen::Search => self.search_action(a),
                Screen::Audit => self.audit_action(a),
                Screen::Stats => {
                    if a == Action::Back {
                        self.screen = Screen::List;
                    }
                }
                Screen::Train => self.train_action(a),
                Screen::List | Screen::Review => self.review_action(a),
            },
        }
    }
}

/// Messages that must wait while a decision commits, so that they act on the sample the
/// reviewer sees after it (`aaa` accepts three samples, not one three times).
fn queue_while_deciding(msg: &Msg) -> bool {
    matches!(msg, Msg::Key(_) | Msg::Action(_))
}

/// Edits a one-line input with a key: characters, backspace.
pub(super) fn edit_line(input: &mut String, ev: KeyEvent) {
    use crossterm::event::KeyCode;
    match ev.code {
        KeyCode::Char(c) => input.push(c),
        KeyCode::Backspace => {
            input.pop();
        }
        _ => {}
    }
}
