//! Text processing: chunking, near-duplicate detection, diversity, terminal-safe text.

pub mod chunk;
pub mod dedup;
pub mod diversity;
pub mod minhash;
pub mod sanitize;
