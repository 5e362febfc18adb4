//! The review workbench on a generated database of 1,000,000 samples: time to first frame,
//! keypress-to-frame p50/p99 for j, k, PageDown, G, and for typing a search the time from each
//! key to the first screenful of results (3+ characters through the trigram index, 1-2 by a
//! streamed scan), the index's one-off catch-up, and peak memory. Goals: first frame < 100 ms,
//! p99 < 16 ms, search < 30 ms per keystroke (median), < 150 MB.
//!
//! Runs the real app with its real database thread; frames are encoded by the crossterm backend
//! into a sink (what a terminal would receive). `ASSAY_BENCH_DB=path` reuses a generated file;
//! `ASSAY_BENCH_N` changes the size. The database is generated in a child process so that the
//! peak memory printed is the workbench's own.

use assay::model::{Content, NewSample, SampleKind, SampleMeta, Source, Turn};
use assay::store::{ImportRecord, Store};
use assay::tui::app::{App, Msg};
use assay::tui::harness::key_event;
use assay::tui::keymap::Keymap;
use assay::tui::theme::Theme;
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};
use std::path::{Path, PathBuf};

use std::time::{Duration, Instant};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

const WORDS: [&str; 16] = [
    "增值税",
    "企业所得税",
    "个人所得税",
    "税率",
    "发票",
    "抵扣",
    "小规模纳税人",
    "申报",
    "invoice",
    "deduction",
    "quarterly",
    "refund",
    "payroll",
    "audit",
    "export",
    "customs",
];

fn generate(path: &Path, n: usize) -> anyhow::Result<()> {
    let mut store = Store::open(path)?;
    // A cache larger than the random-hash unique index, so that a million inserts do not
    // re-read index pages from disk (this process only; the bench process keeps the default).
    // Foreign keys off while generating: the store's deferred samples <-> revisions keys make
    // SQLite scan `samples` (no index on head_revision_id) at every revision insert, which is
    // quadratic on a million rows. The generated rows are consistent by construction.
    store
        .conn()
        .execute_batch("PRAGMA cache_size = -1000000; PRAGMA foreign_keys = OFF;")?;
    let ds = store.ensure_dataset("bench")?;
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut done = 0;
    while done < n {
        let mut b = store.import_batch(ds, "bench")?;
        for i in done..(done + 100_000).min(n) {
            let r = next();
            let w = |k: u64| WORDS[((r >> (k * 4)) % 16) as usize];
            let q = format!(
                "第{i}题：{}和{}的{}怎么计算？{} {}",
                w(0),
                w(1),
                w(2),
                w(3),
                w(4)
            );
            let a = format!("答：按{}计算，{}为{}元。", w(5), w(6), r % 100_000);
            let cot = r % 3 == 0;
            let mut ans = Turn::assistant(a);
            if cot {
                ans = ans.with_reasoning(format!("先确认{}。再计算{}。", w(7), w(8)));
            }
            let inserted = b.insert(&ImportRecord::new(NewSample {
                kind: if cot { SampleKind::Cot } else { SampleKind::Qa },
                content: Content {
                    turns: vec![Turn::user(q), ans],
                    ..Content::default()
                },
                source: Source::File {
                    path: "bench.jsonl".into(),
                    line: i as u64 + 1,
                },
                meta: SampleMeta {
                    aspect: Some(w(9).to_string()),
                    ..SampleMeta::default()
                },
            })?)?;
            // Half the samples judged, with spread scores, for the list sorted by score.
            if matches!(inserted, assay::store::InsertOutcome::Inserted(_)) && r % 2 == 0 {
                let score = (r >> 20) % 101;
                b.add_verdict(
                    b.last_revision_id(),
                    &assay::model::NewVerdict {
                        verifier: "judge".into(),
                        model: None,
                        passed: score >= 50,
                        score: Some(score as f64 / 100.0),
                        rationale: String::new(),
                        first_wrong_step: None,
                    },
                )?;
            }
        }
        b.commit()?;
        done = (done + 100_000).min(n);
    }
    Ok(())
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

struct Bench {
    app: App,
    worker: assay::tui::worker::Worker,
    rx: UnboundedReceiver<Msg>,
    tx: tokio::sync::mpsc::UnboundedSender<Msg>,
    term: Terminal<CrosstermBackend<std::io::Sink>>,
}

impl Bench {
    fn draw(&mut self) {
        let app = &self.app;
        self.term
            .draw(|f| assay::tui::ui::draw(app, f))
            .map(|_| ())
            .unwrap_or_else(|e| panic!("draw: {e}"));
    }

    /// Hands effects to the worker and applies replies until `done` holds (or 10 s pass).
    fn pump(&mut self, done: impl Fn(&App) -> bool) {
        self.pump_for(Duration::from_secs(10), done)
    }

    fn pump_for(&mut self, limit: Duration, done: impl Fn(&App) -> bool) {
        let start = Instant::now();
        loop {
            assay::tui::run_effects(&mut self.app, &self.worker, &self.tx);
            if done(&self.app) || start.elapsed() > limit {
                return;
            }
            match self.rx.try_recv() {
                Ok(m) => self.app.update(m),
                Err(_) => std::thread::sleep(Duration::from_micros(50)),
            }
        }
    }

    /// Settles background work (prefetches) outside the timed region, as at a human's pace.
    fn idle(&mut self) {
        self.pump(|a| a.jobs == 0);
        self.draw();
    }

    /// Waits until the search's current pass is done (outside the timed region).
    fn search_settle(&mut self) {
        let start = Instant::now();
        while self.app.search.running && start.elapsed() < Duration::from_secs(120) {
            self.pump_for(Duration::from_millis(5), |_| false);
            self.app.search.tick(5);
        }
        self.draw();
    }

    /// Types `query` `rounds` times, erasing it after each round; returns the time from each
    /// key to the first screenful of results drawn.
    /// The match count of the whole query is printed after the first round.
    fn type_query(&mut self, query: &str, rounds: usize) -> Vec<Duration> {
        let screen = self.app.list_height();
        let mut out = Vec::new();
        for _ in 0..rounds {
            for c in query.chars() {
                let t = Instant::now();
                self.app.update(Msg::Key(crossterm::event::KeyEvent::new(
                    crossterm::event::KeyCode::Char(c),
                    crossterm::event::KeyModifiers::NONE,
                )));
                loop {
                    self.app.search.tick(1);
                    let s = &self.app.search;
                    if !s.running
                        || (s.results.generation == s.seq && s.results.hits.len() >= screen)
                    {
                        break;
                    }
                }
                self.draw();
                out.push(t.elapsed());
                // The rest of the pass runs on; a person types the next key ~100 ms later.
                std::thread::sleep(Duration::from_millis(100));
            }
            self.search_settle();
            if out.len() == query.chars().count() {
                println!(
                    "matches for {query:?}: {} (best {} kept, {})",
                    self.app.search.matched(),
                    self.app.search.shown(),
                    if self.app.search.results.indexed {
                        "trigram prefilter"
                    } else {
                        "scan"
                    }
                );
            }
            for _ in 0..query.chars().count() {
                self.app.update(Msg::Key(key_event("backspace")));
            }
            self.search_settle();
        }
        out
    }

    /// A key that commits (a decision, an undo, a save): the time from the key to the frame
    /// that shows it committed.
    fn commit_key(&mut self, k: &str) -> Duration {
        let t = Instant::now();
        self.app.update(Msg::Key(key_event(k)));
        self.pump(|a| !a.blocked());
        self.draw();
        let d = t.elapsed();
        self.idle();
        d
    }

    /// Key `k` pressed `n` times, each timed.
    fn repeat(&mut self, k: &str, n: usize) -> Vec<Duration> {
        (0..n).map(|_| self.key(k)).collect()
    }

    /// `G` timed `n` times, each followed by an untimed `g` back to the start.
    fn last_and_back(&mut self, n: usize) -> Vec<Duration> {
        (0..n)
            .map(|_| {
                let d = self.key("G");
                self.key("g");
                d
            })
            .collect()
    }

    fn key(&mut self, k: &str) -> Duration {
        let before = self.app.list.cursor;
        let before_id = self.app.list.current().map(|r| r.id);
        let t = Instant::now();
        self.app.update(Msg::Key(key_event(k)));
        self.pump(|a| {
            a.list.pending.is_none()
                || (a.list.cursor != before && a.list.current().map(|r| r.id) != before_id)
        });
        self.draw();
        let d = t.elapsed();
        self.idle();
        d
    }
}

fn decision_keys(b: &mut Bench, how: &str) {
    println!("decisions, {how}:");
    let (mut a, mut x, mut u, mut save) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..200 {
        a.push(b.commit_key("a"));
        u.push(b.commit_key("u"));
        x.push(b.commit_key("x"));
        u.push(b.commit_key("u"));
    }
    for _ in 0..50 {
        b.app.update(Msg::Key(key_event("e")));
        b.pump(|a| a.editor.is_some());
        b.app.update(Msg::Key(key_event("!")));
        save.push(b.commit_key("ctrl-s"));
        u.push(b.commit_key("u"));
    }
    report("a (accept)", a);
    report("x (reject)", x);
    report("u (undo)", u);
    report("edit save", save);
}

fn pct(mut v: Vec<Duration>, p: f64) -> f64 {
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i].as_secs_f64() * 1000.0
}

fn report(name: &str, v: Vec<Duration>) {
    println!(
        "{name:<22} n={:<5} p50 {:>7.3} ms   p99 {:>7.3} ms   max {:>7.3} ms",
        v.len(),
        pct(v.clone(), 0.5),
        pct(v.clone(), 0.99),
        pct(v, 1.0)
    );
}

fn main() -> anyhow::Result<()> {
    let n: usize = std::env::var("ASSAY_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    if let Ok(path) = std::env::var("ASSAY_BENCH_GENERATE") {
        return generate(Path::new(&path), n);
    }
    let tmp = tempfile::tempdir()?;
    let db: PathBuf = match std::env::var("ASSAY_BENCH_DB") {
        Ok(p) => PathBuf::from(p),
        Err(_) => tmp.path().join("bench.db"),
    };
    if !db.exists() {
        let t = Instant::now();
        let st = std::process::Command::new(std::env::current_exe()?)
            .env("ASSAY_BENCH_GENERATE", &db)
            .status()?;
        anyhow::ensure!(st.success(), "generating the database failed");
        println!(
            "generated {n} samples in {:.1} s",
            t.elapsed().as_secs_f64()
        );
    }

    // Time to first frame: open the store, start the worker, draw the first page of rows.
    let t0 = Instant::now();
    let store = Store::open(&db)?;
    // ASSAY_BENCH_SYNC=NORMAL measures decisions without the durable commit, for comparison.
    let sync = std::env::var("ASSAY_BENCH_SYNC").unwrap_or_else(|_| "FULL".into());
    store.conn().pragma_update(None, "synchronous", &sync)?;
    let (tx, rx) = unbounded_channel();
    let (app, worker) = assay::tui::new_app(
        Keymap::shipped(false)?,
        Theme::named("dark")?,
        "bench",
        store,
        None,
        tx.clone(),
    )?;
    let term = Terminal::with_options(
        CrosstermBackend::new(std::io::sink()),
        TerminalOptions {
            viewport: Viewport::Fixed(Rect::new(0, 0, 160, 48)),
        },
    )?;
    let mut b = Bench {
        app,
        worker,
        rx,
        tx,
        term,
    };
    b.app.update(Msg::Resize(160, 48));
    b.pump(|a| a.list.loaded);
    b.draw();
    let first = t0.elapsed();
    b.idle();
    println!("samples                {n}");
    println!(
        "time to first frame    {:.1} ms (goal < 100 ms)",
        first.as_secs_f64() * 1000.0
    );

    report("j", b.repeat("j", 2000));
    report("k", b.repeat("k", 1000));
    report("PageDown", b.repeat("pagedown", 300));
    report("G (last of 1M)", b.last_and_back(50));
    // The list sorted (`o` cycles import order -> weakest score -> longest -> shortest): the
    // same keys, paged through the (dataset, key, id) indexes.
    for name in ["sort:score", "sort:-length"] {
        let o = b.key("o");
        println!(
            "{name:<22} {:.2} ms to re-sort around the cursor",
            o.as_secs_f64() * 1000.0
        );
        report(&format!("j ({name})"), b.repeat("j", 1000));
        report(&format!("PageDown ({name})"), b.repeat("pagedown", 200));
        report(&format!("G ({name})"), b.last_and_back(20));
    }
    b.key("o");
    b.key("o");
    println!("(goal: keypress to frame p99 < 16 ms)");

    // Decisions on the million-sample database, key to committed frame: accept then undo,
    // reject then undo, and an edit saved then undone (each a durable commit).
    decision_keys(&mut b, &format!("synchronous = {sync}"));

    // Search: open it (the trigram index starts catching up in the background; searches scan
    // meanwhile), then type queries one key at a time. The figure is the time from the key to
    // the first screenful of results drawn (the rest of the pass continues off the loop).
    println!(
        "peak memory so far     {:.1} MB (list and review, before search)",
        peak_rss_mb()
    );
    let t = Instant::now();
    b.app.update(Msg::Key(key_event("/")));
    b.search_settle();
    println!(
        "search open            {:.1} ms (whole pass: filters only, first 1000 rows and an exact count)",
        t.elapsed().as_secs_f64() * 1000.0
    );
    // Keystrokes while the index is still being built: the scan path.
    let before_index = b.type_query("增值税", 3);
    report("search (index building)", before_index);
    let t = Instant::now();
    b.pump_for(Duration::from_secs(900), |a| !a.search.indexing());
    println!(
        "search index catch-up  {:.1} s for {n} samples (background, once; then only new revisions)",
        t.elapsed().as_secs_f64()
    );
    let query = "增值税 税率 refund";
    let typing = b.type_query(query, 5);
    report("search keystroke", typing);
    let short = b.type_query("税率", 5);
    report("search 1-2 chars", short);
    let rare = b.type_query("第999999题", 3);
    report("search rare (indexed)", rare);
    println!("(goal: search < 30 ms per keystroke to the first screenful, median)");
    println!(
        "peak memory (VmHWM)    {:.1} MB (goal < 150 MB)",
        peak_rss_mb()
    );
    fzf_peer(&db, tmp.path())?;
    Ok(())
}

/// The peer: fzf's non-interactive filter over the same texts, once per keystroke's query.
fn fzf_peer(db: &Path, dir: &Path) -> anyhow::Result<()> {
    if std::process::Command::new("fzf")
        .arg("--version")
        .output()
        .is_err()
    {
        println!("peer: fzf not installed (apt-get install fzf), no comparison");
        return Ok(());
    }
    let store = Store::open(db)?;
    let file = dir.join("texts.txt");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&file)?);
    store.for_each_search_text(&assay::store::Filter::default(), 60, |id, text| {
        use std::io::Write;
        writeln!(out, "{id} {}", text.replace('\n', " ")).is_ok()
    })?;
    drop(out);
    let mut times = Vec::new();
    let query = "增值税 税率 refund";
    let mut prefix = String::new();
    for c in query.chars() {
        prefix.push(c);
        if prefix.ends_with(' ') {
            continue;
        }
        let t = Instant::now();
        let o = std::process::Command::new("fzf")
            .args(["--filter", &prefix])
            .stdin(std::fs::File::open(&file)?)
            .output()?;
        times.push(t.elapsed());
        if prefix == query {
            println!(
                "peer fzf matches       {}",
                o.stdout
                    .split(|b| *b == b'\n')
                    .filter(|l| !l.is_empty())
                    .count()
            );
        }
    }
    report("peer fzf --filter", times);
    Ok(())
}
