//! `assay eval` with real parts: a tiny randomly initialised llama saved as a Hugging Face folder
//! (byte-level tokenizer), trained briefly by `assay train`, then scored on its held-out split
//! and on a dataset through the real binary and a real SQLite file; plus library checks that the
//! generation model is base + adapter, that the recorded split is the trainer's, and that an
//! adapter trained to answer `B` lifts accuracy from the base's.

use assay::eval::failures::RunInfo;
use assay::eval::generate::{CandleLlama, Forward};
use assay::eval::items::item_from;
use assay::eval::model;
use assay::eval::report::Report;
use assay::eval::run::{Contender, Plan, run};
use assay::model::{Content, Decision, NewSample, SampleKind, SampleMeta, Source, Turn};
use assay::store::{Filter, ImportRecord, Store};
use assay::train::adapter::save_adapter;
use assay::train::split;
use assay::train::{
    BaseWeights, ByteTokenizer, LlamaConfig, LoraConfig, LoraLlama, TrainConfig, Trainer,
    encode_chatml,
};
use candle_core::{Device, Tensor};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::AtomicBool;

fn tiny_config() -> LlamaConfig {
    LlamaConfig {
        model_type: Default::default(),
        vocab_size: ByteTokenizer::VOCAB,
        hidden_size: 64,
        intermediate_size: 128,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        num_key_value_heads: 2,
        head_dim: None,
        rms_norm_eps: 1e-5,
        rope_theta: 10_000.0,
        max_position_embeddings: 512,
        tie_word_embeddings: false,
        rope_scaling: None,
    }
}

/// A byte-level BPE with no merges: ids 0-255 are the 256 byte symbols, 256 and 257 the ChatML
/// markers, as the tiny model's vocabulary expects.
fn write_tokenizer(path: &Path) {
    use tokenizers::models::bpe::BPE;
    use tokenizers::pre_tokenizers::byte_level::ByteLevel;
    use tokenizers::{AddedToken, Tokenizer};
    let mut chars: Vec<char> = ByteLevel::alphabet().into_iter().collect();
    chars.sort();
    let vocab: Vec<(String, u32)> = chars
        .iter()
        .enumerate()
        .map(|(i, c)| (c.to_string(), i as u32))
        .collect();
    let vocab: [(String, u32); 256] = vocab.try_into().unwrap();
    let bpe = BPE::builder()
        .vocab_and_merges(vocab, vec![])
        .build()
        .unwrap();
    let mut tok = Tokenizer::new(bpe);
    tok.with_pre_tokenizer(Some(ByteLevel::default().add_prefix_space(false)));
    tok.with_decoder(Some(ByteLevel::default()));
    tok.add_special_tokens([
        AddedToken::from("<|im_start|>", true),
        AddedToken::from("<|im_end|>", true),
    ])
    .unwrap();
    tok.save(path, false).unwrap();
}

/// The tiny llama as a Hugging Face folder `assay train --base` and `assay eval --base` read.
fn tiny_model_dir(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let base = BaseWeights::random(tiny_config(), &Device::Cpu, 1).unwrap();
    candle_core::safetensors::save(&base.tensors, dir.join("model.safetensors")).unwrap();
    std::fs::write(
        dir.join("config.json"),
        serde_json::to_string(&tiny_config()).unwrap(),
    )
    .unwrap();
    write_tokenizer(&dir.join("tokenizer.json"));
    let t = tokenizers::Tokenizer::from_file(dir.join("tokenizer.json")).unwrap();
    assert_eq!(t.token_to_id("<|im_end|>"), Some(257));
}

fn assay(db: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_assay"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env("USER", "tester")
        .output()
        .unwrap()
}

fn ok(out: &std::process::Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn failure_count(db: &Path, dataset: &str) -> u64 {
    let store = Store::open(db).unwrap();
    let Some(ds) = store.dataset_id(dataset).unwrap() else {
        return 0;
    };
    store
        .count(&Filter {
            tags: vec!["eval-failure".into()],
            ..Filter::dataset(ds)
        })
        .unwrap()
}

fn check_tallies(report: &serde_json::Value, items: u64) {
    assert_eq!(report["items"], items, "{report:#}");
    assert_eq!(report["scored"], items, "{report:#}");
    for m in report["models"].as_array().unwrap() {
        let overall = &m["overall"];
        assert_eq!(overall["scored"], items, "{m:#}");
        let per_kind: u64 = m["by_kind"]
            .as_object()
            .unwrap()
            .values()
            .map(|t| t["scored"].as_u64().unwrap())
            .sum();
        assert_eq!(per_kind, items, "kinds add up: {m:#}");
        for t in std::iter::once(overall).chain(m["by_kind"].as_object().unwrap().values()) {
            let (lo, acc, hi) = (
                t["ci_low"].as_f64().unwrap(),
                t["accuracy"].as_f64().unwrap(),
                t["ci_high"].as_f64().unwrap(),
            );
            assert!(lo <= acc && acc <= hi && hi <= 1.0 && lo >= 0.0, "{t}");
            let (k, n) = (
                t["correct"].as_u64().unwrap(),
                t["scored"].as_u64().unwrap(),
            );
            assert!((acc - k as f64 / n as f64).abs() < 1e-12);
        }
    }
}

#[test]
fn train_then_eval_split_and_dataset_through_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let base = dir.path().join("tiny");
    tiny_model_dir(&base);
    ok(&assay(&db, &["demo", "--no-tui", "--no-model"]));
    {
        let mut store = Store::open(&db).unwrap();
        let ds = store.require_dataset("cot-math").unwrap();
        for r in store.list_page(&Filter::dataset(ds), None, 100).unwrap() {
            let rev = store.sample(r.id).unwrap().head.id;
            store
                .add_review(r.id, rev, "tester", Decision::Accept, "")
                .unwrap();
        }
    }
    let out = dir.path().join("lora");
    let out_s = out.to_str().unwrap();
    ok(&assay(
        &db,
        &[
            "train",
            "--dataset",
            "cot-math",
            "--base",
            base.to_str().unwrap(),
            "--max-steps",
            "2",
            "--batch-size",
            "2",
            "--max-seq-len",
            "512",
            "--eval-fraction",
            "0.25",
            "--force",
            "test",
            "--out",
            out_s,
        ],
    ));
    let manifest = split::read(&out).unwrap();
    assert_eq!(manifest.dataset, "cot-math");
    // Every cot-math sample fits in 512 byte tokens with room for its answer.
    assert_eq!(manifest.eval_sample_ids.len(), 8, "round(32 * 0.25)");
    assert_eq!(manifest.train_samples, 24);

    // The held-out split, base and base+adapter side by side; the base comes from the adapter.
    let eval_split = [
        "eval",
        "--split-of",
        out_s,
        "--max-tokens",
        "6",
        "--compare-base",
        "--json",
    ];
    let first: serde_json::Value = serde_json::from_str(&ok(&assay(&db, &eval_split))).unwrap();
    check_tallies(&first, 8);
    let models = first["models"].as_array().unwrap();
    assert_eq!(models[0]["name"], "base");
    assert_eq!(models[1]["name"], "base+adapter");
    assert!(models[1]["by_kind"]["cot"].is_object(), "{first:#}");
    assert_eq!(first["failures"]["dataset"], "cot-math-eval-failures");
    let wrong = 8 - models[1]["overall"]["correct"].as_u64().unwrap();
    assert_eq!(first["failures"]["stored"], wrong);
    assert!(wrong > 0, "a random model answers cot-math wrongly");
    assert_eq!(failure_count(&db, "cot-math-eval-failures"), wrong);

    // Each failure names the run and both answers, and carries a failing verdict.
    let store = Store::open(&db).unwrap();
    let fds = store.require_dataset("cot-math-eval-failures").unwrap();
    store
        .for_each_sample(&Filter::dataset(fds), |s| {
            let e = &s.meta.extra["eval"];
            assert_eq!(e["adapter"], out_s);
            assert_eq!(e["model"], "base+adapter");
            assert!(
                manifest
                    .eval_sample_ids
                    .contains(&e["source_sample"].as_i64().unwrap())
            );
            assert_eq!(e["golden"].as_str(), s.head.content.golden.as_deref());
            assert_eq!(s.kind, SampleKind::Cot);
            assert_eq!(s.verdict, assay::model::VerdictSummary::Fail);
            assert!(s.head.content.answer_turn().is_some());
            Ok(())
        })
        .unwrap();
    drop(store);

    // Rerunning stores nothing new.
    let again: serde_json::Value = serde_json::from_str(&ok(&assay(&db, &eval_split))).unwrap();
    assert_eq!(again["failures"]["stored"], 0);
    assert_eq!(again["failures"]["already_stored"], wrong);
    // Greedy decoding is deterministic: the same scores (timings aside).
    for i in 0..2 {
        assert_eq!(again["models"][i]["overall"], first["models"][i]["overall"]);
    }
    assert_eq!(failure_count(&db, "cot-math-eval-failures"), wrong);

    // A dataset with filters and a limit: multiple-choice items, text report.
    let text = ok(&assay(
        &db,
        &[
            "eval",
            "--dataset",
            "logic-mc",
            "--kind",
            "multiple_choice",
            "--adapter",
            out_s,
            "--limit",
            "5",
            "--max-tokens",
            "4",
            "--failures",
            "mc-misses",
        ],
    ));
    assert!(text.contains("items: 5 from dataset logic-mc"), "{text}");
    assert!(text.contains("multiple_choice"), "{text}");
    let n = failure_count(&db, "mc-misses");
    assert!(
        n <= 5 && text.contains(&format!("failures: {n} new samples")),
        "{text}"
    );

    // Bad input is an error naming what to do, not a panic.
    let bad = assay(
        &db,
        &[
            "eval",
            "--dataset",
            "nope",
            "--base",
            base.to_str().unwrap(),
        ],
    );
    assert!(!bad.status.success());
    let none = assay(
        &db,
        &[
            "eval",
            "--dataset",
            "alpaca-qa",
            "--base",
            base.to_str().unwrap(),
            "--no-failures",
        ],
    );
    assert!(!none.status.success());
    assert!(String::from_utf8_lossy(&none.stderr).contains("no golden answer"));
}

/// Greedy generation runs base + adapter: the merged candle-transformers model gives the
/// training model's logits (with the adapter applied, B non-zero) at the last position, with
/// and without the KV cache.
#[test]
fn generation_model_is_base_plus_adapter() {
    let base = BaseWeights::random(tiny_config(), &Device::Cpu, 5).unwrap();
    let lora = LoraLlama::new(&base, LoraConfig::default(), 9).unwrap();
    for (_, pair) in lora.lora_pairs() {
        let b = Tensor::randn(0f32, 0.5, pair.b.dims(), &Device::Cpu).unwrap();
        pair.b.set(&b).unwrap();
    }
    let ids: Vec<u32> = "<q>1+1=?</q>".bytes().map(u32::from).collect();
    let input = Tensor::new(ids.as_slice(), &Device::Cpu)
        .unwrap()
        .unsqueeze(0)
        .unwrap();
    let want = lora.forward(&input, false).unwrap();
    let want: Vec<f32> = want
        .get(0)
        .unwrap()
        .get(ids.len() - 1)
        .unwrap()
        .to_vec1()
        .unwrap();
    let plain: Vec<f32> = LoraLlama::new(&base, LoraConfig::default(), 9)
        .unwrap()
        .forward(&input, false)
        .unwrap()
        .get(0)
        .unwrap()
        .get(ids.len() - 1)
        .unwrap()
        .to_vec1()
        .unwrap();
    let mut merged =
        CandleLlama::new(lora.merged_tensors().unwrap(), &base.config, &Device::Cpu).unwrap();
    let diff = |a: &[f32], b: &[f32]| {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max)
    };
    let whole = merged.logits(&ids, 0).unwrap();
    assert!(diff(&whole, &want) < 1e-4, "{}", diff(&whole, &want));
    assert!(diff(&plain, &want) > 1e-2, "the adapter changes the logits");
    // Prompt then one token at a time through the cache.
    let (head, last) = ids.split_at(ids.len() - 1);
    merged.logits(head, 0).unwrap();
    let cached = merged.logits(last, head.len()).unwrap();
    assert!(diff(&cached, &want) < 1e-4, "{}", diff(&cached, &want));
}

/// The split `assay train` records is the one the trainer holds out: examples at the predicted
/// positions are copies of X, the rest Y; the trainer's eval loss is then X's loss exactly.
#[test]
fn recorded_split_is_the_trainers() {
    let ex = |q: &str, a: &str| {
        let c = Content {
            turns: vec![Turn::user(q), Turn::assistant(a)],
            ..Content::default()
        };
        encode_chatml(&ByteTokenizer, &c, 64).unwrap().unwrap()
    };
    let (x, y) = (ex("1+1?", "2"), ex("Capital of France?", "Paris"));
    let config = TrainConfig {
        eval_fraction: 0.2,
        batch_size: 2,
        seed: 1234,
        lora: LoraConfig {
            dropout: 0.0,
            ..LoraConfig::default()
        },
        ..TrainConfig::default()
    };
    let base = BaseWeights::random(tiny_config(), &Device::Cpu, 2).unwrap();
    let held = split::held_out_positions(10, config.seed, config.eval_fraction);
    assert_eq!(held.len(), 2);
    let mixed: Vec<_> = (0..10)
        .map(|i| {
            if held.contains(&i) {
                x.clone()
            } else {
                y.clone()
            }
        })
        .collect();
    let loss = |examples| {
        let model = LoraLlama::new(&base, config.lora.clone(), 3).unwrap();
        Trainer::new(model, config.clone(), examples)
            .unwrap()
            .eval_loss()
            .unwrap()
            .unwrap()
    };
    let all_x = loss(vec![x.clone(); 10]);
    assert_eq!(loss(mixed), all_x);
    assert_ne!(
        loss(vec![y.clone(); 10]),
        all_x,
        "the check can tell X from Y"
    );
}

fn mc_sample(question: &str) -> NewSample {
    NewSample {
        kind: SampleKind::MultipleChoice,
        content: Content {
            turns: vec![Turn::user(question)],
            golden: Some("B".into()),
            options: vec!["one".into(), "two".into(), "three".into()],
            ..Content::default()
        },
        source: Source::File {
            path: "t".into(),
            line: 1,
        },
        meta: SampleMeta::default(),
    }
}

/// An adapter trained to answer `B` scores every B-keyed item, where the random base
/// scores none; failures of the base-only run land in the store once.
#[test]
fn trained_adapter_lifts_accuracy() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("e.db")).unwrap();
    let ds = store.ensure_dataset("mc").unwrap();
    let questions = ["Pick two.", "Which is 2?", "Choose the second.", "1+1?"];
    {
        let mut batch = store.import_batch(ds, "test").unwrap();
        for q in questions {
            batch
                .insert(&ImportRecord::new(mc_sample(q)).unwrap())
                .unwrap();
        }
        batch.commit().unwrap();
    }
    let mut items = Vec::new();
    store
        .for_each_sample(&Filter::dataset(ds), |s| {
            items.push(item_from(&s).unwrap());
            Ok(())
        })
        .unwrap();
    assert_eq!(items.len(), 4);

    // Train on the items' prompts with the answer `B`.
    let examples = items
        .iter()
        .map(|it| {
            let mut turns = it.turns.clone();
            turns.push(Turn::assistant("B"));
            let c = Content {
                turns,
                ..Content::default()
            };
            encode_chatml(&ByteTokenizer, &c, 256).unwrap().unwrap()
        })
        .collect();
    let base = BaseWeights::random(tiny_config(), &Device::Cpu, 1).unwrap();
    let config = TrainConfig {
        lora: LoraConfig {
            dropout: 0.0,
            targets: assay::train::lora::ATTENTION_MODULES
                .iter()
                .chain(&assay::train::lora::MLP_MODULES)
                .map(|m| m.to_string())
                .collect(),
            ..LoraConfig::default()
        },
        learning_rate: 1e-2,
        warmup_steps: 3,
        max_steps: 40,
        batch_size: 4,
        eval_fraction: 0.0,
        max_seq_len: 256,
        ..TrainConfig::default()
    };
    let lora_model = LoraLlama::new(&base, config.lora.clone(), 3).unwrap();
    let mut trainer = Trainer::new(lora_model, config, examples).unwrap();
    for _ in 0..40 {
        trainer.train_step().unwrap();
    }
    let adapter = dir.path().join("adapter");
    save_adapter(&trainer.model, &adapter, "tiny").unwrap();

    let fds = store.ensure_dataset("mc-eval-failures").unwrap();
    let run_info = RunInfo {
        model: "base+adapter".into(),
        base: "tiny".into(),
        adapter: Some(adapter.display().to_string()),
        source: "dataset mc".into(),
    };
    let plan = Plan {
        tokenizer: &ByteTokenizer,
        contenders: vec![
            Contender {
                name: "base".into(),
                model: model::base_model(&base, model::EngineKind::Auto).unwrap(),
            },
            Contender {
                name: "base+adapter".into(),
                model: model::adapted_model(&base, &adapter, model::EngineKind::Auto).unwrap(),
            },
        ],
        max_tokens: 12,
        failures_to: Some(fds),
        run: run_info,
    };
    let mut report = Report::default();
    let stop = AtomicBool::new(false);
    let mut seen = 0;
    run(&mut store, &items, plan, &mut report, &stop, &mut |n| {
        seen = n
    })
    .unwrap();
    assert_eq!(seen, 4);
    assert_eq!(report.scored, 4);
    let (b, a) = (&report.models[0].overall, &report.models[1].overall);
    assert_eq!(a.correct, 4, "{report:#?}");
    assert!(b.correct < a.correct, "{report:#?}");
    assert_eq!(report.failures.stored, 0, "the adapter failed nothing");

    // A stop before the first token scores nothing and says so.
    let stop = AtomicBool::new(true);
    let plan = Plan {
        tokenizer: &ByteTokenizer,
        contenders: vec![Contender {
            name: "base".into(),
            model: model::base_model(&base, model::EngineKind::Auto).unwrap(),
        }],
        max_tokens: 12,
        failures_to: Some(fds),
        run: RunInfo {
            model: "base".into(),
            base: "tiny".into(),
            adapter: None,
            source: "dataset mc".into(),
        },
    };
    let mut stopped = Report::default();
    run(&mut store, &items, plan, &mut stopped, &stop, &mut |_| {}).unwrap();
    assert!(stopped.stopped);
    assert_eq!(stopped.scored, 0);
    assert_eq!(stopped.models[0].overall.scored, 0);
}

fn smollm2() -> Option<std::path::PathBuf> {
    let path = assay::llm::local::LocalModel::default_path();
    if path.is_file() {
        return Some(path);
    }
    assert!(
        std::env::var_os("ASSAY_REQUIRE_MODEL").is_none(),
        "ASSAY_REQUIRE_MODEL is set but there is no model at {}",
        path.display()
    );
    eprintln!(
        "SKIPPED: no model at {} (run `assay model fetch`)",
        path.display()
    );
    None
}

/// On SmolLM2: the Q8_0 engine and candle's f32 llama agree on the merged weights (same next
/// token, logits within quantisation error), and `assay eval` scores a handful of logic_mc items
/// with the counts adding up.
#[test]
fn smollm2_engines_agree_and_score_logic_mc() {
    let Some(path) = smollm2() else {
        return;
    };
    let dev = Device::Cpu;
    let base = BaseWeights::from_gguf(&path, &dev).unwrap();
    let lora = LoraLlama::new(&base, LoraConfig::default(), 4).unwrap();
    for (_, pair) in lora.lora_pairs() {
        let b = Tensor::randn(0f32, 0.02, pair.b.dims(), &dev).unwrap();
        pair.b.set(&b).unwrap();
    }
    let tensors = lora.merged_tensors().unwrap();
    // Short: in the dev profile the Q8_0 kernel (this crate's code) runs unoptimised.
    let ids: Vec<u32> = vec![1, 4093, 198, 2683, 457];
    let mut q8 = assay::eval::fast::engine_model(&path, &tensors, &base.config).unwrap();
    let mut f32m = CandleLlama::new(tensors, &base.config, &dev).unwrap();
    let a = q8.logits(&ids, 0).unwrap();
    let b = f32m.logits(&ids, 0).unwrap();
    let argmax = |v: &[f32]| {
        v.iter()
            .enumerate()
            .max_by(|x, y| x.1.total_cmp(y.1))
            .map(|(i, _)| i)
            .unwrap()
    };
    assert_eq!(argmax(&a), argmax(&b));
    let diff = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0f32, f32::max);
    let scale = b.iter().map(|x| x.abs()).fold(0f32, f32::max);
    eprintln!("q8 vs f32: max |diff| {diff} of max |logit| {scale}");
    assert!(diff < 0.05 * scale, "{diff} vs {scale}");
    drop((q8, f32m, lora, base));

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    ok(&assay(&db, &["demo", "--no-tui", "--no-model"]));
    let report: serde_json::Value = serde_json::from_str(&ok(&assay(
        &db,
        &[
            "eval",
            "--dataset",
            "logic-mc",
            "--limit",
            "4",
            "--max-tokens",
            "24",
            "--json",
            "--engine",
            "candle",
        ],
    )))
    .unwrap();
    check_tallies(&report, 4);
    let stored = report["failures"]["stored"].as_u64().unwrap();
    let correct = report["models"][0]["overall"]["correct"].as_u64().unwrap();
    assert_eq!(stored + correct, 4, "{report:#}");
    assert_eq!(failure_count(&db, "logic-mc-eval-failures"), stored);
}
