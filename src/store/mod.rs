//! The SQLite store: the only module that speaks SQL.
//!
//! One file holds every dataset, sample, revision, verdict, review, job and run. WAL mode and a
//! busy timeout let several processes (two reviewers over SSH, a generator) share it; writes use
//! `BEGIN IMMEDIATE` so that two writers queue instead of failing with "database is locked".

mod audit;
mod backup;
mod browse;
mod checkpoint;
mod codec;
mod datasets;
mod dedup;
mod error;
mod follows;
mod heads;
mod history;
mod import;
mod jobs;
mod pipelined;
mod query;
mod reviews;
mod revise;
mod runs;
mod samples;
mod schema;
mod search_index;
mod stats;
mod views;

pub use audit::{AuditCounts, AuditRecord, Waiver};
pub use browse::Conflict;
pub use checkpoint::Checkpointer;
pub use datasets::DatasetInfo;
pub use dedup::{DupCounts, Grouping};
pub use error::StoreError;
pub use follows::RunFollow;
pub use heads::HeadMoved;
pub use history::{CandidateState, RevisionHistory, SampleHistory};
pub use import::{ImportBatch, ImportRecord, InsertOutcome};
pub use jobs::{JobInfo, JobItem, JobUsage};
pub use pipelined::ExportSample;
pub use query::{Filter, Order, SampleRow, SortKey};
pub use reviews::{Decided, DecisionInput, standing_status};
pub use runs::{NewRun, RunInfo, RunPoint, RunStatus};
pub use samples::SampleRecord;
pub use views::SavedView;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// How long a writer waits for another process's write to finish before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// The path used when neither `--db` nor `ASSAY_DB` names one.
pub const DEFAULT_DB: &str = "assay.db";

/// An open database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let conn =
            Connection::open_with_flags(path, flags).map_err(|e| StoreError::open(path, &e))?;
        // Most failures show only now, at the first statements (a read-only folder, a file
        // that is not a database): said with the path and what to do, like the open itself.
        Self::setup(conn, path.to_path_buf()).map_err(|e| match e {
            StoreError::Sqlite(err) => StoreError::open(path, &err),
            StoreError::Migration(m) => StoreError::Open {
                path: path.to_path_buf(),
                reason: format!("its schema cannot be brought up to date: {m}"),
            },
            other => other,
        })
    }

    /// Opens a database that must already exist, for the commands that read or decide on
    /// what is there (`stats`, `audit`, `export`, `review`, `runs`): a mistyped `--db` is an
    /// error that says so, not a new empty file.
    pub fn open_existing(path: &Path) -> Result<Store> {
        if !path.exists() {
            return Err(StoreError::Missing {
                path: path.to_path_buf(),
            });
        }
        Self::open(path)
    }

    /// A private in-memory database, for tests.
    pub fn open_in_memory() -> Result<Store> {
        Self::setup(Connection::open_in_memory()?, PathBuf::from(":memory:"))
    }

    fn setup(mut conn: Connection, path: PathBuf) -> Result<Store> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // 16 KiB pages for a new file (an existing one keeps its size): bulk imports write about
        // 10% less CPU than with 4 KiB (fewer page splits, WAL frames and syscalls per row), and
        // scans read fewer pages. Must come before the first write, i.e. before journal_mode.
        // When several processes create the same file at once, switching it to WAL can meet a
        // lock the busy handler does not wait for: retried like the migrations.
        retry_busy(|| {
            conn.execute_batch("PRAGMA page_size = 16384")?;
            // journal_mode answers with a row, so it is read rather than executed.
            conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
        })?;
        // synchronous = FULL: in WAL mode NORMAL may lose the last commits on power loss, and
        // a decision the screen shows as committed must survive that. The cost is one fsync of
        // the WAL per commit (measured per decision in `benches/tui.rs`); bulk writes commit in
        // large batches and barely notice.
        conn.execute_batch(
            "PRAGMA foreign_keys = ON;
             PRAGMA synchronous = FULL;
             PRAGMA temp_store = MEMORY;
             PRAGMA cache_size = -16000;",
        )?;
        migrate(&mut conn)?;
        // The file's own id (drafts and other per-database state outside the file are keyed by
        // it, not by the file's name): created on first open.
        let has_id: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM store_meta WHERE key = 'id')",
            [],
            |r| r.get(0),
        )?;
        if !has_id {
            let id = format!("{:032x}", rand::random::<u128>());
            retry_busy(|| {
                conn.execute(
                    "INSERT OR IGNORE INTO store_meta (key, value) VALUES ('id', ?1)",
                    [&id],
                )
            })?;
        }
        Ok(Store { conn, path })
    }

    /// The database's id: random, created when the file was first opened, kept inside it (a
    /// copy of the file keeps it; two files of the same name have different ones).
    pub fn id(&self) -> Result<String> {
        Ok(self
            .conn
            .query_row("SELECT value FROM store_meta WHERE key = 'id'", [], |r| {
                r.get(0)
            })?)
    }

    /// How long a write waits for another connection's lock before failing as busy (60 s
    /// unless changed): the TUI's worker waits in short steps so that it can say it waits.
    pub fn set_busy_timeout(&mut self, timeout: Duration) -> Result<()> {
        Ok(self.conn.busy_timeout(timeout)?)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The raw connection, for the store's own submodules and for read-only checks in tests.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Runs `f` in a write transaction that takes the write lock up front (BEGIN IMMEDIATE), so
    /// that concurrent writers wait for each other (busy timeout) instead of failing midway.
    pub fn write<T>(
        &mut self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// `PRAGMA integrity_check`: "ok" on a sound file.
    pub fn integrity_check(&self) -> Result<String> {
        Ok(self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
    }
}

/// Brings the schema to the latest version. Two processes opening a new file at once both see
/// version 0 and both migrate; the loser's transaction fails ("table already exists", or a busy
/// snapshot) and rolls back. It then finds the winner's schema, or tries again: first use of a
/// database from several processes must not fail.
/// Runs `f` until it succeeds, retrying SQLite's busy and locked errors for as long as a writer
/// would wait for the lock.
fn retry_busy<T>(mut f: impl FnMut() -> rusqlite::Result<T>) -> Result<T> {
    let start = std::time::Instant::now();
    let mut attempt = 0u64;
    loop {
        match f() {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if matches!(
                    e.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) && start.elapsed() < BUSY_TIMEOUT =>
            {
                attempt += 1;
                std::thread::sleep(Duration::from_millis(25 * attempt.min(20)));
            }
            other => return Ok(other?),
        }
    }
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let migrations = schema::migrations();
    let start = std::time::Instant::now();
    let mut attempt = 0u64;
    loop {
        let err = match migrations.to_latest(conn) {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        // Only SQLite's own errors (busy, a lost race) are worth another try, for as long as a
        // writer would wait for the lock; a schema from a newer assay fails at once.
        let retry = matches!(err, rusqlite_migration::Error::RusqliteError { .. })
            && start.elapsed() < BUSY_TIMEOUT;
        if !retry {
            return Err(StoreError::Migration(err.to_string()));
        }
        attempt += 1;
        std::thread::sleep(Duration::from_millis(25 * attempt.min(20)));
    }
}
