//! The app: the router and the shared context around the screens. Keys become `Action`s
//! through the keymap; replies from the database worker and the model come in as messages.
//! `App::update` is the one place state changes; it never does I/O but queues `Effect`s that
//! the event loop (or a test harness) carries out.
//!
//! Each screen's state, reducer and view sit together in `tui::screens::<screen>`; a screen's
//! reducer changes only its own state and answers with `Cmd`s (`cmd`) for everything else. Here
//! stay what is shared: the routing (`update`), the context every screen reads (`context`),
//! moving through the data (`nav`), the worker's replies (`reply`) and the prompt line
//! (`prompt`). Where a new screen goes is told in `tui::screens`.

pub mod cmd;
pub mod context;
mod nav;
mod prompt;
mod reply;
pub mod rules;
pub mod screen;
mod update;

pub use cmd::Cmd;
pub use context::Context;
pub(crate) use prompt::edit_line;
pub use screen::Screen;

use super::action::Action;
use super::keymap::{Keymap, Mode};
use super::screens::audit::AuditScreen;
use super::screens::editor::Editor;
use super::screens::list::ListBuf;
use super::screens::review::ReviewScreen;
use super::screens::search::Search;
use super::screens::stats::StatsScreen;
use super::screens::train::TrainPanel;
use super::theme::Theme;
use super::worker::{Reply, Request};
use crate::llm::Llm;
use crate::store::DatasetInfo;
use crossterm::event::KeyEvent;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;

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

/// Work the reducer asks for; the loop runs it off the event loop. Each answers with one `Msg`
/// (a `Reply` for `Db`, `Regenerated` for `Regenerate`).
pub enum Effect {
    Db(Request),
    /// Give up the commit that waits for another process's write lock (it answers `Failed`).
    CancelWaiting,
    /// Ask the model, then run the verifiers on its answer (`verify::regenerate`).
    Regenerate {
        sample_id: i64,
        job: Box<crate::verify::regenerate::Job>,
    },
}

/// A one-line question at the bottom of the screen.
#[derive(Debug, Clone, PartialEq)]
pub enum Prompt {
    RejectReason {
        sample_id: i64,
        input: String,
    },
    Discard,
    /// A decision by rule on every unreviewed sample the list shows, with the counts read.
    Rule(crate::tui::worker::PlannedRule),
    /// The audit gate refused the train form's start: a reason starts it anyway, on a waiver.
    Waiver {
        input: String,
    },
    /// Stop a running run? `run` names it (id, trainer, dataset, step).
    StopRun {
        run_id: i64,
        run: String,
    },
}

impl Prompt {
    /// Whether the answer is typed text (else it is yes or no: the `[confirm]` keys).
    pub fn takes_text(&self) -> bool {
        matches!(self, Prompt::RejectReason { .. } | Prompt::Waiver { .. })
    }
}

/// A line for the reviewer. It expires, so that it never describes a state that has passed:
/// a notice after the next key (or 8 s), an error after the second key (or 30 s).
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub text: String,
    pub error: bool,
    /// Keys still to come before it goes (a key that says something new replaces it).
    pub keys_left: u8,
    pub at: std::time::Instant,
    /// Tells this message from the one before it, whatever their texts.
    pub serial: u64,
}

static MESSAGE_SERIAL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl Message {
    pub fn new(text: String, error: bool) -> Message {
        Message {
            text,
            error,
            keys_left: if error { 2 } else { 1 },
            at: std::time::Instant::now(),
            serial: MESSAGE_SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        }
    }

    /// How long it stays without a key.
    pub fn lifetime(&self) -> std::time::Duration {
        std::time::Duration::from_secs(if self.error { 30 } else { 8 })
    }
}

pub struct App {
    pub keymap: Keymap,
    pub theme: Theme,
    /// What every screen reads: reviewer, models, datasets, filter, size.
    pub ctx: Context,
    pub screen: Screen,
    /// The help overlay is open (`screens::help`).
    pub help: bool,
    /// The help's first entry shown, when its entries do not all fit (j/k move it).
    pub help_scroll: usize,
    pub prompt: Option<Prompt>,
    pub message: Option<Message>,
    /// Decisions committed in this session (shown; only counted after the commit).
    pub committed: u64,
    /// Requests in flight, for the status bar's jobs.
    pub jobs: usize,
    // The screens' own state.
    pub list: ListBuf,
    pub review: ReviewScreen,
    pub editor: Option<Editor>,
    pub search: Search,
    pub audit: AuditScreen,
    pub stats: StatsScreen,
    pub train: TrainPanel,
    /// Commits in flight (decisions, edits, candidates, takes, reverts); while any is, keys
    /// that depend on its outcome wait in `queued`.
    pub commits: u32,
    /// Seconds the commit in flight has waited for another process's write lock.
    pub waiting: Option<u64>,
    /// A "next unreviewed / failing" lookup is in flight: the keys after it wait for it.
    pub finding: bool,
    pub queued: VecDeque<Msg>,
    pub outbox: Vec<Effect>,
    pub quit: bool,
    pub dirty: bool,
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
            ctx: Context::new(reviewer, db_path, llm),
            screen: Screen::List,
            help: false,
            help_scroll: 0,
            prompt: None,
            message: None,
            committed: 0,
            jobs: 0,
            list: ListBuf::default(),
            review: ReviewScreen::default(),
            editor: None,
            search,
            audit: AuditScreen::default(),
            stats: StatsScreen::default(),
            train: Default::default(),
            commits: 0,
            waiting: None,
            finding: false,
            queued: VecDeque::new(),
            outbox: Vec::new(),
            quit: false,
            dirty: true,
        };
        app.db(Request::Datasets);
        app
    }

    /// Rows of the list on screen (the frame minus header, borders and status bar).
    pub fn list_height(&self) -> usize {
        self.ctx.list_height()
    }

    pub fn dataset_info(&self) -> Option<&DatasetInfo> {
        self.ctx.dataset_info()
    }

    /// Keys wait (in order) while the state they would act on is not there yet: a commit in
    /// flight, a jump of the list (first, last, around a sample, next unreviewed), any page
    /// being read, or the review screen's sample still loading. So every key applies to the
    /// state that the previous key produced, however fast they arrive.
    pub fn blocked(&self) -> bool {
        self.deciding()
            || self.finding
            || self.list.pending.is_some()
            || (self.screen == Screen::Review && self.review.loading.is_some())
    }

    /// A commit is in flight.
    pub fn deciding(&self) -> bool {
        self.commits > 0
    }

    /// The keymap's mode: the prompt (typed or yes/no) and the help overlay first, else the
    /// screen's.
    pub fn mode(&self) -> Mode {
        if let Some(p) = &self.prompt {
            return if p.takes_text() {
                Mode::Prompt
            } else {
                Mode::Confirm
            };
        }
        if self.help {
            return Mode::Help;
        }
        self.screen_mode()
    }

    /// The mode of the screen itself (the help overlay lists its keys).
    pub fn screen_mode(&self) -> Mode {
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
}
