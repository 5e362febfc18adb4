//! `assay demo`: load the bundled sample data into a fresh database; the binary then opens the
//! TUI on it (the front ends do not call each other).
//!
//! The demo never touches the user's own database: unless `--db` names another file it uses
//! `assay-demo.db`. It recreates that file only while nobody has reviewed anything in it:
//! earlier demo work (review decisions) is kept and opened as it is, unless `--fresh`.

use super::GlobalArgs;
use crate::formats::ReadOptions;
use crate::ingest;
use crate::sample_data;
use crate::store::Store;
use anyhow::Context;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Load the data and print the stats, without opening the TUI.
    #[arg(long)]
    pub no_tui: bool,
    /// Do not try to fetch the offline model.
    #[arg(long)]
    pub no_model: bool,
    /// Start over: replace an earlier demo database even if it holds review decisions.
    #[arg(long)]
    pub fresh: bool,
}

/// The dataset the TUI opens on after the demo: chain-of-thought samples with verdicts, one of
/// them with a highlighted first wrong step.
pub const OPEN_ON: &str = "cot-math";

/// The file the demo writes when the global `--db` is left at its default.
pub const DEMO_DB: &str = "assay-demo.db";

/// Loads the demo database; returns it when the TUI should open on it (not with `--no-tui`).
pub fn run(global: &GlobalArgs, args: Args) -> anyhow::Result<Option<PathBuf>> {
    let db = if global.db == Path::new(crate::store::DEFAULT_DB) {
        PathBuf::from(DEMO_DB)
    } else {
        global.db.clone()
    };
    let earlier = earlier_decisions(&db)?;
    if earlier > 0 && !args.fresh {
        super::output::line(format!(
            "{} holds your earlier demo work ({earlier} review decisions): opening it as it is \
             (`assay demo --fresh` starts over)",
            db.display()
        ))?;
    } else {
        remove_database(&db)?;
        load(&db)?;
    }
    if !args.no_model {
        ensure_model();
    }
    let store = Store::open(&db)?;
    super::stats::print(&store, None, false)?;
    drop(store);
    super::output::line(format!(
        "\nThe demo's data is in {db}; other commands read ./assay.db unless told: pass --db {db} \
         (or export ASSAY_DB={db}) to use them on it, e.g. `assay --db {db} audit status`.",
        db = db.display()
    ))?;
    Ok((!args.no_tui).then_some(db))
}

/// Review decisions in an earlier demo database at `db` (0 when there is none).
fn earlier_decisions(db: &Path) -> anyhow::Result<u64> {
    if !db.exists() {
        return Ok(0);
    }
    let store = Store::open(db)?;
    Ok(store.stats(None)?.iter().map(|s| s.reviews).sum())
}

/// Imports every bundled file into its dataset, chunks the raw document, attaches verdicts.
pub fn load(db: &Path) -> anyhow::Result<()> {
    let dir = tempdir()?;
    let files = sample_data::unpack(&dir)?;
    let mut store = Store::open(db)?;
    for (path, bundled) in &files {
        match bundled.format {
            Some(format) => {
                let opts = ReadOptions {
                    format: Some(format),
                    ..ReadOptions::default()
                };
                let (counts, _, _) =
                    ingest::import::import_file(&mut store, path, bundled.dataset, opts)?;
                super::output::line(format!(
                    "{}: {} imported into {:?}, {} rejected",
                    bundled.file, counts.imported, bundled.dataset, counts.rejected
                ))?;
            }
            None => {
                let plan = ingest::chunk::Plan::new(&ingest::chunk::Options {
                    paths: vec![path.clone()],
                    size: 1024,
                    overlap: 50,
                    dataset: Some(bundled.dataset.to_string()),
                    separators: crate::text::chunk::default_separators(),
                    lossy: false,
                })?;
                super::chunk::chunk_and_report(&mut store, &plan)?;
            }
        }
    }
    let (attached, unmatched) = sample_data::load_verdicts(&mut store, sample_data::VERDICTS)?;
    super::output::line(format!("verdicts: {attached} attached"))?;
    anyhow::ensure!(
        unmatched.is_empty(),
        "bundled verdicts name questions that no sample has: {unmatched:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Fetches the offline model if it is missing; without a network the demo goes on without it.
fn ensure_model() {
    let path = crate::llm::local::LocalModel::default_path();
    if path.is_file() {
        return;
    }
    eprintln!("fetching the offline model (assay model fetch)...");
    if let Err(e) = crate::llm::local::fetch::fetch_default(&crate::paths::models_dir()) {
        eprintln!("could not fetch the offline model ({e}); regenerate will say how to get it");
    }
}

fn remove_database(db: &Path) -> anyhow::Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        match std::fs::remove_file(&name) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).with_context(|| format!("removing old demo database {name:?}"));
            }
        }
    }
    Ok(())
}

fn tempdir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("assay-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}
