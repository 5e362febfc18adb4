//! The reducer's handling of the editor, search, audit and stats screens.

use super::app::{App, Prompt, Screen};
use super::search::parse_query;
use super::worker::{PageAt, Request};
use crossterm::event::KeyEvent;

use super::action::Action;

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

    pub(super) fn open_search(&mut self) {
        self.screen = Screen::Search;
        self.refresh_search();
    }

    pub(super) fn search_input(&mut self, ev: KeyEvent) {
        super::app::edit_line(&mut self.search.query, ev);
        self.refresh_search();
    }

    /// Re-reads the query: new filters reload the candidates, new text re-matches.
    fn refresh_search(&mut self) {
        let current = self.dataset_info().map(|d| d.id);
        match parse_query(&self.search.query, &self.datasets, current) {
            Err(e) => self.search.error = Some(e),
            Ok((filter, text)) => {
                self.search.error = None;
                if self.search.loaded_filter.as_ref() != Some(&filter) {
                    self.search.matcher.restart(true);
                    self.search.seq = self.next_seq();
                    self.search.loading = true;
                    self.search.loaded_filter = Some(filter.clone());
                    let injector = self.search.matcher.injector();
                    let seq = self.search.seq;
                    self.db(Request::SearchIndex {
                        seq,
                        filter,
                        injector,
                    });
                }
                if text != self.search.text {
                    self.search.set_text(&text);
                }
                self.search.tick(0);
            }
        }
    }

    pub(super) fn search_action(&mut self, a: Action) {
        let n = self.search.matched() as usize;
        match a {
            Action::Next => self.search.cursor = (self.search.cursor + 1).min(n.saturating_sub(1)),
            Action::Prev => self.search.cursor = self.search.cursor.saturating_sub(1),
            Action::Open => {
                let Some(id) = self.search.id_at(self.search.cursor) else {
                    return;
                };
                // The list takes the search's filter so that next/prev stay within it.
                if let Some(f) = self.search.loaded_filter.clone() {
                    self.filter = f;
                }
                self.list.pending = None;
                self.request_page(PageAt::Around(id));
                self.detail = None;
                self.screen = Screen::Review;
                self.review_from = Screen::Search;
            }
            Action::Back => self.screen = Screen::List,
            _ => {}
        }
    }

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
            Action::NextUnreviewed => {
                if let Some((_, rows)) = &self.audit {
                    let from = self.audit_cursor + 1;
                    let found = rows[from.min(n)..]
                        .iter()
                        .chain(rows[..from.min(n)].iter())
                        .position(|r| r.status == crate::model::ReviewStatus::Unreviewed);
                    match found {
                        Some(p) => self.audit_cursor = (from + p) % n.max(1),
                        None => self.say("every drawn sample is reviewed"),
                    }
                }
            }
            Action::Open => {
                let Some(id) = self
                    .audit
                    .as_ref()
                    .and_then(|(_, rows)| rows.get(self.audit_cursor))
                    .map(|r| r.id)
                else {
                    return;
                };
                if let Some(ds) = self.dataset_info().map(|d| d.id) {
                    self.filter = crate::store::Filter::dataset(ds);
                }
                self.list.pending = None;
                self.request_page(PageAt::Around(id));
                self.detail = None;
                self.screen = Screen::Review;
                self.review_from = Screen::Audit;
            }
            Action::Back => self.screen = Screen::List,
            _ => {}
        }
    }

    pub(super) fn open_stats(&mut self) {
        self.screen = Screen::Stats;
        if let Some(id) = self.dataset_info().map(|d| d.id) {
            self.db(Request::Stats { dataset_id: id });
        }
    }
}
