//! The stats screen's reducer: loading the dataset's statistics panel.

use super::{App, Screen};
use crate::tui::worker::Request;

impl App {
    pub(super) fn open_stats(&mut self) {
        self.screen = Screen::Stats;
        if let Some(id) = self.dataset_info().map(|d| d.id) {
            self.db(Request::Stats { dataset_id: id });
        }
    }
}
