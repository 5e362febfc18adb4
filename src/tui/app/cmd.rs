//! What a screen's reducer asks of the app: the changes it cannot make to its own state (show
//! another screen, open a sample in the list, ask a question) and the work and words that go
//! through the app (requests to the worker, the model, the message line). `App::apply` carries
//! them out in order, so a reducer reads like the code it replaced and stays testable alone.

use super::{App, Effect, Message, Prompt, Screen};
use crate::store::Filter;
use crate::tui::worker::{PageAt, Request};
use crate::verify::regenerate::Job;

pub enum Cmd {
    /// A request to the database worker (a job on the status bar until it answers).
    Db(Request),
    /// A commit (decision, edit, candidate, head move): keys wait in the queue until the worker
    /// says it is committed or failed.
    Commit(Request),
    /// Ask the model, then run the verifiers on its answer (`verify::regenerate`).
    Regenerate {
        sample_id: i64,
        job: Box<Job>,
    },
    Say(String),
    Fail(String),
    Goto(Screen),
    Ask(Prompt),
    /// The review screen on the sample under the list's cursor; Back returns to `from`.
    Review {
        from: Screen,
    },
    /// The review screen on sample `id`, the list narrowed to `filter` (when given) so that
    /// next/prev stay within it; Back returns to `from`.
    OpenSample {
        id: i64,
        filter: Option<Filter>,
        from: Screen,
    },
    /// A page of the list.
    Page(PageAt),
    /// Sample `id` under the list's cursor (and on the review screen if open).
    JumpTo(i64),
    /// The editor is done (saved or left): back to the review screen.
    CloseEditor,
}

impl App {
    pub(super) fn apply(&mut self, cmds: Vec<Cmd>) {
        for cmd in cmds {
            match cmd {
                Cmd::Db(req) => self.db(req),
                Cmd::Commit(req) => {
                    self.commits += 1;
                    self.db(req);
                }
                Cmd::Regenerate { sample_id, job } => {
                    self.jobs += 1;
                    self.outbox.push(Effect::Regenerate { sample_id, job });
                }
                Cmd::Say(text) => self.message = Some(Message::new(text, false)),
                Cmd::Fail(text) => self.message = Some(Message::new(text, true)),
                Cmd::Goto(screen) => self.screen = screen,
                Cmd::Ask(prompt) => self.prompt = Some(prompt),
                Cmd::Review { from } => {
                    self.screen = Screen::Review;
                    self.review.from = from;
                }
                Cmd::OpenSample { id, filter, from } => self.open_sample(id, filter, from),
                Cmd::Page(at) => self.request_page(at),
                Cmd::JumpTo(id) => self.jump_to(id),
                Cmd::CloseEditor => {
                    self.editor = None;
                    self.screen = Screen::Review;
                }
            }
        }
    }

    pub(super) fn db(&mut self, req: Request) {
        if req.kind() == crate::tui::worker::RequestKind::Find {
            self.finding = true;
        }
        self.jobs += 1;
        self.outbox.push(Effect::Db(req));
    }

    pub(super) fn say(&mut self, text: impl Into<String>) {
        self.apply(vec![Cmd::Say(text.into())]);
    }

    pub(super) fn fail(&mut self, text: impl Into<String>) {
        self.apply(vec![Cmd::Fail(text.into())]);
    }
}
