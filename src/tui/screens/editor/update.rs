//! The editor screen's reducer: opening on a sample (or its autosaved draft), typing, switching
//! fields, saving a new revision, asking before discarding, and the periodic draft autosave.

use super::{Draft, Editor, draft_path};
use crate::tui::action::Action;
use crate::tui::app::{Cmd, Context, Prompt};
use crate::tui::worker::{Detail, Request};
use crossterm::event::KeyEvent;

impl Editor {
    /// The editor on a loaded sample's head, with its draft if one was read.
    pub fn on_sample(d: &Detail, draft: Option<Draft>, ctx: &Context) -> Editor {
        let sample_id = d.record.id;
        let path = draft_path(&ctx.drafts_dir, &ctx.db_id, sample_id);
        let mut e = Editor::open(
            sample_id,
            d.record.head.id,
            d.record.head.content.clone(),
            path,
            draft,
        );
        e.kind = d.record.kind;
        e
    }

    pub fn update(&mut self, a: Action, ctx: &Context) -> Vec<Cmd> {
        match a {
            Action::NextField => {
                self.next_field();
                Vec::new()
            }
            Action::Save => {
                let content = self.content();
                // The draft goes only once the revision is committed (the worker removes it),
                // so a failed save loses nothing: reopening the editor restores the draft. It
                // is written now, so that it holds what is being saved.
                let draft = serde_json::to_string(&self.draft()).ok();
                let mut cmds = vec![Cmd::CloseEditor];
                if let Some(json) = draft {
                    cmds.push(Cmd::Db(Request::WriteDraft {
                        path: self.draft_path.clone(),
                        json,
                    }));
                }
                cmds.push(Cmd::Commit(Request::SaveRevision {
                    sample_id: self.sample_id,
                    base: self.base_revision,
                    kind: self.kind,
                    content: Box::new(content),
                    author: ctx.reviewer.clone(),
                    draft: Some(self.draft_path.clone()),
                }));
                cmds.push(Cmd::Say("saving…".into()));
                cmds
            }
            Action::Back | Action::Cancel if self.modified => vec![Cmd::Ask(Prompt::Discard)],
            Action::Back | Action::Cancel => vec![Cmd::CloseEditor],
            _ => Vec::new(),
        }
    }

    /// A key typed into the text area.
    pub fn input(&mut self, ev: KeyEvent) {
        if self.area.input(ev) {
            self.modified = true;
            self.draft_dirty = true;
        }
    }

    /// Each tick: writes the draft if something was typed since it was last written, at most
    /// every [`super::AUTOSAVE_TICKS`] ticks.
    pub fn autosave(&mut self) -> Vec<Cmd> {
        self.ticks_since_write = self.ticks_since_write.saturating_add(1);
        if !self.draft_dirty || self.ticks_since_write < super::AUTOSAVE_TICKS {
            return Vec::new();
        }
        self.draft_dirty = false;
        self.ticks_since_write = 0;
        let draft = self.draft();
        let path = self.draft_path.clone();
        match serde_json::to_string(&draft) {
            Ok(json) => vec![Cmd::Db(Request::WriteDraft { path, json })],
            Err(err) => vec![Cmd::Fail(format!("cannot save the draft: {err}"))],
        }
    }
}
