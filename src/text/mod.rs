//! Text processing: chunking, near-duplicate detection, diversity, terminal-safe text.
