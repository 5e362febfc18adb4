//! Paths: dataset names that try to leave the export folder (`../../x`, absolute paths, NUL,
//! backslashes, a leading dot, very long names) are exported as LLaMA-Factory and Hugging Face
//! folders by the real binary (and, for names argv cannot carry, by the library), and every file
//! written must lie inside the chosen folder.

#[path = "support/reliability.rs"]
mod rel;

use assay::formats::folders::{LlamaFactory, safe_name};
use assay::model::{Content, NewSample, SampleKind, SampleMeta, Source, Turn};
use assay::store::Store;
use std::path::Path;
use std::process::Command;

fn hostile_names() -> Vec<String> {
    let mut v: Vec<String> = [
        "../../x",
        "../escape",
        "..",
        ".",
        "/etc/cron.d/evil",
        "/tmp/abs",
        "a/../../b",
        "..\\..\\win",
        "C:\\Windows\\evil",
        ".hidden",
        "~/home",
        "a\0b",
        "name\nwith\nlines",
        "dataset_info",
        "CON",
        "",
        "   ",
        "\u{202e}gpj.exe",
        "数据/../../集",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push("../".repeat(200));
    v.push("x".repeat(5000));
    v
}

fn inside(root: &Path, folder: &Path) -> usize {
    let folder = folder.canonicalize().unwrap();
    let mut n = 0;
    for f in rel::files_under(root) {
        let f = f.canonicalize().unwrap();
        if f.extension()
            .is_some_and(|e| e == "db" || e == "db-wal" || e == "db-shm")
            || f.starts_with(root.join("home").canonicalize().unwrap_or_default())
        {
            continue;
        }
        assert!(
            f.starts_with(&folder),
            "{} escaped {}",
            f.display(),
            folder.display()
        );
        n += 1;
    }
    n
}

#[test]
fn export_names_cannot_leave_the_chosen_folder() {
    let mut tried = 0;
    let mut files = 0;
    for (k, name) in hostile_names().into_iter().enumerate() {
        // The file-name part on its own.
        let safe = safe_name(&name);
        assert!(
            !safe.is_empty()
                && !safe.starts_with('.')
                && safe
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '-' || c == '_'),
            "{name:?} -> {safe:?}"
        );
        // The library writer, which takes any name.
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("out");
        let mut w = LlamaFactory::create(&out, &name).unwrap();
        let content = Content {
            turns: vec![Turn::user("q"), Turn::assistant("a")],
            ..Content::default()
        };
        let view = assay::formats::SampleView {
            kind: SampleKind::Qa,
            content: &content,
            meta: &SampleMeta::default(),
        };
        assert!(w.write(&view).unwrap());
        w.finish().unwrap();
        files += inside(root.path(), &out);
        tried += 1;

        // The real binary, for names argv can carry.
        if name.contains('\0') || name.trim().is_empty() || name.len() > 1000 {
            continue;
        }
        let root = tempfile::tempdir().unwrap();
        let db = root.path().join("p.db");
        {
            let mut store = Store::open(&db).unwrap();
            let ds = store.ensure_dataset(&name).unwrap();
            assay::jobs::store_samples(
                &mut store,
                ds,
                "import",
                vec![NewSample {
                    kind: SampleKind::Qa,
                    content: content.clone(),
                    source: Source::File {
                        path: format!("{name}.jsonl"),
                        line: 1,
                    },
                    meta: SampleMeta::default(),
                }],
            )
            .unwrap();
        }
        for format in ["llamafactory", "hf"] {
            let out = root.path().join(format!("{format}{k}"));
            let r = Command::new(rel::bin())
                .arg("--db")
                .arg(&db)
                .env("ASSAY_HOME", root.path().join("home"))
                .args(["export", "--format", format, "--out"])
                .arg(&out)
                .args(["--dataset", &name, "--all", "--force", "path test"])
                .output()
                .unwrap();
            assert!(
                r.status.success(),
                "{name:?} {format}: {}",
                String::from_utf8_lossy(&r.stderr)
            );
            let written = inside(root.path(), &out);
            assert!(written >= 1, "{name:?} {format}: nothing written");
            if format == "llamafactory" {
                let info: serde_json::Value = serde_json::from_str(
                    &std::fs::read_to_string(out.join("dataset_info.json")).unwrap(),
                )
                .unwrap();
                for (_, v) in info.as_object().unwrap() {
                    let f = v["file_name"].as_str().unwrap();
                    assert!(
                        !f.contains('/') && !f.contains('\\') && !f.starts_with('.'),
                        "{f}"
                    );
                    assert!(out.join(f).is_file(), "{f}");
                }
            }
            // Leave only this export for the next check.
            std::fs::remove_dir_all(&out).unwrap();
            files += written;
            tried += 1;
        }
    }
    rel::figures(
        "paths",
        &format!(
            "{} hostile dataset names, {tried} exports (library + llamafactory/hf through the \
             binary), {files} files written, 0 outside the chosen folder",
            hostile_names().len()
        ),
    );
}
