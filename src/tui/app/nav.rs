//! Moving around the data: switching datasets, paging the list from SQLite around the cursor,
//! loading the sample under it, and jumping to a sample by id.

use super::{App, Screen};
use crate::store::Filter;
use crate::tui::list::ListBuf;
use crate::tui::worker::{PageAt, Request};

impl App {
    pub(super) fn next_dataset(&mut self) {
        if self.datasets.is_empty() {
            return;
        }
        let next = self.dataset.map_or(0, |i| (i + 1) % self.datasets.len());
        self.select_dataset(next);
    }

    pub(super) fn select_dataset(&mut self, index: usize) {
        self.dataset = Some(index);
        let Some(id) = self.datasets.get(index).map(|d| d.id) else {
            return;
        };
        self.filter = Filter::dataset(id);
        self.list = ListBuf::default();
        self.detail = None;
        self.audit = None;
        self.search.loaded_filter = None;
        self.request_page(PageAt::Start);
        self.db(Request::Summary { dataset_id: id });
        self.screen = Screen::List;
    }

    pub(super) fn request_page(&mut self, at: PageAt) {
        let seq = self.next_seq();
        self.page_seq = seq;
        self.list.pending = Some(at);
        let limit = self.list_height() * 3;
        self.db(Request::Page {
            seq,
            filter: self.filter.clone(),
            at,
            limit,
        });
    }

    /// Keeps rows buffered around the cursor.
    pub(super) fn prefetch(&mut self) {
        if let Some(at) = self.list.wants(self.list_height()) {
            self.request_page(at);
        }
    }

    pub(super) fn load_detail(&mut self) {
        if let Some(id) = self.list.current().map(|r| r.id) {
            if self.detail.as_ref().is_some_and(|d| d.record.id == id) {
                return;
            }
            let seq = self.next_seq();
            self.scroll = 0;
            self.db(Request::Detail { seq, sample_id: id });
        }
    }

    /// Shows sample `id` in the list (and the review screen if open).
    pub(super) fn jump_to(&mut self, id: i64) {
        if let Some(i) = self.list.rows.iter().position(|r| r.id == id) {
            self.list.cursor = i;
            let h = self.list_height();
            self.list.scroll_into_view(h);
            if self.screen == Screen::Review {
                self.load_detail();
            }
        } else {
            self.request_page(PageAt::Around(id));
        }
    }
}
