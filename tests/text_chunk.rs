//! The recursive splitter's guarantees (property tests over Chinese, mixed, unpunctuated and
//! emoji-heavy text) and `assay chunk` on real files and a real SQLite database.

use assay::cli::GlobalArgs;
use assay::cli::chunk::{Args, run};
use assay::model::SampleKind;
use assay::store::{Filter, Store};
use assay::text::chunk::{Chunk, Splitter};
use proptest::prelude::*;
use std::collections::HashSet;
use unicode_segmentation::UnicodeSegmentation;

const FRAGMENTS: &[&str] = &[
    "中",
    "文",
    "数",
    "据",
    "的",
    "是",
    "。",
    "！",
    "？",
    "；",
    "，",
    "、",
    "…",
    "”",
    "\n",
    "\n\n",
    " ",
    "a",
    "word",
    ". ",
    ", ",
    "👨‍👩‍👧",
    "👍🏽",
    "e\u{301}",
    "🇨🇳",
    "\u{200d}",
    "\u{301}",
    "\r\n",
    "「好」",
    "3.14",
];

fn text_from(frags: Vec<usize>) -> String {
    frags.into_iter().map(|i| FRAGMENTS[i]).collect()
}

/// Checks every guarantee; returns the chunks for further checks.
fn check<'a>(s: &Splitter, input: &'a str) -> Vec<Chunk<'a>> {
    let chunks = s.split(input);
    let boundaries: HashSet<usize> = input
        .grapheme_indices(true)
        .map(|(i, _)| i)
        .chain([input.len()])
        .collect();
    let mut rebuilt = String::new();
    for (i, c) in chunks.iter().enumerate() {
        // Only a single grapheme cluster longer than the size (a long ZWJ sequence) may exceed it.
        assert!(
            c.chars <= s.size() || c.text.graphemes(true).count() == 1,
            "chunk {i} has {} chars",
            c.chars
        );
        assert_eq!(c.chars, c.text.chars().count());
        assert_eq!(&input[c.offset..c.offset + c.text.len()], c.text);
        assert!(
            boundaries.contains(&c.offset),
            "chunk {i} starts inside a grapheme"
        );
        assert!(
            boundaries.contains(&(c.offset + c.text.len())),
            "chunk {i} ends inside a grapheme"
        );
        let shared = &c.text[..c.overlap];
        assert!(shared.chars().count() <= s.overlap());
        if i > 0 {
            assert!(
                chunks[i - 1].text.ends_with(shared),
                "overlap of chunk {i} is not the previous tail"
            );
            assert!(c.overlap < c.text.len(), "chunk {i} adds nothing new");
        } else {
            assert_eq!(c.overlap, 0);
        }
        rebuilt.push_str(&c.text[c.overlap..]);
    }
    assert_eq!(
        rebuilt, input,
        "chunks without overlaps do not give the input back"
    );
    chunks
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(300)
    })]

    #[test]
    fn mixed_text_keeps_every_guarantee(
        frags in prop::collection::vec(0..FRAGMENTS.len(), 0..600),
        size in 8usize..120,
        overlap_pct in 0usize..60,
    ) {
        let input = text_from(frags);
        let s = Splitter::new(size, size * overlap_pct / 100).unwrap();
        let first = check(&s, &input);
        prop_assert_eq!(first, s.split(&input), "splitting is not deterministic");
    }

    #[test]
    fn unpunctuated_chinese_is_cut_at_exact_sizes(
        n in 0usize..3000,
        size in 2usize..300,
        overlap_pct in 0usize..90,
    ) {
        let input: String = (0..n).map(|i| char::from_u32(0x4e00 + (i * 31 % 5000) as u32).unwrap()).collect();
        let overlap = size * overlap_pct / 100;
        let s = Splitter::new(size, overlap).unwrap();
        let chunks = check(&s, &input);
        // The first chunk holds whole runs of (size - overlap) characters; later ones are full.
        for c in chunks.iter().skip(1).take(chunks.len().saturating_sub(2)) {
            prop_assert_eq!(c.chars, size);
        }
        for c in chunks.iter().skip(1) {
            prop_assert_eq!(c.text[..c.overlap].chars().count(), overlap);
        }
    }

    #[test]
    fn emoji_heavy_text_never_splits_a_cluster(
        frags in prop::collection::vec(prop::sample::select(vec![21usize, 22, 24, 25, 26, 16, 0, 6]), 0..400),
        size in 8usize..40,
    ) {
        check(&Splitter::new(size, 3).unwrap(), &text_from(frags));
    }
}

#[test]
fn paragraphs_are_preferred_to_sentences() {
    let para = "这是一个句子，里面有逗号。".repeat(8) + "\n\n";
    let input = para.repeat(10);
    let s = Splitter::new(250, 20).unwrap();
    let chunks = check(&s, &input);
    for c in &chunks[..chunks.len() - 1] {
        assert!(
            c.text.ends_with("\n\n"),
            "chunk ends mid-paragraph: {:?}",
            c.text
        );
    }
}

#[test]
fn long_paragraphs_are_cut_at_sentence_ends_with_a_sentence_overlap() {
    let input = "第一句话比较短。第二句话也不长！第三句话呢？".repeat(30);
    let s = Splitter::new(100, 10).unwrap();
    let chunks = check(&s, &input);
    assert!(chunks.len() > 5);
    for c in &chunks[..chunks.len() - 1] {
        assert!(c.text.ends_with(['。', '！', '？']), "{:?}", c.text);
    }
    for c in &chunks[1..] {
        let shared = &c.text[..c.overlap];
        assert!(
            shared.is_empty()
                || ["第", "第一", "第二", "第三"]
                    .iter()
                    .any(|p| shared.starts_with(p))
        );
    }
}

#[test]
fn custom_separators_are_used() {
    let levels = assay::cli::chunk::parse_separators(r##"["|", ["#", "@"]]"##).unwrap();
    let s = Splitter::with_separators(6, 0, &levels).unwrap();
    let chunks = check(&s, "abc|def|ghi#jk@lmnop");
    assert_eq!(chunks[0].text, "abc|");
}

fn global(db: &std::path::Path) -> GlobalArgs {
    GlobalArgs {
        db: db.to_path_buf(),
        reviewer: "tester".into(),
    }
}

fn args(paths: Vec<std::path::PathBuf>, lossy: bool) -> Args {
    Args {
        paths,
        size: 60,
        overlap: 8,
        dataset: Some("pre".into()),
        separators: None,
        lossy,
    }
}

#[test]
fn chunk_command_stores_pretrain_samples_with_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let docs = dir.path().join("docs");
    std::fs::create_dir_all(docs.join("sub")).unwrap();
    let a: String = (0..12)
        .map(|i| format!("模型训练需要第{i}批高质量的数据。数据要多样！"))
        .collect();
    let a = format!("# 标题\n\n{a}");
    std::fs::write(docs.join("a.md"), format!("\u{feff}{a}")).unwrap();
    std::fs::write(
        docs.join("sub/b.txt"),
        (0..5)
            .map(|i| format!("English text {i}. Another sentence!\nA new line.\n"))
            .collect::<String>(),
    )
    .unwrap();
    std::fs::write(docs.join("skip.bin"), [0xffu8, 0xfe]).unwrap();
    let db = dir.path().join("t.db");
    run(&global(&db), args(vec![docs.clone()], false)).unwrap();

    let mut store = Store::open(&db).unwrap();
    let id = store.ensure_dataset("pre").unwrap();
    let mut n = 0;
    store
        .for_each_sample(&Filter::dataset(id), |rec| {
            n += 1;
            assert_eq!(rec.kind, SampleKind::Pretrain);
            let text = rec.head.content.answer().unwrap().to_string();
            assert!(rec.head.content.question().is_none());
            let offset = rec.meta.extra["offset"].as_u64().unwrap() as usize;
            let assay::model::Source::File { path, line } = rec.source else {
                panic!("source")
            };
            let bytes = std::fs::read(&path).unwrap();
            assert_eq!(
                &bytes[offset..offset + text.len()],
                text.as_bytes(),
                "{path} @ {offset}"
            );
            let expected_line = bytes[..offset].iter().filter(|&&b| b == b'\n').count() as u64 + 1;
            assert_eq!(line, expected_line);
            assert!(text.chars().count() <= 60);
            Ok(())
        })
        .unwrap();
    assert!(n > 10, "only {n} chunks");
    let before = store.count(&Filter::dataset(id)).unwrap();
    drop(store);
    run(&global(&db), args(vec![docs], false)).unwrap();
    let store = Store::open(&db).unwrap();
    assert_eq!(
        store.count(&Filter::dataset(id)).unwrap(),
        before,
        "re-chunking added samples"
    );
}

#[test]
fn invalid_utf8_is_an_error_with_its_offset_unless_lossy() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.txt");
    let mut bytes = "第一行\n第二行".as_bytes().to_vec();
    let at = bytes.len();
    bytes.extend_from_slice(&[0xC3, 0x28]);
    bytes.extend_from_slice("后面".as_bytes());
    std::fs::write(&bad, &bytes).unwrap();
    let db = dir.path().join("t.db");
    let err = run(&global(&db), args(vec![bad.clone()], false))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!("byte offset {at}")) && err.contains("line 2"),
        "{err}"
    );
    assert!(err.contains("--lossy"), "{err}");
    run(&global(&db), args(vec![bad], true)).unwrap();
    let store = Store::open(&db).unwrap();
    let id = store.require_dataset("pre").unwrap();
    assert_eq!(store.count(&Filter::dataset(id)).unwrap(), 1);
}

#[test]
fn a_missing_path_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = run(
        &global(&dir.path().join("t.db")),
        args(vec![dir.path().join("nope.txt")], false),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("nope.txt"), "{err}");
}
