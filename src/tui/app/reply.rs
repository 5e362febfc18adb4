//! The worker's replies, routed to the screens whose requests they answer. A decision's reply
//! touches several screens (the list's row, the review's undo, the audit walk), so it is here.
//! A failure is typed by the request it answers and releases only what waited on that request.

use super::{App, Screen};
use crate::model::Decision;
use crate::tui::screens::editor::Editor;
use crate::tui::screens::review::Undo;
use crate::tui::worker::{HeadChange, Reply, RequestKind};

impl App {
    pub(super) fn on_reply(&mut self, r: Reply) {
        match r {
            Reply::Datasets(ds) => {
                let keep = self.ctx.dataset_id();
                self.ctx.datasets = ds;
                self.ctx.datasets_loaded = true;
                let open_on = self.ctx.open_on.take();
                let idx = keep
                    .and_then(|id| self.ctx.datasets.iter().position(|d| d.id == id))
                    .or_else(|| {
                        let name = open_on?;
                        self.ctx.datasets.iter().position(|d| d.name == name)
                    })
                    .or(if self.ctx.datasets.is_empty() {
                        None
                    } else {
                        Some(0)
                    });
                match idx {
                    Some(i) if self.ctx.dataset != Some(i) || !self.list.loaded => {
                        self.select_dataset(i)
                    }
                    Some(_) => {}
                    None => self.say("no datasets yet: import one with `assay import FILE`"),
                }
            }
            Reply::Views(views) => {
                self.ctx.views = views;
                if self.screen == Screen::Search {
                    self.search.refresh(&mut self.ctx);
                }
            }
            Reply::Summary { dataset_id, stats } => {
                if self.ctx.dataset_id() == Some(dataset_id) {
                    self.ctx.summary = stats;
                }
            }
            Reply::RulePlanned(plan) => self.on_rule_planned(plan),
            Reply::RuleApplied { decision, outcome } => self.on_rule_applied(decision, outcome),
            Reply::AuditState(status) => self.ctx.keep_audit(&status),
            Reply::Page { seq, at, page } => {
                if self.list.pending.is_none() || seq != self.list.page_seq {
                    return;
                }
                let h = self.list_height();
                self.list.apply(at, page, h * 3, h);
                if self.screen == Screen::Review {
                    self.load_detail();
                }
            }
            Reply::Detail { seq, detail } => {
                // Latest wins: only the sample under the cursor is shown.
                let _ = seq;
                let id = detail.record.id;
                if self.review.loading == Some(id) {
                    self.review.loading = None;
                }
                if self.list.current().map(|r| r.id) == Some(id) {
                    self.list
                        .set_head(id, detail.record.head.id, detail.record.status);
                    self.review.detail = Some(*detail);
                    if self.review.pending_edit.take() == Some(id) {
                        let cmds = self.review.open_editor(&self.list, &mut self.ctx);
                        self.apply(cmds);
                    }
                }
            }
            Reply::Decided {
                review,
                before,
                status,
                undo,
            } => {
                self.commits = self.commits.saturating_sub(1);
                self.waiting = None;
                self.committed += 1;
                self.list.set_status(review.sample_id, status);
                self.ctx.count_moved(before, status);
                // The audit's progress in the status bar follows (a read of the drawn items);
                // without an audit there is nothing a decision changes there.
                if let Some(dataset_id) = self.ctx.dataset_id()
                    && self
                        .ctx
                        .audit
                        .as_ref()
                        .is_some_and(|a| a.audit_id.is_some())
                {
                    self.db(crate::tui::worker::Request::AuditState { dataset_id });
                }
                if undo {
                    self.say(format!(
                        "undone: #{} is {} again (committed)",
                        review.sample_id,
                        status.as_str()
                    ));
                    self.jump_to(review.sample_id);
                } else {
                    self.review.push_undo(Undo::Decision {
                        sample_id: review.sample_id,
                        revision_id: review.revision_id,
                    });
                    self.say(format!(
                        "{} #{} (committed)",
                        verb(review.decision),
                        review.sample_id
                    ));
                    if self.review.from == Screen::Audit && self.screen == Screen::Review {
                        let cmds = self.audit.walk_on(review.sample_id, status);
                        self.apply(cmds);
                    } else if self.list.current().map(|r| r.id) == Some(review.sample_id) {
                        let h = self.list_height();
                        self.list.move_by(1, h);
                    }
                }
                self.reload_after_commit(review.sample_id);
            }
            Reply::Saved {
                revision,
                base,
                before,
            } => {
                self.commits = self.commits.saturating_sub(1);
                self.waiting = None;
                let status = crate::model::ReviewStatus::Unreviewed;
                self.list.set_head(revision.sample_id, revision.id, status);
                self.ctx.count_moved(before, status);
                self.review.push_undo(Undo::Head {
                    sample_id: revision.sample_id,
                    back_to: base,
                });
                let saved = format!(
                    "saved rev {} of #{} (committed): unreviewed until decided",
                    revision.number, revision.sample_id
                );
                match self.review.save_note.take() {
                    Some(note) => self.fail(format!("{saved}; {note}")),
                    None => self.say(saved),
                }
                self.reload_after_commit(revision.sample_id);
            }
            Reply::CandidateSaved { revision } => {
                self.commits = self.commits.saturating_sub(1);
                self.waiting = None;
                let text = format!(
                    "candidate revision {} of #{} beside the original: c takes it, o keeps the \
                     original, r asks for another",
                    revision.number, revision.sample_id
                );
                match self.review.save_note.take() {
                    Some(note) => self.fail(format!("{text}; {note}")),
                    None => self.say(text),
                }
                self.reload_after_commit(revision.sample_id);
            }
            Reply::HeadMoved { moved, how } => {
                self.commits = self.commits.saturating_sub(1);
                self.waiting = None;
                self.list.set_head(moved.sample_id, moved.to, moved.status);
                self.ctx.count_moved(moved.before, moved.status);
                let id = moved.sample_id;
                let text = match how {
                    HeadChange::Take => {
                        self.review.push_undo(Undo::Head {
                            sample_id: id,
                            back_to: moved.from,
                        });
                        format!(
                            "took the candidate as the head of #{id} (committed); it is {} until \
                             you decide on it",
                            moved.status.as_str()
                        )
                    }
                    HeadChange::Decline => {
                        format!("kept the original of #{id}; candidate declined")
                    }
                    HeadChange::Revert => {
                        self.review.push_undo(Undo::Head {
                            sample_id: id,
                            back_to: moved.from,
                        });
                        format!(
                            "reverted #{id} to an earlier revision (committed): {}",
                            moved.status.as_str()
                        )
                    }
                    HeadChange::Undo => format!(
                        "undone: #{id} is back on its earlier revision, {} (committed)",
                        moved.status.as_str()
                    ),
                };
                self.say(text);
                self.reload_after_commit(id);
            }
            Reply::Found { row, .. } => {
                self.finding = false;
                match row {
                    Some(row) => self.jump_to(row.id),
                    None => self.say("no such sample left"),
                }
            }
            Reply::Audit { status, rows } => {
                self.ctx.keep_audit(&status);
                self.audit.on_loaded(*status, rows)
            }
            Reply::Drew {
                outcome,
                status,
                rows,
            } => {
                self.ctx.keep_audit(&status);
                let cmds = self.audit.on_drawn(outcome, *status, rows);
                self.apply(cmds);
            }
            Reply::Stats(panel) => self.stats.panel = Some(*panel),
            Reply::Train(r) => {
                let cmds = self.train.on_reply(r);
                self.apply(cmds);
            }
            Reply::DraftWritten => {}
            Reply::DraftRead { sample_id, draft } => {
                let detail = self.review.detail.as_ref();
                let detail = detail.filter(|d| d.record.id == sample_id);
                if let Some(e) = detail.map(|d| Editor::on_sample(d, draft, &self.ctx)) {
                    match (e.restored, e.drafted_on) {
                        (true, None) => self.say("restored an unsaved draft of this sample"),
                        (true, Some(_)) => self.fail(
                            "restored your unsaved draft, made on an earlier revision: the \
                             sample changed since (h shows the history); check before saving",
                        ),
                        _ => {}
                    }
                    self.editor = Some(e);
                    self.screen = Screen::Editor;
                }
            }
            Reply::Failed { kind, error, stale } => self.on_failed(kind, error, stale),
            // A newer request of the same kind runs instead and answers for it; the jobs count
            // moved in `update`.
            Reply::Superseded { .. } => {}
            Reply::Waiting { kind, secs } => {
                self.waiting = Some(secs);
                self.fail(format!(
                    "waiting for the database ({secs} s): another process holds its write \
                     lock; {} stays queued until it lands, Esc gives it up",
                    kind.what()
                ));
            }
        }
    }

    /// A failed request releases only what waited on it.
    fn on_failed(&mut self, kind: RequestKind, error: String, stale: bool) {
        let what = kind.what();
        match kind {
            RequestKind::Decide
            | RequestKind::SaveRevision
            | RequestKind::SaveCandidate
            | RequestKind::HeadMove => {
                self.commits = self.commits.saturating_sub(1);
                self.waiting = None;
                // The keys typed after a refused decision were meant for the state it would
                // have made: they are dropped, not applied to another sample.
                let dropped = self.queued.len();
                self.queued.clear();
                let mut text = match (stale, kind) {
                    // Short enough for an 80-column message line; the full reason is logged.
                    (true, RequestKind::SaveRevision) => {
                        "the sample changed meanwhile: not saved".to_string()
                    }
                    (true, _) => {
                        "the sample changed meanwhile: nothing recorded, its new head is shown"
                            .to_string()
                    }
                    (false, _) => format!("{what} failed: {error}"),
                };
                if kind == RequestKind::SaveRevision {
                    text.push_str("; your edit is kept as a draft (e reopens it)");
                }
                if dropped > 0 {
                    text.push_str(&format!(" ({dropped} keys typed after it were dropped)"));
                }
                self.fail(text);
                if stale {
                    // Show the new head, so the reviewer sees what changed.
                    if let Some(id) = self.list.current().map(|r| r.id) {
                        self.reload_after_commit(id);
                    }
                }
                return;
            }
            RequestKind::Page => self.list.pending = None,
            RequestKind::Find => self.finding = false,
            RequestKind::Detail => {
                self.review.loading = None;
                self.review.pending_edit = None;
            }
            // A start never fails here: it answers Started, AuditRefused or StartFailed.
            RequestKind::Train => self.train.polling = false,
            _ => {}
        }
        self.fail(format!("{what} failed: {error}"));
    }

    /// After a commit on `sample_id`: the review screen reloads it (its head, verdicts and
    /// history changed), and the audit screen its figures.
    fn reload_after_commit(&mut self, sample_id: i64) {
        if self
            .review
            .detail
            .as_ref()
            .is_some_and(|d| d.record.id == sample_id)
        {
            self.review.detail = None;
        }
        if self.screen == Screen::Review {
            self.load_detail();
        }
        if self.audit.loaded.is_some()
            && let Some(id) = self.ctx.dataset_id()
        {
            self.db(crate::tui::worker::Request::Audit { dataset_id: id });
        }
    }
}

fn verb(d: Decision) -> &'static str {
    match d {
        Decision::Accept => "accepted",
        Decision::Reject => "rejected",
        Decision::Flag => "flagged",
        Decision::Retract => "retracted",
    }
}
