//! Sorting the list by score or length on a real SQLite file: every order pages forward and
//! backward by key to exactly the order a sort of all rows gives, ties broken by id; the page
//! around a sample starts at it; score and length follow the head through verdicts, edits and
//! reverts; and the migration's SQL backfill computes what `Content::chars` computes.

use assay::model::{Content, NewSample, NewVerdict, SampleKind, SampleMeta, Source, Turn};
use assay::store::{Filter, ImportRecord, Order, SortKey, Store};
use proptest::prelude::*;

fn sample(q: &str, a: &str, reasoning: Option<&str>, line: u64) -> NewSample {
    let mut answer = Turn::assistant(a);
    answer.reasoning = reasoning.map(String::from);
    NewSample {
        kind: SampleKind::Qa,
        content: Content {
            system: line.is_multiple_of(4).then(|| "你是助手。".to_string()),
            turns: vec![Turn::user(q), answer],
            ..Content::default()
        },
        source: Source::File {
            path: "in.jsonl".into(),
            line,
        },
        meta: SampleMeta::default(),
    }
}

fn verdict(passed: bool, score: Option<f64>) -> NewVerdict {
    NewVerdict {
        verifier: "judge".into(),
        model: None,
        passed,
        score,
        rationale: String::new(),
        first_wrong_step: None,
    }
}

/// `n` samples of varied length (Chinese and ASCII, some with reasoning), and verdicts on some:
/// scored, pass/fail without a score, two verdicts (the weaker counts), none.
fn fill(store: &mut Store, n: u64) -> (i64, Vec<(i64, Option<f64>, i64)>) {
    let ds = store.ensure_dataset("d").unwrap();
    let mut batch = store.import_batch(ds, "import").unwrap();
    let mut made = Vec::new();
    for i in 0..n {
        let q = format!("问题{i}{}", "长".repeat((i * 7 % 13) as usize));
        let a = "答".repeat((i * 5 % 11) as usize);
        let reasoning = (i % 3 == 0).then(|| "因为".repeat((i % 5) as usize));
        let rec = ImportRecord::new(sample(&q, &a, reasoning.as_deref(), i + 1)).unwrap();
        let chars = rec.sample.content.chars();
        let assay::store::InsertOutcome::Inserted(id) = batch.insert(&rec).unwrap() else {
            panic!("duplicate")
        };
        let rev = batch.last_revision_id();
        let score = match i % 5 {
            0 => None,
            1 => {
                batch.add_verdict(rev, &verdict(true, None)).unwrap();
                Some(1.0)
            }
            2 => {
                batch.add_verdict(rev, &verdict(false, None)).unwrap();
                Some(0.0)
            }
            3 => {
                let s = (i % 10) as f64 / 10.0;
                batch.add_verdict(rev, &verdict(s >= 0.5, Some(s))).unwrap();
                Some(s)
            }
            _ => {
                batch.add_verdict(rev, &verdict(true, Some(0.9))).unwrap();
                batch.add_verdict(rev, &verdict(false, Some(0.3))).unwrap();
                Some(0.3)
            }
        };
        made.push((id, score, chars));
    }
    batch.commit().unwrap();
    (ds, made)
}

/// What a full sort gives: unscored samples after every scored one in ascending order.
fn expected(made: &[(i64, Option<f64>, i64)], order: Order) -> Vec<i64> {
    let mut rows = made.to_vec();
    let key = |r: &(i64, Option<f64>, i64)| match order.key {
        SortKey::Id => 0.0,
        SortKey::Score => r.1.unwrap_or(2.0),
        SortKey::Length => r.2 as f64,
    };
    rows.sort_by(|a, b| key(a).total_cmp(&key(b)).then(a.0.cmp(&b.0)));
    if order.descending {
        rows.reverse();
    }
    rows.into_iter().map(|r| r.0).collect()
}

fn all_orders() -> Vec<Order> {
    let mut v = Vec::new();
    for key in [SortKey::Id, SortKey::Score, SortKey::Length] {
        for descending in [false, true] {
            v.push(Order::by(key, descending));
        }
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]
    #[test]
    fn every_order_pages_to_a_full_sort(n in 1u64..60, page in 1usize..9) {
        let mut store = Store::open_in_memory().unwrap();
        let (ds, made) = fill(&mut store, n);
        for order in all_orders() {
            let f = Filter { order, ..Filter::dataset(ds) };
            let want = expected(&made, order);
            // Forward from the start.
            let mut got = Vec::new();
            let mut after = None;
            loop {
                let rows = store.list_page(&f, after, page).unwrap();
                prop_assert!(rows.len() <= page);
                let Some(last) = rows.last() else { break };
                after = Some(last.id);
                got.extend(rows.iter().map(|r| r.id));
            }
            prop_assert_eq!(&got, &want, "forward {:?}", order);
            // Backward from the end.
            let mut back = Vec::new();
            let mut before = None;
            loop {
                let rows = store.list_page_before(&f, before, page).unwrap();
                let Some(first) = rows.first() else { break };
                before = Some(first.id);
                let mut ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
                ids.extend(back);
                back = ids;
            }
            prop_assert_eq!(&back, &want, "backward {:?}", order);
            // Around any sample: it is the first of the second part.
            let anchor = want[want.len() / 2];
            let (rows, before) = store.rows_around(&f, anchor, page, page).unwrap();
            prop_assert_eq!(rows[before].id, anchor);
            let at = want.iter().position(|&id| id == anchor).unwrap();
            let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
            prop_assert_eq!(&ids[..], &want[at.saturating_sub(page)..(at + page).min(want.len())]);
        }
    }
}

#[test]
fn score_and_length_follow_the_head() {
    let mut store = Store::open_in_memory().unwrap();
    let (ds, made) = fill(&mut store, 10);
    let by_score = Filter {
        order: Order::by(SortKey::Score, false),
        ..Filter::dataset(ds)
    };
    // Sample 0 has no verdict: last. A failing verdict on its head puts it first.
    let (id0, _, _) = made[0];
    let first = |store: &Store, f: &Filter| store.list_page(f, None, 1).unwrap()[0].id;
    assert_ne!(first(&store, &by_score), id0);
    let head = store.sample(id0).unwrap().head;
    store
        .add_verdict(head.id, &verdict(false, Some(0.0)))
        .unwrap();
    assert_eq!(first(&store, &by_score), id0);
    // An edit makes a new head nobody judged (unscored again) and the longest sample.
    let mut edited = head.content.clone();
    edited.turns[1].content = "很长的答案".repeat(50);
    let rev = store.add_revision(id0, &edited, "alice").unwrap();
    assert_ne!(first(&store, &by_score), id0);
    let longest = Filter {
        order: Order::by(SortKey::Length, true),
        ..Filter::dataset(ds)
    };
    assert_eq!(first(&store, &longest), id0);
    // Reverting to the first revision brings its length and its failing verdict back.
    store.revert_to(id0, head.id, "alice").unwrap();
    assert_eq!(first(&store, &by_score), id0);
    assert_ne!(first(&store, &longest), id0);
    let _ = rev;
    // Counts ignore the order.
    assert_eq!(store.count(&by_score).unwrap(), 10);
}

#[test]
fn the_migration_backfill_counts_what_content_chars_counts() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let made = {
        let mut store = Store::open(&db).unwrap();
        fill(&mut store, 40).1
    };
    // As a database from before migration 010 would be: no score, no length. Then the
    // migration's own UPDATE.
    let sql = include_str!("../src/store/migrations/010_sort.sql");
    let start = sql.find("UPDATE samples SET").unwrap();
    let update = &sql[start..start + sql[start..].find(';').unwrap()];
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute("UPDATE samples SET score = NULL, chars = 0", [])
        .unwrap();
    conn.execute(update, []).unwrap();
    for (id, score, chars) in made {
        let (s, c): (Option<f64>, i64) = conn
            .query_row(
                "SELECT score, chars FROM samples WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((s, c), (score, chars), "sample {id}");
    }
}
