//! The list screen's state: a window onto the dataset, a buffer of a few pages of rows around
//! the cursor, paged from SQLite by key as the cursor nears either end, so that a million-row
//! dataset costs what a hundred-row one does. Only the rows on screen are ever handed to a
//! widget. The review screen shows the sample under this cursor.

mod update;
pub mod view;

use crate::store::SampleRow;
use crate::tui::worker::{Page, PageAt};

/// Rows kept in memory, in pages of the screen's height.
const KEEP_PAGES: usize = 6;

#[derive(Debug, Clone, Default)]
pub struct ListBuf {
    pub rows: Vec<SampleRow>,
    pub cursor: usize,
    /// Index in `rows` of the first row on screen.
    pub top: usize,
    /// No rows before `rows[0]` / after the last row.
    pub at_start: bool,
    pub at_end: bool,
    /// A page request is in flight (one at a time; latest wins).
    pub pending: Option<PageAt>,
    /// The seq of the latest page request: older pages are dropped.
    pub page_seq: u64,
    pub loaded: bool,
}

impl ListBuf {
    pub fn current(&self) -> Option<&SampleRow> {
        self.rows.get(self.cursor)
    }

    /// Moves the cursor by `delta` rows within what is buffered; keeps it on screen.
    pub fn move_by(&mut self, delta: isize, height: usize) {
        if self.rows.is_empty() {
            return;
        }
        let max = self.rows.len() as isize - 1;
        self.cursor = (self.cursor as isize + delta).clamp(0, max) as usize;
        self.scroll_into_view(height);
    }

    pub fn scroll_into_view(&mut self, height: usize) {
        let height = height.max(1);
        if self.cursor < self.top {
            self.top = self.cursor;
        } else if self.cursor >= self.top + height {
            self.top = self.cursor + 1 - height;
        }
        // After the window grew: no blank rows below while rows above are hidden.
        let fill = self.rows.len().saturating_sub(height);
        if self.top > fill {
            self.top = fill.min(self.cursor);
        }
    }

    /// The page to ask for next so that a page of rows stays buffered on both sides.
    pub fn wants(&self, height: usize) -> Option<PageAt> {
        if self.pending.is_some() || !self.loaded {
            return None;
        }
        let margin = height * 2;
        if !self.at_end && self.rows.len().saturating_sub(self.cursor) < margin {
            return self.rows.last().map(|r| PageAt::After(r.id));
        }
        if !self.at_start && self.cursor < margin {
            return self.rows.first().map(|r| PageAt::Before(r.id));
        }
        None
    }

    /// Takes a page the worker read; `limit` is what was asked for (fewer rows: an end reached).
    pub fn apply(&mut self, at: PageAt, page: Page, limit: usize, height: usize) {
        let rows = page.rows;
        self.pending = None;
        self.loaded = true;
        let short = rows.len() < limit;
        match at {
            PageAt::Start => {
                self.rows = rows;
                self.cursor = 0;
                self.top = 0;
                self.at_start = true;
                self.at_end = short;
            }
            PageAt::End => {
                self.rows = rows;
                self.cursor = self.rows.len().saturating_sub(1);
                self.top = self.rows.len().saturating_sub(height);
                self.at_end = true;
                self.at_start = short;
            }
            PageAt::Around(id) => {
                // `before` rows precede the sample in the filter's order; the cursor lands on
                // it, or on the row after where it would be when it does not match the filter.
                let before = page.before.min(rows.len());
                self.cursor = rows
                    .iter()
                    .position(|r| r.id == id)
                    .unwrap_or(before.min(rows.len().saturating_sub(1)));
                self.rows = rows;
                self.top = self.cursor.saturating_sub(height / 2);
                self.at_start = before < limit / 2;
                self.at_end = self.rows.len() - before < limit - limit / 2;
            }
            PageAt::After(id) => {
                // Only meaningful if the buffer still ends where the request was made.
                if self.rows.last().map(|r| r.id) != Some(id) {
                    return;
                }
                self.at_end = short;
                self.rows.extend(rows);
                let keep = height * KEEP_PAGES;
                if self.rows.len() > keep && self.cursor > keep / 2 {
                    let drop = (self.rows.len() - keep).min(self.cursor.saturating_sub(height * 2));
                    self.rows.drain(..drop);
                    self.cursor -= drop;
                    self.top = self.top.saturating_sub(drop);
                    if drop > 0 {
                        self.at_start = false;
                    }
                }
            }
            PageAt::Before(id) => {
                if self.rows.first().map(|r| r.id) != Some(id) {
                    return;
                }
                self.at_start = short;
                let n = rows.len();
                let mut new = rows;
                new.append(&mut self.rows);
                self.rows = new;
                self.cursor += n;
                self.top += n;
                let keep = height * KEEP_PAGES;
                if self.rows.len() > keep {
                    let cut = (self.cursor + height * 2).max(keep).min(self.rows.len());
                    if cut < self.rows.len() {
                        self.rows.truncate(cut);
                        self.at_end = false;
                    }
                }
            }
        }
        self.scroll_into_view(height);
    }

    /// Updates a row's status after a committed decision.
    pub fn set_status(&mut self, id: i64, status: crate::model::ReviewStatus) {
        if let Some(r) = self.rows.iter_mut().find(|r| r.id == id) {
            r.status = status;
        }
    }

    /// Updates a row after its head moved (an edit saved, a candidate taken, a revert).
    pub fn set_head(&mut self, id: i64, head: i64, status: crate::model::ReviewStatus) {
        if let Some(r) = self.rows.iter_mut().find(|r| r.id == id) {
            r.head_revision_id = head;
            r.status = status;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ReviewStatus, SampleKind, VerdictSummary};

    fn rows(ids: std::ops::Range<i64>) -> Vec<SampleRow> {
        ids.map(|id| SampleRow {
            id,
            head_revision_id: id,
            kind: SampleKind::Qa,
            status: ReviewStatus::Unreviewed,
            verdict: VerdictSummary::None,
            aspect: None,
            preview: format!("row {id}"),
        })
        .collect()
    }

    #[test]
    fn pages_forward_and_trims() {
        let mut l = ListBuf::default();
        l.apply(PageAt::Start, Page::of(rows(1..41)), 40, 10);
        assert_eq!(l.wants(10), None);
        l.move_by(25, 10);
        assert_eq!(l.top, 16);
        assert_eq!(l.wants(10), Some(PageAt::After(40)));
        for start in (41..400).step_by(40) {
            l.pending = Some(PageAt::After(0));
            l.apply(
                PageAt::After(start - 1),
                Page::of(rows(start..start + 40)),
                40,
                10,
            );
            l.move_by(40, 10);
        }
        assert!(l.rows.len() <= 60 + 40, "{}", l.rows.len());
        assert_eq!(l.current().map(|r| r.id), Some(386));
        assert!(!l.at_start);
    }

    #[test]
    fn end_and_around() {
        let mut l = ListBuf::default();
        l.apply(PageAt::End, Page::of(rows(961..1001)), 40, 10);
        assert_eq!(l.current().map(|r| r.id), Some(1000));
        assert_eq!(l.top, 30);
        assert_eq!(l.wants(10), None);
        l.move_by(-25, 10);
        assert_eq!(l.wants(10), Some(PageAt::Before(961)));
        l.apply(
            PageAt::Around(500),
            Page {
                rows: rows(480..520),
                before: 20,
            },
            40,
            10,
        );
        assert_eq!(l.current().map(|r| r.id), Some(500));
        assert!(l.rows.len() == 40 && !l.at_start && !l.at_end);
    }

    #[test]
    fn stale_pages_are_ignored() {
        let mut l = ListBuf::default();
        l.apply(PageAt::Start, Page::of(rows(1..41)), 40, 10);
        l.apply(PageAt::After(999), Page::of(rows(1000..1040)), 40, 10);
        assert_eq!(l.rows.len(), 40);
    }
}
