//! Text processing: chunking, near-duplicate detection, diversity, terminal-safe text, secrets
//! scrubbed from text that others printed.
//!
//! Pure algorithms over strings and contents: nothing here reads the store (the passes that run
//! them over a dataset are in [`crate::curate`]), so `llm` and the screens can use them too.

pub mod chunk;
pub mod dedup;
pub mod diversity;
pub mod minhash;
pub mod sanitize;
pub mod secrets;
pub mod width;
