//! Terminal injection: escape sequences, C1 controls, bidi overrides, invisible characters, very
//! long lines and stacks of combining marks placed in samples, verdicts, reviews, dataset and
//! file names, model names and error messages. Every TUI screen is rendered through ratatui's
//! real `CrosstermBackend` into a byte buffer, and the bytes are checked: no payload raw, and no
//! control sequence but the cursor moves and colours crossterm itself writes.

#[path = "support/reliability.rs"]
mod rel;
mod support;

use assay::llm::config::EndpointConfig;
use assay::llm::openai::OpenAiClient;
use assay::model::{
    Content, Decision, NewSample, NewVerdict, SampleKind, SampleMeta, Source, Turn,
};
use assay::store::{ImportRecord, Store};
use assay::tui::harness::Harness;
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::{Reply, TestServer};

/// The payloads: each is something a terminal would act on, or that would hide or reorder text.
fn payloads() -> Vec<(&'static str, String)> {
    let mut v: Vec<(&'static str, String)> = vec![
        ("CSI clear", "\u{1b}[2J".into()),
        ("CSI cursor home", "\u{1b}[H".into()),
        ("CSI SGR hidden", "\u{1b}[8mhidden\u{1b}[0m".into()),
        ("CSI erase line", "\u{1b}[2K\r".into()),
        ("CSI device status report", "\u{1b}[6n".into()),
        ("CSI window title report", "\u{1b}[21t".into()),
        ("OSC 0 title BEL", "\u{1b}]0;pwned\u{7}".into()),
        ("OSC 2 title ST", "\u{1b}]2;pwned\u{1b}\\".into()),
        (
            "OSC 8 hyperlink",
            "\u{1b}]8;;https://evil.example/\u{1b}\\click\u{1b}]8;;\u{1b}\\".into(),
        ),
        (
            "OSC 52 clipboard",
            "\u{1b}]52;c;Y3VybCBldmlsfHNo\u{7}".into(),
        ),
        ("DCS", "\u{1b}P+q544e\u{1b}\\".into()),
        ("APC", "\u{1b}_Gf=100;payload\u{1b}\\".into()),
        ("PM", "\u{1b}^privacy message\u{1b}\\".into()),
        ("SOS", "\u{1b}Xstart of string\u{1b}\\".into()),
        ("BEL", "ding\u{7}ding".into()),
        ("backspace overwrite", "safe\u{8}\u{8}\u{8}\u{8}evil".into()),
        ("8-bit CSI", "\u{9b}2J".into()),
        ("8-bit OSC", "\u{9d}0;pwned\u{9c}".into()),
        ("8-bit DCS", "\u{90}q\u{9c}".into()),
        ("NEL", "line\u{85}next".into()),
        ("RLO", "\u{202e}exe.txt".into()),
        ("LRO", "\u{202d}abc".into()),
        ("RLE PDF", "\u{202b}abc\u{202c}".into()),
        ("LRE", "\u{202a}abc".into()),
        ("RLI", "\u{2067}isolate\u{2069}".into()),
        ("LRI FSI", "\u{2066}a\u{2068}b\u{2069}".into()),
        ("zero-width space", "pay\u{200b}pal".into()),
        ("ZWNJ ZWJ", "a\u{200c}b\u{200d}c".into()),
        ("word joiner BOM", "a\u{2060}b\u{feff}c".into()),
        ("line separator", "one\u{2028}two".into()),
        ("paragraph separator", "one\u{2029}two".into()),
        (
            "combining stack",
            format!("Z{}", "\u{301}\u{316}\u{33f}".repeat(30)),
        ),
        ("very long line", "长".repeat(50_000)),
        ("NUL and DEL", "a\u{0}b\u{7f}c".into()),
        ("CR overwrite", "approved\rrejected".into()),
    ];
    // Every C1 control, U+0080..=U+009F.
    let c1: String = (0x80u32..=0x9f)
        .map(|n| char::from_u32(n).unwrap())
        .collect();
    v.push(("C1 controls", c1));
    v
}

/// True for characters that must never be written raw.
fn forbidden(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1a}' | '\u{1c}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200b}'..='\u{200f}'
        | '\u{2060}'..='\u{2064}' | '\u{feff}' | '\u{2028}' | '\u{2029}' | '\u{061c}')
}

/// Checks the bytes one frame wrote: valid UTF-8; every ESC starts a CSI with a final byte
/// crossterm uses for drawing (cursor position, colours, cursor shown/hidden); no other
/// control, no bidi or invisible character; no run of combining marks longer than the
/// sanitiser allows; and no payload, whole, anywhere.
fn check_bytes(bytes: &[u8], payloads: &[(&str, String)], screen: &str) -> usize {
    let text = std::str::from_utf8(bytes).unwrap_or_else(|e| panic!("{screen}: not UTF-8: {e}"));
    let mut chars = text.chars().peekable();
    let mut sequences = 0;
    let mut marks = 0;
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            assert_eq!(chars.next(), Some('['), "{screen}: ESC not starting a CSI");
            let mut params = String::new();
            let fin = loop {
                let p = chars.next().unwrap_or_else(|| panic!("{screen}: cut CSI"));
                if ('\u{40}'..='\u{7e}').contains(&p) {
                    break p;
                }
                params.push(p);
            };
            assert!(
                matches!(fin, 'H' | 'm') || (matches!(fin, 'h' | 'l') && params == "?25"),
                "{screen}: CSI {params:?}{fin} is not one crossterm draws with"
            );
            sequences += 1;
            marks = 0;
            continue;
        }
        assert!(
            !forbidden(c),
            "{screen}: raw U+{:04X} on the terminal",
            c as u32
        );
        if c as u32 >= 0x300 && unicode_width::UnicodeWidthChar::width(c) == Some(0) {
            marks += 1;
            assert!(
                marks <= 4,
                "{screen}: a stack of combining marks reached the terminal"
            );
        } else {
            marks = 0;
        }
    }
    for (name, p) in payloads {
        // The long line is legitimate text (it is cut, not escaped); the rest must not appear.
        if *name == "very long line" {
            continue;
        }
        assert!(
            rel::occurrences(bytes, p.as_bytes()) == 0,
            "{screen}: payload {name} written raw"
        );
    }
    sequences
}

/// Renders the app's current screen through a real crossterm backend into bytes.
fn render(h: &Harness, w: u16, hgt: u16) -> Vec<u8> {
    let sink = Sink::default();
    let backend = CrosstermBackend::new(sink.clone());
    let mut term = Terminal::with_options(
        backend,
        TerminalOptions {
            viewport: Viewport::Fixed(Rect::new(0, 0, w, hgt)),
        },
    )
    .unwrap();
    term.draw(|f| assay::tui::ui::draw(&h.app, f)).unwrap();
    drop(term);
    sink.0.lock().unwrap().clone()
}

/// The terminal: every byte the backend writes, kept.
#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn hostile_store(db: &std::path::Path, payloads: &[(&str, String)]) -> Store {
    let mut store = Store::open(db).unwrap();
    // The first dataset holds a sample per payload; one more dataset is named after each.
    let main = store
        .ensure_dataset(&format!("恶意{}", payloads[0].1))
        .unwrap();
    for (k, (_, p)) in payloads.iter().enumerate() {
        let ds = store.ensure_dataset(&format!("ds{k}{p}")).unwrap();
        for (target, j) in [(main, k), (ds, k + 1000)] {
            let content = Content {
                system: Some(format!("system {p}")),
                turns: vec![
                    Turn::user(format!("question {j} {p} end")),
                    Turn::assistant(format!("answer {p}"))
                        .with_reasoning(format!("1. first {p}\n2. second {p}\n3. third")),
                ],
                golden: Some(format!("golden {p}")),
                ..Content::default()
            };
            let sample = NewSample {
                kind: SampleKind::Cot,
                content,
                source: Source::File {
                    path: format!("/data/{p}.jsonl"),
                    line: j as u64,
                },
                meta: SampleMeta {
                    aspect: Some(format!("aspect{p}")),
                    topic: Some(format!("topic{p}")),
                    tags: vec![format!("tag{p}")],
                    ..SampleMeta::default()
                },
            };
            let mut batch = store.import_batch(target, &format!("importer{p}")).unwrap();
            batch.insert(&ImportRecord::new(sample).unwrap()).unwrap();
            batch.commit().unwrap();
        }
    }
    let rows = store
        .list_page(&assay::store::Filter::dataset(main), None, 1000)
        .unwrap();
    for (i, r) in rows.iter().enumerate() {
        let p = &payloads[i % payloads.len()].1;
        let mut c = store.sample(r.id).unwrap().head.content.clone();
        c.turns[1].content = format!("edited {p}");
        let rev = store
            .add_revision(r.id, &c, &format!("author{p}"))
            .unwrap()
            .id;
        store
            .add_verdict(
                rev,
                &NewVerdict {
                    verifier: format!("judge{p}"),
                    model: Some(format!("model{p}")),
                    passed: i % 2 == 0,
                    score: Some(0.5),
                    rationale: format!("rationale {p} end"),
                    first_wrong_step: Some(2),
                },
            )
            .unwrap();
        store
            .add_review(
                r.id,
                rev,
                &format!("rev{p}"),
                Decision::Flag,
                &format!("reason {p}"),
            )
            .unwrap();
    }
    store
}

#[test]
fn no_payload_reaches_the_terminal_raw_on_any_screen() {
    let payloads = payloads();
    assert!(payloads.len() >= 30);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hostile.db");
    drop(hostile_store(&db, &payloads));

    // A real OpenAI-compatible server whose answers and errors carry payloads, for regenerate.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let bad = payloads.clone();
    let server = rt.block_on(TestServer::start(Duration::ZERO, move |r| {
        let p = &bad[r.n % bad.len()].1;
        if r.n % 2 == 0 {
            Reply::text(format!("regenerated {p}"))
        } else {
            Reply::StatusBody {
                code: 400,
                body: format!(
                    "{{\"error\": {{\"message\": \"bad {}\"}}}}",
                    p.escape_default()
                ),
            }
        }
    }));
    let mut cfg = EndpointConfig::new(server.base_url.clone(), format!("m{}", payloads[6].1));
    cfg.max_retries = 0;
    let llm: Arc<dyn assay::llm::Llm> = Arc::new(OpenAiClient::new(cfg).unwrap());

    let mut screens = 0;
    let mut sequences = 0;
    let mut bytes_total = 0;
    for (w, hgt) in [(80u16, 24u16), (160, 48), (30, 8)] {
        let mut h = Harness::new(Store::open(&db).unwrap(), w, hgt, Some(llm.clone())).unwrap();
        let mut shoot = |h: &mut Harness, label: &str| {
            let bytes = render(h, w, hgt);
            sequences += check_bytes(&bytes, &payloads, &format!("{label} {w}x{hgt}"));
            bytes_total += bytes.len();
            screens += 1;
        };
        shoot(&mut h, "list");
        for i in 0..8 {
            h.keys("enter");
            shoot(&mut h, &format!("review #{i}"));
            h.keys("h");
            shoot(&mut h, &format!("history #{i}"));
            h.keys("pagedown pagedown");
            shoot(&mut h, &format!("review scrolled #{i}"));
            h.keys("r");
            shoot(&mut h, &format!("regenerated #{i}"));
            h.keys("e");
            shoot(&mut h, &format!("editor #{i}"));
            h.keys("esc esc");
            h.keys("esc");
            h.keys("j j j");
            shoot(&mut h, &format!("list #{i}"));
        }
        h.keys("X");
        h.type_text(&payloads[6].1);
        shoot(&mut h, "reject prompt");
        h.keys("esc");
        h.keys("/");
        h.type_text("question");
        shoot(&mut h, "search");
        h.keys("esc");
        h.keys("A");
        shoot(&mut h, "audit");
        h.keys("S");
        shoot(&mut h, "stats");
        h.keys("?");
        shoot(&mut h, "help");
        h.keys("esc L");
        for k in 0..payloads.len() {
            h.keys("D");
            shoot(&mut h, &format!("dataset {k}"));
        }
    }

    // File names: a data file named with a payload, imported by the real binary; its output and
    // the dataset name it makes (the file's stem) are checked too.
    let mut files = 0;
    for (name, p) in &payloads {
        if p.contains('/') || p.contains('\0') || p.len() > 200 {
            continue;
        }
        let file = dir.path().join(format!("f{files}{p}.jsonl"));
        std::fs::write(&file, "{\"instruction\": \"q\", \"output\": \"a\"}\n").unwrap();
        let out = Command::new(rel::bin())
            .arg("--db")
            .arg(dir.path().join("files.db"))
            .env("ASSAY_HOME", dir.path().join("home"))
            .arg("import")
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        for stream in [&out.stdout, &out.stderr] {
            assert_eq!(
                rel::occurrences(stream, p.as_bytes()),
                0,
                "{name}: `assay import` printed the file name raw"
            );
        }
        files += 1;
    }
    let mut h = Harness::new(
        Store::open(&dir.path().join("files.db")).unwrap(),
        100,
        30,
        None,
    )
    .unwrap();
    for k in 0..files {
        let bytes = render(&h, 100, 30);
        sequences += check_bytes(&bytes, &payloads, &format!("file dataset {k}"));
        screens += 1;
        h.keys("enter");
        let bytes = render(&h, 100, 30);
        check_bytes(&bytes, &payloads, &format!("file sample {k}"));
        h.keys("esc D");
    }
    rel::figures(
        "terminal",
        &format!(
            "{} payloads tried in samples, verdicts, reviews, revisions, dataset/model/file \
             names and error messages; {screens} screens rendered through CrosstermBackend \
             ({bytes_total} bytes, {sequences} escape sequences, all crossterm's own); \
             {files} hostile file names imported; 0 raw payloads",
            payloads.len()
        ),
    );
}
