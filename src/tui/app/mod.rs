//! The app's state and its one reducer, `App::update`. Keys become `Action`s through the
//! keymap; replies from the database worker and the model come in as messages. The reducer never
//! does I/O: it queues `Effect`s that the event loop (or a test harness) carries out.
//!
//! This file holds the state; the reducer is split by concern: `update` (dispatch), `nav`
//! (datasets, paging), `reply` (worker results), and one file per screen's actions (`review`,
//! `regenerate`, `editor`, `search`, `audit`, `stats`). A new screen adds a `Screen` variant, a
//! `Mode`, one arm in `update::on_action` and its own file here.

mod audit;
mod editor;
mod nav;
mod regenerate;
mod reply;
mod review;
mod search;
mod stats;
mod train;
mod update;

use super::action::Action;
use super::editor::Editor;
use super::keymap::{Keymap, Mode};
use super::list::ListBuf;
use super::search::Search;
use super::theme::Theme;
use super::worker::{Detail, Reply, Request, StatsPanel};
use crate::audit::AuditStatus;
use crate::llm::Llm;
use crate::model::DatasetStats;
use crate::store::{DatasetInfo, Filter, SampleRow};
use crossterm::event::KeyEvent;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;

/// Decisions that `undo` can take back.
pub const UNDO_DEPTH: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    List,
    Review,
    Editor,
    Search,
    Audit,
    Stats,
    Train,
}

/// Everything that can happen to the app.
pub enum Msg {
    Key(KeyEvent),
    /// An action directly (tests, and keys already resolved).
    Action(Action),
    Resize(u16, u16),
    Reply(Reply),
    Regenerated {
        sample_id: i64,
        result: Result<crate::verify::regenerate::Regenerated, String>,
    },
    /// The search matcher has news.
    SearchTick,
    /// Periodic: autosave of the editor's draft.
    Tick,
}

/// Work the reducer asks for; the loop runs it off the event loop.
pub enum Effect {
    Db(Request),
    /// Ask the model, then run the verifiers on its answer (`verify::regenerate`).
    Regenerate {
        sample_id: i64,
        job: Box<crate::verify::regenerate::Job>,
    },
}

/// A one-line question at the bottom of the screen.
#[derive(Debug, Clone, PartialEq)]
pub enum Prompt {
    RejectReason { sample_id: i64, input: String },
    Discard,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub text: String,
    pub error: bool,
}

pub struct App {
    pub keymap: Keymap,
    pub theme: Theme,
    pub reviewer: String,
    pub db_path: PathBuf,
    /// Where editor drafts are autosaved.
    pub drafts_dir: PathBuf,
    pub llm: Option<Arc<dyn Llm>>,
    /// The LLM judge run on regenerated answers (a configured endpoint), if any.
    pub judge: Option<Arc<dyn Llm>>,
    pub screen: Screen,
    /// Where Back goes from the review screen.
    pub review_from: Screen,
    pub help: bool,
    pub prompt: Option<Prompt>,
    pub datasets: Vec<DatasetInfo>,
    pub dataset: Option<usize>,
    pub filter: Filter,
    pub list: ListBuf,
    pub detail: Option<Detail>,
    pub scroll: u16,
    pub show_history: bool,
    pub editor: Option<Editor>,
    pub search: Search,
    pub audit: Option<(AuditStatus, Vec<SampleRow>)>,
    pub audit_cursor: usize,
    pub stats: Option<StatsPanel>,
    pub train: super::train::TrainPanel,
    pub summary: Option<DatasetStats>,
    pub undo: VecDeque<i64>,
    /// Decisions committed in this session (shown; only counted after the commit).
    pub committed: u64,
    pub message: Option<Message>,
    /// Requests in flight, for the status bar's jobs.
    pub jobs: usize,
    pub regenerating: Option<i64>,
    /// Said after the next revision is saved (e.g. the judge failed on a regeneration).
    pub save_note: Option<String>,
    /// Edit was asked for before the sample had loaded: open the editor when it arrives.
    pub pending_edit: Option<i64>,
    /// A decision is being committed; keys that depend on its outcome wait in `queued`.
    pub deciding: bool,
    pub queued: VecDeque<Msg>,
    pub seq: u64,
    /// The seq of the latest page request: older pages are dropped (latest wins).
    pub page_seq: u64,
    pub outbox: Vec<Effect>,
    pub quit: bool,
    pub dirty: bool,
    pub size: (u16, u16),
}

impl App {
    pub fn new(
        keymap: Keymap,
        theme: Theme,
        reviewer: String,
        db_path: PathBuf,
        llm: Option<Arc<dyn Llm>>,
        search_notify: Arc<dyn Fn() + Send + Sync>,
    ) -> App {
        let search = Search::new(db_path.clone(), search_notify);
        let mut app = App {
            keymap,
            theme,
            reviewer,
            drafts_dir: db_path
                .parent()
                .map(|p| p.join("drafts"))
                .unwrap_or_else(|| PathBuf::from("drafts")),
            db_path,
            llm,
            judge: None,
            screen: Screen::List,
            review_from: Screen::List,
            help: false,
            prompt: None,
            datasets: Vec::new(),
            dataset: None,
            filter: Filter::default(),
            list: ListBuf::default(),
            detail: None,
            scroll: 0,
            show_history: false,
            editor: None,
            search,
            audit: None,
            audit_cursor: 0,
            stats: None,
            train: Default::default(),
            summary: None,
            undo: VecDeque::new(),
            committed: 0,
            message: None,
            jobs: 0,
            regenerating: None,
            save_note: None,
            pending_edit: None,
            deciding: false,
            queued: VecDeque::new(),
            seq: 0,
            page_seq: 0,
            outbox: Vec::new(),
            quit: false,
            dirty: true,
            size: (80, 24),
        };
        app.db(Request::Datasets);
        app
    }

    /// Rows of the list on screen (the frame minus header, borders and status bar).
    pub fn list_height(&self) -> usize {
        (self.size.1 as usize).saturating_sub(4).max(1)
    }

    pub fn dataset_info(&self) -> Option<&DatasetInfo> {
        self.dataset.and_then(|i| self.datasets.get(i))
    }

    pub fn mode(&self) -> Mode {
        if self.prompt.is_some() {
            return Mode::Prompt;
        }
        if self.help {
            return Mode::Help;
        }
        match self.screen {
            Screen::List => Mode::List,
            Screen::Review => Mode::Review,
            Screen::Editor => Mode::Editor,
            Screen::Search => Mode::Search,
            Screen::Audit => Mode::Audit,
            Screen::Stats => Mode::Stats,
            Screen::Train if self.train.form.is_some() => Mode::TrainForm,
            Screen::Train => Mode::Train,
        }
    }

    pub(super) fn db(&mut self, req: Request) {
        self.jobs += 1;
        self.outbox.push(Effect::Db(req));
    }

    pub(super) fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    pub(super) fn say(&mut self, text: impl Into<String>) {
        self.message = Some(Message {
            text: text.into(),
            error: false,
        });
    }

    pub(super) fn fail(&mut self, text: impl Into<String>) {
        self.message = Some(Message {
            text: text.into(),
            error: true,
        });
    }
}
