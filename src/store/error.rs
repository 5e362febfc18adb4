//! What can go wrong in the store, with enough context to act on.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open database {path}: {reason}")]
    Open { path: PathBuf, reason: String },
    #[error(
        "no database at {path}: import data first (`assay import FILE`), try `assay demo`, or \
         pass --db (or set ASSAY_DB) to an existing file"
    )]
    Missing { path: PathBuf },
    #[error(
        "database schema migration failed: {0} (the file may be from a newer assay: open it \
         with that version)"
    )]
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
    /// Why SQLite could not open or set up the file at `path`, and what to do about it.
    pub fn open(path: &Path, err: &rusqlite::Error) -> Self {
        use rusqlite::ErrorCode as C;
        let code = match err {
            rusqlite::Error::SqliteFailure(e, _) => Some(e.code),
            _ => None,
        };
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.display().to_string(),
            _ => ".".to_string(),
        };
        let p = path.display();
        let reason = match code {
            Some(C::CannotOpen)
                if path
                    .parent()
                    .is_some_and(|d| !d.as_os_str().is_empty() && !d.exists()) =>
            {
                format!(
                    "its folder {dir} does not exist: create it, or pass --db with another path"
                )
            }
            Some(C::CannotOpen | C::ReadOnly) => format!(
                "SQLite says \"{err}\". assay keeps {p}-wal and {p}-shm beside the database, so \
                 it needs write access to the file and to its folder {dir}: give that access, or \
                 copy the file somewhere writable (`assay backup` makes a copy)"
            ),
            Some(C::NotADatabase) => format!(
                "it is not an SQLite database (SQLite says \"{err}\"): pass --db with an assay \
                 database file"
            ),
            Some(C::DatabaseCorrupt) => format!(
                "the file is damaged (SQLite says \"{err}\"): restore it from a copy made with \
                 `assay backup`"
            ),
            Some(C::DatabaseBusy | C::DatabaseLocked) => format!(
                "another process holds a lock on it (SQLite says \"{err}\"): try again when \
                 it is done"
            ),
            _ => format!("{err} (check the path and its permissions, or pass --db)"),
        };
        StoreError::Open {
            path: path.to_path_buf(),
            reason,
        }
    }

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
