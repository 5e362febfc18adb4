//! The app's state and its one reducer, `App::update`. Keys become `Action`s through the
//! keymap; replies from the database worker and the model come in as messages. The reducer never
//! does I/O: it queues `Effect`s that the event loop (or a test harness) carries out.

use super::action::Action;
use super::editor::Editor;
use super::keymap::{Key, Keymap, Mode};
use super::list::ListBuf;
use super::search::Search;
use super::theme::Theme;
use super::worker::{Detail, PageAt, Reply, Request, StatsPanel};
use crate::audit::AuditStatus;
use crate::llm::{ChatMessage, ChatRequest, ChatResponse, Llm};
use crate::model::{Content, Decision, ReviewStatus};
use crate::store::{DatasetInfo, Filter, SampleRow, Stats};
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
        result: Result<ChatResponse, String>,
    },
    /// The search matcher has news.
    SearchTick,
    /// Periodic: autosave of the editor's draft.
    Tick,
}

/// Work the reducer asks for; the loop runs it off the event loop.
pub enum Effect {
    Db(Request),
    Regenerate {
        sample_id: i64,
        llm: Arc<dyn Llm>,
        request: ChatRequest,
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
    pub summary: Option<Stats>,
    pub undo: VecDeque<i64>,
    /// Decisions committed in this session (shown; only counted after the commit).
    pub committed: u64,
    pub message: Option<Message>,
    /// Requests in flight, for the status bar's jobs.
    pub jobs: usize,
    pub regenerating: Option<i64>,
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
            search: Search::new(search_notify),
            audit: None,
            audit_cursor: 0,
            stats: None,
            summary: None,
            undo: VecDeque::new(),
            committed: 0,
            message: None,
            jobs: 0,
            regenerating: None,
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

    /// The one place state changes.
    pub fn update(&mut self, msg: Msg) {
        self.dirty = true;
        if self.deciding && queue_while_deciding(&msg) {
            self.queued.push_back(msg);
            return;
        }
        match msg {
            Msg::Key(ev) => self.on_key(ev),
            Msg::Action(a) => self.on_action(a),
            Msg::Resize(w, h) => {
                self.size = (w, h);
                let h = self.list_height();
                self.list.scroll_into_view(h);
            }
            Msg::Reply(r) => {
                self.jobs = self.jobs.saturating_sub(1);
                self.on_reply(r);
            }
            Msg::Regenerated { sample_id, result } => self.on_regenerated(sample_id, result),
            Msg::SearchTick => self.search.tick(0),
            Msg::Tick => self.autosave(),
        }
        self.prefetch();
        // Replay what waited for a decision, in order, once it is committed.
        while !self.deciding {
            let Some(m) = self.queued.pop_front() else {
                break;
            };
            self.update(m);
        }
    }

    fn on_key(&mut self, ev: KeyEvent) {
        let mode = self.mode();
        let action = Key::from_event(&ev).and_then(|k| self.keymap.action(mode, &k));
        match (action, mode) {
            (Some(a), _) => self.on_action(a),
            (None, Mode::Editor) => {
                if let Some(e) = &mut self.editor
                    && e.area.input(ev)
                {
                    e.modified = true;
                    e.draft_dirty = true;
                }
            }
            (None, Mode::Search) => self.search_input(ev),
            (None, Mode::Prompt) => {
                if let Some(Prompt::RejectReason { input, .. }) = &mut self.prompt {
                    edit_line(input, ev);
                }
            }
            _ => {}
        }
    }

    fn on_action(&mut self, a: Action) {
        if self.prompt.is_some() {
            return self.prompt_action(a);
        }
        if self.help {
            if matches!(a, Action::Back | Action::Help | Action::Quit) {
                self.help = false;
            }
            return;
        }
        match a {
            Action::NoOp => {}
            Action::Quit => self.quit = true,
            Action::Help => self.help = true,
            Action::Search => self.open_search(),
            Action::ListScreen => self.screen = Screen::List,
            Action::AuditScreen => self.open_audit(),
            Action::StatsScreen => self.open_stats(),
            Action::NextDataset => self.next_dataset(),
            _ => match self.screen {
                Screen::Editor => self.editor_action(a),
                Screen::Search => self.search_action(a),
                Screen::Audit => self.audit_action(a),
                Screen::Stats => {
                    if a == Action::Back {
                        self.screen = Screen::List;
                    }
                }
                Screen::List | Screen::Review => self.review_action(a),
            },
        }
    }

    fn next_dataset(&mut self) {
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
    fn prefetch(&mut self) {
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

    fn review_action(&mut self, a: Action) {
        let h = self.list_height();
        let in_review = self.screen == Screen::Review;
        match a {
            Action::Next | Action::Skip => self.list.move_by(1, h),
            Action::Prev => self.list.move_by(-1, h),
            Action::PageDown => self.list.move_by(h as isize, h),
            Action::PageUp => self.list.move_by(-(h as isize), h),
            Action::First => self.request_page(PageAt::Start),
            Action::Last => self.request_page(PageAt::End),
            Action::Open => {
                self.screen = Screen::Review;
                self.review_from = Screen::List;
            }
            Action::Back => self.screen = self.review_from,
            Action::ScrollDown => self.scroll = self.scroll.saturating_add(1),
            Action::ScrollUp => self.scroll = self.scroll.saturating_sub(1),
            Action::ToggleHistory => self.show_history = !self.show_history,
            Action::Accept => self.decide(Decision::Accept, String::new()),
            Action::Reject => self.decide(Decision::Reject, String::new()),
            Action::Flag => self.decide(Decision::Flag, String::new()),
            Action::RejectWithReason => {
                if let Some(id) = self.list.current().map(|r| r.id) {
                    self.prompt = Some(Prompt::RejectReason {
                        sample_id: id,
                        input: String::new(),
                    });
                }
            }
            Action::Undo => self.undo_last(),
            Action::NextUnreviewed => {
                self.find_next(|f| f.statuses = vec![ReviewStatus::Unreviewed])
            }
            Action::NextFailing => self.find_next(|f| {
                f.verdicts = vec![
                    crate::model::VerdictSummary::Fail,
                    crate::model::VerdictSummary::Mixed,
                ]
            }),
            Action::Edit => self.open_editor(),
            Action::Regenerate => self.regenerate(),
            _ => {}
        }
        if in_review || self.screen == Screen::Review {
            self.load_detail();
        }
    }

    fn find_next(&mut self, narrow: impl FnOnce(&mut Filter)) {
        let after = self.list.current().map_or(0, |r| r.id);
        let mut filter = self.filter.clone();
        narrow(&mut filter);
        let seq = self.next_seq();
        self.db(Request::Find { seq, filter, after });
    }

    /// Sends a decision; the screen shows it only when the worker says it is committed.
    pub(super) fn decide(&mut self, decision: Decision, reason: String) {
        let Some(id) = self.list.current().map(|r| r.id) else {
            return self.fail("no sample selected");
        };
        self.deciding = true;
        self.db(Request::Decide {
            sample_id: id,
            decision,
            reason,
            reviewer: self.reviewer.clone(),
            undo: false,
        });
    }

    fn undo_last(&mut self) {
        let Some(id) = self.undo.pop_back() else {
            return self.say("nothing to undo");
        };
        self.deciding = true;
        self.db(Request::Decide {
            sample_id: id,
            decision: Decision::Retract,
            reason: "undo".into(),
            reviewer: self.reviewer.clone(),
            undo: true,
        });
    }

    fn prompt_action(&mut self, a: Action) {
        let Some(prompt) = self.prompt.take() else {
            return;
        };
        match (prompt, a) {
            (Prompt::RejectReason { sample_id, input }, Action::Confirm) => {
                if self.list.current().map(|r| r.id) == Some(sample_id) {
                    self.decide(Decision::Reject, input.trim().to_string());
                }
            }
            (Prompt::Discard, Action::Confirm) => {
                if let Some(e) = self.editor.take() {
                    self.db(Request::RemoveDraft { path: e.draft_path });
                }
                self.screen = Screen::Review;
                self.say("edit discarded");
            }
            (_, Action::Cancel) => {}
            (p, _) => self.prompt = Some(p),
        }
    }

    fn regenerate(&mut self) {
        let Some(llm) = self.llm.clone() else {
            return self.fail(
                "regenerate needs a model: none is configured (see `assay model` or set an \
                 OpenAI-compatible endpoint)",
            );
        };
        let Some(d) = &self.detail else {
            return self.say("open a sample first");
        };
        let c = &d.record.head.content;
        let mut messages = Vec::new();
        if let Some(s) = &c.system {
            messages.push(ChatMessage::system(s.clone()));
        }
        messages.push(ChatMessage::user(c.question().unwrap_or("").to_string()));
        let sample_id = d.record.id;
        self.regenerating = Some(sample_id);
        self.jobs += 1;
        self.say(format!(
            "regenerating #{sample_id} with {}…",
            llm.describe()
        ));
        self.outbox.push(Effect::Regenerate {
            sample_id,
            llm,
            request: ChatRequest {
                messages,
                ..ChatRequest::default()
            },
        });
    }

    fn on_regenerated(&mut self, sample_id: i64, result: Result<ChatResponse, String>) {
        self.jobs = self.jobs.saturating_sub(1);
        self.regenerating = None;
        match result {
            Err(e) => self.fail(format!("regenerate #{sample_id} failed: {e}")),
            Ok(resp) => {
                let Some(d) = self.detail.as_ref().filter(|d| d.record.id == sample_id) else {
                    return self.fail(format!("#{sample_id} is no longer open; answer dropped"));
                };
                let mut content: Content = d.record.head.content.clone();
                match content
                    .turns
                    .iter_mut()
                    .rev()
                    .find(|t| t.role == crate::model::Role::Assistant)
                {
                    Some(t) => {
                        t.content = resp.text;
                        t.reasoning = None;
                    }
                    None => content.turns.push(crate::model::Turn::assistant(resp.text)),
                }
                self.show_history = true;
                self.db(Request::SaveRevision {
                    sample_id,
                    content: Box::new(content),
                    author: format!("gen:regenerate {}", resp.model),
                });
            }
        }
    }
}

/// Messages that must wait while a decision commits, so that they act on the sample the
/// reviewer sees after it (`aaa` accepts three samples, not one three times).
fn queue_while_deciding(msg: &Msg) -> bool {
    matches!(msg, Msg::Key(_) | Msg::Action(_))
}

/// Edits a one-line input with a key: characters, backspace.
pub(super) fn edit_line(input: &mut String, ev: KeyEvent) {
    use crossterm::event::KeyCode;
    match ev.code {
        KeyCode::Char(c) => input.push(c),
        KeyCode::Backspace => {
            input.pop();
        }
        _ => {}
    }
}
