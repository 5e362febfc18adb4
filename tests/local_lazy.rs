//! The TUI's model loads lazily: with the offline model present, choosing the backend and
//! drawing the first frame read no weights; the first request loads them once.
//!
//! Needs the real model (see tests/local_model.rs); skips with a notice without it.

use std::sync::Arc;

use assay::llm::local::{LocalModel, load_count};
use assay::llm::select::{Backend, build, choose, select_lazy};
use assay::llm::{ChatMessage, ChatRequest};
use assay::store::Store;
use assay::tui::harness::Harness;

#[test]
fn the_tui_draws_before_the_model_loads_and_loads_it_once() {
    let real = LocalModel::default_path();
    let required = std::env::var("ASSAY_REQUIRE_MODEL").is_ok_and(|v| v == "1");
    if !real.is_file() {
        assert!(
            !required,
            "ASSAY_REQUIRE_MODEL=1 but no model at {}",
            real.display()
        );
        eprintln!(
            "\n!!!!! SKIPPED: no local model at {} !!!!!\n",
            real.display()
        );
        return;
    }
    // A data directory of our own, holding only the model (and its Q8_0 copy where made):
    // no endpoint profile, so the offline model is chosen.
    let home = tempfile::tempdir().expect("tempdir");
    let models = home.path().join("models");
    std::fs::create_dir_all(&models).expect("models dir");
    let dir = real.parent().expect("model dir");
    for entry in std::fs::read_dir(dir).expect("read models").flatten() {
        if entry.path().extension().is_some_and(|e| e == "gguf") {
            std::os::unix::fs::symlink(entry.path(), models.join(entry.file_name()))
                .expect("symlink");
        }
    }
    // SAFETY: this test binary has this one test, so no other thread reads the environment.
    unsafe {
        std::env::set_var("ASSAY_HOME", home.path());
        std::env::remove_var("OPENAI_BASE_URL");
    }
    assert!(matches!(
        choose(None, Default::default()).expect("choose"),
        Backend::Local
    ));

    let before = load_count();
    let llm = select_lazy(None, Default::default()).expect("lazy local model");
    assert!(
        llm.describe().contains("loads on first use"),
        "{}",
        llm.describe()
    );
    let store = Store::open(&home.path().join("db.sqlite")).expect("store");
    let mut h = Harness::new(store, 100, 30, Some(Arc::clone(&llm))).expect("harness");
    let frame = h.frame();
    assert!(!frame.trim().is_empty());
    assert_eq!(
        load_count(),
        before,
        "weights were loaded before the first frame"
    );

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let ask = |q: &str| ChatRequest {
        messages: vec![ChatMessage::user(q)],
        temperature: Some(0.0),
        max_tokens: Some(8),
        seed: Some(1),
        ..ChatRequest::default()
    };
    let (a, b) = rt.block_on(async {
        futures::join!(
            llm.chat(ask("What is the capital of France?"), None),
            llm.chat(ask("Say hello."), None)
        )
    });
    assert!(!a.expect("first answer").text.is_empty());
    assert!(!b.expect("second answer").text.is_empty());
    assert_eq!(
        load_count(),
        before + 1,
        "two first requests load the weights once"
    );
    assert!(
        llm.describe().starts_with("local:SmolLM2-135M-Instruct"),
        "{}",
        llm.describe()
    );

    // Pipelines keep loading eagerly: a usable model is checked before the first sample.
    let eager = build(Backend::Local).expect("eager local model");
    assert_eq!(load_count(), before + 2);
    drop(eager);
}
