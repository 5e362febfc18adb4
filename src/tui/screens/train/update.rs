//! The train screen's reducer: the runs list, stop (asked first), the overlaid comparison run,
//! the new-run form (opening on the last values; a waiver when the audit gate refuses), and the
//! periodic poll that keeps a live run's chart moving.

use super::{LastValues, TrainForm, TrainPanel};
use crate::tui::action::Action;
use crate::tui::app::{Cmd, Context, Prompt, Screen};
use crate::tui::train_worker::{TrainReply, TrainRequest};
use crate::tui::worker::Request;
use crossterm::event::{KeyCode, KeyEvent};

/// Ticks between polls while no run is active: a run started elsewhere (`assay train`) still
/// shows up, without reading the runs twice a second for nothing. While one is active every
/// tick polls, so a new point is on the chart within one tick ([`crate::tui::TICK`]).
pub const IDLE_POLL_TICKS: u32 = 6;

impl TrainPanel {
    /// Opens the screen: the runs, and the form's last values (kept for the form).
    pub fn open(&mut self, ctx: &Context) -> Vec<Cmd> {
        let mut cmds = vec![
            Cmd::Goto(Screen::Train),
            Cmd::Db(Request::Train(TrainRequest::LastValues {
                path: ctx.train_form_file.clone(),
            })),
        ];
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

    /// Periodic: while the screen is open, a live run's new points come in every tick; with
    /// no active run the list is read every [`IDLE_POLL_TICKS`] ticks.
    pub fn tick(&mut self, screen: Screen) -> Vec<Cmd> {
        if screen != Screen::Train || self.form.is_some() {
            return Vec::new();
        }
        self.idle_ticks += 1;
        let live = self.runs.iter().any(|r| r.status.is_active());
        if !live && self.idle_ticks < IDLE_POLL_TICKS {
            return Vec::new();
        }
        self.idle_ticks = 0;
        self.poll()
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
                let current = ctx.dataset.unwrap_or(0);
                self.form = Some(TrainForm::new(names, current, base, self.last.as_ref()));
                Vec::new()
            }
            Action::StopRun => {
                let Some(r) = self.selected() else {
                    return vec![Cmd::Say("no run selected".into())];
                };
                if !r.status.is_active() {
                    return vec![Cmd::Say(format!("run #{} has already ended", r.id))];
                }
                let p = crate::train::curves::progress(self.points_of(r.id));
                let step = match p.total_steps {
                    Some(total) => format!("step {}/{total}", p.step),
                    None => format!("step {}", p.step),
                };
                let on =
                    crate::tui::text::fit(r.dataset.as_deref().unwrap_or("a deleted dataset"), 20);
                vec![Cmd::Ask(Prompt::StopRun {
                    run_id: r.id,
                    run: format!("#{} ({} on {on}, {step})", r.id, r.trainer),
                })]
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
            Action::Confirm => return self.start(ctx, None),
            Action::Cancel | Action::Back => self.form = None,
            _ => {}
        }
        Vec::new()
    }

    /// Starts a run from the form: without a waiver (`force: None`) the audit gate may refuse,
    /// and the form then offers one; with it, the run is recorded as started on a waiver.
    pub fn start(&mut self, ctx: &Context, force: Option<String>) -> Vec<Cmd> {
        if self.starting.is_some() {
            return vec![Cmd::Say("a run is being started…".into())];
        }
        let Some(form) = &mut self.form else {
            return Vec::new();
        };
        let (dataset, spec) = match form.validate() {
            Err(e) => {
                form.error = Some(e);
                return Vec::new();
            }
            Ok(ok) => ok,
        };
        form.error = None;
        let values = LastValues::of(form);
        self.starting = Some(values.clone());
        let said = match &force {
            Some(_) => format!("starting a run on {dataset}, the audit waived…"),
            None => format!("starting a run on {dataset}…"),
        };
        vec![
            Cmd::Db(Request::Train(TrainRequest::Start {
                dataset,
                spec: Box::new(spec),
                exe: self.exe.clone(),
                reviewer: ctx.reviewer.clone(),
                force,
                remember: Some((ctx.train_form_file.clone(), values)),
            })),
            Cmd::Say(said),
        ]
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
            TrainReply::Started { run_id, waived } => {
                self.form = None;
                self.select = Some(run_id);
                self.last = self.starting.take().or(self.last.take());
                let how = if waived { ", audit waived" } else { "" };
                let mut cmds = vec![Cmd::Say(format!(
                    "run #{run_id} started{how}; it goes on if you quit (assay runs show {run_id})"
                ))];
                cmds.extend(self.poll());
                cmds
            }
            TrainReply::AuditRefused { missing } => {
                self.starting = None;
                let Some(form) = &mut self.form else {
                    return Vec::new();
                };
                form.error = None;
                form.refused = Some(missing.join("; "));
                // Refused stays the answer unless a reason is typed and confirmed.
                vec![Cmd::Ask(Prompt::Waiver {
                    input: String::new(),
                })]
            }
            TrainReply::StartFailed(why) => {
                self.starting = None;
                if let Some(form) = &mut self.form {
                    form.error = Some((0, why.clone()));
                }
                vec![Cmd::Fail(why)]
            }
            TrainReply::LastValues(last) => {
                // A form opened before the file was read takes its values, unless already used.
                if let (Some(l), Some(form)) = (&last, &mut self.form)
                    && !form.touched
                {
                    form.apply(l);
                }
                if last.is_some() {
                    self.last = last;
                }
                Vec::new()
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
