//! `assay train` on the real binary and the offline model: the audit gate refuses, a waiver lets
//! it train, the loss is printed per step and a PEFT adapter is written.

use assay::model::Decision;
use assay::store::{Filter, Store};
use std::process::Command;

fn model_present() -> bool {
    let path = assay::llm::local::LocalModel::default_path();
    if path.is_file() {
        return true;
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
    false
}

#[test]
fn train_is_gated_then_writes_an_adapter() {
    if !model_present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let assay = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_assay"))
            .arg("--db")
            .arg(&db)
            .args(args)
            .env("USER", "tester")
            .output()
            .unwrap()
    };
    assert!(assay(&["demo", "--no-tui", "--no-model"]).status.success());
    {
        let mut store = Store::open(&db).unwrap();
        let ds = store.require_dataset("alpaca-qa").unwrap();
        let rows = store.list_page(&Filter::dataset(ds), None, 6).unwrap();
        for r in rows {
            let rev = store.sample(r.id).unwrap().head.id;
            store
                .add_review(r.id, rev, "tester", Decision::Accept, "")
                .unwrap();
        }
    }
    let out = dir.path().join("lora");
    let common = [
        "train",
        "--dataset",
        "alpaca-qa",
        "--max-steps",
        "2",
        "--batch-size",
        "1",
        "--max-seq-len",
        "64",
        "--eval-fraction",
        "0",
        "--out",
    ];
    let refused = assay(&[&common[..], &[out.to_str().unwrap()]].concat());
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("has no audit"));

    let ran = assay(&[&common[..], &[out.to_str().unwrap(), "--force", "test"]].concat());
    let stdout = String::from_utf8_lossy(&ran.stdout);
    assert!(
        ran.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&ran.stderr)
    );
    let points: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(points.len(), 2);
    for p in &points {
        let loss = p["loss"].as_f64().unwrap();
        assert!(loss.is_finite() && loss > 0.0, "{p}");
    }
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("adapter_config.json")).unwrap())
            .unwrap();
    assert_eq!(config["peft_type"], "LORA");
    assert_eq!(config["r"], 8);
    assert!(out.join("adapter_model.safetensors").is_file());

    let store = Store::open(&db).unwrap();
    let n: i64 = store
        .conn()
        .query_row("SELECT count(*) FROM audit_waivers", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1, "the waiver is recorded");

    // The run is recorded: its snapshot, every step as a point, and how it ended.
    let runs = store.runs().unwrap();
    assert_eq!(runs.len(), 1, "the refused attempt made no run");
    let run = &runs[0];
    assert_eq!(
        (run.trainer.as_str(), run.status),
        ("builtin", assay::store::RunStatus::Completed)
    );
    assert_eq!(store.run_snapshot(run.id).unwrap().len(), 6);
    let recorded = store.run_points(run.id, 0).unwrap();
    assert_eq!(recorded.len(), 2);
    for ((_, p), printed) in recorded.iter().zip(&points) {
        assert_eq!(p.step, printed["step"].as_u64().unwrap());
        let loss = printed["loss"].as_f64().unwrap();
        assert!((p.loss.unwrap() - loss).abs() < 1e-6);
    }
    assert_eq!(run.config["spec"]["config"]["max_steps"], 2);
    assert_eq!(run.out_dir, out.display().to_string());
}
