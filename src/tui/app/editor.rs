//! The editor screen's reducer: opening a sample (or its autosaved draft), switching fields,
//! saving a new revision, asking before discarding, and the periodic draft autosave.

use super::{App, Prompt, Screen};
use crate::tui::action::Action;
use crate::tui::editor::{Draft, Editor, draft_path};
use crate::tui::worker::Request;

impl App {
    pub(super) fn open_editor(&mut self) {
        let Some(id) = self.list.current().map(|r| r.id) else {
            return;
        };
        if self.detail.as_ref().map(|d| d.record.id) != Some(id) {
            self.pending_edit = Some(id);
            let seq = self.next_seq();
            self.db(Request::Detail { seq, sample_id: id });
            return;
        }
        let path = super::editor::draft_path(&self.drafts_dir, &self.db_path, id);
        self.db(Request::ReadDraft {
            sample_id: id,
            path,
        });
    }

    pub(super) fn editor_action(&mut self, a: Action) {
        let Some(e) = &mut self.editor else {
            self.screen = Screen::Review;
            return;
        };
        match a {
            Action::NextField => e.next_field(),
            Action::Save => {
                let content = e.content();
                let (sample_id, path) = (e.sample_id, e.draft_path.clone());
                self.editor = None;
                self.screen = Screen::Review;
                self.db(Request::SaveRevision {
                    sample_id,
                    content: Box::new(content),
                    author: self.reviewer.clone(),
                    verdicts: Vec::new(),
                });
                self.db(Request::RemoveDraft { path });
                self.say("saving…");
            }
            Action::Back | Action::Cancel => {
                if e.modified {
                    self.prompt = Some(Prompt::Discard);
                } else {
                    self.editor = None;
                    self.screen = Screen::Review;
                }
            }
            _ => {}
        }
    }

    /// Writes the draft if something was typed since the last tick.
    pub(super) fn autosave(&mut self) {
        let Some(e) = &mut self.editor else {
            return;
        };
        if !e.draft_dirty {
            return;
        }
        e.draft_dirty = false;
        let draft = e.draft();
        let path = e.draft_path.clone();
        match serde_json::to_string(&draft) {
            Ok(json) => self.db(Request::WriteDraft { path, json }),
            Err(err) => self.fail(format!("cannot save the draft: {err}")),
        }
    }

    pub(super) fn editor_ready(&mut self, sample_id: i64, draft: Option<super::editor::Draft>) {
        let Some(d) = self.detail.as_ref().filter(|d| d.record.id == sample_id) else {
            return;
        };
        let path = draft_path(&self.drafts_dir, &self.db_path, sample_id);
        let e = Editor::open(
            sample_id,
            d.record.head.id,
            d.record.head.content.clone(),
            path,
            draft,
        );
        if e.restored {
            self.say("restored an unsaved draft of this sample");
        }
        self.editor = Some(e);
        self.screen = Screen::Editor;
    }
}
