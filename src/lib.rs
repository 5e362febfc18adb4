//! assay: a terminal workbench for the data that fine-tunes large language models.
//!
//! A stack of layers (ARCHITECTURE.md): `model`, `paths`, `cpu` < `store`, `llama` < `formats`,
//! `text` < `llm` < `prompting` < `jobs` < the capabilities over the store (`audit`, `curate`,
//! `search`, `ingest`, `export`) < `generate`, `verify` < `train` < `eval` < the front ends
//! (`cli`, `tui`). A module uses only lower layers (`tests/architecture.rs` checks it), and
//! nothing below the front ends knows that a terminal or a command line exists.

pub mod audit;
pub mod cli;
pub mod cpu;
pub mod curate;
pub mod eval;
pub mod export;
pub mod formats;
pub mod generate;
pub mod ingest;
pub mod jobs;
pub mod llama;
pub mod llm;
pub mod model;
pub mod paths;
pub mod prompting;
pub mod sample_data;
pub mod search;
pub mod store;
pub mod text;
pub mod train;
pub mod tui;
pub mod verify;
