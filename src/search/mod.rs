//! Search over the samples: the query language (filters plus fuzzy text), the engine that
//! answers a query against SQLite off the caller's thread, and a live session that keeps the
//! latest results. The TUI's search screen holds only its line and cursor over a session.

pub mod engine;
pub mod query;
pub mod session;

pub use session::Session;
