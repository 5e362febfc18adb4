//! Where the tests on the real offline model (SmolLM2 GGUF) find it: `ASSAY_MODEL_PATH`, else the
//! default path (`assay model fetch`). Without it those tests print a loud notice and pass, unless
//! `ASSAY_REQUIRE_MODEL=1` (CI), where they fail.

use std::path::PathBuf;

/// The model file these tests use (it may not exist).
pub fn path() -> PathBuf {
    std::env::var_os("ASSAY_MODEL_PATH")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(assay::llm::local::LocalModel::default_path)
}

/// The model file, or None after a loud notice (a failure under `ASSAY_REQUIRE_MODEL=1`).
pub fn find() -> Option<PathBuf> {
    let path = path();
    if path.is_file() {
        return Some(path);
    }
    let required = std::env::var("ASSAY_REQUIRE_MODEL").is_ok_and(|v| v == "1");
    assert!(
        !required,
        "ASSAY_REQUIRE_MODEL=1 but no model at {}; run `assay model fetch`",
        path.display()
    );
    eprintln!(
        "\n!!!!! SKIPPED: no local model at {} (run `assay model fetch` or set \
         ASSAY_MODEL_PATH); set ASSAY_REQUIRE_MODEL=1 to make this a failure !!!!!\n",
        path.display()
    );
    None
}
