//! The search screen's reducer: the query line (filters + fuzzy text), handing each new query
//! to the search engine (latest wins), moving through matches and opening one.

use super::{App, Screen};
use crate::search::query::parse_query;
use crate::tui::action::Action;
use crate::tui::worker::PageAt;
use crossterm::event::KeyEvent;

impl App {
    pub(super) fn open_search(&mut self) {
        self.screen = Screen::Search;
        self.refresh_search();
    }

    pub(super) fn search_input(&mut self, ev: KeyEvent) {
        super::update::edit_line(&mut self.search.query, ev);
        self.refresh_search();
    }

    /// Re-reads the query; a changed filter or text starts a new pass of the engine.
    fn refresh_search(&mut self) {
        let current = self.dataset_info().map(|d| d.id);
        match parse_query(&self.search.query, &self.datasets, current) {
            Err(e) => self.search.error = Some(e),
            Ok((filter, text)) => {
                self.search.error = None;
                if self.search.loaded_filter.as_ref() != Some(&filter) || text != self.search.text {
                    let generation = self.next_seq();
                    let screen = self.list_height();
                    self.search.submit(generation, filter, &text, screen);
                }
                self.search.tick(0);
            }
        }
    }

    pub(super) fn search_action(&mut self, a: Action) {
        let n = self.search.shown();
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
}
