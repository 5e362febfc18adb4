//! The reducer's entry: `App::update` takes every message, resolves keys through the keymap and
//! routes each action to the screen that owns it, then applies the `Cmd`s it answers with. A
//! new screen adds one arm to `on_action` (and to `on_key` if it takes typed text).

use super::prompt::edit_line;
use super::{App, Cmd, Mode, Msg, Prompt, Screen};
use crate::tui::action::Action;
use crate::tui::keymap::Key;
use crate::tui::screens::help;
use crossterm::event::KeyEvent;

impl App {
    /// The one place state changes.
    pub fn update(&mut self, msg: Msg) {
        self.dirty = true;
        if self.waiting.is_some() && is_cancel(&msg) {
            // Esc while a commit waits for the database gives it up (it answers Failed).
            self.outbox.push(super::Effect::CancelWaiting);
            return;
        }
        if self.blocked() && waits_its_turn(&msg) {
            self.queued.push_back(msg);
            return;
        }
        match msg {
            Msg::Key(ev) => {
                let said = self.message.as_ref().map(|m| m.serial);
                self.on_key(ev);
                self.age_message(said);
            }
            Msg::Action(a) => self.on_action(a),
            Msg::Resize(w, h) => {
                self.ctx.size = (w, h);
                let h = self.list_height();
                self.list.scroll_into_view(h);
            }
            Msg::Reply(r) => {
                // Every request answers exactly once; `Waiting` is news, not the answer.
                if !matches!(r, crate::tui::worker::Reply::Waiting { .. }) {
                    self.jobs = self.jobs.saturating_sub(1);
                }
                self.on_reply(r);
            }
            Msg::Regenerated { sample_id, result } => {
                self.jobs = self.jobs.saturating_sub(1);
                let cmds = self.review.on_regenerated(sample_id, result);
                self.apply(cmds);
            }
            Msg::SearchTick => self.search.tick(0),
            Msg::Tick => {
                if self
                    .message
                    .as_ref()
                    .is_some_and(|m| m.at.elapsed() > m.lifetime())
                {
                    self.message = None;
                }
                if let Some(e) = &mut self.editor {
                    let cmds = e.autosave();
                    self.apply(cmds);
                }
                let cmds = self.train.tick(self.screen);
                self.apply(cmds);
            }
        }
        self.prefetch();
        // Replay what waited, in order, once the state it acts on is there.
        while !self.blocked() {
            let Some(m) = self.queued.pop_front() else {
                break;
            };
            self.update(m);
        }
    }

    /// After a key: the message shown before it (said at `said`) counts the key, and goes when
    /// its keys are used up; a message the key itself said stays.
    fn age_message(&mut self, said: Option<u64>) {
        let Some(m) = &mut self.message else {
            return;
        };
        if Some(m.serial) != said {
            return;
        }
        m.keys_left = m.keys_left.saturating_sub(1);
        if m.keys_left == 0 {
            self.message = None;
        }
    }

    fn on_key(&mut self, ev: KeyEvent) {
        let mode = self.mode();
        let action = Key::from_event(&ev).and_then(|k| self.keymap.action(mode, &k));
        match (action, mode) {
            (Some(a), _) => self.on_action(a),
            (None, Mode::Editor) => {
                if let Some(e) = &mut self.editor {
                    e.input(ev);
                }
            }
            (None, Mode::Search) => self.search.input(ev, &mut self.ctx),
            (None, Mode::TrainForm) => self.train.form_input(ev),
            (None, Mode::Prompt) => {
                if let Some(Prompt::RejectReason { input, .. } | Prompt::Waiver { input }) =
                    &mut self.prompt
                {
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
            self.help_scroll = help::scrolled(self.help_scroll, a);
            self.help = help::stays_open(a);
            return;
        }
        let cmds = match a {
            Action::NoOp => Vec::new(),
            Action::Quit => {
                self.quit = true;
                Vec::new()
            }
            Action::Help => {
                self.help = true;
                self.help_scroll = 0;
                Vec::new()
            }
            Action::Search => self.search.open(&mut self.ctx),
            Action::ListScreen => vec![Cmd::Goto(Screen::List)],
            Action::AuditScreen => self.audit.open(&self.ctx),
            Action::StatsScreen => self.stats.open(&self.ctx),
            Action::TrainScreen => self.train.open(&self.ctx),
            Action::NextDataset => {
                self.next_dataset();
                Vec::new()
            }
            Action::CycleSort if self.screen == Screen::List => {
                self.cycle_sort();
                Vec::new()
            }
            Action::BulkAccept | Action::BulkReject if self.screen == Screen::List => {
                self.plan_rule(if a == Action::BulkAccept {
                    crate::model::Decision::Accept
                } else {
                    crate::model::Decision::Reject
                });
                Vec::new()
            }
            _ => match self.screen {
                Screen::Editor => match &mut self.editor {
                    Some(e) => e.update(a, &self.ctx),
                    None => vec![Cmd::Goto(Screen::Review)],
                },
                Screen::Search => self.search.update(a),
                Screen::Audit => self.audit.update(a, &self.ctx),
                Screen::Stats => self.stats.update(a),
                Screen::Train => self.train.update(a, &self.ctx),
                Screen::List | Screen::Review => return self.sample_action(a),
            },
        };
        self.apply(cmds);
    }

    /// The list and review screens share their keys: the list moves the cursor, the review
    /// screen acts on the sample under it, and shows the sample the cursor ends on.
    fn sample_action(&mut self, a: Action) {
        let in_review = self.screen == Screen::Review;
        let cmds = self.list.update(a, &self.ctx);
        self.apply(cmds);
        let cmds = self.review.update(a, &self.list, &mut self.ctx);
        self.apply(cmds);
        if in_review || self.screen == Screen::Review {
            self.load_detail();
        }
    }
}

/// Messages that wait while the app is blocked, so that they act on the sample the reviewer
/// sees after what came before (`aaa` accepts three samples, not one three times; `g j f` flags
/// the second sample).
fn waits_its_turn(msg: &Msg) -> bool {
    matches!(msg, Msg::Key(_) | Msg::Action(_))
}

fn is_cancel(msg: &Msg) -> bool {
    match msg {
        Msg::Key(k) => k.code == crossterm::event::KeyCode::Esc,
        Msg::Action(a) => matches!(a, Action::Back | Action::Cancel),
        _ => false,
    }
}
