//! What can go wrong in the store, with enough context to act on.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "cannot open database {path}: {source} (check the path and its permissions, or pass --db)"
    )]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("database schema migration failed: {0} (the file may be from a newer assay)")]
    Migration(String),
    #[error("{what} not found")]
    NotFound { what: String },
    #[error("stored JSON in {table}.{column} of row {id} is unreadable: {source}")]
    Corrupt {
        table: &'static str,
        column: &'static str,
        id: i64,
        source: serde_json::Error,
    },
    #[error(
        "sample {sample_id} changed while you looked at it: you saw revision {seen}, its head is \
         now revision {head}; nothing was recorded, look at the new head and decide again"
    )]
    Stale {
        sample_id: i64,
        seen: i64,
        head: i64,
    },
    #[error("{0}")]
    Invalid(String),
    #[error("the bulk insert was already committed (a bug in assay: please report it)")]
    BatchEnded,
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

impl StoreError {
    pub fn not_found(what: impl Into<String>) -> Self {
        StoreError::NotFound { what: what.into() }
    }

    /// Another connection holds the write lock (after the busy timeout ran out).
    pub fn is_busy(&self) -> bool {
        matches!(
            self,
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _))
                if matches!(
                    e.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                )
        )
    }
}
