//! The audit screen's reducer: drawing the dataset's audit (or a top-up for samples added
//! since) from inside the TUI, and walking the reviewer through the drawn samples in order —
//! a decision on one opens the next unreviewed draw, with k of n, defects and the bound live.

use super::AuditScreen;
use crate::audit::{AuditStatus, DrawOutcome};
use crate::model::ReviewStatus;
use crate::store::{Filter, SampleRow};
use crate::tui::action::Action;
use crate::tui::app::{Cmd, Context, Screen};
use crate::tui::worker::Request;

/// The seed of draws made in the TUI (`assay audit draw`'s default), so a draw is reproducible.
pub const TUI_DRAW_SEED: u64 = 0;

impl AuditScreen {
    pub fn open(&self, ctx: &Context) -> Vec<Cmd> {
        let mut cmds = vec![Cmd::Goto(Screen::Audit)];
        if let Some(id) = ctx.dataset_id() {
            cmds.push(Cmd::Db(Request::Audit { dataset_id: id }));
        }
        cmds
    }

    pub fn update(&mut self, a: Action, ctx: &Context) -> Vec<Cmd> {
        let n = self.loaded.as_ref().map_or(0, |(_, rows)| rows.len());
        match a {
            Action::Next => self.cursor = (self.cursor + 1).min(n.saturating_sub(1)),
            Action::Prev => self.cursor = self.cursor.saturating_sub(1),
            Action::NextUnreviewed => match self.next_drawn_unreviewed(self.cursor + 1) {
                Some(i) => self.cursor = i,
                None => return vec![Cmd::Say("every drawn sample is reviewed".into())],
            },
            Action::DrawAudit => {
                return match ctx.dataset_id() {
                    Some(id) => vec![
                        Cmd::Say("drawing the audit…".into()),
                        Cmd::Db(Request::DrawAudit {
                            dataset_id: id,
                            seed: TUI_DRAW_SEED,
                        }),
                    ],
                    None => vec![Cmd::Fail("no dataset to audit".into())],
                };
            }
            Action::Open => {
                let Some(id) = self
                    .loaded
                    .as_ref()
                    .and_then(|(_, rows)| rows.get(self.cursor))
                    .map(|r| r.id)
                else {
                    return Vec::new();
                };
                // Opens the drawn sample on the review screen, in the dataset's list.
                return vec![Cmd::OpenSample {
                    id,
                    filter: ctx.dataset_id().map(Filter::dataset),
                    from: Screen::Audit,
                }];
            }
            Action::Back => return vec![Cmd::Goto(Screen::List)],
            _ => {}
        }
        Vec::new()
    }

    /// The index of the first unreviewed drawn sample at or after `from`, wrapping around.
    fn next_drawn_unreviewed(&self, from: usize) -> Option<usize> {
        let (_, rows) = self.loaded.as_ref()?;
        let n = rows.len();
        (0..n)
            .map(|k| (from + k) % n)
            .find(|&i| rows[i].status == ReviewStatus::Unreviewed)
    }

    /// The audit's status and drawn samples, as the worker read them.
    pub fn on_loaded(&mut self, status: AuditStatus, rows: Vec<SampleRow>) {
        self.cursor = self.cursor.min(rows.len().saturating_sub(1));
        self.loaded = Some((status, rows));
    }

    /// A draw (or top-up) was made: say what it drew and put the cursor on the first
    /// unreviewed drawn sample.
    pub fn on_drawn(
        &mut self,
        outcome: DrawOutcome,
        status: AuditStatus,
        rows: Vec<SampleRow>,
    ) -> Vec<Cmd> {
        let text = match outcome {
            DrawOutcome::Drawn {
                drawn,
                population,
                note,
                ..
            } => {
                let mut text =
                    format!("drew {drawn} of {population} samples (seed {TUI_DRAW_SEED})");
                if let Some(note) = note {
                    text.push_str(&format!(": {note}"));
                }
                text
            }
            DrawOutcome::ToppedUp { added, drawn, .. } => {
                format!("top-up: drew {drawn} of the {added} samples added since the audit")
            }
            DrawOutcome::UpToDate { .. } => "the audit already covers every sample".to_string(),
        };
        self.loaded = Some((status, rows));
        self.cursor = self.next_drawn_unreviewed(0).unwrap_or(0);
        vec![Cmd::Say(text)]
    }

    /// After a decision on drawn sample `id` in the walk: mark it, then open the next
    /// unreviewed drawn sample in draw order, or go back to the audit screen when none is left.
    pub fn walk_on(&mut self, id: i64, status: ReviewStatus) -> Vec<Cmd> {
        let Some((_, rows)) = &mut self.loaded else {
            return Vec::new();
        };
        let Some(at) = rows.iter().position(|r| r.id == id) else {
            return Vec::new();
        };
        rows[at].status = status;
        match self.next_drawn_unreviewed(at + 1) {
            Some(i) => {
                self.cursor = i;
                let next = self.loaded.as_ref().map(|(_, r)| r[i].id);
                next.map(Cmd::JumpTo).into_iter().collect()
            }
            None => {
                self.cursor = at;
                vec![
                    Cmd::Goto(Screen::Audit),
                    Cmd::Say(
                        "the walk is done: every drawn sample has a decision (flagged ones wait \
                         for a second look); the audit screen says whether the audit passed"
                            .into(),
                    ),
                ]
            }
        }
    }
}
