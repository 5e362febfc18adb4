//! Drives the app without a terminal or threads: keys in, effects run synchronously against a
//! real `Store`, frames drawn on a `TestBackend`. Used by the key-sequence and snapshot tests
//! and by the benchmark (which also measures the threaded path).

use super::app::{App, Effect, Msg};
use super::keymap::Keymap;
use super::theme::Theme;
use super::worker;
use crate::llm::Llm;
use crate::store::Store;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::sync::Arc;

pub struct Harness {
    pub app: App,
    pub store: Store,
    pub terminal: Terminal<TestBackend>,
    /// The last frame drawn, whole (the backend's buffer only receives diffs).
    pub last: ratatui::buffer::Buffer,
    rt: tokio::runtime::Runtime,
}

impl Harness {
    /// An app on `store`, `width` x `height`, the default keymap, theme `none` (stable output).
    pub fn new(
        store: Store,
        width: u16,
        height: u16,
        llm: Option<Arc<dyn Llm>>,
    ) -> anyhow::Result<Harness> {
        let keymap = Keymap::shipped(false)?;
        let theme = Theme::parse(
            "themes/none.toml",
            include_str!("../../themes/none.toml"),
            0,
        )?;
        let db = store.path().to_path_buf();
        let mut app = App::new(keymap, theme, "tester".into(), db, llm, Arc::new(|| {}));
        app.ctx.db_id = store.id()?;
        app.update(Msg::Resize(width, height));
        let terminal = Terminal::new(TestBackend::new(width, height))?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let mut h = Harness {
            app,
            store,
            terminal,
            last: ratatui::buffer::Buffer::default(),
            rt,
        };
        h.settle();
        Ok(h)
    }

    /// Runs every queued effect (and the effects they cause) until the app is idle.
    pub fn settle(&mut self) {
        for _ in 0..1000 {
            let effects = std::mem::take(&mut self.app.outbox);
            if effects.is_empty() {
                if self.app.search.running {
                    self.app.search.tick(10);
                    continue;
                }
                return;
            }
            for e in effects {
                match e {
                    Effect::Db(req) => {
                        let reply = worker::handle(&mut self.store, req);
                        self.app.update(Msg::Reply(reply));
                    }
                    // Commits here never wait: the harness's store is the only connection.
                    Effect::CancelWaiting => {}
                    Effect::Regenerate { sample_id, job } => {
                        let result = self.rt.block_on(crate::verify::regenerate::run(*job));
                        self.app.update(Msg::Regenerated { sample_id, result });
                    }
                }
            }
        }
    }

    /// Presses keys written as in keymap files, separated by spaces (`j j a`, `ctrl-s`), or a
    /// literal text with `type_text`.
    pub fn keys(&mut self, keys: &str) {
        for k in keys.split_whitespace() {
            self.app.update(Msg::Key(key_event(k)));
            self.settle();
        }
    }

    /// Types text character by character (search queries, editor input).
    pub fn type_text(&mut self, text: &str) {
        for c in text.chars() {
            self.app.update(Msg::Key(KeyEvent::new(
                KeyCode::Char(c),
                KeyModifiers::NONE,
            )));
            self.settle();
        }
    }

    /// Draws a frame and returns it as text, one line per row.
    pub fn frame(&mut self) -> String {
        let app = &self.app;
        match self.terminal.draw(|f| super::ui::draw(app, f)) {
            Ok(done) => self.last = done.buffer.clone(),
            Err(e) => return format!("draw failed: {e}"),
        }
        let buf = &self.last;
        let mut out = String::new();
        for y in 0..buf.area.height {
            let mut line = String::new();
            let mut skip = 0;
            for x in 0..buf.area.width {
                if skip > 0 {
                    skip -= 1;
                    continue;
                }
                let s = buf[(x, y)].symbol();
                skip = unicode_width::UnicodeWidthStr::width(s).saturating_sub(1);
                line.push_str(s);
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// A key event from its keymap name (`a`, `G`, `ctrl-s`, `enter`...).
pub fn key_event(name: &str) -> KeyEvent {
    let Some(k) = super::keymap::Key::parse(name) else {
        return KeyEvent::new(KeyCode::Null, KeyModifiers::NONE);
    };
    let mut mods = KeyModifiers::NONE;
    if k.ctrl {
        mods |= KeyModifiers::CONTROL;
    }
    if k.alt {
        mods |= KeyModifiers::ALT;
    }
    let code = match k.code {
        super::keymap::KeyCodeOrd::Char(c) => {
            if c.is_uppercase() {
                mods |= KeyModifiers::SHIFT;
            }
            KeyCode::Char(c)
        }
        super::keymap::KeyCodeOrd::F(n) => KeyCode::F(n),
        super::keymap::KeyCodeOrd::Named(n) => super::keymap::named_code(n),
    };
    KeyEvent::new(code, mods)
}

/// A small store with Chinese QA and CoT samples, verdicts (one naming a wrong step) and a
/// sample carrying terminal escape payloads, for tests, snapshots and demos.
pub fn fixture_store(path: &std::path::Path, n: usize) -> anyhow::Result<Store> {
    use crate::model::{Content, NewSample, NewVerdict, SampleKind, SampleMeta, Source, Turn};
    use crate::store::ImportRecord;
    let mut store = Store::open(path)?;
    let ds = store.ensure_dataset("税务问答")?;
    let aspects = ["增值税", "企业所得税", "个人所得税"];
    let mut batch = store.import_batch(ds, "import")?;
    for i in 0..n {
        let cot = i % 2 == 1;
        let question = match i % 3 {
            0 => format!(
                "某公司第{i}季度销售额为{}万元，增值税一般税率是多少？应纳税额是多少？",
                100 + i
            ),
            1 => format!("小微企业年应纳税所得额{}万元，企业所得税怎么算？", 80 + i),
            _ => format!("工资薪金{}元，个人所得税起征点是多少？", 5000 + i * 100),
        };
        let question = if i == 4 {
            "恶意样本\u{1b}]0;pwned\u{7}\u{1b}[2J 标题 \u{202e}txt.exe".to_string()
        } else {
            question
        };
        let mut answer = Turn::assistant(format!("答案：税率为13%，应纳税额为{}万元。", 13 + i));
        if cot {
            answer = answer.with_reasoning(
                "第一步，确认纳税人类型为一般纳税人。第二步，适用税率为13%。第三步，用销售额乘以税率得到应纳税额。",
            );
        }
        let content = Content {
            system: (i % 4 == 0).then(|| "你是一名严谨的税务顾问。".to_string()),
            turns: vec![Turn::user(question), answer],
            golden: Some(format!("{}万元", 13 + i)),
            ..Content::default()
        };
        let sample = NewSample {
            kind: if cot { SampleKind::Cot } else { SampleKind::Qa },
            content,
            source: Source::File {
                path: "sample-data/tax.jsonl".into(),
                line: i as u64 + 1,
            },
            meta: SampleMeta {
                aspect: Some(aspects[i % 3].to_string()),
                ..SampleMeta::default()
            },
        };
        batch.insert(&ImportRecord::new(sample)?)?;
    }
    batch.commit()?;
    let heads: Vec<(i64, i64)> = {
        let mut v = Vec::new();
        store.for_each_sample(&crate::store::Filter::dataset(ds), |s| {
            v.push((s.id, s.head.id));
            Ok(())
        })?;
        v
    };
    for (k, (_, rev)) in heads.iter().enumerate() {
        if k % 3 == 2 {
            continue;
        }
        let passed = k % 5 != 1;
        store.add_verdict(
            *rev,
            &NewVerdict {
                verifier: "golden_match".into(),
                model: None,
                passed,
                score: Some(if passed { 1.0 } else { 0.0 }),
                rationale: if passed {
                    "与标准答案一致".into()
                } else {
                    "答案与标准答案不符".into()
                },
                first_wrong_step: None,
            },
        )?;
        if k % 2 == 1 {
            store.add_verdict(
                *rev,
                &NewVerdict {
                    verifier: "llm_judge".into(),
                    model: Some("qwen2.5-7b-instruct".into()),
                    passed: false,
                    score: Some(0.35),
                    rationale: "第二步错误：小规模纳税人适用3%征收率，而不是13%。".into(),
                    first_wrong_step: Some(2),
                },
            )?;
        }
    }
    Ok(store)
}
