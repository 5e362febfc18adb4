//! Fixtures shared by the tests that run against the test server: a seeded dataset, and the
//! `assay gen questions` command line with its endpoint environment, so that each test states
//! only what it varies (topic, concurrency, number of aspects, the canary key).

use assay::model::{Content, NewSample, SampleKind, SampleMeta, Source};
use assay::store::Store;
use std::ffi::OsString;
use std::path::Path;

/// Stores `samples` in `dataset` as if imported from `seed.jsonl`, one line each; returns the
/// dataset's id.
pub fn seed(store: &mut Store, dataset: &str, samples: Vec<(SampleKind, Content)>) -> i64 {
    let id = store.ensure_dataset(dataset).unwrap();
    let samples = samples
        .into_iter()
        .enumerate()
        .map(|(i, (kind, content))| NewSample {
            kind,
            content,
            source: Source::File {
                path: "seed.jsonl".into(),
                line: i as u64 + 1,
            },
            meta: SampleMeta::default(),
        })
        .collect();
    assay::jobs::store_samples(store, id, "import", samples).unwrap();
    id
}

/// `gen questions` on `topic` into dataset `qs`, two questions per aspect, aspects `a0`, `a1`...
pub fn gen_questions_args(topic: &str, concurrency: usize, aspects: usize) -> Vec<String> {
    let mut args: Vec<String> = [
        "gen",
        "questions",
        "--topic",
        topic,
        "--dataset",
        "qs",
        "-n",
        "2",
        "--lang",
        "en",
        "--concurrency",
        &concurrency.to_string(),
    ]
    .map(String::from)
    .into();
    for i in 0..aspects {
        args.extend(["--aspect".to_string(), format!("a{i}")]);
    }
    args
}

/// The environment that points the binary at `db`, its own data directory `home` and the test
/// server, with `key` as the API key. Callers also remove `ASSAY_CONCURRENCY`.
pub fn endpoint_env(
    db: &Path,
    home: &Path,
    base_url: &str,
    key: &str,
) -> Vec<(&'static str, OsString)> {
    vec![
        ("ASSAY_DB", db.into()),
        ("ASSAY_HOME", home.into()),
        ("OPENAI_BASE_URL", base_url.into()),
        ("OPENAI_API_KEY", key.into()),
        ("ASSAY_MODEL", "m".into()),
    ]
}
