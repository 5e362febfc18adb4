//! The layering rule of ARCHITECTURE.md, checked on the code: every `crate::MODULE` reference in
//! `src/` (comments aside) points to a module of a lower layer, so no arrow runs up and there is
//! no circle between top-level modules. A new top-level module must be given a layer here and in
//! ARCHITECTURE.md.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The layers, lowest first. A module may use modules of lower layers only.
const LAYERS: &[&[&str]] = &[
    &["model", "paths", "cpu"],
    &["store", "llama"],
    &["formats", "text"],
    &["llm"],
    &["prompting"],
    &["jobs"],
    &[
        "audit",
        "curate",
        "search",
        "ingest",
        "export",
        "sample_data",
    ],
    &["generate", "verify"],
    &["train"],
    &["eval"],
    &["cli", "tui"],
];

fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`src/tui/app/mod.rs` -> `tui`).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// The top-level modules a line of code names as `crate::NAME`.
fn referenced(line: &str) -> Vec<String> {
    line.match_indices("crate::")
        .filter(|(i, _)| {
            // `assay::crate::` does not occur; skip identifiers that merely end in "crate".
            *i == 0 || !line.as_bytes()[i - 1].is_ascii_alphanumeric()
        })
        .map(|(i, m)| {
            line[i + m.len()..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_' || c.is_ascii_digit())
                .collect::<String>()
        })
        .filter(|name| !name.is_empty())
        .collect()
}

#[test]
fn every_module_uses_only_lower_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut wrong = BTreeSet::new();
    let mut unplaced = BTreeSet::new();
    for file in &files {
        let from = module_of(&src, file);
        if from == "lib" || from == "main" {
            continue;
        }
        let Some(from_layer) = layer(&from) else {
            unplaced.insert(from.clone());
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for to in referenced(line) {
                if to == from {
                    continue;
                }
                match layer(&to) {
                    None => {
                        unplaced.insert(to);
                    }
                    Some(to_layer) if to_layer >= from_layer => {
                        let rel = file.strip_prefix(&src).unwrap().display().to_string();
                        wrong.insert(format!("{from} -> {to} (src/{rel})"));
                    }
                    Some(_) => {}
                }
            }
        }
    }
    assert!(
        unplaced.is_empty(),
        "modules without a layer (add them to LAYERS and ARCHITECTURE.md): {unplaced:?}"
    );
    assert!(
        wrong.is_empty(),
        "edges that do not point to a lower layer:\n{}",
        wrong.into_iter().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn the_rule_sees_an_upward_edge() {
    // The checker itself: a reference is found, and an upward one would be judged wrong.
    assert_eq!(
        referenced("use crate::store::{Store, Filter}; x = crate::tui::run;"),
        ["store", "tui"]
    );
    assert!(layer("store").unwrap() < layer("tui").unwrap());
    assert!(layer("cli") == layer("tui"));
}

#[test]
fn every_layer_is_in_the_architecture_document() {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("ARCHITECTURE.md"))
            .unwrap();
    for module in LAYERS.iter().flat_map(|l| l.iter()) {
        assert!(
            doc.contains(&format!("`{module}`")),
            "ARCHITECTURE.md does not name `{module}`"
        );
    }
}
