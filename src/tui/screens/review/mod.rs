//! The review screen's state: the sample under the list's cursor as the worker loaded it, how
//! far it is scrolled, whether the history is shown, where Back goes, and what undo can take
//! back (decisions, edits, takes of a candidate). The list and review screens share their keys
//! (`App::sample_action`).

mod cot_tree;
mod regenerate;
mod update;
pub mod view;

use crate::tui::app::screen::Screen;
use crate::tui::worker::Detail;
use std::collections::VecDeque;

/// Steps that `undo` can take back.
pub const UNDO_DEPTH: usize = 20;

/// One step undo takes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Undo {
    /// A decision on `revision_id`: undone by a retract on that revision.
    Decision { sample_id: i64, revision_id: i64 },
    /// A new head (an edit saved, a candidate taken): undone by reverting to `back_to`.
    Head { sample_id: i64, back_to: i64 },
}

impl Undo {
    pub fn sample_id(self) -> i64 {
        match self {
            Undo::Decision { sample_id, .. } | Undo::Head { sample_id, .. } => sample_id,
        }
    }
}

pub struct ReviewScreen {
    pub detail: Option<Detail>,
    pub scroll: u16,
    /// How far the verdicts pane is scrolled (its own keys: the rationale can be long).
    pub verdict_scroll: u16,
    pub show_history: bool,
    /// Where Back goes from the review screen.
    pub from: Screen,
    /// What this session did, latest last (at most `UNDO_DEPTH`).
    pub undo: VecDeque<Undo>,
    /// The sample being regenerated and the head revision the regeneration was asked on.
    pub regenerating: Option<(i64, i64)>,
    /// The sample whose detail is being read (keys on the review screen wait for it).
    pub loading: Option<i64>,
    /// In the history: how many revisions back from the head the picked one is (0: the head).
    pub history_pick: usize,
    /// Said after the next revision is saved (e.g. the judge failed on a regeneration).
    pub save_note: Option<String>,
    /// Edit was asked for before the sample had loaded: open the editor when it arrives.
    pub pending_edit: Option<i64>,
}

/// The revisions the history lists, the head first, then older ones by number (a pending
/// candidate is shown beside the head instead, and newer revisions than the head after a revert
/// come after it).
pub fn history(d: &Detail) -> Vec<&crate::model::Revision> {
    let candidate = d.candidate.as_ref().map(|(c, _)| c.id);
    let mut revs: Vec<&crate::model::Revision> = d
        .revisions
        .iter()
        .filter(|r| Some(r.id) != candidate && r.id != d.record.head.id)
        .collect();
    revs.sort_by_key(|r| std::cmp::Reverse(r.number));
    let mut out = vec![&d.record.head];
    out.extend(revs);
    out
}

impl ReviewScreen {
    /// Remembers a step for undo, keeping the last `UNDO_DEPTH`.
    pub fn push_undo(&mut self, u: Undo) {
        self.undo.push_back(u);
        while self.undo.len() > UNDO_DEPTH {
            self.undo.pop_front();
        }
    }
}

impl Default for ReviewScreen {
    fn default() -> ReviewScreen {
        ReviewScreen {
            detail: None,
            scroll: 0,
            verdict_scroll: 0,
            show_history: false,
            from: Screen::List,
            undo: VecDeque::new(),
            regenerating: None,
            loading: None,
            history_pick: 0,
            save_note: None,
            pending_edit: None,
        }
    }
}
