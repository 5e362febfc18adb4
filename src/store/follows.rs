//! Runs followed from afar (migration 010): an external run (a bundle launched on another
//! machine) claimed by one `assay runs attach` at a time, its points stored together with the
//! byte offset of the log they were read up to, and released when following stops.
//!
//! The offset moves by compare-and-set in the transaction that stores the points, so a second
//! follower, or a follower that reconnects, can never store the same lines twice.

use super::runs::insert_points;
use super::{Result, RunPoint, Store, StoreError};
use crate::model::now;
use rusqlite::{OptionalExtension, params};

/// Where an external run's log is followed from, and how far it has been read.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RunFollow {
    /// The path or `ssh://` address of its `trainer_log.jsonl`.
    pub source: String,
    /// Bytes of whole lines already stored as points.
    pub consumed: u64,
    pub updated_at: String,
}

fn offset(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Store {
    /// Records that run `id`'s trainer runs elsewhere: status `external`, no owner.
    pub fn mark_run_external(&mut self, id: i64) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE runs SET status = 'external', pid = NULL WHERE id = ?1",
                [id],
            )?;
            Ok(())
        })
    }

    /// Claims external run `id` for process `pid`, following `source`: it becomes `running`,
    /// owned by `pid`. Returns how many bytes of its log are already stored. Refused unless the
    /// run is external (and so not followed by anyone).
    pub fn claim_followed_run(&mut self, id: i64, pid: u32, source: &str) -> Result<u64> {
        let t = now();
        self.write(|tx| {
            let row: Option<(String, Option<u32>)> = tx
                .query_row("SELECT status, pid FROM runs WHERE id = ?1", [id], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()?;
            let Some((status, owner)) = row else {
                return Err(StoreError::not_found(format!(
                    "run {id} (list runs with `assay runs list`)"
                )));
            };
            if status != "external" {
                let why = match owner {
                    Some(p) if status == "running" || status == "stopping" => format!(
                        "run {id} is already followed (by process {p}); stop that `assay runs \
                         attach` first"
                    ),
                    _ => format!(
                        "run {id} is {status}: only an external run (made with `assay train \
                         --bundle`) can be attached"
                    ),
                };
                return Err(StoreError::Invalid(why));
            }
            tx.execute(
                "UPDATE runs SET status = 'running', pid = ?2, stop_requested = 0,
                     message = NULL, started_at = coalesce(started_at, ?3) WHERE id = ?1",
                params![id, pid, t],
            )?;
            tx.execute(
                "INSERT INTO run_follows (run_id, source, consumed, updated_at)
                 VALUES (?1, ?2, 0, ?3)
                 ON CONFLICT (run_id) DO UPDATE SET source = ?2, updated_at = ?3",
                params![id, source, t],
            )?;
            let consumed: i64 = tx.query_row(
                "SELECT consumed FROM run_follows WHERE run_id = ?1",
                [id],
                |r| r.get(0),
            )?;
            Ok(consumed.max(0) as u64)
        })
    }

    /// Stores points read from bytes `from..to` of a followed run's log, with its log tail.
    /// Returns false, storing nothing, when the stored offset is not `from` (someone else
    /// stored those lines).
    pub fn add_followed_points(
        &mut self,
        id: i64,
        points: &[RunPoint],
        log_tail: Option<&[String]>,
        from: u64,
        to: u64,
    ) -> Result<bool> {
        let t = now();
        self.write(|tx| {
            let moved = tx.execute(
                "UPDATE run_follows SET consumed = ?3, updated_at = ?4
                 WHERE run_id = ?1 AND consumed = ?2",
                params![id, offset(from), offset(to), t],
            )?;
            if moved != 1 {
                return Ok(false);
            }
            insert_points(tx, id, points, log_tail)?;
            Ok(true)
        })
    }

    /// Hands a followed run back: external again, no owner, with why (`message`).
    pub fn release_followed_run(&mut self, id: i64, message: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE runs SET status = 'external', pid = NULL, stop_requested = 0,
                     message = ?2 WHERE id = ?1",
                params![id, message],
            )?;
            Ok(())
        })
    }

    /// Where run `id` is followed from, if it ever was.
    pub fn run_follow(&self, id: i64) -> Result<Option<RunFollow>> {
        Ok(self
            .conn
            .query_row(
                "SELECT source, consumed, updated_at FROM run_follows WHERE run_id = ?1",
                [id],
                |r| {
                    Ok(RunFollow {
                        source: r.get(0)?,
                        consumed: r.get::<_, i64>(1)?.max(0) as u64,
                        updated_at: r.get(2)?,
                    })
                },
            )
            .optional()?)
    }
}

#[cfg(test)]
mod tests {
    use crate::store::{NewRun, RunPoint, RunStatus, Store};

    #[test]
    fn one_follower_and_an_offset_that_moves_with_the_points() {
        let mut store = Store::open_in_memory().unwrap();
        let id = store
            .create_run(
                &NewRun {
                    trainer: "llamafactory".into(),
                    dataset_id: None,
                    config: serde_json::json!({}),
                    out_dir: "/b".into(),
                },
                &[],
            )
            .unwrap();
        // A queued local run cannot be attached.
        assert!(store.claim_followed_run(id, 7, "/b/log").is_err());
        store.mark_run_external(id).unwrap();
        assert_eq!(store.run(id).unwrap().status, RunStatus::External);
        assert_eq!(store.claim_followed_run(id, 7, "/b/log").unwrap(), 0);
        let err = store.claim_followed_run(id, 8, "/b/log").unwrap_err();
        assert!(err.to_string().contains("already followed"), "{err}");
        let p = RunPoint {
            step: 1,
            loss: Some(1.0),
            ..RunPoint::default()
        };
        assert!(
            store
                .add_followed_points(id, std::slice::from_ref(&p), None, 0, 40)
                .unwrap()
        );
        // A stale offset stores nothing.
        assert!(
            !store
                .add_followed_points(id, std::slice::from_ref(&p), None, 0, 40)
                .unwrap()
        );
        assert_eq!(store.run_points(id, 0).unwrap().len(), 1);
        store.release_followed_run(id, "not followed").unwrap();
        let run = store.run(id).unwrap();
        assert_eq!((run.status, run.pid), (RunStatus::External, None));
        assert_eq!(store.claim_followed_run(id, 9, "ssh://h/log").unwrap(), 40);
        let f = store.run_follow(id).unwrap().unwrap();
        assert_eq!((f.source.as_str(), f.consumed), ("ssh://h/log", 40));
    }
}
