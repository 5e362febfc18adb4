//! assay: a terminal workbench for the data that fine-tunes large language models.
//!
//! Arrows point down: `tui` may use everything; `gen`, `train` and `audit` use `store`, `llm`
//! and `model`; `model` uses nothing of ours. Nothing below `tui` knows that a terminal exists,
//! so every capability is also reachable from the CLI and from tests.

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
