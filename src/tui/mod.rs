//! The terminal workbench: app state, actions, reducer, keymap, theme, screens.
//!
//! One `tokio::select!` loop over terminal events and a channel of results; keys become
//! `Action`s, `App::update` is the only place state changes, rendering is a pure function of
//! `&App`, SQLite runs on a worker thread, and a frame is drawn only when something changed.

pub mod action;
pub mod app;
pub mod harness;
pub mod keymap;
pub mod screens;
pub mod search;
pub mod text;
pub mod theme;
pub mod train_worker;
pub mod ui;
pub mod worker;

use crate::llm::Llm;
use crate::store::Store;
use anyhow::Context;
use app::{App, Effect, Msg};
use crossterm::event::{Event, EventStream, KeyEventKind};
use futures::StreamExt;
use ratatui::Terminal;
use ratatui::backend::Backend;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use worker::Worker;

/// The loop's heartbeat (`Msg::Tick`): messages expire, the editor's draft is written when
/// something was typed, and the train screen polls (every tick while a run is active, so a new
/// point is on the chart within a second).
pub const TICK: Duration = Duration::from_millis(500);
const _: () = assert!(
    TICK.as_millis() <= 1000,
    "a live run's points must poll within 1 s"
);

/// What the TUI is opened with: its own options, so that any front end (the binary, the demo's
/// load, tests) can open it without a command-line type.
#[derive(Debug, Clone)]
pub struct Options {
    /// The SQLite database file.
    pub db: PathBuf,
    /// The name on every review decision.
    pub reviewer: String,
    /// The dataset to open on (the demo's, which shows verdicts); else the first by name.
    pub dataset: Option<String>,
}

/// Opens the TUI on the database named by `opts`.
pub fn run(opts: &Options) -> anyhow::Result<()> {
    // The same rule as every pipeline: a configured endpoint, else the offline model, whose
    // weights load on first use (not before the first frame). Without either the TUI still
    // opens; regenerate then says how to get a model.
    let llm = match crate::llm::select::select_lazy(None, Default::default()) {
        Ok(llm) => Some(llm),
        Err(e) => {
            tracing::warn!("no model for regenerate: {e}");
            None
        }
    };
    run_with_llm(opts, llm)
}

/// What a user without a terminal (`ssh host assay`, a pipe, cron) is told.
const NEEDS_TERMINAL: &str = "assay needs a terminal: use ssh -t (or run a subcommand, e.g. \
                              `assay stats`, which works without one)";

/// The TUI reads keys from stdin and draws on stdout: both must be a terminal. Checked before
/// raw mode is entered, so that no half-initialised screen is left behind.
fn require_terminal() -> anyhow::Result<()> {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() {
        Ok(())
    } else {
        anyhow::bail!(NEEDS_TERMINAL)
    }
}

/// Opens the TUI with a model for `regenerate` (the lead's backend selection passes it in).
pub fn run_with_llm(opts: &Options, llm: Option<Arc<dyn Llm>>) -> anyhow::Result<()> {
    require_terminal()?;
    let keymap = keymap::Keymap::load(&crate::paths::data_dir())?;
    let theme_name = std::env::var("ASSAY_THEME").unwrap_or_else(|_| "dark".into());
    let theme = theme::Theme::named(&theme_name)?;
    let store = Store::open(&opts.db)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    // ratatui::init enters raw mode and the alternate screen, and installs a panic hook that
    // restores the terminal before chaining to the previous hook.
    let mut terminal = ratatui::try_init().context(NEEDS_TERMINAL)?;
    let result = rt.block_on(async {
        let (tx, rx) = unbounded_channel();
        let mut app = new_app(keymap, theme, &opts.reviewer, store, llm, tx.clone())?;
        app.0.ctx.open_on = opts.dataset.clone();
        let size = terminal.size()?;
        app.0.update(Msg::Resize(size.width, size.height));
        event_loop(
            &mut terminal,
            &mut app.0,
            &app.1,
            rx,
            tx,
            EventStream::new(),
        )
        .await
    });
    ratatui::restore();
    result
}

/// Builds the app and its worker thread; results come back on `tx`.
pub fn new_app(
    keymap: keymap::Keymap,
    theme: theme::Theme,
    reviewer: &str,
    store: Store,
    llm: Option<Arc<dyn Llm>>,
    tx: UnboundedSender<Msg>,
) -> anyhow::Result<(App, Worker)> {
    let db_id = store.id().context("reading the database's id")?;
    let notify_tx = tx.clone();
    let notify: Arc<dyn Fn() + Send + Sync> = Arc::new(move || {
        let _ = notify_tx.send(Msg::SearchTick);
    });
    let db_path = store.path().to_path_buf();
    let worker = Worker::spawn(store, move |reply| {
        let _ = tx.send(Msg::Reply(reply));
    });
    let mut app = App::new(keymap, theme, reviewer.to_string(), db_path, llm, notify);
    app.ctx.drafts_dir = crate::paths::data_dir().join("drafts");
    app.ctx.train_form_file = crate::paths::data_dir().join(screens::train::memory::FILE_NAME);
    app.ctx.db_id = db_id;
    app.ctx.judge = crate::verify::regenerate::configured_judge();
    Ok((app, worker))
}

/// The event loop, generic over the backend so that tests and benchmarks can drive it.
pub async fn event_loop<B, S>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    worker: &Worker,
    mut rx: UnboundedReceiver<Msg>,
    tx: UnboundedSender<Msg>,
    mut events: S,
) -> anyhow::Result<()>
where
    B: Backend,
    B::Error: Send + Sync + 'static,
    S: futures::Stream<Item = std::io::Result<Event>> + Unpin,
{
    let mut tick = tokio::time::interval(TICK);
    loop {
        run_effects(app, worker, &tx);
        if app.quit && !app.deciding() {
            return Ok(());
        }
        if app.dirty {
            terminal.draw(|f| ui::draw(app, f))?;
            app.dirty = false;
        }
        tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(Event::Key(k))) if k.kind != KeyEventKind::Release => app.update(Msg::Key(k)),
                Some(Ok(Event::Resize(w, h))) => {
                    terminal.autoresize()?;
                    app.update(Msg::Resize(w, h));
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e).context("reading the terminal"),
                None => return Ok(()),
            },
            Some(msg) = rx.recv() => app.update(msg),
            _ = tick.tick() => {
                let was = app.dirty;
                app.update(Msg::Tick);
                app.dirty = was || app.editor.as_ref().is_some_and(|e| e.draft_dirty);
            }
        }
        // Take everything already waiting before drawing once (yazi's drain-then-draw).
        while let Ok(msg) = rx.try_recv() {
            app.update(msg);
        }
    }
}

/// Hands queued work to the worker thread or to async tasks.
pub fn run_effects(app: &mut App, worker: &Worker, tx: &UnboundedSender<Msg>) {
    for effect in std::mem::take(&mut app.outbox) {
        match effect {
            Effect::Db(req) => worker.send(req),
            Effect::CancelWaiting => worker.cancel_waiting(),
            Effect::Regenerate { sample_id, job } => {
                let tx = tx.clone();
                tokio::spawn(async move {
                    let result = crate::verify::regenerate::run(*job).await;
                    let _ = tx.send(Msg::Regenerated { sample_id, result });
                });
            }
        }
    }
}
