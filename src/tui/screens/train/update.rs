//! The train screen's reducer: the runs list, stop, the overlaid comparison run, the new-run
//! form, and the periodic poll that keeps a live run's chart moving.

use super::{TrainForm, TrainPanel};
use crate::tui::action::Action;
use crate::tui::app::{Cmd, Context, Screen};
use crate::tui::train_worker::{TrainReply, TrainRequest};
use crate::tui::worker::Request;
use crossterm::event::{KeyCode, KeyEvent};

impl TrainPanel {
    pub fn open(&mut self) -> Vec<Cmd> {
        let mut cmds = vec![Cmd::Goto(Screen::Train)];
        cmds.extend(self.poll());
        cmds
    }

    /// Asks for the runs (then, on the answer, the new points of the runs on screen).
    fn poll(&mut self) -> Vec<Cmd> {
        if self.polling {
            return Vec::new();
        }
        self.polling = true;
        vec![Cmd::Db(Request::Train(TrainRequest::Runs))]
    }

    fn ask_points(&self) -> Vec<Cmd> {
        let shown = self.selected().map(|r| r.id).into_iter();
        let ids: Vec<i64> = shown.chain(self.compare).collect();
        ids.into_iter()
            .map(|run_id| {
                let after_seq = self.points.get(&run_id).map_or(0, |p| p.seq);
                Cmd::Db(Request::Train(TrainRequest::Points { run_id, after_seq }))
            })
            .collect()
    }

    /// Periodic: while the screen is open, a live run's new points come in.
    pub fn tick(&mut self, screen: Screen) -> Vec<Cmd> {
        if screen == Screen::Train && self.form.is_none() {
            return self.poll();
        }
        Vec::new()
    }

    pub fn update(&mut self, a: Action, ctx: &Context) -> Vec<Cmd> {
        if self.form.is_some() {
            return self.form_action(a, ctx);
        }
        let n = self.runs.len();
        match a {
            Action::Next => {
                self.cursor = (self.cursor + 1).min(n.saturating_sub(1));
                self.ask_points()
            }
            Action::Prev => {
                self.cursor = self.cursor.saturating_sub(1);
                self.ask_points()
            }
            Action::NewRun => {
                let names: Vec<String> = ctx.datasets.iter().map(|d| d.name.clone()).collect();
                let base = crate::llm::local::LocalModel::default_path()
                    .display()
                    .to_string();
                self.form = Some(TrainForm::new(names, ctx.dataset.unwrap_or(0), base));
                Vec::new()
            }
            Action::StopRun => {
                let Some(r) = self.selected() else {
                    return vec![Cmd::Say("no run selected".into())];
                };
                let (id, active) = (r.id, r.status.is_active());
                if active {
                    vec![Cmd::Db(Request::Train(TrainRequest::Stop { run_id: id }))]
                } else {
                    vec![Cmd::Say(format!("run #{id} has already ended"))]
                }
            }
            Action::CompareRun => {
                let sel = self.selected().map(|r| r.id);
                self.compare = match (self.compare, sel) {
                    (Some(c), Some(s)) if c == s => None,
                    (Some(_), _) => None,
                    (None, s) => s,
                };
                let said = match self.compare {
                    Some(id) => format!(
                        "run #{id} pinned: select another run to see both curves (c clears)"
                    ),
                    None => "comparison cleared".to_string(),
                };
                let mut cmds = vec![Cmd::Say(said)];
                cmds.extend(self.ask_points());
                cmds
            }
            Action::Back => vec![Cmd::Goto(Screen::List)],
            _ => Vec::new(),
        }
    }

    fn form_action(&mut self, a: Action, ctx: &Context) -> Vec<Cmd> {
        let Some(form) = &mut self.form else {
            return Vec::new();
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
                    let exe = self.exe.clone();
                    return vec![
                        Cmd::Db(Request::Train(TrainRequest::Start {
                            dataset: dataset.clone(),
                            spec: Box::new(spec),
                            exe,
                            reviewer: ctx.reviewer.clone(),
                        })),
                        Cmd::Say(format!("starting a run on {dataset}…")),
                    ];
                }
            },
            Action::Cancel | Action::Back => self.form = None,
            _ => {}
        }
        Vec::new()
    }

    /// Typing into the focused text field of the form.
    pub fn form_input(&mut self, ev: KeyEvent) {
        if let Some(form) = &mut self.form {
            match ev.code {
                KeyCode::Char(c) => form.type_char(c),
                KeyCode::Backspace => form.backspace(),
                _ => return,
            }
            form.error = None;
        }
    }

    /// The worker's answer to one of this screen's requests.
    pub fn on_reply(&mut self, reply: TrainReply) -> Vec<Cmd> {
        match reply {
            TrainReply::Runs(runs) => {
                self.polling = false;
                let keep = self.select.take().or(self.selected().map(|r| r.id));
                self.runs = runs;
                self.cursor = keep
                    .and_then(|id| self.runs.iter().position(|r| r.id == id))
                    .unwrap_or(0)
                    .min(self.runs.len().saturating_sub(1));
                if let Some(c) = self.compare
                    && self.run(c).is_none()
                {
                    self.compare = None;
                }
                self.ask_points()
            }
            TrainReply::Points { run_id, points } => {
                let loaded = self.points.entry(run_id).or_default();
                for (seq, p) in points {
                    loaded.seq = seq;
                    loaded.points.push(p);
                }
                Vec::new()
            }
            TrainReply::Started(id) => {
                self.form = None;
                self.select = Some(id);
                let mut cmds = vec![Cmd::Say(format!(
                    "run #{id} started; it goes on if you quit (assay runs show {id})"
                ))];
                cmds.extend(self.poll());
                cmds
            }
            TrainReply::StartFailed(why) => {
                if let Some(form) = &mut self.form {
                    form.error = Some((0, why.clone()));
                }
                vec![Cmd::Fail(why)]
            }
            TrainReply::StopAsked { run_id, active } => {
                let said = if active {
                    format!(
                        "stop asked for run #{run_id}: SIGINT now, SIGTERM after the grace period"
                    )
                } else {
                    format!("run #{run_id} had already ended")
                };
                let mut cmds = vec![Cmd::Say(said)];
                cmds.extend(self.poll());
                cmds
            }
        }
    }
}
