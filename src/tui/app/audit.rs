//! The audit screen's reducer: loading the dataset's audit, walking its drawn samples and
//! opening one for review.

use super::{App, Screen};
use crate::tui::action::Action;
use crate::tui::worker::{PageAt, Request};

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
}
