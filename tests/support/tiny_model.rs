//! A tiny randomly initialised llama as a Hugging Face folder (config.json, model.safetensors,
//! a word-level tokenizer.json), and a small dataset of accepted QA samples, so that
//! `assay train` runs in well under a second per step without the offline model.
#![allow(dead_code)]

use assay::model::{Content, Decision, NewSample, SampleKind, SampleMeta, Source, Turn};
use assay::store::{ImportRecord, Store};
use assay::train::{BaseWeights, LlamaConfig, LoraConfig, LoraLlama};
use std::path::Path;

/// The words of [`accepted_dataset`]'s samples; anything else is `[UNK]`.
const WORDS: &[&str] = &[
    "what",
    "is",
    "plus",
    "the",
    "answer",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "?",
    ".",
    "system",
    "user",
    "assistant",
    "you",
    "answer",
    "briefly",
];

pub fn write_hf_folder(dir: &Path) {
    let mut vocab = serde_json::Map::new();
    for (i, w) in ["[UNK]", "<|im_start|>", "<|im_end|>", "\n"]
        .iter()
        .chain(WORDS)
        .enumerate()
    {
        vocab.entry(w.to_string()).or_insert(i.into());
    }
    let size = vocab.len() + 1;
    let tokenizer = serde_json::json!({
        "version": "1.0", "truncation": null, "padding": null, "added_tokens": [],
        "normalizer": null, "pre_tokenizer": {"type": "Whitespace"}, "post_processor": null,
        "decoder": null, "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "[UNK]"}
    });
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("tokenizer.json"), tokenizer.to_string()).unwrap();
    let config = LlamaConfig {
        model_type: Default::default(),
        vocab_size: size.max(32),
        hidden_size: 32,
        intermediate_size: 64,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        num_key_value_heads: 2,
        head_dim: None,
        rms_norm_eps: 1e-5,
        rope_theta: 10_000.0,
        max_position_embeddings: 128,
        tie_word_embeddings: false,
        rope_scaling: None,
    };
    let base = BaseWeights::random(config, &candle_core::Device::Cpu, 7).unwrap();
    let lora = LoraConfig {
        rank: 8,
        alpha: 16.0,
        dropout: 0.0,
        targets: vec!["q_proj".into(), "v_proj".into()],
    };
    // Zero-initialised B: the merged weights are the base's.
    let model = LoraLlama::new(&base, lora, 7).unwrap();
    assay::train::adapter::save_merged(&model, dir).unwrap();
}

/// `n` accepted QA samples in dataset `name`.
pub fn accepted_dataset(db: &Path, name: &str, n: usize) {
    const NUM: [&str; 10] = [
        "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    ];
    let mut store = Store::open(db).unwrap();
    let ds = store.ensure_dataset(name).unwrap();
    let mut batch = store.import_batch(ds, "import").unwrap();
    for i in 0..n {
        let (a, b) = (NUM[i % 10], NUM[(i / 10 + i) % 10]);
        let content = Content {
            system: Some("you answer briefly .".into()),
            turns: vec![
                Turn::user(format!("what is {a} plus {b} ? {i}")),
                Turn::assistant(format!("the answer is {b} plus {a} .")),
            ],
            ..Content::default()
        };
        let sample = NewSample {
            kind: SampleKind::Qa,
            content,
            source: Source::File {
                path: "tiny.jsonl".into(),
                line: i as u64 + 1,
            },
            meta: SampleMeta::default(),
        };
        batch.insert(&ImportRecord::new(sample).unwrap()).unwrap();
    }
    batch.commit().unwrap();
    let rows = store
        .list_page(&assay::store::Filter::dataset(ds), None, n)
        .unwrap();
    for r in rows {
        let rev = store.sample(r.id).unwrap().head.id;
        store
            .add_review(r.id, rev, "tester", Decision::Accept, "")
            .unwrap();
    }
}
