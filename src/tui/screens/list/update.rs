//! The list screen's reducer: moving the cursor within the buffered rows, paging to either
//! end, and opening the sample under the cursor on the review screen.

use super::ListBuf;
use crate::tui::action::Action;
use crate::tui::app::{Cmd, Context, Screen};
use crate::tui::worker::PageAt;

impl ListBuf {
    /// Also run on the review screen, whose keys move through the same list.
    pub fn update(&mut self, a: Action, ctx: &Context) -> Vec<Cmd> {
        let h = ctx.list_height();
        match a {
            Action::Next | Action::Skip => self.move_by(1, h),
            Action::Prev => self.move_by(-1, h),
            Action::PageDown => self.move_by(h as isize, h),
            Action::PageUp => self.move_by(-(h as isize), h),
            Action::First => return vec![Cmd::Page(PageAt::Start)],
            Action::Last => return vec![Cmd::Page(PageAt::End)],
            Action::Open => return vec![Cmd::Review { from: Screen::List }],
            _ => {}
        }
        Vec::new()
    }
}
