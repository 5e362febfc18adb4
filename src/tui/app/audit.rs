//! The audit screen's reducer: drawing the dataset's audit (or a top-up for samples added
//! since) from inside the TUI, and walking the reviewer through the drawn samples in order —
//! a decision on one opens the next unreviewed draw, with k of n, defects and the bound live.

use super::{App, Screen};
use crate::audit::{AuditStatus, DrawOutcome};
use crate::model::ReviewStatus;
use crate::store::SampleRow;
use crate::tui::action::Action;
use crate::tui::worker::{PageAt, Request};

/// The seed of draws made in the TUI (`assay audit draw`'s default), so a draw is reproducible.
pub const TUI_DRAW_SEED: u64 = 0;

impl App {
    pub(super) fn open_audit(&mut self) {
        self.screen = Screen::Audit;
        if let Some(id) = self.dataset_info().map(|d| d.id) {
            self.db(Request::Audit { dataset_id: id });
        }
    }

    pub(super) fn audit_action(&mut self, a: Action) {
        let n = self.audit.as_ref().map_or(0, |(_, rows)| rows.len());
        match a {
            Action::Next => self.audit_cursor = (self.audit_cursor + 1).min(n.saturating_sub(1)),
            Action::Prev => self.audit_cursor = self.audit_cursor.saturating_sub(1),
            Action::NextUnreviewed => match self.next_drawn_unreviewed(self.audit_cursor + 1) {
                Some(i) => self.audit_cursor = i,
                None => self.say("every drawn sample is reviewed"),
            },
            Action::DrawAudit => match self.dataset_info().map(|d| d.id) {
                Some(id) => {
                    self.say("drawing the audit…");
                    self.db(Request::DrawAudit {
                        dataset_id: id,
                        seed: TUI_DRAW_SEED,
                    });
                }
                None => self.fail("no dataset to audit"),
            },
            Action::Open => {
                let Some(id) = self
                    .audit
                    .as_ref()
                    .and_then(|(_, rows)| rows.get(self.audit_cursor))
                    .map(|r| r.id)
                else {
                    return;
                };
                self.open_drawn(id);
            }
            Action::Back => self.screen = Screen::List,
            _ => {}
        }
    }

    /// The index of the first unreviewed drawn sample at or after `from`, wrapping around.
    fn next_drawn_unreviewed(&self, from: usize) -> Option<usize> {
        let (_, rows) = self.audit.as_ref()?;
        let n = rows.len();
        (0..n)
            .map(|k| (from + k) % n)
            .find(|&i| rows[i].status == ReviewStatus::Unreviewed)
    }

    /// Opens drawn sample `id` in the review screen, in the dataset's list.
    fn open_drawn(&mut self, id: i64) {
        if let Some(ds) = self.dataset_info().map(|d| d.id) {
            self.filter = crate::store::Filter::dataset(ds);
        }
        self.list.pending = None;
        self.request_page(PageAt::Around(id));
        self.detail = None;
        self.screen = Screen::Review;
        self.review_from = Screen::Audit;
    }

    pub(super) fn audit_drawn(
        &mut self,
        outcome: DrawOutcome,
        status: AuditStatus,
        rows: Vec<SampleRow>,
    ) {
        let text = match outcome {
            DrawOutcome::Drawn {
                drawn, population, ..
            } => format!("drew {drawn} of {population} samples (seed {TUI_DRAW_SEED})"),
            DrawOutcome::ToppedUp { added, drawn, .. } => {
                format!("top-up: drew {drawn} of the {added} samples added since the audit")
            }
            DrawOutcome::UpToDate { .. } => "the audit already covers every sample".to_string(),
        };
        self.say(text);
        self.audit = Some((status, rows));
        self.audit_cursor = self.next_drawn_unreviewed(0).unwrap_or(0);
    }

    /// After a decision on drawn sample `id` in the walk: mark it, then open the next
    /// unreviewed drawn sample in draw order, or go back to the audit screen when none is left.
    pub(super) fn audit_walk_on(&mut self, id: i64, status: ReviewStatus) {
        let Some((_, rows)) = &mut self.audit else {
            return;
        };
        let Some(at) = rows.iter().position(|r| r.id == id) else {
            return;
        };
        rows[at].status = status;
        match self.next_drawn_unreviewed(at + 1) {
            Some(i) => {
                self.audit_cursor = i;
                let next = self.audit.as_ref().map(|(_, r)| r[i].id);
                if let Some(next) = next {
                    self.jump_to(next);
                }
            }
            None => {
                self.audit_cursor = at;
                self.screen = Screen::Audit;
                self.say("every drawn sample is reviewed: the audit is complete");
            }
        }
    }
}
