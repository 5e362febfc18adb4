//! Moving around the data: switching datasets, paging the list from SQLite around the cursor,
//! loading the sample under it, jumping to a sample by id, and opening one from another screen.

use super::{App, Screen};
use crate::store::Filter;
use crate::tui::screens::list::ListBuf;
use crate::tui::worker::{PageAt, Request};

impl App {
    pub(super) fn next_dataset(&mut self) {
        if self.ctx.datasets.is_empty() {
            return;
        }
        let n = self.ctx.datasets.len();
        let next = self.ctx.dataset.map_or(0, |i| (i + 1) % n);
        self.select_dataset(next);
    }

    pub(super) fn select_dataset(&mut self, index: usize) {
        self.ctx.dataset = Some(index);
        let Some(id) = self.ctx.datasets.get(index).map(|d| d.id) else {
            return;
        };
        // The order is the reviewer's choice and outlives the dataset; the narrowing does not.
        self.ctx.filter = Filter {
            order: self.ctx.filter.order,
            ..Filter::dataset(id)
        };
        self.list = ListBuf::default();
        self.review.detail = None;
        self.audit.loaded = None;
        self.search.loaded_filter = None;
        self.request_page(PageAt::Start);
        self.db(Request::Summary { dataset_id: id });
        self.ctx.audit = None;
        self.db(Request::AuditState { dataset_id: id });
        self.screen = Screen::List;
    }

    pub(super) fn request_page(&mut self, at: PageAt) {
        let seq = self.ctx.next_seq();
        self.list.page_seq = seq;
        self.list.pending = Some(at);
        let limit = self.list_height() * 3;
        self.db(Request::Page {
            seq,
            filter: self.ctx.filter.clone(),
            at,
            limit,
        });
    }

    /// Sorts the list by the next order (import order, weakest score, longest, shortest),
    /// keeping the cursor on the sample it was on.
    pub(super) fn cycle_sort(&mut self) {
        self.ctx.filter.order = self.ctx.filter.order.next();
        self.reload_around_cursor();
        self.say(format!(
            "sorted: {} (o: next order)",
            self.ctx.filter.order.label()
        ));
    }

    /// Re-reads the list around the sample under the cursor (from the start when there is
    /// none), after its order or its rows changed; a page in flight is superseded.
    pub(super) fn reload_around_cursor(&mut self) {
        let at = self
            .list
            .current()
            .map_or(PageAt::Start, |r| PageAt::Around(r.id));
        self.list.pending = None;
        self.request_page(at);
    }

    /// Keeps rows buffered around the cursor.
    pub(super) fn prefetch(&mut self) {
        if let Some(at) = self.list.wants(self.list_height()) {
            self.request_page(at);
        }
    }

    /// Loads the sample under the cursor for the review screen, unless it is there already.
    pub(super) fn load_detail(&mut self) {
        let cmds = self.review.load(&self.list, &mut self.ctx);
        self.apply(cmds);
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

    /// Opens sample `id` on the review screen from another screen (a search match, a drawn
    /// sample): the list takes `filter` if given, pages around the sample, and Back returns to
    /// `from`.
    pub(super) fn open_sample(&mut self, id: i64, filter: Option<Filter>, from: Screen) {
        if let Some(f) = filter {
            // A hit in another dataset switches the dataset too: the title, counts and audit
            // then describe the rows shown.
            if let Some(ds) = f.dataset_id
                && Some(ds) != self.ctx.dataset_id()
                && let Some(i) = self.ctx.datasets.iter().position(|d| d.id == ds)
            {
                self.ctx.dataset = Some(i);
                self.ctx.summary = None;
                self.ctx.audit = None;
                self.db(Request::Summary { dataset_id: ds });
                self.db(Request::AuditState { dataset_id: ds });
            }
            self.ctx.filter = f;
        }
        self.list.pending = None;
        self.request_page(PageAt::Around(id));
        self.review.detail = None;
        self.screen = Screen::Review;
        self.review.from = from;
    }
}
