//! Checkpointing the write-ahead log on a second thread during a bulk import.
//!
//! By default the connection that commits also copies the WAL into the database file right
//! after each commit (SQLite's auto-checkpoint): a tenth of a bulk import's time, spent on the
//! thread that holds the write lock. A PASSIVE checkpoint from another connection does the same
//! copy without blocking the writer, so the import hands it to a thread of its own.

use super::{Result, Store};
use std::sync::mpsc::{Sender, channel};
use std::thread::JoinHandle;

/// The WAL size, in pages, at which SQLite checkpoints by itself (its default).
const DEFAULT_AUTOCHECKPOINT: i64 = 1000;

/// A thread that checkpoints the WAL each time it is told a transaction was committed.
/// Dropping it (or [`Checkpointer::finish`]) hands checkpointing back to the store.
pub struct Checkpointer {
    kick: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Store {
    /// Stops this connection's own auto-checkpoints and starts a checkpointing thread on a
    /// second connection to the same file. In-memory stores get a thread that does nothing.
    pub fn background_checkpoints(&mut self) -> Result<Checkpointer> {
        let path = self.path().to_path_buf();
        let mut other = if path.as_os_str() == ":memory:" {
            None
        } else {
            Some(Store::open(&path)?)
        };
        if other.is_some() {
            self.conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        }
        let (kick, kicked) = channel::<()>();
        let thread = std::thread::spawn(move || {
            while kicked.recv().is_ok() {
                // Several commits may have queued up: one checkpoint covers them all.
                while kicked.try_recv().is_ok() {}
                if let Some(store) = other.as_mut()
                    && let Err(e) =
                        store
                            .conn
                            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                {
                    // Not fatal: the next commit's checkpoint, or the store's own, catches up.
                    tracing::warn!("background checkpoint of {}: {e}", path.display());
                }
            }
        });
        Ok(Checkpointer {
            kick: Some(kick),
            thread: Some(thread),
        })
    }

    /// Restores SQLite's own checkpointing on this connection.
    pub fn foreground_checkpoints(&mut self) -> Result<()> {
        self.conn
            .pragma_update(None, "wal_autocheckpoint", DEFAULT_AUTOCHECKPOINT)?;
        Ok(())
    }
}

impl Checkpointer {
    /// Says a transaction was committed: there is WAL to copy.
    pub fn committed(&self) {
        if let Some(k) = &self.kick {
            // The thread only stops when this handle is dropped, so a failed send cannot lose
            // anything but a checkpoint, which the store's own checkpointing makes up for.
            let _ = k.send(());
        }
    }

    /// Waits for the last checkpoint to finish.
    pub fn finish(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        drop(self.kick.take());
        if let Some(t) = self.thread.take()
            && t.join().is_err()
        {
            tracing::error!("the checkpoint thread panicked");
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop();
    }
}
