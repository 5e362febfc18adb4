//! A consistent copy of the whole database while others keep working, with SQLite's online
//! backup API.
//!
//! In WAL mode the latest commits live in `assay.db-wal` until a checkpoint copies them into
//! `assay.db`: copying `assay.db` alone with `cp` loses them (60 decisions once). The backup
//! reads one snapshot through SQLite, WAL included, and writes a single self-contained file.

use super::{Result, Store, StoreError};
use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use std::time::Duration;

impl Store {
    /// Copies the database, as of one moment, into a new file at `out` (which must not exist),
    /// and checks the copy. Written beside `out` first and renamed, so `out` is either the
    /// whole copy or absent.
    pub fn backup_to(&self, out: &Path) -> Result<u64> {
        if out.exists() {
            return Err(StoreError::Invalid(format!(
                "{} exists: name a new file for the backup (it is never overwritten)",
                out.display()
            )));
        }
        let mut partial = out.as_os_str().to_owned();
        partial.push(".partial");
        let partial = std::path::PathBuf::from(partial);
        let _ = std::fs::remove_file(&partial);
        let copied = (|| -> Result<u64> {
            let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE;
            let mut dst = Connection::open_with_flags(&partial, flags)
                .map_err(|e| StoreError::open(&partial, &e))?;
            {
                let backup = Backup::new(&self.conn, &mut dst)?;
                // All pages in one step (-1): one read snapshot, which a WAL reader holds
                // without blocking writers. Busy only while another connection checkpoints.
                loop {
                    match backup.step(-1)? {
                        StepResult::Done => break,
                        StepResult::More => {}
                        // Busy or locked (the enum is non-exhaustive: anything else too).
                        _ => std::thread::sleep(Duration::from_millis(20)),
                    }
                }
            }
            // A single file, readable without its WAL: the copy is switched back to a rollback
            // journal (assay switches it to WAL again when it opens it).
            dst.query_row("PRAGMA journal_mode = DELETE", [], |r| {
                r.get::<_, String>(0)
            })?;
            let check: String = dst.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
            if check != "ok" {
                return Err(StoreError::Invalid(format!(
                    "the copy failed SQLite's check ({check}); {} is left as it was",
                    self.path.display()
                )));
            }
            let samples: i64 = dst.query_row("SELECT count(*) FROM samples", [], |r| r.get(0))?;
            drop(dst);
            std::fs::File::open(&partial)
                .and_then(|f| f.sync_all())
                .map_err(|e| StoreError::Invalid(format!("syncing {}: {e}", partial.display())))?;
            Ok(samples as u64)
        })();
        let samples = match copied {
            Ok(n) => n,
            Err(e) => {
                let _ = std::fs::remove_file(&partial);
                return Err(e);
            }
        };
        std::fs::rename(&partial, out).map_err(|e| {
            StoreError::Invalid(format!(
                "moving the backup into place at {}: {e}",
                out.display()
            ))
        })?;
        Ok(samples)
    }
}
