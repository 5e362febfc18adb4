//! Near-duplicate search: recall and precision on a generated set with planted near-copies, and
//! `assay dedup` / diversity over a real SQLite file.

use assay::curate::dedup::dedup_dataset;
use assay::curate::diversity;
use assay::model::{Content, Label, NewSample, SampleKind, SampleMeta, Source, Turn};
use assay::store::{Filter, ImportRecord, Store};
use assay::text::dedup::{self, DedupConfig, Input};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::HashMap;

fn sentence(rng: &mut ChaCha8Rng) -> String {
    let n = rng.random_range(8..30);
    let mut s: String = (0..n)
        .map(|_| char::from_u32(0x4e00 + rng.random_range(0..2500)).unwrap())
        .collect();
    if rng.random_bool(0.3) {
        s.insert(s.char_indices().nth(n / 2).unwrap().0, '，');
    }
    s.push('。');
    s
}

fn document(rng: &mut ChaCha8Rng) -> Vec<String> {
    (0..rng.random_range(6..14))
        .map(|_| sentence(rng))
        .collect()
}

/// A planted near-copy: a few character edits, two sentences swapped, or punctuation changed.
fn near_copy(rng: &mut ChaCha8Rng, doc: &[String]) -> String {
    let mut sentences = doc.to_vec();
    match rng.random_range(0..3) {
        0 => {
            let mut chars: Vec<char> = sentences.concat().chars().collect();
            let rate = rng.random_range(1..4);
            for _ in 0..(chars.len() * rate / 100).max(1) {
                let at = rng.random_range(0..chars.len());
                match rng.random_range(0..3) {
                    0 => chars[at] = '改',
                    1 => chars.insert(at, '加'),
                    _ => {
                        chars.remove(at);
                    }
                }
            }
            return chars.into_iter().collect();
        }
        1 => {
            let (a, b) = (
                rng.random_range(0..sentences.len()),
                rng.random_range(0..sentences.len()),
            );
            sentences.swap(a, b);
        }
        _ => {
            for s in &mut sentences {
                *s = s.replace('。', "！ ").replace('，', ", ");
            }
        }
    }
    sentences.concat()
}

#[test]
fn planted_near_copies_are_found_with_high_recall_and_precision() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut texts = Vec::new();
    let mut family = Vec::new();
    for f in 0..1500 {
        let doc = document(&mut rng);
        texts.push(doc.concat());
        family.push(f);
        if f % 3 == 0 {
            for _ in 0..rng.random_range(1..4) {
                texts.push(near_copy(&mut rng, &doc));
                family.push(f);
            }
        }
        if f % 5 == 0 {
            // A hard negative: the same opening, a different second half.
            let mut other = doc[..doc.len() / 2].to_vec();
            other.extend(document(&mut rng));
            texts.push(other.concat());
            family.push(100_000 + f);
        }
    }
    let config = DedupConfig {
        threads: 2,
        ..DedupConfig::default()
    };
    let found = dedup::find_clusters(&config, Input::Text, texts.len(), |sink| {
        for (i, t) in texts.iter().enumerate() {
            if !sink(i as i64, t.clone()) {
                break;
            }
        }
        Ok::<(), dedup::DedupError>(())
    })
    .unwrap();
    let cluster: HashMap<i64, i64> = found.members.iter().copied().collect();
    let cluster_of = |i: usize| cluster.get(&(i as i64)).copied().unwrap_or(-1 - i as i64);
    let (mut tp, mut fp, mut fneg) = (0u64, 0u64, 0u64);
    for i in 0..texts.len() {
        for j in i + 1..texts.len() {
            match (family[i] == family[j], cluster_of(i) == cluster_of(j)) {
                (true, true) => tp += 1,
                (false, true) => fp += 1,
                (true, false) => fneg += 1,
                (false, false) => {}
            }
        }
    }
    let recall = tp as f64 / (tp + fneg) as f64;
    let precision = tp as f64 / (tp + fp).max(1) as f64;
    println!(
        "near-duplicates: {} samples, {} clusters; pairs: recall {recall:.3}, precision {precision:.3} (tp {tp}, fp {fp}, fn {fneg})",
        texts.len(),
        found.clusters
    );
    assert!(recall >= 0.9, "recall {recall}");
    assert!(precision >= 0.95, "precision {precision}");
}

fn qa(q: &str, a: &str, aspect: &str, label: Label) -> NewSample {
    NewSample {
        kind: SampleKind::Qa,
        content: Content {
            turns: vec![Turn::user(q), Turn::assistant(a)],
            ..Content::default()
        },
        source: Source::File {
            path: "gen.jsonl".into(),
            line: 1,
        },
        meta: SampleMeta {
            aspect: Some(aspect.into()),
            label: Some(label),
            tags: vec!["t1".into()],
            ..SampleMeta::default()
        },
    }
}

#[test]
fn dedup_marks_clusters_in_the_store_and_never_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("d.db")).unwrap();
    let ds = store.ensure_dataset("qa").unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let base = document(&mut rng).concat();
    let mut samples = vec![
        qa("问题一？", &base, "math", Label::Positive),
        qa(
            "问题一?",
            &base.replace('。', "！"),
            "math",
            Label::Negative,
        ),
        qa(
            "问题一？",
            &format!("{base}多了一句话。还有别的内容在这里。"),
            "law",
            Label::Boundary,
        ),
    ];
    for i in 0..20 {
        let doc = document(&mut rng).concat();
        samples.push(qa(&format!("问题{i}"), &doc, "law", Label::Positive));
    }
    let mut batch = store.import_batch(ds, "test").unwrap();
    for s in samples {
        batch.insert(&ImportRecord::new(s).unwrap()).unwrap();
    }
    batch.commit().unwrap();

    let c = dedup_dataset(&mut store, ds, &DedupConfig::default()).unwrap();
    assert_eq!(
        (c.samples, c.exact_groups, c.clusters, c.clustered),
        (23, 1, 1, 3)
    );
    let mut marked = Filter::dataset(ds);
    marked.near_duplicates = true;
    assert_eq!(store.count(&marked).unwrap(), 3);
    assert_eq!(store.count(&Filter::dataset(ds)).unwrap(), 23);
    let mut clusters = Vec::new();
    store
        .for_each_sample(&marked, |r| {
            clusters.push((r.id, r.dup_cluster));
            Ok(())
        })
        .unwrap();
    let first = clusters[0].0;
    assert!(
        clusters.iter().all(|&(_, c)| c == Some(first)),
        "{clusters:?}"
    );

    let d = diversity::for_dataset(&store, ds).unwrap();
    assert_eq!(d.samples, 23);
    assert_eq!(d.aspects.counts["math"], 2);
    assert_eq!(d.labels.counts["boundary"], 1);
    assert_eq!(d.kinds.counts["qa"], 23);
    assert_eq!(d.tags.counts["t1"], 23);
    assert_eq!(d.question_chars.count, 23);
    assert_eq!(
        d.answer_chars.buckets.iter().map(|b| b.count).sum::<u64>(),
        23
    );
    assert!((d.near_duplicates.share - 3.0 / 23.0).abs() < 1e-9);
    assert!((d.near_duplicates.redundant_share - 2.0 / 23.0).abs() < 1e-9);
    let json = serde_json::to_value(&d).unwrap();
    assert!(json["aspects"]["evenness"].as_f64().unwrap() > 0.0);

    // A stricter threshold keeps the exact (punctuation-only) pair and drops the near one.
    let strict = DedupConfig {
        threshold: 0.99,
        ..DedupConfig::default()
    };
    let c = dedup_dataset(&mut store, ds, &strict).unwrap();
    assert_eq!((c.clusters, c.clustered), (1, 2));
    assert_eq!(store.count(&marked).unwrap(), 2);

    // The commands over the same file: dedup with the default threshold, then stats.
    let global = assay::cli::GlobalArgs {
        db: dir.path().join("d.db"),
        reviewer: "tester".into(),
    };
    let args = assay::cli::dedup::Args {
        dataset: Some("qa".into()),
        threshold: 0.8,
        ngram: 3,
        threads: Some(2),
        keep_one: true,
    };
    assay::cli::dedup::run(&global, args).unwrap();
    assert_eq!(store.count(&marked).unwrap(), 3);
    // --keep-one: the cluster's first sample stays, the two others are rejected as decisions
    // with a reason, and nothing is deleted.
    let mut rejected = marked.clone();
    rejected.statuses = vec![assay::model::ReviewStatus::Rejected];
    assert_eq!(store.count(&rejected).unwrap(), 2);
    let extra = clusters[1].0;
    let reviews = store.reviews(extra).unwrap();
    assert_eq!(reviews.len(), 1);
    assert_eq!(reviews[0].reviewer, "tester");
    assert_eq!(reviews[0].reason, format!("near-duplicate of #{first}"));
    assert_eq!(store.count(&Filter::dataset(ds)).unwrap(), 23);
    let stats = assay::cli::stats::Args {
        dataset: Some("qa".into()),
        json: true,
    };
    assay::cli::stats::run(&global, stats).unwrap();
}
