//! The reducer's handling of the train screen: the runs list, stop, the overlaid comparison
//! run, the new-run form, and the periodic poll that keeps a live run's chart moving.

use super::{App, Screen};
use crate::tui::action::Action;
use crate::tui::train::TrainForm;
use crate::tui::train_worker::{TrainReply, TrainRequest};
use crate::tui::worker::Request;
use crossterm::event::{KeyCode, KeyEvent};

impl App {
    pub(super) fn open_train(&mut self) {
        self.screen = Screen::Train;
        self.train_poll();
    }

    /// Asks for the runs (then, on the answer, the new points of the runs on screen).
    fn train_poll(&mut self) {
        if self.train.polling {
            return;
        }
        self.train.polling = true;
        self.db(Request::Train(TrainRequest::Runs));
    }

    fn train_points(&mut self) {
        let shown = self.train.selected().map(|r| r.id).into_iter();
        let ids: Vec<i64> = shown.chain(self.train.compare).collect();
        for run_id in ids {
            let after_seq = self.train.points.get(&run_id).map_or(0, |p| p.seq);
            self.db(Request::Train(TrainRequest::Points { run_id, after_seq }));
        }
    }

    /// Periodic: while the screen is open, a live run's new points come in.
    pub(super) fn train_tick(&mut self) {
        if self.screen == Screen::Train && self.train.form.is_none() {
            self.train_poll();
        }
    }

    pub(super) fn train_action(&mut self, a: Action) {
        if self.train.form.is_some() {
            return self.train_form_action(a);
        }
        let n = self.train.runs.len();
        match a {
            Action::Next => {
                self.train.cursor = (self.train.cursor + 1).min(n.saturating_sub(1));
                self.train_points();
            }
            Action::Prev => {
                self.train.cursor = self.train.cursor.saturating_sub(1);
                self.train_points();
            }
            Action::NewRun => {
                let names: Vec<String> = self.datasets.iter().map(|d| d.name.clone()).collect();
                let base = crate::llm::local::LocalModel::default_path()
                    .display()
                    .to_string();
                self.train.form = Some(TrainForm::new(names, self.dataset.unwrap_or(0), base));
            }
            Action::StopRun => {
                let Some(r) = self.train.selected() else {
                    return self.say("no run selected");
                };
                let (id, active) = (r.id, r.status.is_active());
                if active {
                    self.db(Request::Train(TrainRequest::Stop { run_id: id }));
                } else {
                    self.say(format!("run #{id} has already ended"));
                }
            }
            Action::CompareRun => {
                let sel = self.train.selected().map(|r| r.id);
                self.train.compare = match (self.train.compare, sel) {
                    (Some(c), Some(s)) if c == s => None,
                    (Some(_), _) => None,
                    (None, s) => s,
                };
                match self.train.compare {
                    Some(id) => self.say(format!(
                        "run #{id} pinned: select another run to see both curves (c clears)"
                    )),
                    None => self.say("comparison cleared"),
                }
                self.train_points();
            }
            Action::Back => self.screen = Screen::List,
            _ => {}
        }
    }

    fn train_form_action(&mut self, a: Action) {
        let Some(form) = &mut self.train.form else {
            return;
        };
        match a {
            Action::NextField => form.focus_by(1),
            Action::PrevField => form.focus_by(-1),
            Action::NextOption => form.cycle(1),
            Action::PrevOption => form.cycle(-1),
            Action::Confirm => match form.validate() {
                Err(e) => form.error = Some(e),
                Ok((dataset, spec)) => {
                    form.error = None;
                    let exe = self.train.exe.clone();
                    self.db(Request::Train(TrainRequest::Start {
                        dataset: dataset.clone(),
                        spec: Box::new(spec),
                        exe,
                        reviewer: self.reviewer.clone(),
                    }));
                    self.say(format!("starting a run on {dataset}…"));
                }
            },
            Action::Cancel | Action::Back => self.train.form = None,
            _ => {}
        }
    }

    /// Typing into the focused text field of the form.
    pub(super) fn train_form_input(&mut self, ev: KeyEvent) {
        if let Some(form) = &mut self.train.form {
            match ev.code {
                KeyCode::Char(c) => form.type_char(c),
                KeyCode::Backspace => form.backspace(),
                _ => return,
            }
            form.error = None;
        }
    }

    pub(super) fn on_train_reply(&mut self, reply: TrainReply) {
        match reply {
            TrainReply::Runs(runs) => {
                self.train.polling = false;
                let keep = self
                    .train
                    .select
                    .take()
                    .or(self.train.selected().map(|r| r.id));
                self.train.runs = runs;
                self.train.cursor = keep
                    .and_then(|id| self.train.runs.iter().position(|r| r.id == id))
                    .unwrap_or(0)
                    .min(self.train.runs.len().saturating_sub(1));
                if let Some(c) = self.train.compare
                    && self.train.run(c).is_none()
                {
                    self.train.compare = None;
                }
                self.train_points();
            }
            TrainReply::Points { run_id, points } => {
                let loaded = self.train.points.entry(run_id).or_default();
                for (seq, p) in points {
                    loaded.seq = seq;
                    loaded.points.push(p);
                }
            }
            TrainReply::Started(id) => {
                self.train.form = None;
                self.train.select = Some(id);
                self.say(format!(
                    "run #{id} started; it goes on if you quit (assay runs show {id})"
                ));
                self.train_poll();
            }
            TrainReply::StartFailed(why) => {
                if let Some(form) = &mut self.train.form {
                    form.error = Some((0, why.clone()));
                }
                self.fail(why);
            }
            TrainReply::StopAsked { run_id, active } => {
                if active {
                    self.say(format!(
                        "stop asked for run #{run_id}: SIGINT now, SIGTERM after the grace period"
                    ));
                } else {
                    self.say(format!("run #{run_id} had already ended"));
                }
                self.train_poll();
            }
        }
    }
}
