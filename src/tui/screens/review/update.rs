//! The review screen's reducer (also run on the list screen, on the sample under the cursor):
//! scrolling, the history, decisions (accept, reject, flag), undo, the reject-reason prompt,
//! jumps to the next unreviewed or failing sample, and opening the editor.

use super::{ReviewScreen, Undo};
use crate::model::{Decision, ReviewStatus, VerdictSummary};
use crate::store::Filter;
use crate::tui::action::Action;
use crate::tui::app::{Cmd, Context, Prompt};
use crate::tui::screens::editor::draft_path;
use crate::tui::screens::list::ListBuf;
use crate::tui::worker::Request;

impl ReviewScreen {
    pub fn update(&mut self, a: Action, list: &ListBuf, ctx: &mut Context) -> Vec<Cmd> {
        match a {
            Action::Back => vec![Cmd::Goto(self.from)],
            Action::ScrollDown => {
                self.scroll = self.scroll.saturating_add(1);
                Vec::new()
            }
            Action::ScrollUp => {
                self.scroll = self.scroll.saturating_sub(1);
                Vec::new()
            }
            Action::VerdictsDown => {
                self.verdict_scroll = self.verdict_scroll.saturating_add(1);
                Vec::new()
            }
            Action::VerdictsUp => {
                self.verdict_scroll = self.verdict_scroll.saturating_sub(1);
                Vec::new()
            }
            Action::ToggleHistory => {
                self.show_history = !self.show_history;
                self.history_pick = 0;
                Vec::new()
            }
            Action::HistoryOlder | Action::HistoryNewer => {
                let n = self.detail.as_ref().map_or(0, |d| super::history(d).len());
                self.show_history = true;
                self.history_pick = if a == Action::HistoryOlder {
                    (self.history_pick + 1).min(n.saturating_sub(1))
                } else {
                    self.history_pick.saturating_sub(1)
                };
                Vec::new()
            }
            Action::RevertTo => self.revert_to_pick(ctx),
            Action::Accept => self.decide(Decision::Accept, String::new(), list, ctx),
            Action::Reject => self.decide(Decision::Reject, String::new(), list, ctx),
            Action::Flag => self.decide(Decision::Flag, String::new(), list, ctx),
            Action::RejectWithReason => match list.current().map(|r| r.id) {
                Some(id) => vec![Cmd::Ask(Prompt::RejectReason {
                    sample_id: id,
                    input: String::new(),
                })],
                None => Vec::new(),
            },
            Action::Undo => self.undo_last(ctx),
            Action::NextUnreviewed => {
                find_next(list, ctx, |f| f.statuses = vec![ReviewStatus::Unreviewed])
            }
            Action::NextFailing => find_next(list, ctx, |f| {
                f.verdicts = vec![VerdictSummary::Fail, VerdictSummary::Mixed]
            }),
            Action::Edit => self.open_editor(list, ctx),
            Action::Regenerate => self.regenerate(ctx),
            Action::TakeCandidate => self.take_candidate(ctx, true),
            Action::KeepOriginal => self.take_candidate(ctx, false),
            _ => Vec::new(),
        }
    }

    /// Sends a decision on the revision the reviewer was shown (the loaded sample's head, or
    /// the list row's); the screen shows it only when the worker says it is committed.
    pub fn decide(
        &self,
        decision: Decision,
        reason: String,
        list: &ListBuf,
        ctx: &Context,
    ) -> Vec<Cmd> {
        let Some(row) = list.current() else {
            return vec![Cmd::Fail("no sample selected".into())];
        };
        let revision_id = match &self.detail {
            Some(d) if d.record.id == row.id => d.record.head.id,
            _ => row.head_revision_id,
        };
        vec![Cmd::Commit(Request::Decide {
            sample_id: row.id,
            revision_id,
            decision,
            reason,
            reviewer: ctx.reviewer.clone(),
            undo: false,
        })]
    }

    fn undo_last(&mut self, ctx: &Context) -> Vec<Cmd> {
        let Some(step) = self.undo.pop_back() else {
            return vec![Cmd::Say("nothing to undo".into())];
        };
        vec![Cmd::Commit(match step {
            Undo::Decision {
                sample_id,
                revision_id,
            } => Request::Decide {
                sample_id,
                revision_id,
                decision: Decision::Retract,
                reason: "undo".into(),
                reviewer: ctx.reviewer.clone(),
                undo: true,
            },
            Undo::Head { sample_id, back_to } => Request::Revert {
                sample_id,
                to: back_to,
                reviewer: ctx.reviewer.clone(),
                undo: true,
            },
        })]
    }

    /// Makes the revision picked in the history the head again.
    fn revert_to_pick(&mut self, ctx: &Context) -> Vec<Cmd> {
        let Some(d) = &self.detail else {
            return Vec::new();
        };
        let history = super::history(d);
        let Some(rev) = history.get(self.history_pick) else {
            return Vec::new();
        };
        if rev.id == d.record.head.id {
            return vec![Cmd::Say(
                "pick an older revision with [ first (the head is picked)".into(),
            )];
        }
        self.history_pick = 0;
        vec![Cmd::Commit(Request::Revert {
            sample_id: d.record.id,
            to: rev.id,
            reviewer: ctx.reviewer.clone(),
            undo: false,
        })]
    }

    /// Takes the pending candidate as the head (`take`), or keeps the original and declines it.
    fn take_candidate(&mut self, ctx: &Context, take: bool) -> Vec<Cmd> {
        let Some((sample_id, candidate)) = self
            .detail
            .as_ref()
            .and_then(|d| d.candidate.as_ref().map(|(c, _)| (d.record.id, c.id)))
        else {
            return vec![Cmd::Say(
                "no candidate to take or decline: press r to regenerate one".into(),
            )];
        };
        vec![Cmd::Commit(if take {
            Request::TakeCandidate {
                sample_id,
                candidate,
                reviewer: ctx.reviewer.clone(),
            }
        } else {
            Request::DeclineCandidate {
                sample_id,
                candidate,
            }
        })]
    }

    /// Asks for the sample under the cursor unless it is the one loaded.
    pub fn load(&mut self, list: &ListBuf, ctx: &mut Context) -> Vec<Cmd> {
        let Some(id) = list.current().map(|r| r.id) else {
            return Vec::new();
        };
        if self.detail.as_ref().is_some_and(|d| d.record.id == id) {
            return Vec::new();
        }
        let seq = ctx.next_seq();
        self.scroll = 0;
        self.verdict_scroll = 0;
        self.loading = Some(id);
        vec![Cmd::Db(Request::Detail { seq, sample_id: id })]
    }

    /// Opens the editor on the sample under the cursor (its draft read first), or waits for
    /// the sample to load.
    pub fn open_editor(&mut self, list: &ListBuf, ctx: &mut Context) -> Vec<Cmd> {
        let Some(id) = list.current().map(|r| r.id) else {
            return Vec::new();
        };
        if self.detail.as_ref().map(|d| d.record.id) != Some(id) {
            self.pending_edit = Some(id);
            let seq = ctx.next_seq();
            self.loading = Some(id);
            return vec![Cmd::Db(Request::Detail { seq, sample_id: id })];
        }
        let path = draft_path(&ctx.drafts_dir, &ctx.db_id, id);
        vec![Cmd::Db(Request::ReadDraft {
            sample_id: id,
            path,
        })]
    }
}

/// The next sample after the cursor that the list's filter, narrowed, still matches.
fn find_next(list: &ListBuf, ctx: &mut Context, narrow: impl FnOnce(&mut Filter)) -> Vec<Cmd> {
    let after = list.current().map_or(0, |r| r.id);
    let mut filter = ctx.filter.clone();
    narrow(&mut filter);
    let seq = ctx.next_seq();
    vec![Cmd::Db(Request::Find { seq, filter, after })]
}
