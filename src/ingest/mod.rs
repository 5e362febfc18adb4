//! Getting data into the store: importing data files (any supported format, streaming, every
//! rejected record named) and chunking documents into pre-training samples. The CLI, the demo,
//! benches and tests all call these; none of it knows about a command line.

pub mod chunk;
pub mod import;
