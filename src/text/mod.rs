//! Text processing: chunking, near-duplicate detection, diversity, terminal-safe text.
pub mod sanitize;
